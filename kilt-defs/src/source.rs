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

/// Line and column of many offsets in one text, each in time independent of the text's size
/// (one [`line_col`] per offset would rescan the text from its start every time: quadratic for
/// a document with many errors or findings). Answers are those of [`line_col`].
pub struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
    /// Characters before byte `k * CHUNK` (empty for ASCII text).
    chars_before: Vec<usize>,
}

const CHUNK: usize = 256;

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        let mut chars_before = Vec::new();
        if !text.is_ascii() {
            let mut n = 0;
            for chunk in text.as_bytes().chunks(CHUNK) {
                chars_before.push(n);
                n += chunk.iter().filter(|b| !is_continuation(**b)).count();
            }
            chars_before.push(n);
        }
        LineIndex {
            text,
            line_starts,
            chars_before,
        }
    }

    /// Characters that start before byte `at`.
    fn chars_upto(&self, at: usize) -> usize {
        if self.chars_before.is_empty() {
            return at;
        }
        let k = at / CHUNK;
        self.chars_before[k]
            + self.text.as_bytes()[k * CHUNK..at]
                .iter()
                .filter(|b| !is_continuation(**b))
                .count()
    }

    /// Line and column (both 1-based, column in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(self.text, offset.min(self.text.len()));
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        (line, self.chars_upto(offset) - self.chars_upto(start) + 1)
    }
}

fn is_continuation(b: u8) -> bool {
    b & 0xc0 == 0x80
}

/// Finds nodes by path, for many paths into one span tree: a mapping's members are looked up
/// through an index built the first time it is needed (a scan of the members per path would be
/// quadratic for a mapping with many members and many paths into it).
pub struct NodeFinder<'a> {
    root: &'a Node,
    index: std::cell::RefCell<
        std::collections::HashMap<*const Node, std::collections::HashMap<&'a str, usize>>,
    >,
}

/// Mappings with fewer members than this are scanned.
const INDEX_FROM: usize = 16;

impl<'a> NodeFinder<'a> {
    pub fn new(root: &'a Node) -> Self {
        NodeFinder {
            root,
            index: Default::default(),
        }
    }

    /// What [`Node::find`] gives.
    pub fn find(&self, path: &[PathStep]) -> &'a Node {
        let mut node = self.root;
        for step in path {
            let child = match (&node.kind, step) {
                (NodeKind::Map(members), PathStep::Key(k)) if members.len() >= INDEX_FROM => {
                    let mut index = self.index.borrow_mut();
                    let keys = index.entry(node as *const Node).or_insert_with(|| {
                        let mut keys = std::collections::HashMap::new();
                        for (i, m) in members.iter().enumerate() {
                            // The first member of a key, as Node::child finds it.
                            keys.entry(m.key.as_str()).or_insert(i);
                        }
                        keys
                    });
                    keys.get(k.as_str()).map(|&i| &members[i].value)
                }
                _ => node.child(step),
            };
            match child {
                Some(c) => node = c,
                None => break,
            }
        }
        node
    }
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
