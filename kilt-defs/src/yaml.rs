//! YAML documents: parsing into the value model (short-form tags as `{"!Tag": value}`, see
//! [`crate::source`]) and emitting back.
//!
//! This first version re-serialises the whole document through serde_yaml: values and tags
//! survive, comments and layout do not, and the span tree has no children (positions fall back
//! to the document start).

use serde_json::{Map, Value};
use serde_yaml::value::{Tag, TaggedValue};
use serde_yaml::Value as Yaml;

use crate::error::Error;
use crate::source::{Document, Format, Node, NodeKind};

pub fn parse(text: &str) -> Result<Document, Error> {
    let yaml: Yaml = serde_yaml::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((1, 1));
        Error::Syntax {
            format: Format::Yaml,
            line,
            column,
            message: e.to_string(),
        }
    })?;
    let value = from_yaml(yaml);
    Ok(Document {
        format: Format::Yaml,
        text: text.to_string(),
        value,
        tree: Node {
            span: 0..text.len(),
            kind: NodeKind::Scalar,
        },
    })
}

pub fn emit(_doc: &Document, new: &Value) -> String {
    serde_yaml::to_string(&to_yaml(new)).unwrap_or_default()
}

fn from_yaml(y: Yaml) -> Value {
    match y {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => {
            serde_json::from_str(&n.to_string()).unwrap_or_else(|_| Value::String(n.to_string()))
        }
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(items.into_iter().map(from_yaml).collect()),
        Yaml::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Yaml::String(s) => s,
                    other => serde_yaml::to_string(&other)
                        .unwrap_or_default()
                        .trim_end()
                        .to_string(),
                };
                out.insert(key, from_yaml(v));
            }
            Value::Object(out)
        }
        Yaml::Tagged(t) => {
            let tag = t.tag.to_string();
            let tag = if tag.starts_with('!') {
                tag
            } else {
                format!("!{tag}")
            };
            let mut out = Map::new();
            out.insert(tag, from_yaml(t.value));
            Value::Object(out)
        }
    }
}

fn to_yaml(v: &Value) -> Yaml {
    match v {
        Value::Null => Yaml::Null,
        Value::Bool(b) => Yaml::Bool(*b),
        Value::Number(n) => serde_yaml::from_str(&n.to_string()).unwrap_or(Yaml::Null),
        Value::String(s) => Yaml::String(s.clone()),
        Value::Array(items) => Yaml::Sequence(items.iter().map(to_yaml).collect()),
        Value::Object(map) => {
            if map.len() == 1 {
                if let Some((k, inner)) = map.iter().next() {
                    if let Some(tag) = k.strip_prefix('!') {
                        if !tag.is_empty() {
                            return Yaml::Tagged(Box::new(TaggedValue {
                                tag: Tag::new(tag),
                                value: to_yaml(inner),
                            }));
                        }
                    }
                }
            }
            let mut m = serde_yaml::Mapping::new();
            for (k, v) in map {
                m.insert(Yaml::String(k.clone()), to_yaml(v));
            }
            Yaml::Mapping(m)
        }
    }
}
