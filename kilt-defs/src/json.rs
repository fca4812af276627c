//! JSON documents: parsing into the value model with a span tree, and an emitter that keeps
//! every untouched part of the original text byte for byte.

use serde_json::Value;

use crate::error::Error;
use crate::source::{line_col, Document, Format, Member, Node, NodeKind};

/// Parse JSON text. Syntax errors carry line and column; duplicate keys are errors (JSON
/// parsers disagree on which one wins, so the file is ambiguous).
pub fn parse(text: &str) -> Result<Document, Error> {
    let value: Value = serde_json::from_str(text).map_err(|e| syntax_error(&e))?;
    let mut scanner = Scanner::new(text, 0);
    scanner.ws();
    let tree = scanner.value(usize::MAX)?;
    Ok(Document {
        format: Format::Json,
        text: text.to_string(),
        value,
        tree,
    })
}

/// Check that `text` is well-formed JSON without building anything (syntax errors carry line
/// and column; nesting is limited as serde_json limits it).
pub fn validate(text: &str) -> Result<(), Error> {
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map(|_| ())
        .map_err(|e| syntax_error(&e))
}

fn syntax_error(e: &serde_json::Error) -> Error {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
    Error::Syntax {
        format: Format::Json,
        line: e.line(),
        column: e.column(),
        message,
    }
}

/// The span tree of already-validated `text`, down to `depth` levels below the root (deeper
/// values are [`NodeKind::Scalar`] nodes with their spans).
pub fn shallow_tree(text: &str, depth: usize) -> Result<Node, Error> {
    let mut scanner = Scanner::new(text, 0);
    scanner.ws();
    scanner.value(depth)
}

/// The value and full span tree (spans relative to the whole `text`) of the already-validated
/// JSON value at `span`.
pub fn parse_at(text: &str, span: std::ops::Range<usize>) -> Result<(Value, Node), Error> {
    let value: Value = serde_json::from_str(&text[span.clone()]).map_err(|e| syntax_error(&e))?;
    let mut scanner = Scanner::new(text, span.start);
    let tree = scanner.value(usize::MAX)?;
    Ok((value, tree))
}

/// Emit the JSON value `new` at `node` (a subtree of the document `src`, whose old value was
/// `old`), keeping the original text of everything unchanged. `style` is the whole document's
/// ([`Style::detect`] of `src`, computed once).
pub fn emit_subtree(
    src: &str,
    style: &Style,
    node: &Node,
    old: &Value,
    new: &Value,
    out: &mut String,
) {
    let mut e = Emitter { src, style };
    e.node(node, old, new, out);
}

