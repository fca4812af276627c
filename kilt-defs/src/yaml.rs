//! YAML documents: parsing into the value model with a span tree (short-form tags as
//! `{"!Tag": value}`, see [`crate::source`]), and an emitter that keeps every untouched part of
//! the original text byte for byte.
//!
//! Parsing uses `saphyr-parser`'s event stream (which reports spans) and resolves plain scalars
//! the way serde_yaml does (YAML 1.2 core schema: `true`/`false`, `null`/`~`/empty, integers
//! including `0x`/`0o`/`0b`, floats; leading zeros make a string). Numbers keep their source
//! text when it is a JSON number (`1.50` stays `1.50`).
//!
//! Limits and refusals, each a [`Error::Syntax`] with line and column:
//! - aliases (`*name`): CloudFormation does not accept them, and refusing them also rules out
//!   alias bombs (anchors alone are harmless and accepted);
//! - nesting deeper than [`MAX_DEPTH`] levels (a tag counts as a level);
//! - duplicate keys in one mapping (reported at the second one);
//! - a mapping or a sequence as a mapping key (`[a, b]: x`, `{a: 1}: x`): JSON has no such
//!   keys, and the text of nested ones grows exponentially with their depth;
//! - more than one document in the stream, and an empty document;
//! - a layout whose parser positions do not nest (never seen outside fuzzing): refused rather
//!   than mangled.
//!
//! Differences from serde_yaml's reading: `.inf`/`.nan` stay strings (JSON has no such
//! numbers); a JSON-shaped number keeps its text.
//!
//! [`emit`] works like [`crate::json::emit`]: an unchanged subtree is copied verbatim; a changed
//! mapping or sequence keeps its members' text and the text between them; new members go at the
//! end, at the collection's own indentation and in its own style (block `- ` / `key:` lines, or
//! `, x` in flow); fresh text is block style in the document's indentation unit and sequence
//! indentation, with `{"!Tag": x}` written as the short-form tag. Mappings with explicit
//! `? key` entries are copied when untouched and written afresh when changed. A tag directly
//! inside a tag cannot be written in YAML (`!Base64 !Sub x` is an error there), so the inner
//! one is written as a one-key mapping with a quoted key, which reads back the same.

use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Number, Value};

use crate::error::Error;
use crate::source::{line_col, Document, Format, Member, Node, NodeKind};

#[cfg(test)]
mod tests;

/// Deepest nesting of collections and tags accepted.
pub const MAX_DEPTH: usize = 128;

/// Parse YAML text into a [`Document`].
pub fn parse(text: &str) -> Result<Document, Error> {
    check_characters(text)?;
    let mut b = Builder {
        text,
        parser: Parser::new_from_str(text),
        chars: CharIndex::new(text),
        last_end: 0,
        key_next: false,
    };
    let (value, tree) = b.document()?;
    check_spans(text, &tree, 0, text.len())?;
    Ok(Document {
        format: Format::Yaml,
        text: text.to_string(),
        value,
        tree,
    })
}

/// Refuse the characters YAML does not allow (outside `c-printable`), a byte-order mark past
/// the start, and a carriage return that is not part of a CRLF: each of them the parser read
/// one way and, once the emitter had written around it, another way (found by fuzzing: a NUL
/// is read as the end of the text, so a patch written after one vanished on the next read; a
/// lone CR is a line break to the parser but not to the emitter's layout; a second BOM turned a
/// quoted scalar into a plain one). PyYAML, and so cfn-lint, refuse the same characters.
fn check_characters(text: &str) -> Result<(), Error> {
    let bytes = text.as_bytes();
    for (at, c) in text.char_indices() {
        let problem = match c {
            '\0' => "a NUL character",
            '\r' if bytes.get(at + 1) != Some(&b'\n') => {
                "a carriage return that does not end a line with a line feed (old Mac line endings); write the file with LF or CRLF line endings"
            }
            '\t' | '\n' | '\r' | '\u{85}' => continue,
            '\u{feff}' if at == 0 => continue,
            '\u{feff}' => "a byte-order mark inside the document",
            c if (c as u32) < 0x20 || c == '\u{7f}' || ('\u{80}'..='\u{9f}').contains(&c) => {
                "a control character"
            }
            '\u{fffe}' | '\u{ffff}' => "a noncharacter",
            _ => continue,
        };
        return Err(syntax_at(
            text,
            at,
            format!(
                "{problem} (U+{:04X}), which YAML does not allow; remove it",
                c as u32
            ),
        ));
    }
    Ok(())
}

fn syntax_at(text: &str, offset: usize, message: impl Into<String>) -> Error {
    let (line, column) = line_col(text, offset);
    Error::Syntax {
        format: Format::Yaml,
        line,
        column,
        message: message.into(),
    }
}

/// Converts the parser's character indices into byte offsets (a cursor: markers mostly move
/// forward).
struct CharIndex {
    ascii: bool,
    chars: usize,
    bytes: usize,
    len: usize,
}

impl CharIndex {
    fn new(text: &str) -> Self {
        CharIndex {
            ascii: text.is_ascii(),
            chars: 0,
            bytes: 0,
            len: text.len(),
        }
    }

    fn byte(&mut self, text: &str, char_index: usize) -> usize {
        if self.ascii {
            return char_index.min(self.len);
        }
        while self.chars > char_index && self.bytes > 0 {
            self.bytes -= 1;
            while self.bytes > 0 && !text.is_char_boundary(self.bytes) {
                self.bytes -= 1;
            }
            self.chars -= 1;
        }
        while self.chars < char_index && self.bytes < self.len {
            self.bytes += text[self.bytes..].chars().next().map_or(1, char::len_utf8);
            self.chars += 1;
        }
        self.bytes
    }
}

