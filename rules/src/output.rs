//! Rule outputs (`%field` substitution, with an optional width: `%20proc.name`;
//! `<NA>` for a value that cannot be extracted) and alerts in Falco's JSON
//! format: `hostname`, `output`, `output_fields` (with `evt.time` in ns),
//! `priority` (Falco's word), `rule`, `source`, `tags`, `time` (RFC 3339, ns).
use crate::fields::{self, Ty};
use crate::state::{clock, Ctx, Ext, V};

#[derive(Debug)]
pub enum Part {
    Lit(String),
    Field {
        /// As written (`proc.aname[2]`): the key in `output_fields`.
        name: String,
        f: fields::F,
        ty: Ty,
        arg: Option<String>,
        width: usize,
    },
}

/// A parsed output format.
#[derive(Debug)]
pub struct Format {
    pub parts: Vec<Part>,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format, String> {
        // Falco's `%container.info` shorthand
        let s = s.replace(
            "%container.info",
            "container_id=%container.id container_name=%container.name",
        );
        let b = s.as_bytes();
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'%' {
                let n = s[i..].find('%').map_or(s.len(), |k| i + k);
                lit.push_str(&s[i..n]);
                i = n;
                continue;
            }
            if b.get(i + 1) == Some(&b'%') {
                lit.push('%');
                i += 2;
                continue;
            }
            let mut j = i + 1;
            let mut width = 0usize;
            while j < b.len() && b[j].is_ascii_digit() {
                width = (width * 10 + usize::from(b[j] - b'0')).min(4096);
                j += 1;
            }
            let start = j;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'.') {
                j += 1;
            }
            let mut name = &s[start..j];
            // a sentence's full stop after the field
            while name.ends_with('.') && fields::resolve(name, None).is_err() {
                name = &name[..name.len() - 1];
                j -= 1;
            }
            let mut arg = None;
            if b.get(j) == Some(&b'[') {
                if let Some(k) = s[j..].find(']') {
                    arg = Some(s[j + 1..j + k].to_string());
                    j += k + 1;
                }
            }
            if name.is_empty() {
                // a lone '%' is text
                lit.push('%');
                i += 1;
                continue;
            }
            let (def, arg) = fields::resolve(name, arg.as_deref())
                .map_err(|m| format!("invalid formatting token %{name}: {m}"))?;
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(&mut lit)));
            }
            parts.push(Part::Field {
                name: s[start..j].to_string(),
                f: def.f,
                ty: def.ty,
                arg,
                width,
            });
            i = j;
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Format { parts })
    }

    /// Fields of the output kiltx cannot supply.
    pub fn missing(&self) -> Vec<String> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Field { name, f, .. } if *f == fields::F::Missing => Some(name.clone()),
                _ => None,
            })
            .collect()
    }
}

fn text_of(e: &Ext) -> Option<String> {
    match e {
        Ext::None => None,
        Ext::One(v) => Some(v.to_text().into_owned()),
        Ext::Many(v) if v.is_empty() => None,
        Ext::Many(v) => Some(
            v.iter()
                .map(|x| x.to_text().into_owned())
                .collect::<Vec<_>>()
                .join(","),
        ),
    }
}

fn push_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// What a rule contributes to an alert.
pub struct AlertRule<'r> {
    pub name: &'r str,
    pub priority: &'static str,
    pub tags: &'r [String],
    pub output: &'r Format,
}

/// Append one alert line (with '\n') to `out`.
pub fn alert(rule: &AlertRule, ctx: &Ctx, out: &mut Vec<u8>) {
    let ev = ctx.ev;
    let mut text = String::new();
    let mut fields: Vec<(&str, Option<String>, Ty, Option<V>)> = Vec::new();
    for p in &rule.output.parts {
        match p {
            Part::Lit(s) => text.push_str(s),
            Part::Field {
                name,
                f,
                ty,
                arg,
                width,
            } => {
                let e = ctx.extract(*f, arg.as_deref());
                let t = text_of(&e);
                let shown = t.as_deref().unwrap_or("<NA>");
                text.push_str(shown);
                for _ in shown.chars().count()..*width {
                    text.push(' ');
                }
                if !fields.iter().any(|(n, ..)| n == name) {
                    let single = match e {
                        Ext::One(v) => Some(v),
                        _ => None,
                    };
                    fields.push((name, t, *ty, single));
                }
            }
        }
    }
    let ns = ev.ts_ns.unwrap_or(0);
    out.extend_from_slice(b"{\"hostname\":");
    push_json_str(out, ctx.hostname);
    out.extend_from_slice(b",\"output\":");
    push_json_str(
        out,
        &format!("{}: {} {}", clock(ns, true), rule.priority, text),
    );
    out.extend_from_slice(b",\"output_fields\":{\"evt.time\":");
    out.extend_from_slice(ns.to_string().as_bytes());
    for (name, t, ty, v) in fields {
        if name == "evt.time" {
            continue;
        }
        out.push(b',');
        push_json_str(out, name);
        out.push(b':');
        match (t, ty, v) {
            (None, ..) => out.extend_from_slice(b"null"),
            (_, Ty::Num, Some(V::N(n))) => out.extend_from_slice(n.to_string().as_bytes()),
            (_, Ty::Bool, Some(V::B(b))) => {
                out.extend_from_slice(if b { b"true" } else { b"false" })
            }
            (Some(t), ..) => push_json_str(out, &t),
        }
    }
    out.extend_from_slice(b"},\"priority\":");
    push_json_str(out, rule.priority);
    out.extend_from_slice(b",\"rule\":");
    push_json_str(out, rule.name);
    out.extend_from_slice(b",\"source\":\"syscall\",\"tags\":[");
    for (i, t) in rule.tags.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_json_str(out, t);
    }
    out.extend_from_slice(b"],\"time\":");
    push_json_str(out, ev.ts);
    out.extend_from_slice(b"}\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let f =
            Format::parse("a %proc.name. b %5fd.name %proc.aname[2] 100%% %evt.arg.flags").unwrap();
        let names: Vec<&str> = f
            .parts
            .iter()
            .filter_map(|p| match p {
                Part::Field { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            names,
            ["proc.name", "fd.name", "proc.aname[2]", "evt.arg.flags"]
        );
        assert!(Format::parse("x %proc.nmae")
            .unwrap_err()
            .contains("proc.nmae"));
        assert_eq!(
            Format::parse("%user.loginname").unwrap().missing(),
            ["user.loginname"]
        );
    }
}