/// Builds the span tree over text that serde_json has already accepted.
struct Scanner<'a> {
    text: &'a [u8],
    src: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn new(src: &'a str, pos: usize) -> Self {
        Scanner {
            text: src.as_bytes(),
            src,
            pos,
        }
    }

    /// Step over one value without building anything.
    fn skip(&mut self) {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                b'"' => self.string(),
                b'{' | b'[' => {
                    depth += 1;
                    self.pos += 1;
                }
                b'}' | b']' => {
                    self.pos += 1;
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                0 if self.pos >= self.text.len() => return,
                b',' | b':' | b' ' | b'\t' | b'\n' | b'\r' if depth > 0 => self.pos += 1,
                _ if depth == 0 => {
                    // A scalar at the top of the skipped value.
                    self.scalar();
                    return;
                }
                _ => self.pos += 1,
            }
            if depth == 0 {
                return;
            }
        }
    }

    fn ws(&mut self) {
        while self.pos < self.text.len()
            && matches!(self.text[self.pos], b' ' | b'\t' | b'\n' | b'\r')
        {
            self.pos += 1;
        }
    }

    fn peek(&self) -> u8 {
        self.text.get(self.pos).copied().unwrap_or(0)
    }

    fn value(&mut self, depth: usize) -> Result<Node, Error> {
        let start = self.pos;
        if depth == 0 {
            self.skip();
            return Ok(Node {
                span: start..self.pos,
                kind: NodeKind::Scalar,
            });
        }
        match self.peek() {
            b'{' => {
                self.pos += 1;
                let mut members: Vec<Member> = Vec::new();
                loop {
                    self.ws();
                    match self.peek() {
                        b'}' => {
                            self.pos += 1;
                            break;
                        }
                        b',' => {
                            self.pos += 1;
                            continue;
                        }
                        _ => {}
                    }
                    let key_start = self.pos;
                    self.string();
                    let key_span = key_start..self.pos;
                    let key: String =
                        serde_json::from_str(&self.src[key_span.clone()]).unwrap_or_default();
                    if members.iter().any(|m| m.key == key) {
                        let (line, column) = line_col(self.src, key_start);
                        return Err(Error::Syntax {
                            format: Format::Json,
                            line,
                            column,
                            message: format!("duplicate key {key:?} in the same object"),
                        });
                    }
                    self.ws();
                    self.pos += 1; // ':'
                    self.ws();
                    let value = self.value(depth - 1)?;
                    members.push(Member {
                        key_span,
                        key,
                        value,
                    });
                }
                Ok(Node {
                    span: start..self.pos,
                    kind: NodeKind::Map(members),
                })
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.ws();
                    match self.peek() {
                        b']' => {
                            self.pos += 1;
                            break;
                        }
                        b',' => {
                            self.pos += 1;
                            continue;
                        }
                        _ => {}
                    }
                    items.push(self.value(depth - 1)?);
                }
                Ok(Node {
                    span: start..self.pos,
                    kind: NodeKind::Seq(items),
                })
            }
            b'"' => {
                self.string();
                Ok(Node {
                    span: start..self.pos,
                    kind: NodeKind::Scalar,
                })
            }
            _ => {
                self.scalar();
                Ok(Node {
                    span: start..self.pos,
                    kind: NodeKind::Scalar,
                })
            }
        }
    }

    /// Step over a number, `true`, `false` or `null`.
    fn scalar(&mut self) {
        while self.pos < self.text.len()
            && !matches!(
                self.text[self.pos],
                b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'
            )
        {
            self.pos += 1;
        }
    }

    fn string(&mut self) {
        self.pos += 1; // opening quote
        while self.pos < self.text.len() {
            match self.text[self.pos] {
                b'\\' => self.pos += 2,
                b'"' => {
                    self.pos += 1;
                    return;
                }
                _ => self.pos += 1,
            }
        }
    }
}

/// The layout conventions of a document, for text the emitter writes fresh.
#[derive(Debug, Clone)]
pub struct Style {
    /// One level of indentation (`"  "`, `"    "`, `"\t"`); empty for single-line documents.
    pub indent: String,
    pub newline: &'static str,
}

impl Style {
    pub fn detect(text: &str) -> Style {
        let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let indent = text
            .lines()
            .find_map(|line| {
                let trimmed = line.trim_start_matches([' ', '\t']);
                let ws = &line[..line.len() - trimmed.len()];
                (!ws.is_empty() && !trimmed.is_empty()).then(|| ws.to_string())
            })
            .unwrap_or_else(|| {
                if text.trim().contains('\n') {
                    "  ".into()
                } else {
                    String::new()
                }
            });
        Style { indent, newline }
    }

    /// Default style for documents written from scratch.
    pub fn pretty() -> Style {
        Style {
            indent: "  ".into(),
            newline: "\n",
        }
    }
}

/// Write `new` in the layout of `doc`: subtrees equal to the original keep their original
/// text; changed containers keep their members' text and spacing; new parts are written in the
/// document's own indentation. The result ends with a newline exactly when the original did.
pub fn emit(doc: &Document, new: &Value) -> String {
    let style = Style::detect(&doc.text);
    let mut out = String::with_capacity(doc.text.len() + 1024);
    let start = doc.tree.span.start;
    out.push_str(&doc.text[..start]);
    let mut e = Emitter {
        src: &doc.text,
        style: &style,
    };
    e.node(&doc.tree, &doc.value, new, &mut out);
    out.push_str(&doc.text[doc.tree.span.end..]);
    out
}

/// Write `value` fresh, pretty-printed in `style`, followed by a newline.
pub fn to_string_styled(value: &Value, style: &Style) -> String {
    let mut out = String::new();
    write_fresh(value, style, "", false, &mut out);
    out.push_str(style.newline);
    out
}

struct Emitter<'a> {
    src: &'a str,
    style: &'a Style,
}