struct Builder<'a> {
    text: &'a str,
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    chars: CharIndex,
    /// Byte offset of the end of the last event consumed.
    last_end: usize,
    /// The next node is a mapping key.
    key_next: bool,
}

type Parsed = (Value, Node);

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Range<usize>), Error> {
        match self.parser.next_event() {
            Some(Ok((event, span))) => {
                let range = self.range(span);
                Ok((event, range))
            }
            Some(Err(e)) => {
                let line = e.marker().line().max(1);
                let column = e.marker().col() + 1;
                Err(Error::Syntax {
                    format: Format::Yaml,
                    line,
                    column,
                    message: e.info().to_string(),
                })
            }
            None => Err(syntax_at(
                self.text,
                self.text.len(),
                "unexpected end of input",
            )),
        }
    }

    /// Byte offset where the next event starts (the end of the text if there is none).
    fn peek_start(&mut self) -> usize {
        let index = match self.parser.peek() {
            Some(Ok((_, span))) => Some(span.start.index()),
            _ => None,
        };
        match index {
            Some(i) => self.chars.byte(self.text, i),
            None => self.text.len(),
        }
    }

    fn range(&mut self, span: Span) -> Range<usize> {
        let start = self.chars.byte(self.text, span.start.index());
        let end = self.chars.byte(self.text, span.end.index());
        start..end.max(start)
    }

    fn document(&mut self) -> Result<Parsed, Error> {
        let mut root: Option<Parsed> = None;
        loop {
            let (event, range) = self.next()?;
            match event {
                Event::StreamStart | Event::Nothing | Event::DocumentEnd => {}
                Event::DocumentStart(explicit) => {
                    if root.is_some() {
                        return Err(syntax_at(
                            self.text,
                            range.start,
                            "a second YAML document in the same file: a template is one document",
                        ));
                    }
                    if explicit {
                        self.last_end = range.end;
                    }
                    let (event, range) = self.next()?;
                    let parsed = self.node(event, range, 1)?;
                    if parsed.1.span.is_empty() && parsed.0.is_null() {
                        return Err(syntax_at(self.text, parsed.1.span.start, "empty document"));
                    }
                    root = Some(parsed);
                }
                Event::StreamEnd => {
                    return root.ok_or_else(|| syntax_at(self.text, 0, "empty document"));
                }
                _ => {
                    return Err(syntax_at(self.text, range.start, "unexpected YAML event"));
                }
            }
        }
    }

    fn node(
        &mut self,
        event: Event<'a>,
        range: Range<usize>,
        depth: usize,
    ) -> Result<Parsed, Error> {
        if depth > MAX_DEPTH {
            return Err(syntax_at(
                self.text,
                range.start,
                format!("nesting deeper than {MAX_DEPTH} levels"),
            ));
        }
        let is_key = std::mem::take(&mut self.key_next);
        match event {
            Event::Alias(_) => Err(syntax_at(self.text, range.start, ALIAS_MESSAGE)),
            Event::Scalar(value, style, _, tag) => {
                let region_start = self.last_end;
                let (start, end) = match style {
                    ScalarStyle::Literal | ScalarStyle::Folded => {
                        let header = self.block_header(region_start).unwrap_or(range.start);
                        let header_line = self.text[header..].split(['\n', '#']).next();
                        let end = if header_line.is_some_and(|h| h.contains('+')) {
                            // Keep chomping: the trailing line breaks are content.
                            range.end.max(header)
                        } else {
                            trim_end_ws(self.text, header, range.end.max(header))
                        };
                        (header, end)
                    }
                    // An empty key: where the parser saw it (before its `:`).
                    // The parser's empty (null) scalar: `~` where there is no `~`.
                    ScalarStyle::Plain
                        if !range.is_empty()
                            && (value.is_empty()
                                || (value == "~"
                                    && self.text.as_bytes().get(range.start) != Some(&b'~'))) =>
                    {
                        let bound = self.peek_start().max(region_start);
                        let at = self.empty_position(region_start).clamp(region_start, bound);
                        (at, at)
                    }
                    _ if range.is_empty() && is_key => {
                        // After the `?` of an explicit empty key.
                        let at = range.start
                            + usize::from(self.text.as_bytes().get(range.start) == Some(&b'?'));
                        (at, at)
                    }
                    _ if range.is_empty() => {
                        let bound = self.peek_start().max(region_start);
                        let at = self.empty_position(region_start).clamp(region_start, bound);
                        (at, at)
                    }
                    _ => (range.start, range.end),
                };
                let tag_name = tag.as_deref().and_then(local_tag);
                // A tag that is not a short-form function (`!!str`, `!`) belongs to the scalar's
                // text, so that a value written in its place drops it.
                let start = match (&tag, &tag_name) {
                    (Some(_), None) => find_token(self.text, region_start, start, b'!')
                        .unwrap_or(start)
                        .min(start),
                    _ => start,
                };
                let resolved = match (style, tag.as_deref()) {
                    (ScalarStyle::Plain, None) => resolve_plain(&value),
                    (ScalarStyle::Plain, Some(t)) if tag_name.is_some() || !is_str_tag(t) => {
                        resolve_plain(&value)
                    }
                    _ => Value::String(value.into_owned()),
                };
                self.last_end = end.max(self.last_end);
                let node = Node {
                    span: start..end,
                    kind: NodeKind::Scalar,
                };
                Ok(self.wrap_tag(tag_name, region_start, resolved, node))
            }
            Event::SequenceStart(_, tag) => {
                let region_start = self.last_end;
                let flow = !range.is_empty();
                let mut start = range.start;
                if !flow && self.text.as_bytes().get(start) != Some(&b'-') {
                    // An indentless sequence (`key:\n- a`) starts at its first item's content.
                    start = find_token(self.text, region_start, start, b'-').unwrap_or(start);
                }
                self.last_end = if flow { range.end.max(start) } else { start };
                let tag_name = tag.as_deref().and_then(local_tag);
                let inner_depth = depth + usize::from(tag_name.is_some());
                let mut items = Vec::new();
                let mut values = Vec::new();
                let end;
                loop {
                    let (event, r) = self.next()?;
                    if let Event::SequenceEnd = event {
                        end = if flow {
                            r.end
                        } else {
                            extend_comment(
                                self.text,
                                items.last().map_or(start, |n: &Node| n.span.end),
                            )
                        };
                        break;
                    }
                    let (v, n) = self.node(event, r, inner_depth + 1)?;
                    values.push(v);
                    items.push(n);
                }
                self.last_end = end.max(self.last_end);
                let node = Node {
                    span: start..end,
                    kind: NodeKind::Seq(items),
                };
                Ok(self.wrap_tag(tag_name, region_start, Value::Array(values), node))
            }
            Event::MappingStart(_, tag) => {
                let region_start = self.last_end;
                let flow = !range.is_empty();
                let mut start = range.start;
                if !flow && !is_key {
                    // A block mapping whose first key is explicit starts at its `?`.
                    let bytes = self.text.as_bytes();
                    let mut i = start;
                    while i > region_start && matches!(bytes.get(i - 1), Some(b' ' | b'\t')) {
                        i -= 1;
                    }
                    if i > region_start && bytes.get(i - 1) == Some(&b'?') {
                        start = i - 1;
                    }
                }
                self.last_end = if flow { range.end.max(start) } else { start };
                let tag_name = tag.as_deref().and_then(local_tag);
                let inner_depth = depth + usize::from(tag_name.is_some());
                let mut members: Vec<Member> = Vec::new();
                let mut map = Map::new();
                let end;
                loop {
                    let (event, r) = self.next()?;
                    if let Event::MappingEnd = event {
                        end = if flow {
                            r.end
                        } else {
                            extend_comment(
                                self.text,
                                members.last().map_or(start, |m| m.value.span.end),
                            )
                        };
                        break;
                    }
                    self.key_next = true;
                    let (kv, kn) = self.node(event, r, inner_depth + 1)?;
                    self.key_next = false;
                    if !scalar_key(&kv) {
                        return Err(syntax_at(self.text, kn.span.start, COMPLEX_KEY_MESSAGE));
                    }
                    let key = key_string(kv);
                    if map.contains_key(&key) {
                        return Err(syntax_at(
                            self.text,
                            kn.span.start,
                            format!("duplicate key {key:?} in the same mapping"),
                        ));
                    }
                    let (event, r) = self.next()?;
                    let (v, n) = self.node(event, r, inner_depth + 1)?;
                    map.insert(key.clone(), v);
                    members.push(Member {
                        key_span: kn.span,
                        key,
                        value: n,
                    });
                }
                self.last_end = end.max(self.last_end);
                let node = Node {
                    span: start..end,
                    kind: NodeKind::Map(members),
                };
                Ok(self.wrap_tag(tag_name, region_start, Value::Object(map), node))
            }
            _ => Err(syntax_at(self.text, range.start, "unexpected YAML event")),
        }
    }

    /// Wrap a tagged node as `{"!Tag": value}`, its span starting at the tag.
    fn wrap_tag(
        &self,
        tag: Option<String>,
        region_start: usize,
        value: Value,
        node: Node,
    ) -> Parsed {
        let Some(tag) = tag else {
            return (value, node);
        };
        let bytes = self.text.as_bytes();
        let tag_start =
            find_token(self.text, region_start, node.span.start, b'!').unwrap_or(node.span.start);
        let mut tag_end = tag_start;
        while tag_end < node.span.start.max(tag_start)
            && !matches!(
                bytes.get(tag_end),
                Some(b' ' | b'\t' | b'\r' | b'\n' | b',' | b'[' | b']' | b'{' | b'}') | None
            )
        {
            tag_end += 1;
        }
        let mut map = Map::new();
        map.insert(tag.clone(), value);
        let span = tag_start..node.span.end.max(tag_end);
        (
            Value::Object(map),
            Node {
                span,
                kind: NodeKind::Map(vec![Member {
                    key_span: tag_start..tag_end,
                    key: tag,
                    value: node,
                }]),
            },
        )
    }

    /// The `|`/`>` header of a block scalar that follows `from`.
    fn block_header(&self, from: usize) -> Option<usize> {
        let bytes = self.text.as_bytes();
        let mut i = from;
        let mut line_start = true;
        while i < bytes.len() {
            match bytes[i] {
                b'|' | b'>' => return Some(i),
                b'#' if line_start
                    || matches!(bytes.get(i.wrapping_sub(1)), Some(b' ' | b'\t')) =>
                {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                }
                b'!' | b'&' => {
                    while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t' | b'\n' | b'\r') {
                        i += 1;
                    }
                    continue;
                }
                b'\n' => {
                    line_start = true;
                    i += 1;
                    continue;
                }
                _ => {}
            }
            line_start = false;
            i += 1;
        }
        None
    }

    /// Where an empty (implicit null) value sits: right after the indicator and properties
    /// that follow `from` on the same line.
    fn empty_position(&self, from: usize) -> usize {
        let bytes = self.text.as_bytes();
        let mut i = from;
        let mut seen_indicator = false;
        // The indicator (`- ` of a sequence item, `: ` of an explicit key's value) may be on a
        // later line, after comments.
        let mut k = from;
        loop {
            match bytes.get(k) {
                Some(b' ' | b'\t' | b'\r' | b'\n') => k += 1,
                Some(b'#') if k == 0 || matches!(bytes[k - 1], b' ' | b'\t' | b'\r' | b'\n') => {
                    while k < bytes.len() && bytes[k] != b'\n' {
                        k += 1;
                    }
                }
                _ => break,
            }
        }
        if matches!(bytes.get(k), Some(b':' | b'-' | b'?'))
            && matches!(bytes.get(k + 1), Some(b' ' | b'\t' | b'\r' | b'\n') | None)
        {
            i = k + 1;
            seen_indicator = true;
        }
        loop {
            while matches!(bytes.get(i), Some(b' ' | b'\t')) {
                i += 1;
            }
            match bytes.get(i) {
                Some(b':' | b'-' | b'?') if !seen_indicator => {
                    seen_indicator = true;
                    i += 1;
                }
                Some(b'!' | b'&') => {
                    let token_end = i;
                    let mut j = i;
                    while !matches!(
                        bytes.get(j),
                        Some(b' ' | b'\t' | b'\n' | b'\r' | b',' | b'[' | b']' | b'{' | b'}')
                            | None
                    ) {
                        j += 1;
                    }
                    if j == token_end {
                        return i;
                    }
                    i = j;
                    // Stop right after a property when nothing else follows on the line.
                    let mut k = i;
                    while matches!(bytes.get(k), Some(b' ' | b'\t')) {
                        k += 1;
                    }
                    if !matches!(bytes.get(k), Some(b'!' | b'&')) {
                        return i;
                    }
                }
                _ => {
                    // Back off trailing blanks we skipped.
                    while i > from && matches!(bytes.get(i - 1), Some(b' ' | b'\t')) {
                        i -= 1;
                    }
                    return i;
                }
            }
        }
    }
}

