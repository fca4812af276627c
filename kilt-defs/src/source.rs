//! Source documents: the parsed value together with a span tree that maps every node back to
//! the bytes it came from. The span tree is what lets the emitters keep untouched parts of a
//! user's file byte for byte, and what lets diagnostics name a line and column.
//!
//! Conventions shared by every format:
//! - The value model is `serde_json::Value` with `preserve_order` (key order is the file's).
//! - A YAML short-form tag (`!Ref X`, `!Sub ...`, `!GetAtt a.b`, any `!Tag`) is a one-key
//!   object whose key is the tag itself, e.g. `{"!Ref": "X"}`; see [`crate::intrinsic`] for the
//!   helpers that treat `!Ref` and `Ref` alike. Such keys never come from JSON input.

use std::ops::Range;

use serde_json::Value;

/// The concrete syntax a document was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::Json => "JSON",
            Format::Yaml => "YAML",
        })
    }
}

/// One node of the span tree: the byte range of the value in the source text, and its children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Byte range of the whole value (for a tagged YAML value: from the tag to the end of the
    /// value).
    pub span: Range<usize>,
    pub kind: NodeKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    Scalar,
    Seq(Vec<Node>),
    /// Members in source order: the key's byte range, the key, the value.
    Map(Vec<Member>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub key_span: Range<usize>,
    pub key: String,
    pub value: Node,
}

impl Node {
    /// The child at a value-model path step, if the span tree has it.
    pub fn child(&self, step: &PathStep) -> Option<&Node> {
        match (&self.kind, step) {
            (NodeKind::Seq(items), PathStep::Index(i)) => items.get(*i),
            (NodeKind::Map(members), PathStep::Key(k)) => {
                members.iter().find(|m| &m.key == k).map(|m| &m.value)
            }
            _ => None,
        }
    }

    /// The node at `path`, or the deepest ancestor the span tree has.
    pub fn find<'a>(&'a self, path: &[PathStep]) -> &'a Node {
        let mut node = self;
        for step in path {
            match node.child(step) {
                Some(child) => node = child,
                None => break,
            }
        }
        node
    }
}

/// One step of a path into the value model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

/// Render a path the way diagnostics show it: `Resources.App.Properties.ContainerDefinitions[1].Name`.
pub fn render_path(path: &[PathStep]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            PathStep::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathStep::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    if out.is_empty() {
        out.push_str("(document root)");
    }
    out
}

/// Line and column (both 1-based, column in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A parsed document: its text, format, value and span tree.
#[derive(Debug, Clone)]
pub struct Document {
    pub format: Format,
    pub text: String,
    pub value: Value,
    pub tree: Node,
}

impl Document {
    /// Line and column of the node at `path` (or its deepest known ancestor).
    pub fn position(&self, path: &[PathStep]) -> (usize, usize) {
        line_col(&self.text, self.tree.find(path).span.start)
    }
}
