//! A rules file as a small YAML tree whose every node knows its line and
//! column (read with saphyr-parser, as kilt-defs does), so that an error in a
//! user's rules names the place.
use saphyr_parser::{Event, Parser, ScalarStyle};

#[derive(Clone, Debug, PartialEq)]
pub enum Y {
    Null,
    /// A scalar; `plain` when it was written unquoted (so `true`, `null`
    /// and numbers are what they look like).
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub y: Y,
    /// 1-based.
    pub line: usize,
    /// 1-based.
    pub col: usize,
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.y {
            Y::Map(kv) => kv
                .iter()
                .find(|(k, _)| matches!(&k.y, Y::Scalar { text, .. } if text == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = (&str, &Node)> {
        let kv: &[(Node, Node)] = match &self.y {
            Y::Map(kv) => kv,
            _ => &[],
        };
        kv.iter().map(|(k, v)| {
            let key = match &k.y {
                Y::Scalar { text, .. } => text.as_str(),
                _ => "",
            };
            (key, v)
        })
    }

    pub fn is_null(&self) -> bool {
        matches!(self.y, Y::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.y {
            Y::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.y {
            Y::Scalar { text, plain: true } => match text.as_str() {
                "true" | "True" | "TRUE" => Some(true),
                "false" | "False" | "FALSE" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self.y {
            Y::Null => "null",
            Y::Scalar { .. } => "a scalar",
            Y::Seq(_) => "a sequence",
            Y::Map(_) => "a mapping",
        }
    }
}

/// A YAML syntax error: message, line, column (1-based).
pub type SyntaxError = (String, usize, usize);

const MAX_DEPTH: usize = 64;

/// Parse one document (an empty file is `Null`).
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut p = Parser::new_from_str(text);
    let mut root = None;
    loop {
        let (ev, span) = next(&mut p)?;
        match ev {
            Event::StreamStart | Event::Nothing | Event::DocumentEnd => {}
            Event::DocumentStart(_) => {
                if root.is_some() {
                    return Err((
                        "a second YAML document: a rules file is one document".into(),
                        span.0,
                        span.1,
                    ));
                }
                let (ev, span) = next(&mut p)?;
                root = Some(node(&mut p, ev, span, 0)?);
            }
            Event::StreamEnd => {
                return Ok(root.unwrap_or(Node {
                    y: Y::Null,
                    line: 1,
                    col: 1,
                }))
            }
            _ => return Err(("unexpected YAML event".into(), span.0, span.1)),
        }
    }
}

fn next<'a>(
    p: &mut Parser<'a, saphyr_parser::StrInput<'a>>,
) -> Result<(Event<'a>, (usize, usize)), SyntaxError> {
    match p.next_event() {
        Some(Ok((ev, span))) => Ok((ev, (span.start.line().max(1), span.start.col() + 1))),
        Some(Err(e)) => Err((
            e.info().to_string(),
            e.marker().line().max(1),
            e.marker().col() + 1,
        )),
        None => Err(("unexpected end of input".into(), 1, 1)),
    }
}

fn node<'a>(
    p: &mut Parser<'a, saphyr_parser::StrInput<'a>>,
    ev: Event<'a>,
    (line, col): (usize, usize),
    depth: usize,
) -> Result<Node, SyntaxError> {
    if depth > MAX_DEPTH {
        return Err((format!("nesting deeper than {MAX_DEPTH} levels"), line, col));
    }
    let y = match ev {
        Event::Alias(_) => {
            return Err((
                "YAML aliases are not supported in rules files".into(),
                line,
                col,
            ))
        }
        Event::Scalar(v, style, _, _) => {
            let plain = style == ScalarStyle::Plain;
            if plain && matches!(v.as_ref(), "" | "~" | "null" | "Null" | "NULL") {
                Y::Null
            } else {
                Y::Scalar {
                    text: v.into_owned(),
                    plain,
                }
            }
        }
        Event::SequenceStart(..) => {
            let mut items = Vec::new();
            loop {
                let (ev, span) = next(p)?;
                if matches!(ev, Event::SequenceEnd) {
                    break;
                }
                items.push(node(p, ev, span, depth + 1)?);
            }
            Y::Seq(items)
        }
        Event::MappingStart(..) => {
            let mut kv = Vec::new();
            loop {
                let (ev, span) = next(p)?;
                if matches!(ev, Event::MappingEnd) {
                    break;
                }
                let k = node(p, ev, span, depth + 1)?;
                let (ev, span) = next(p)?;
                let v = node(p, ev, span, depth + 1)?;
                kv.push((k, v));
            }
            Y::Map(kv)
        }
        _ => return Err(("unexpected YAML event".into(), line, col)),
    };
    Ok(Node { y, line, col })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_scalars() {
        let n = parse("- rule: a\n  enabled: false\n  tags: [x, 'y']\n").unwrap();
        let Y::Seq(items) = &n.y else { panic!() };
        let r = &items[0];
        assert_eq!(r.get("rule").unwrap().as_str(), Some("a"));
        assert_eq!(r.get("enabled").unwrap().as_bool(), Some(false));
        let tags = r.get("tags").unwrap();
        assert_eq!((tags.line, tags.col), (3, 9));
        let e = parse("- rule: [a\n").unwrap_err();
        assert!(e.1 >= 1);
    }
}