/// The emitter relies on spans that nest and follow each other in order, on character
/// boundaries; a layout where the parser's positions do not give that is refused, not mangled.
fn check_spans(text: &str, node: &Node, lo: usize, hi: usize) -> Result<(), Error> {
    let ok_range = |r: &Range<usize>, lo: usize, hi: usize| {
        lo <= r.start
            && r.start <= r.end
            && r.end <= hi
            && text.is_char_boundary(r.start)
            && text.is_char_boundary(r.end)
    };
    let bad = |at: usize| {
        Err(syntax_at(
            text,
            at,
            "unsupported YAML layout here (the positions of its parts overlap); \
             please rewrite this part in plain block or flow style",
        ))
    };
    if !ok_range(&node.span, lo, hi) {
        return bad(node.span.start.min(text.len()));
    }
    let mut pos = node.span.start;
    match &node.kind {
        NodeKind::Scalar => {}
        NodeKind::Seq(items) => {
            for item in items {
                check_spans(text, item, pos, node.span.end)?;
                no_alias(text, pos, item.span.start)?;
                pos = item.span.end;
            }
        }
        NodeKind::Map(members) => {
            for m in members {
                if !ok_range(&m.key_span, pos, node.span.end) {
                    return bad(m.key_span.start.min(text.len()));
                }
                no_alias(text, pos, m.key_span.start)?;
                check_spans(text, &m.value, m.key_span.end, node.span.end)?;
                no_alias(text, m.key_span.end, m.value.span.start)?;
                pos = m.value.span.end;
            }
        }
    }
    if !matches!(node.kind, NodeKind::Scalar) {
        no_alias(text, pos, node.span.end)?;
    }
    Ok(())
}