impl Emitter<'_> {
    /// Indentation of the line on which byte offset `at` lies.
    fn line_indent(&self, at: usize) -> &str {
        let line_start = self.src[..at].rfind('\n').map_or(0, |i| i + 1);
        let line = &self.src[line_start..];
        let trimmed = line.trim_start_matches([' ', '\t']);
        &line[..line.len() - trimmed.len()]
    }

    fn node(&mut self, node: &Node, old: &Value, new: &Value, out: &mut String) {
        if old == new {
            out.push_str(&self.src[node.span.clone()]);
            return;
        }
        match (&node.kind, old, new) {
            (NodeKind::Map(members), Value::Object(old_map), Value::Object(new_map))
                if !members.is_empty() && !new_map.is_empty() =>
            {
                let inline = !self.src[node.span.clone()].contains('\n');
                let member_indent = if inline {
                    String::new()
                } else {
                    self.line_indent(members[0].key_span.start).to_string()
                };
                let standard_gap = if members.len() >= 2 {
                    self.src[members[0].value.span.end..members[1].key_span.start].to_string()
                } else if inline {
                    ", ".to_string()
                } else {
                    format!(",{}{}", self.style.newline, member_indent)
                };
                out.push_str(&self.src[node.span.start..members[0].key_span.start]);
                let mut prev: Option<usize> = None;
                let mut first = true;
                for (key, value) in new_map {
                    let idx = members.iter().position(|m| &m.key == key);
                    if !first {
                        match (idx, prev) {
                            (Some(i), Some(p)) if i == p + 1 => out.push_str(
                                &self.src[members[p].value.span.end..members[i].key_span.start],
                            ),
                            _ => out.push_str(&standard_gap),
                        }
                    }
                    first = false;
                    match (idx, old_map.get(key)) {
                        (Some(i), Some(old_value)) => {
                            let m = &members[i];
                            out.push_str(&self.src[m.key_span.start..m.value.span.start]);
                            self.node(&m.value, old_value, value, out);
                        }
                        _ => {
                            push_json_string(key, out);
                            out.push_str(": ");
                            let indent = if inline { "" } else { member_indent.as_str() };
                            write_fresh(value, self.style, indent, inline, out);
                        }
                    }
                    prev = idx;
                }
                let last_end = members[members.len() - 1].value.span.end;
                out.push_str(&self.src[last_end..node.span.end]);
            }
            (NodeKind::Seq(items), Value::Array(old_items), Value::Array(new_items))
                if !items.is_empty() && !new_items.is_empty() =>
            {
                let inline = !self.src[node.span.clone()].contains('\n');
                let item_indent = if inline {
                    String::new()
                } else {
                    self.line_indent(items[0].span.start).to_string()
                };
                let standard_gap = if items.len() >= 2 {
                    self.src[items[0].span.end..items[1].span.start].to_string()
                } else if inline {
                    ", ".to_string()
                } else {
                    format!(",{}{}", self.style.newline, item_indent)
                };
                // New items follow the layout of the last existing one.
                let sibling_inline = !self.src[items[items.len() - 1].span.clone()].contains('\n');
                out.push_str(&self.src[node.span.start..items[0].span.start]);
                for (i, value) in new_items.iter().enumerate() {
                    if i > 0 {
                        if i < items.len() {
                            out.push_str(&self.src[items[i - 1].span.end..items[i].span.start]);
                        } else {
                            out.push_str(&standard_gap);
                        }
                    }
                    match (items.get(i), old_items.get(i)) {
                        (Some(item), Some(old_value)) => self.node(item, old_value, value, out),
                        _ => {
                            let indent = if inline { "" } else { item_indent.as_str() };
                            write_fresh(value, self.style, indent, inline || sibling_inline, out);
                        }
                    }
                }
                let last_end = items[items.len() - 1].span.end;
                out.push_str(&self.src[last_end..node.span.end]);
            }
            _ => {
                // A document written on one line has no indentation to follow.
                let inline = self.style.indent.is_empty();
                let indent = if inline {
                    String::new()
                } else {
                    self.line_indent(node.span.start).to_string()
                };
                write_fresh(new, self.style, &indent, inline, out);
            }
        }
    }
}