/// The parser drops an alias to an unknown anchor without a word; find one in the text
/// between nodes.
fn no_alias(text: &str, from: usize, to: usize) -> Result<(), Error> {
    match find_token(text, from, to, b'*') {
        Some(at) => Err(syntax_at(text, at, ALIAS_MESSAGE)),
        None => Ok(()),
    }
}

const ALIAS_MESSAGE: &str = "YAML aliases (*name) are not supported: CloudFormation does not \
                             accept them; write the value out in full";

/// First occurrence of a token starting with `first` in `text[from..to]`, outside comments.
fn find_token(text: &str, from: usize, to: usize, first: u8) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = from;
    let mut prev_blank = true;
    while i < to.min(bytes.len()) {
        let b = bytes[i];
        if b == b'#' && prev_blank {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if b == first && prev_blank_or_indicator(bytes, i, from) {
            return Some(i);
        }
        prev_blank = matches!(b, b' ' | b'\t' | b'\n' | b'\r');
        i += 1;
    }
    None
}

fn prev_blank_or_indicator(bytes: &[u8], i: usize, from: usize) -> bool {
    i == from
        || matches!(
            bytes.get(i.wrapping_sub(1)),
            Some(b' ' | b'\t' | b'\n' | b'\r' | b',' | b'[' | b'{' | b':' | b'-')
        )
}

/// A block collection ends with the comment that ends its last line (so that members added
/// after the last one go below that comment, not in front of it).
fn extend_comment(text: &str, end: usize) -> usize {
    let bytes = text.as_bytes();
    if end == 0 || bytes.get(end - 1) == Some(&b'\n') {
        return end;
    }
    let mut i = end;
    while matches!(bytes.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    if bytes.get(i) != Some(&b'#') {
        return end;
    }
    while i < bytes.len() && !matches!(bytes[i], b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The end of the last line of `text[start..end]` that is not blank (its trailing blanks are
/// content of a block scalar, and stay in it).
fn trim_end_ws(text: &str, start: usize, end: usize) -> usize {
    let bytes = text.as_bytes();
    let limit = end.min(bytes.len());
    let mut last = limit;
    while last > start && matches!(bytes[last - 1], b' ' | b'\t' | b'\n' | b'\r') {
        last -= 1;
    }
    while last < limit && matches!(bytes[last], b' ' | b'\t') {
        last += 1;
    }
    last
}

/// The value-model key of a local tag (`!Ref`), or None for core-schema and other tags.
fn local_tag(tag: &Tag) -> Option<String> {
    if tag.handle == "!" && !tag.suffix.is_empty() {
        Some(format!("!{}", tag.suffix))
    } else if tag.handle.is_empty() && tag.suffix.starts_with('!') && tag.suffix.len() > 1 {
        Some(tag.suffix.clone())
    } else {
        None
    }
}

fn is_str_tag(tag: &Tag) -> bool {
    tag.handle == "tag:yaml.org,2002:" && tag.suffix == "str"
}

const COMPLEX_KEY_MESSAGE: &str = "a mapping or a list used as a key: keys in a template are \
                                   text (CloudFormation and JSON have no other kind); write the \
                                   key as a plain or quoted string";

/// Whether a mapping key is a scalar, or a short-form tag on a scalar (`!Ref x: ...`). A
/// collection as a key is refused: it has no JSON form, and writing it as text would nest
/// escapes, doubling the key's length at every level of `{{{...}}}: x`.
fn scalar_key(v: &Value) -> bool {
    match v {
        Value::Array(_) => false,
        Value::Object(m) => {
            m.len() == 1
                && m.iter().all(|(k, inner)| {
                    k.starts_with('!') && !matches!(inner, Value::Array(_) | Value::Object(_))
                })
        }
        _ => true,
    }
}

fn key_string(v: Value) -> String {
    match v {
        Value::String(s) => s,
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => serde_json::to_string(&other).unwrap_or_default(),
    }
}

/// Resolve a plain scalar as serde_yaml does (YAML 1.2 core schema).
pub(crate) fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(n) = resolve_number(s) {
        return Value::Number(n);
    }
    Value::String(s.to_string())
}

fn digits_but_not_number(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    s.len() > 1 && s.starts_with('0') && s[1..].bytes().all(|b| b.is_ascii_digit())
}

fn resolve_number(s: &str) -> Option<Number> {
    let first = s.as_bytes().first()?;
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return None;
    }
    if digits_but_not_number(s) {
        return None;
    }
    // A JSON number keeps its text (serde_json's arbitrary_precision).
    if s.bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
    {
        if let Ok(n) = serde_json::from_str::<Number>(s) {
            return Some(n);
        }
    }
    let (neg, body) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.starts_with(['+', '-']) {
        return None;
    }
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = body.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                return None;
            }
            if let Ok(v) = u64::from_str_radix(rest, radix) {
                return if neg {
                    i64::try_from(v).ok().map(|v| Number::from(-v))
                } else {
                    Some(Number::from(v))
                };
            }
            return None;
        }
    }
    if let Ok(v) = body.parse::<u64>() {
        return if neg {
            i64::try_from(v).ok().map(|v| Number::from(-v))
        } else {
            Some(Number::from(v))
        };
    }
    if body.starts_with(['.', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
        && !body.eq_ignore_ascii_case(".inf")
        && !body.eq_ignore_ascii_case(".nan")
    {
        if let Ok(f) = body.parse::<f64>() {
            if f.is_finite() {
                return Number::from_f64(if neg { -f } else { f });
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Emitting
// ---------------------------------------------------------------------------------------------

/// Layout conventions of a document, for text the emitter writes fresh.
#[derive(Debug, Clone)]
struct Style {
    /// Spaces per indentation level.
    unit: usize,
    /// Spaces between a mapping key's column and the `-` of a block sequence that is its value.
    seq_offset: usize,
    newline: &'static str,
}

impl Style {
    fn detect(doc: &Document) -> Style {
        let mut style = Style {
            unit: 0,
            seq_offset: usize::MAX,
            newline: if doc.text.contains("\r\n") {
                "\r\n"
            } else {
                "\n"
            },
        };
        detect_in(&doc.text, &doc.tree, &mut style);
        if style.unit == 0 {
            style.unit = 2;
        }
        if style.seq_offset == usize::MAX {
            style.seq_offset = style.unit;
        }
        style
    }
}

fn detect_in(src: &str, node: &Node, style: &mut Style) {
    if style.unit != 0 && style.seq_offset != usize::MAX {
        return;
    }
    match &node.kind {
        NodeKind::Map(members) if is_block_map(src, node) => {
            for m in members {
                let key_col = column(src, m.key_span.start);
                let v = &m.value;
                if on_later_line(src, m.key_span.start, v.span.start) {
                    if let NodeKind::Map(inner) = &v.kind {
                        if style.unit == 0 && is_block_map(src, v) {
                            if let Some(first) = inner.first() {
                                let c = column(src, first.key_span.start);
                                if c > key_col {
                                    style.unit = c - key_col;
                                }
                            }
                        }
                    }
                    if let NodeKind::Seq(_) = &v.kind {
                        if style.seq_offset == usize::MAX && is_block_seq(src, v) {
                            let c = column(src, v.span.start);
                            if c >= key_col {
                                style.seq_offset = c - key_col;
                            }
                        }
                    }
                }
                detect_in(src, v, style);
            }
        }
        NodeKind::Map(members) => {
            for m in members {
                detect_in(src, &m.value, style);
            }
        }
        NodeKind::Seq(items) => {
            for i in items {
                detect_in(src, i, style);
            }
        }
        NodeKind::Scalar => {}
    }
}

fn on_later_line(src: &str, a: usize, b: usize) -> bool {
    b > a && src.get(a..b).is_some_and(|s| s.contains('\n'))
}

/// Column (in characters, 0-based) of byte offset `at`.
fn column(src: &str, at: usize) -> usize {
    let at = at.min(src.len());
    let mut start = at;
    while start > 0 && src.as_bytes()[start - 1] != b'\n' {
        start -= 1;
    }
    src.get(start..at).map_or(0, |s| s.chars().count())
}

fn first_byte(src: &str, node: &Node) -> Option<u8> {
    src.as_bytes().get(node.span.start).copied()
}

fn is_tag_node(src: &str, node: &Node) -> bool {
    match &node.kind {
        NodeKind::Map(members) => {
            members.len() == 1
                && members[0].key.starts_with('!')
                && members[0].key_span.start == node.span.start
                && src.as_bytes().get(node.span.start) == Some(&b'!')
        }
        _ => false,
    }
}

fn is_block_map(src: &str, node: &Node) -> bool {
    matches!(node.kind, NodeKind::Map(_))
        && !is_tag_node(src, node)
        && first_byte(src, node) != Some(b'{')
}

fn is_block_seq(src: &str, node: &Node) -> bool {
    matches!(node.kind, NodeKind::Seq(_)) && first_byte(src, node) == Some(b'-')
}

/// The tag and inner value of a one-key `{"!Tag": value}` object, when the tag can be written
/// as a YAML short-form tag.
fn as_tag(v: &Value) -> Option<(&str, &Value)> {
    let map = v.as_object()?;
    if map.len() != 1 {
        return None;
    }
    let (k, inner) = map.iter().next()?;
    let name = k.strip_prefix('!')?;
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.' | b'/'));
    ok.then_some((k.as_str(), inner))
}

/// Write `new` in the layout of `doc`: subtrees equal to the original keep their original text;
/// changed collections keep their members' text; new parts are written in block style with the
/// document's own indentation.
pub fn emit(doc: &Document, new: &Value) -> String {
    if *new == doc.value {
        return doc.text.clone();
    }
    let style = Style::detect(doc);
    let src = doc.text.as_str();
    let mut out = String::with_capacity(src.len() + 1024);
    let root = &doc.tree;
    out.push_str(&src[..root.span.start]);
    let e = Emitter { src, style };
    if !e.splice(root, &doc.value, new, &mut out) {
        let line_start = src[..root.span.start].rfind('\n').map_or(0, |i| i + 1);
        let before = &src[line_start..root.span.start];
        if !before.trim().is_empty() && !e.inline_able(new) {
            out.push_str(e.style.newline);
        }
        let col = if out.ends_with('\n') || out.is_empty() {
            0
        } else {
            column(&out, out.len())
        };
        e.write_item(new, col, &mut out);
        e.keep_line_end(root, &mut out);
    }
    // Blanks that ended the old root's last line would now end another node's line, where
    // they might be content (a block scalar): drop them.
    let trailing = &src[root.span.end..];
    let rest = trailing.trim_start_matches([' ', '\t']);
    let trailing = if rest.is_empty() || rest.starts_with(['\n', '\r']) {
        rest
    } else {
        trailing
    };
    push_gap(trailing, &mut out);
    out
}

struct Emitter<'a> {
    src: &'a str,
    style: Style,
}

impl Emitter<'_> {
    fn nl_indent(&self, col: usize, out: &mut String) {
        out.push_str(self.style.newline);
        for _ in 0..col {
            out.push(' ');
        }
    }

    /// A node whose text ended its line (a `|+` block scalar) replaced by fresh text: end the
    /// line again, as the text after it expects.
    fn keep_line_end(&self, node: &Node, out: &mut String) {
        if self.src[node.span.clone()].ends_with('\n') && !out.ends_with('\n') {
            out.push_str(self.style.newline);
        }
    }

    /// Try to write `new` over `node` (whose value was `old`) keeping the original text.
    /// Returns false, having written nothing, when the node must be written fresh.
    fn splice(&self, node: &Node, old: &Value, new: &Value, out: &mut String) -> bool {
        if old == new {
            out.push_str(&self.src[node.span.clone()]);
            return true;
        }
        let mark = out.len();
        let ok = match (&node.kind, old, new) {
            (NodeKind::Map(members), Value::Object(old_map), Value::Object(new_map))
                if is_tag_node(self.src, node) =>
            {
                let m = &members[0];
                match (old_map.get(&m.key), new_map.get(&m.key), as_tag(new)) {
                    (Some(old_inner), Some(new_inner), Some(_)) if as_tag(new_inner).is_none() => {
                        out.push_str(&self.src[node.span.start..m.value.span.start]);
                        self.splice(&m.value, old_inner, new_inner, out)
                    }
                    _ => false,
                }
            }
            (NodeKind::Map(members), Value::Object(old_map), Value::Object(new_map))
                if !members.is_empty()
                    && !new_map.is_empty()
                    && as_tag(new).is_none()
                    // Explicit `? key` entries are copied when untouched, never edited.
                    && !members.iter().any(|m| explicit_key_at(self.src, m).is_some()) =>
            {
                self.splice_map(node, members, old_map, new_map, out);
                true
            }
            (NodeKind::Seq(items), Value::Array(old_items), Value::Array(new_items))
                if !items.is_empty() && !new_items.is_empty() =>
            {
                self.splice_seq(node, items, old_items, new_items, out);
                true
            }
            _ => false,
        };
        if !ok {
            out.truncate(mark);
        }
        ok
    }

    fn splice_map(
        &self,
        node: &Node,
        members: &[Member],
        old_map: &Map<String, Value>,
        new_map: &Map<String, Value>,
        out: &mut String,
    ) {
        let src = self.src;
        let flow = first_byte(src, node) == Some(b'{');
        let col = if flow {
            column(src, members[0].key_span.start)
        } else {
            column(src, node.span.start)
        };
        let standard_gap = if flow {
            if members.len() >= 2 {
                src[members[0].value.span.end..members[1].key_span.start].to_string()
            } else if src[node.span.clone()].contains('\n') {
                let mut g = ",".to_string();
                g.push_str(self.style.newline);
                g.push_str(&" ".repeat(col));
                g
            } else {
                ", ".to_string()
            }
        } else {
            let mut g = self.style.newline.to_string();
            g.push_str(&" ".repeat(col));
            g
        };
        let last_end = members[members.len() - 1].value.span.end;
        let tail = &src[last_end..node.span.end];
        let mut tail_done = false;
        let mut prev: Option<usize> = None;
        // Where each key is among the members (the first of its name, as a scan finds it): one
        // scan per key would be quadratic in a mapping with many members.
        let mut positions: std::collections::HashMap<&str, usize> =
            std::collections::HashMap::with_capacity(members.len());
        for (i, m) in members.iter().enumerate() {
            positions.entry(m.key.as_str()).or_insert(i);
        }
        for (n, (key, value)) in new_map.iter().enumerate() {
            let idx = positions.get(key.as_str()).copied();
            let consecutive = matches!((idx, prev), (Some(i), Some(p)) if i == p + 1);
            if !flow && !consecutive && prev == Some(members.len() - 1) {
                out.push_str(tail);
                tail_done = true;
            }
            // Whether the text before this member is the original one.
            match (n, idx, prev) {
                (0, Some(0), _) => {
                    out.push_str(&src[node.span.start..members[0].key_span.start]);
                }
                (0, _, _) => {
                    if flow {
                        out.push_str(&src[node.span.start..members[0].key_span.start]);
                    }
                }
                (_, Some(i), Some(p)) if i == p + 1 => {
                    out.push_str(&src[members[p].value.span.end..members[i].key_span.start]);
                }
                _ => push_gap(&standard_gap, out),
            }
            match (idx, old_map.get(key)) {
                (Some(i), Some(old_value)) => {
                    let m = &members[i];
                    let prefix = &src[m.key_span.start..m.value.span.start];
                    let mark = out.len();
                    out.push_str(prefix);
                    let has_colon = src[m.key_span.end..m.value.span.start].contains(':');
                    if self.splice(&m.value, old_value, value, out) {
                        // spliced in place
                    } else if flow {
                        if !has_colon {
                            out.push(':');
                        }
                        sep(out);
                        self.write_inline(value, true, out);
                    } else if self.inline_able(value)
                        && has_colon
                        && !prefix.contains('\n')
                        && find_token(prefix, 0, prefix.len(), b'!').is_none()
                    {
                        sep(out);
                        self.write_inline(value, false, out);
                    } else {
                        out.truncate(mark);
                        if m.key_span.is_empty() {
                            write_scalar(key, false, out);
                        } else {
                            out.push_str(&src[m.key_span.clone()]);
                        }
                        out.push(':');
                        self.write_map_value(value, col, out);
                    }
                    self.keep_line_end(&m.value, out);
                }
                _ => {
                    write_scalar(key, flow, out);
                    out.push(':');
                    if flow {
                        out.push(' ');
                        self.write_inline(value, true, out);
                    } else {
                        self.write_map_value(value, col, out);
                    }
                }
            }
            prev = idx;
        }
        if !tail_done {
            out.push_str(tail);
        }
    }

    fn splice_seq(
        &self,
        node: &Node,
        items: &[Node],
        old_items: &[Value],
        new_items: &[Value],
        out: &mut String,
    ) {
        let src = self.src;
        let flow = first_byte(src, node) == Some(b'[');
        let standard_gap = if flow {
            if items.len() >= 2 {
                src[items[0].span.end..items[1].span.start].to_string()
            } else {
                ", ".to_string()
            }
        } else {
            let mut g = self.style.newline.to_string();
            g.push_str(&" ".repeat(column(src, node.span.start)));
            g.push_str("- ");
            g
        };
        let item_col = column(src, node.span.start) + 2;
        let last_end = items[items.len() - 1].span.end;
        let tail = &src[last_end..node.span.end];
        let mut tail_done = false;
        out.push_str(&src[node.span.start..items[0].span.start]);
        for (i, value) in new_items.iter().enumerate() {
            if i > 0 {
                if i < items.len() {
                    out.push_str(&src[items[i - 1].span.end..items[i].span.start]);
                } else {
                    if i == items.len() && !flow {
                        out.push_str(tail);
                        tail_done = true;
                    }
                    push_gap(&standard_gap, out);
                }
            }
            match (items.get(i), old_items.get(i)) {
                (Some(item), Some(old_value)) => {
                    if !self.splice(item, old_value, value, out) {
                        sep(out);
                        if flow {
                            self.write_inline(value, true, out);
                        } else {
                            self.write_item(value, column(src, item.span.start).max(item_col), out);
                        }
                        self.keep_line_end(item, out);
                    }
                }
                _ => {
                    if flow {
                        self.write_inline(value, true, out);
                    } else {
                        self.write_item(value, item_col, out);
                    }
                }
            }
        }
        if !tail_done {
            out.push_str(tail);
        }
    }

    /// Whether `v` is written on one line in block context.
    fn inline_able(&self, v: &Value) -> bool {
        match v {
            Value::Array(a) => a.is_empty(),
            Value::Object(m) => match as_tag(v) {
                Some((_, inner)) => self.inline_able(inner) || as_tag(inner).is_some(),
                None => m.is_empty(),
            },
            _ => true,
        }
    }

    /// One-line (flow) rendering.
    fn write_inline(&self, v: &Value, flow: bool, out: &mut String) {
        match v {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => out.push_str(&n.to_string()),
            Value::String(s) => write_scalar(s, flow, out),
            Value::Array(items) => {
                out.push('[');
                for (i, x) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.write_inline(x, true, out);
                }
                out.push(']');
            }
            Value::Object(map) => {
                if let Some((tag, inner)) = as_tag(v) {
                    out.push_str(tag);
                    out.push(' ');
                    if as_tag(inner).is_some() {
                        self.write_flow_map(inner, out);
                    } else {
                        self.write_inline(inner, flow, out);
                    }
                    return;
                }
                self.write_flow_map(&Value::Object(map.clone()), out);
            }
        }
    }

    fn write_flow_map(&self, v: &Value, out: &mut String) {
        out.push('{');
        if let Value::Object(map) = v {
            for (i, (k, x)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_scalar(k, true, out);
                out.push_str(": ");
                self.write_inline(x, true, out);
            }
        }
        out.push('}');
    }

    /// Write what follows `key:` in a block mapping whose keys are at column `col`.
    fn write_map_value(&self, v: &Value, col: usize, out: &mut String) {
        if self.inline_able(v) {
            out.push(' ');
            self.write_inline(v, false, out);
            return;
        }
        let (tag, inner) = match as_tag(v) {
            Some((tag, inner)) => (Some(tag), inner),
            None => (None, v),
        };
        if let Some(tag) = tag {
            out.push(' ');
            out.push_str(tag);
        }
        match inner {
            Value::Array(items) => {
                let dash = col + self.style.seq_offset;
                for x in items {
                    self.nl_indent(dash, out);
                    out.push_str("- ");
                    self.write_item(x, dash + 2, out);
                }
            }
            Value::Object(map) => {
                let inner_col = col + self.style.unit;
                for (k, x) in map {
                    self.nl_indent(inner_col, out);
                    write_scalar(k, false, out);
                    out.push(':');
                    self.write_map_value(x, inner_col, out);
                }
            }
            other => {
                out.push(' ');
                self.write_inline(other, false, out);
            }
        }
    }

    /// Write a value whose first line starts at column `col` (after `- `, or at the root).
    fn write_item(&self, v: &Value, col: usize, out: &mut String) {
        if self.inline_able(v) {
            self.write_inline(v, false, out);
            return;
        }
        let (tag, inner) = match as_tag(v) {
            Some((tag, inner)) => (Some(tag), inner),
            None => (None, v),
        };
        let mut first = true;
        if let Some(tag) = tag {
            out.push_str(tag);
            first = false;
        }
        match inner {
            Value::Array(items) => {
                for x in items {
                    if !first {
                        self.nl_indent(col, out);
                    }
                    first = false;
                    out.push_str("- ");
                    self.write_item(x, col + 2, out);
                }
            }
            Value::Object(map) => {
                for (k, x) in map {
                    if !first {
                        self.nl_indent(col, out);
                    }
                    first = false;
                    write_scalar(k, false, out);
                    out.push(':');
                    self.write_map_value(x, col, out);
                }
            }
            other => {
                if !first {
                    out.push(' ');
                }
                self.write_inline(other, false, out);
            }
        }
    }
}

/// Where the `?` of a block mapping member written with an explicit key indicator is.
fn explicit_key_at(src: &str, m: &Member) -> Option<usize> {
    // The last thing before the key, comments and blank lines aside, is a `?`.
    let before = &src[..m.key_span.start.min(src.len())];
    // Something on the key's own line before it decides (a comment cannot come before a key
    // on its line); looking no further than that keeps the members of a long one-line flow
    // mapping from rescanning the line each.
    let bytes = before.as_bytes();
    let mut i = bytes.len();
    while i > 0 && matches!(bytes[i - 1], b' ' | b'\t' | b'\r') {
        i -= 1;
    }
    if i > 0 && bytes[i - 1] != b'\n' {
        return (bytes[i - 1] == b'?').then_some(i - 1);
    }
    if i == 0 {
        return None;
    }
    let mut line_end = i - 1;
    loop {
        let line_start = before[..line_end].rfind('\n').map_or(0, |i| i + 1);
        let line = &before[line_start..line_end];
        let bytes = line.as_bytes();
        let mut end = bytes.len();
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'#' && (i == 0 || matches!(bytes[i - 1], b' ' | b'\t')) {
                end = i;
                break;
            }
        }
        let code = line[..end].trim_end_matches([' ', '\t', '\r']);
        if !code.trim_start().is_empty() {
            return code.ends_with('?').then(|| line_start + code.len() - 1);
        }
        if line_start == 0 {
            return None;
        }
        line_end = line_start - 1;
    }
}

/// Push a gap; a node that already ends its line (a `|+` block scalar) takes the gap's line
/// break.
fn push_gap(gap: &str, out: &mut String) {
    if out.ends_with('\n') {
        if let Some(rest) = gap.strip_prefix("\r\n").or_else(|| gap.strip_prefix('\n')) {
            out.push_str(rest);
            return;
        }
    }
    out.push_str(gap);
}

/// Before a value written fresh where an empty one was (`key:`, `-`, `&anchor`): a space.
fn sep(out: &mut String) {
    if !matches!(
        out.as_bytes().last(),
        Some(b' ' | b'\t' | b'\n' | b'[' | b'{') | None
    ) {
        out.push(' ');
    }
}

/// Whether `s` can be written as a plain scalar and read back as the same string.
fn plain_ok(s: &str, flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if resolve_plain(s) != Value::String(s.to_string()) {
        return false;
    }
    // Conservative: anything a YAML 1.1 reader might take for a bool, null, number or date.
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "y" | "n" | "yes" | "no" | "on" | "off" | ".inf" | "-.inf" | "+.inf" | ".nan" | "<<" | "="
    ) {
        return false;
    }
    if s.bytes().any(|b| b.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b"+-._:eExXoObBT ".contains(&b))
    {
        return false;
    }
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) || first.is_whitespace() {
        return false;
    }
    if s.ends_with(|c: char| c.is_whitespace() || c == ':') {
        return false;
    }
    if s.contains(": ") || s.contains('#') || s.contains(":\t") {
        return false;
    }
    if flow && (s.contains([',', '[', ']', '{', '}', ':', '?']) || s.contains(" -")) {
        return false;
    }
    s.chars().all(|c| {
        c != '\t' && printable(c) && !matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}')
    })
}

fn printable(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// Write a string scalar: plain when that reads back the same, double-quoted otherwise.
fn write_scalar(s: &str, flow: bool, out: &mut String) {
    if plain_ok(s, flow) {
        out.push_str(s);
        return;
    }
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if printable(c) && !matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                out.push(c)
            }
            c if (c as u32) <= 0xff => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
}