fn push_json_string(s: &str, out: &mut String) {
    // Serialising a str cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

/// Write `value` as fresh JSON. `indent` is the indentation of the line the value starts on;
/// `inline` writes everything on one line (`{"a": 1, "b": [2, 3]}`).
fn write_fresh(value: &Value, style: &Style, indent: &str, inline: bool, out: &mut String) {
    let inline = inline || style.indent.is_empty();
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('{');
            let inner = format!("{indent}{}", style.indent);
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if inline {
                    if i > 0 {
                        out.push(' ');
                    }
                } else {
                    out.push_str(style.newline);
                    out.push_str(&inner);
                }
                push_json_string(k, out);
                out.push_str(": ");
                write_fresh(v, style, &inner, inline, out);
            }
            if !inline {
                out.push_str(style.newline);
                out.push_str(indent);
            }
            out.push('}');
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            let inner = format!("{indent}{}", style.indent);
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if inline {
                    if i > 0 {
                        out.push(' ');
                    }
                } else {
                    out.push_str(style.newline);
                    out.push_str(&inner);
                }
                write_fresh(v, style, &inner, inline, out);
            }
            if !inline {
                out.push_str(style.newline);
                out.push_str(indent);
            }
            out.push(']');
        }
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
        // Scalars: serde_json's own rendering (numbers keep their source text with
        // arbitrary_precision).
        other => out.push_str(&serde_json::to_string(other).unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unchanged_document_is_byte_identical() {
        let text = "{\n    \"a\" : [1, 2,3],\n  \"b\": { \"Ref\" : \"X\"}\n}\n";
        let doc = parse(text).unwrap();
        assert_eq!(emit(&doc, &doc.value), text);
    }

    #[test]
    fn added_member_uses_document_indentation() {
        let text = "{\n  \"a\": {\n    \"x\": 1\n  },\n  \"b\": [\"y\"]\n}";
        let doc = parse(text).unwrap();
        let mut v = doc.value.clone();
        v["a"]["z"] = json!(["p", {"q": 2}]);
        v["b"].as_array_mut().unwrap().push(json!("w"));
        let out = emit(&doc, &v);
        assert_eq!(
            out,
            "{\n  \"a\": {\n    \"x\": 1,\n    \"z\": [\n      \"p\",\n      {\n        \"q\": 2\n      }\n    ]\n  },\n  \"b\": [\"y\", \"w\"]\n}"
        );
        assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), v);
    }

    #[test]
    fn duplicate_keys_are_errors_with_position() {
        let err = parse("{\n \"a\": 1,\n \"a\": 2}").unwrap_err();
        assert_eq!(err.location(), Some((3, 2)));
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let err = parse("{\n  \"a\": [1,\n}").unwrap_err();
        assert!(matches!(err, Error::Syntax { line: 3, .. }), "{err}");
    }

    #[test]
    fn shallow_tree_and_local_parse_agree_with_the_full_tree() {
        let text = "{\"a\": {\"b\": [1, {\"c\": \"}]\\\"\"}], \"d\": 2}, \"e\": [true, null]}";
        let full = parse(text).unwrap();
        let shallow = shallow_tree(text, 1).unwrap();
        let NodeKind::Map(members) = &shallow.kind else {
            panic!()
        };
        let NodeKind::Map(full_members) = &full.tree.kind else {
            panic!()
        };
        for (m, f) in members.iter().zip(full_members) {
            assert_eq!(m.value.span, f.value.span);
            assert_eq!(m.value.kind, NodeKind::Scalar);
            let (v, tree) = parse_at(text, m.value.span.clone()).unwrap();
            assert_eq!(v, full.value[&m.key]);
            assert_eq!(tree, f.value);
        }
    }

    #[test]
    fn compact_documents_are_emitted_in_linear_time() {
        // One line, many changed nodes: indentation must not be searched for per node.
        let items: Vec<String> = (0..20_000).map(|i| format!("{{\"n\":{i}}}")).collect();
        let text = format!("{{\"a\":[{}]}}", items.join(","));
        let doc = parse(&text).unwrap();
        let mut v = doc.value.clone();
        for item in v["a"].as_array_mut().unwrap() {
            item["m"] = json!([1]);
        }
        let t = std::time::Instant::now();
        let out = emit(&doc, &v);
        assert!(
            t.elapsed() < std::time::Duration::from_secs(2),
            "took {:?}",
            t.elapsed()
        );
        assert!(!out.contains('\n'));
        assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), v);
    }

    #[test]
    fn removed_members_and_items() {
        let text = "{\"a\": 1, \"b\": 2, \"c\": [1, 2, 3]}";
        let doc = parse(text).unwrap();
        let v = json!({"a": 1, "c": [1, 2]});
        let out = emit(&doc, &v);
        assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), v);
        assert_eq!(out, "{\"a\": 1, \"c\": [1, 2]}");
    }
}
