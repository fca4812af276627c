//! A HOCON reader sufficient for Kilt recipes: objects (`key: value`, `key = value`,
//! `key { ... }`, dotted keys, merging of repeated keys), arrays, quoted and unquoted strings,
//! numbers, booleans, null, comments (`#`, `//`), substitutions (`${path}`, `${?path}`) and value
//! concatenation (`[] ${?a} ${?b}`, `"x" ${y}`). `include` and `+=` are not supported and say so.
//!
//! Parsing builds a tree of unresolved fields; [`Recipe::resolve`] resolves one path against it
//! with a set of variables (Kilt's `original.*` and `config.*`), so one parse serves every
//! container. Errors carry a byte offset that the caller turns into line:column. Nothing here
//! panics on any input: nesting is limited and every index is checked.

use serde_json::Value as Json;

use crate::definition::Splice;

/// How deep objects and arrays may nest.
const MAX_DEPTH: usize = 64;

/// How many substitutions one resolution may perform (substitutions that double at each level
/// would otherwise grow without bound).
const MAX_LOOKUPS: usize = 20_000;

/// A resolved value.
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    Null,
    Bool(bool),
    /// A number, as written.
    Num(String),
    Str(String),
    Arr(Vec<V>),
    /// Fields in order of first appearance.
    Obj(Vec<(String, V)>),
    /// Stands for part of the container's original argv (Kilt's `original.entry_point` and
    /// `original.command` are lists of one of these).
    Splice(Splice),
}

impl V {
    /// What kind of value this is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            V::Null => "null",
            V::Bool(_) => "a boolean",
            V::Num(_) => "a number",
            V::Str(_) => "a string",
            V::Arr(_) => "a list",
            V::Obj(_) => "an object",
            V::Splice(_) => "the original command line",
        }
    }

    /// The field `key` of an object.
    pub fn get(&self, key: &str) -> Option<&V> {
        match self {
            V::Obj(fields) => fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// From JSON (objects become objects, so `${original.metadata.team}` works).
    pub fn from_json(j: &Json) -> V {
        match j {
            Json::Null => V::Null,
            Json::Bool(b) => V::Bool(*b),
            Json::Number(n) => V::Num(n.to_string()),
            Json::String(s) => V::Str(s.clone()),
            Json::Array(a) => V::Arr(a.iter().map(V::from_json).collect()),
            Json::Object(m) => V::Obj(
                m.iter()
                    .map(|(k, v)| (k.clone(), V::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// To JSON. Numbers that do not parse as JSON numbers become strings.
    pub fn to_json(&self) -> Json {
        match self {
            V::Null => Json::Null,
            V::Bool(b) => Json::Bool(*b),
            V::Num(n) => serde_json::from_str::<Json>(n)
                .ok()
                .filter(Json::is_number)
                .unwrap_or_else(|| Json::String(n.clone())),
            V::Str(s) => Json::String(s.clone()),
            V::Arr(a) => Json::Array(a.iter().map(V::to_json).collect()),
            V::Obj(f) => Json::Object(f.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
            V::Splice(s) => Json::String(format!("${{original.{s:?}}}")),
        }
    }
}

/// A HOCON error at a byte offset of the text.
#[derive(Debug, Clone, PartialEq)]
pub struct HoconError {
    pub offset: usize,
    pub message: String,
}

fn err<T>(offset: usize, message: impl Into<String>) -> Result<T, HoconError> {
    Err(HoconError {
        offset,
        message: message.into(),
    })
}

/// One piece of a value before resolution.
#[derive(Debug, Clone)]
enum Part {
    /// A quoted or unquoted string, or a number/boolean/null token (unquoted).
    Text {
        text: String,
        quoted: bool,
    },
    /// Whitespace between two pieces of a concatenation.
    Ws(String),
    Array(Vec<Expr>),
    Object(Vec<Field>),
    Subst {
        path: Vec<String>,
        optional: bool,
        at: usize,
    },
}

/// A value: one part, or several concatenated.
#[derive(Debug, Clone)]
struct Expr {
    parts: Vec<Part>,
    at: usize,
}

#[derive(Debug, Clone)]
struct Field {
    path: Vec<String>,
    value: Expr,
    at: usize,
}

/// The fields of an object in the merged tree: one per key, in the order keys first appeared
/// (indexed: merging and looking up a key take the same time however many fields there are).
type Fields = indexmap::IndexMap<String, Slot>;

/// The merged tree of a document: objects merged key by key, other values replaced.
#[derive(Debug, Clone)]
enum Slot {
    Obj(Fields),
    Expr(Expr),
    /// A value given from outside (variables), already resolved.
    Given(V),
}

/// A parsed recipe (plus any variables merged in), ready to resolve paths.
#[derive(Debug, Clone)]
pub struct Recipe {
    root: Fields,
    /// Where each field (by full path; list items by index) was last written.
    positions: Vec<(Vec<String>, usize)>,
    /// Required substitutions under this top-level key that are not set resolve to the text
    /// `${path}` instead of failing (for evaluations before the real values are known).
    stand_in: Option<String>,
    /// The size of the text(s) the recipe was read from: what resolving it may cost is
    /// proportional to it.
    size: usize,
}

impl Recipe {
    /// Parse a HOCON document.
    pub fn parse(text: &str) -> Result<Recipe, HoconError> {
        let mut p = Parser {
            s: text.as_bytes(),
            text,
            i: 0,
        };
        let fields = p.document()?;
        let mut r = Recipe {
            root: Fields::new(),
            positions: Vec::new(),
            stand_in: None,
            size: text.len(),
        };
        record_positions(&mut r.positions, &[], &fields);
        r.merge_fields(fields);
        Ok(r)
    }

    /// A recipe whose fields are those of `base` overlaid by those of `self` (later wins).
    pub fn over(&self, base: &Recipe) -> Recipe {
        let mut root = base.root.clone();
        for (k, s) in &self.root {
            merge_slot(&mut root, k, s.clone());
        }
        Recipe {
            root,
            positions: self.positions.clone(),
            stand_in: None,
            size: self.size + base.size,
        }
    }

    /// Let unset required substitutions under the top-level key `prefix` resolve to the text
    /// `${path}` (stand-ins for values known only later).
    pub fn with_stand_ins(mut self, prefix: &str) -> Recipe {
        self.stand_in = Some(prefix.to_string());
        self
    }

    /// The byte offset where `path` (or the nearest enclosing field) was written.
    pub fn position(&self, path: &[&str]) -> Option<usize> {
        for n in (1..=path.len()).rev() {
            if let Some((_, at)) = self
                .positions
                .iter()
                .rev()
                .find(|(p, _)| p.len() == n && p.iter().zip(path).all(|(a, b)| a == b))
            {
                return Some(*at);
            }
        }
        None
    }

    /// Set `path` to an already resolved value (beneath what the document says).
    pub fn with_given(mut self, path: &[&str], value: V) -> Recipe {
        let mut given = Slot::Given(value);
        for k in path.iter().skip(1).rev() {
            given = Slot::Obj(Fields::from([(k.to_string(), given)]));
        }
        if let Some(first) = path.first() {
            let mut root = Fields::from([(first.to_string(), given)]);
            for (k, s) in std::mem::take(&mut self.root) {
                merge_slot(&mut root, &k, s);
            }
            self.root = root;
        }
        self
    }

    fn merge_fields(&mut self, fields: Vec<Field>) {
        for f in fields {
            let slot = slot_of(f.value);
            let mut nested = slot;
            for k in f.path.iter().skip(1).rev() {
                nested = Slot::Obj(Fields::from([(k.clone(), nested)]));
            }
            if let Some(first) = f.path.first() {
                merge_slot(&mut self.root, first, nested);
            }
        }
    }

    /// The keys directly under `path` (in order), if it names an object in the document.
    pub fn keys(&self, path: &[&str]) -> Vec<String> {
        let mut cur = &self.root;
        for k in path {
            match cur.get(*k) {
                Some(Slot::Obj(o)) => cur = o,
                _ => return Vec::new(),
            }
        }
        cur.keys().cloned().collect()
    }

    /// Resolve `path`: `Ok(None)` when it is not set.
    pub fn resolve(&self, path: &[&str]) -> Result<Option<V>, HoconError> {
        let mut r = Resolver {
            recipe: self,
            stack: Vec::new(),
            lookups: 0,
            produced: 0,
        };
        let p: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        r.lookup(&p, 0)
    }
}

fn record_positions(out: &mut Vec<(Vec<String>, usize)>, prefix: &[String], fields: &[Field]) {
    for f in fields {
        let mut p = prefix.to_vec();
        p.extend(f.path.iter().cloned());
        out.push((p.clone(), f.at));
        record_expr(out, &p, &f.value);
    }
}

fn record_expr(out: &mut Vec<(Vec<String>, usize)>, prefix: &[String], e: &Expr) {
    for part in &e.parts {
        match part {
            Part::Object(fields) => record_positions(out, prefix, fields),
            Part::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let mut p = prefix.to_vec();
                    p.push(i.to_string());
                    out.push((p.clone(), item.at));
                    record_expr(out, &p, item);
                }
            }
            _ => {}
        }
    }
}

fn slot_of(e: Expr) -> Slot {
    // A plain object literal merges with what is already there; anything else replaces it.
    let non_ws: Vec<&Part> = e
        .parts
        .iter()
        .filter(|p| !matches!(p, Part::Ws(_)))
        .collect();
    if let [Part::Object(fields)] = non_ws.as_slice() {
        let mut o = Fields::new();
        for f in fields.clone() {
            let mut nested = slot_of(f.value);
            for k in f.path.iter().skip(1).rev() {
                nested = Slot::Obj(Fields::from([(k.clone(), nested)]));
            }
            if let Some(first) = f.path.first() {
                merge_slot(&mut o, first, nested);
            }
        }
        Slot::Obj(o)
    } else {
        Slot::Expr(e)
    }
}

fn merge_slot(into: &mut Fields, key: &str, slot: Slot) {
    if let Some(place) = into.get_mut(key) {
        match (place, slot) {
            (Slot::Obj(existing), Slot::Obj(new)) => {
                for (k, s) in new {
                    merge_slot(existing, &k, s);
                }
            }
            (place, other) => *place = other,
        }
    } else {
        into.insert(key.to_string(), slot);
    }
}

struct Resolver<'a> {
    recipe: &'a Recipe,
    stack: Vec<Vec<String>>,
    lookups: usize,
    /// The size of the values substitutions produced so far (see [`Resolver::spend`]).
    produced: usize,
}

/// Substitutions may produce at most this many times the recipe's size (plus
/// [`MIN_PRODUCE`]): `a = "..."`, `b = ${a}${a}`, `c = ${b}${b}`, ... doubles at every line.
const PRODUCE_FACTOR: usize = 64;
const MIN_PRODUCE: usize = 1 << 20;

/// The size of a value, counted as what making it costs: one per node and per byte of text.
fn weight(v: &V) -> usize {
    match v {
        V::Null | V::Bool(_) | V::Splice(_) => 1,
        V::Num(t) | V::Str(t) => 1 + t.len(),
        V::Arr(items) => 1 + items.iter().map(weight).sum::<usize>(),
        V::Obj(fields) => {
            1 + fields
                .iter()
                .map(|(k, v)| k.len() + weight(v))
                .sum::<usize>()
        }
    }
}

impl Resolver<'_> {
    /// Find `path` in the tree, resolving what lies on the way.
    fn lookup(&mut self, path: &[String], at: usize) -> Result<Option<V>, HoconError> {
        self.lookups += 1;
        if self.lookups > MAX_LOOKUPS {
            return err(
                at,
                format!("more than {MAX_LOOKUPS} substitutions to resolve; the recipe is too large or its substitutions multiply"),
            );
        }
        if self.stack.iter().any(|p| p == path) || self.stack.len() > MAX_DEPTH {
            return err(
                at,
                format!(
                    "substitution ${{{}}} refers to itself (a cycle of substitutions)",
                    path.join(".")
                ),
            );
        }
        self.stack.push(path.to_vec());
        let recipe = self.recipe;
        let r = self.lookup_in(&recipe.root, path);
        self.stack.pop();
        if let Ok(Some(v)) = &r {
            self.spend(weight(v), at)?;
        }
        r
    }

    /// Count what a substitution produced against the budget: what resolving a recipe makes
    /// stays proportional to the recipe's size.
    fn spend(&mut self, amount: usize, at: usize) -> Result<(), HoconError> {
        self.produced = self.produced.saturating_add(amount);
        let budget = self
            .recipe
            .size
            .saturating_mul(PRODUCE_FACTOR)
            .max(MIN_PRODUCE);
        if self.produced > budget {
            return err(
                at,
                format!("substitutions produce more than {budget} bytes of values ({PRODUCE_FACTOR} times the recipe's size); the recipe's substitutions multiply (a value made of several copies of another, over and over): write the values out instead"),
            );
        }
        Ok(())
    }

    fn lookup_in(&mut self, fields: &Fields, path: &[String]) -> Result<Option<V>, HoconError> {
        let Some((first, rest)) = path.split_first() else {
            return Ok(Some(self.object(fields)?));
        };
        let Some(slot) = fields.get(first) else {
            return Ok(None);
        };
        match slot {
            Slot::Obj(o) => self.lookup_in(o, rest),
            Slot::Given(v) => Ok(descend(v, rest).cloned()),
            Slot::Expr(e) => {
                let v = self.expr(e)?;
                Ok(v.as_ref().and_then(|v| descend(v, rest)).cloned())
            }
        }
    }

    fn object(&mut self, fields: &Fields) -> Result<V, HoconError> {
        // One field per key: no earlier one to replace.
        let mut out = Vec::with_capacity(fields.len());
        for (k, s) in fields {
            let v = match s {
                Slot::Obj(o) => Some(self.object(o)?),
                Slot::Given(v) => Some(v.clone()),
                Slot::Expr(e) => self.expr(e)?,
            };
            if let Some(v) = v {
                out.push((k.clone(), v));
            }
        }
        Ok(V::Obj(out))
    }

    /// Resolve a value; `None` when it consists only of undefined optional substitutions.
    fn expr(&mut self, e: &Expr) -> Result<Option<V>, HoconError> {
        // Resolve each part; drop undefined optional substitutions.
        let mut parts: Vec<(V, bool, usize)> = Vec::new(); // (value, is whitespace/text-ish, at)
        let mut ws_pending = String::new();
        let mut any = false;
        for p in &e.parts {
            match p {
                Part::Ws(w) => {
                    ws_pending.push_str(w);
                }
                Part::Text { text, quoted } => {
                    if any && !ws_pending.is_empty() {
                        parts.push((V::Str(std::mem::take(&mut ws_pending)), true, e.at));
                    }
                    ws_pending.clear();
                    let v = if *quoted {
                        V::Str(text.clone())
                    } else {
                        scalar(text)
                    };
                    parts.push((v, false, e.at));
                    any = true;
                }
                Part::Array(items) => {
                    if any && !ws_pending.is_empty() {
                        parts.push((V::Str(std::mem::take(&mut ws_pending)), true, e.at));
                    }
                    ws_pending.clear();
                    let mut out = Vec::new();
                    for item in items {
                        if let Some(v) = self.expr(item)? {
                            out.push(v);
                        }
                    }
                    parts.push((V::Arr(out), false, e.at));
                    any = true;
                }
                Part::Object(fields) => {
                    if any && !ws_pending.is_empty() {
                        parts.push((V::Str(std::mem::take(&mut ws_pending)), true, e.at));
                    }
                    ws_pending.clear();
                    let slot = slot_of(Expr {
                        parts: vec![Part::Object(fields.clone())],
                        at: e.at,
                    });
                    let v = match slot {
                        Slot::Obj(o) => self.object(&o)?,
                        _ => V::Obj(Vec::new()),
                    };
                    parts.push((v, false, e.at));
                    any = true;
                }
                Part::Subst { path, optional, at } => {
                    let v = self.lookup(path, *at)?;
                    match v {
                        Some(v) => {
                            if any && !ws_pending.is_empty() {
                                parts.push((V::Str(std::mem::take(&mut ws_pending)), true, *at));
                            }
                            ws_pending.clear();
                            parts.push((v, false, *at));
                            any = true;
                        }
                        None if *optional => {}
                        None if self.recipe.stand_in.as_deref()
                            == path.first().map(String::as_str) =>
                        {
                            if any && !ws_pending.is_empty() {
                                parts.push((V::Str(std::mem::take(&mut ws_pending)), true, *at));
                            }
                            ws_pending.clear();
                            parts.push((V::Str(format!("${{{}}}", path.join("."))), false, *at));
                            any = true;
                        }
                        None => {
                            return err(
                                *at,
                                format!(
                                    "substitution ${{{}}} cannot be resolved: {} is not set (use ${{?{}}} if it is optional)",
                                    path.join("."),
                                    path.join("."),
                                    path.join(".")
                                ),
                            )
                        }
                    }
                }
            }
        }
        let real: Vec<&(V, bool, usize)> = parts.iter().filter(|(_, ws, _)| !ws).collect();
        match real.as_slice() {
            [] => Ok(None),
            [(v, _, _)] => Ok(Some(v.clone())),
            _ => {
                let all_arrays = real.iter().all(|(v, _, _)| matches!(v, V::Arr(_)));
                let all_objects = real.iter().all(|(v, _, _)| matches!(v, V::Obj(_)));
                if all_arrays {
                    let mut out = Vec::new();
                    for (v, _, _) in real {
                        if let V::Arr(a) = v {
                            out.extend(a.iter().cloned());
                        }
                    }
                    Ok(Some(V::Arr(out)))
                } else if all_objects {
                    // A later field replaces an earlier one of the same key, and takes its
                    // place at the end: keep each key's last field, in order.
                    let all: Vec<&(String, V)> = real
                        .iter()
                        .filter_map(|(v, _, _)| match v {
                            V::Obj(f) => Some(f.iter()),
                            _ => None,
                        })
                        .flatten()
                        .collect();
                    let mut last = std::collections::HashMap::with_capacity(all.len());
                    for (i, (k, _)) in all.iter().enumerate() {
                        last.insert(k.as_str(), i);
                    }
                    let out = all
                        .iter()
                        .enumerate()
                        .filter(|(i, (k, _))| last.get(k.as_str()) == Some(i))
                        .map(|(_, (k, v))| (k.clone(), v.clone()))
                        .collect();
                    Ok(Some(V::Obj(out)))
                } else {
                    let mut s = String::new();
                    for (v, _, at) in &parts {
                        match v {
                            V::Str(t) | V::Num(t) => s.push_str(t),
                            V::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
                            V::Null => s.push_str("null"),
                            other => {
                                return err(
                                    *at,
                                    format!(
                                        "cannot concatenate {} with strings (lists concatenate only with lists, objects only with objects)",
                                        other.kind()
                                    ),
                                )
                            }
                        }
                    }
                    Ok(Some(V::Str(s)))
                }
            }
        }
    }
}

fn descend<'v>(v: &'v V, path: &[String]) -> Option<&'v V> {
    let mut cur = v;
    for k in path {
        cur = cur.get(k)?;
    }
    Some(cur)
}

/// An unquoted token: number, boolean, null or string.
fn scalar(t: &str) -> V {
    match t {
        "true" => V::Bool(true),
        "false" => V::Bool(false),
        "null" => V::Null,
        _ if looks_numeric(t) => V::Num(t.to_string()),
        _ => V::Str(t.to_string()),
    }
}

fn looks_numeric(t: &str) -> bool {
    serde_json::from_str::<Json>(t).is_ok_and(|v| v.is_number())
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
}

/// Characters that end an unquoted string.
fn forbidden(c: u8) -> bool {
    matches!(
        c,
        b'$' | b'"'
            | b'{'
            | b'}'
            | b'['
            | b']'
            | b':'
            | b'='
            | b','
            | b'+'
            | b'#'
            | b'`'
            | b'^'
            | b'?'
            | b'!'
            | b'@'
            | b'*'
            | b'&'
            | b'\\'
    ) || c.is_ascii_whitespace()
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn starts(&self, pat: &str) -> bool {
        self.s
            .get(self.i..)
            .is_some_and(|r| r.starts_with(pat.as_bytes()))
    }

    /// Skip spaces and tabs (not newlines) and a trailing comment.
    fn skip_inline(&mut self) {
        while let Some(c) = self.peek() {
            if c == b' ' || c == b'\t' || c == b'\r' || self.starts("\u{feff}") {
                self.i += if c < 0x80 { 1 } else { 3 };
            } else if c == b'#' || self.starts("//") {
                while let Some(c) = self.peek() {
                    if c == b'\n' {
                        break;
                    }
                    self.i += 1;
                }
            } else {
                break;
            }
        }
    }

    /// Skip whitespace, newlines and comments.
    fn skip_all(&mut self) {
        loop {
            self.skip_inline();
            if self.peek() == Some(b'\n') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn document(&mut self) -> Result<Vec<Field>, HoconError> {
        self.skip_all();
        let fields = if self.peek() == Some(b'{') {
            self.i += 1;
            let f = self.fields(Some(b'}'), 1)?;
            self.i += 1;
            f
        } else if self.peek() == Some(b'[') {
            return err(
                self.i,
                "a Kilt recipe is an object (build { ... }), not a list",
            );
        } else {
            self.fields(None, 1)?
        };
        self.skip_all();
        if self.i < self.s.len() {
            return err(self.i, "unexpected text after the end of the document");
        }
        Ok(fields)
    }

    /// Fields up to `close` (not consumed) or the end of the text.
    fn fields(&mut self, close: Option<u8>, depth: usize) -> Result<Vec<Field>, HoconError> {
        if depth > MAX_DEPTH {
            return err(self.i, format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        let mut out = Vec::new();
        loop {
            self.skip_all();
            match self.peek() {
                None => {
                    if let Some(c) = close {
                        return err(
                            self.i,
                            format!("unexpected end of text: missing '{}'", c as char),
                        );
                    }
                    return Ok(out);
                }
                Some(c) if Some(c) == close => return Ok(out),
                Some(b',') => {
                    return err(self.i, "unexpected ','");
                }
                _ => {}
            }
            let at = self.i;
            if self.starts("include") {
                let save = self.i;
                self.i += 7;
                self.skip_inline();
                if self.peek() == Some(b'"') {
                    return err(at, "include is not supported in Kilt recipes read by kiltx; put everything in one file");
                }
                self.i = save;
            }
            let path = self.key()?;
            self.skip_inline();
            let value = match self.peek() {
                Some(b':') | Some(b'=') => {
                    self.i += 1;
                    self.skip_all();
                    self.value(depth)?
                }
                Some(b'{') => self.value(depth)?,
                Some(b'+') if self.starts("+=") => {
                    return err(self.i, "'+=' is not supported; write the whole list");
                }
                _ => {
                    return err(
                        self.i,
                        format!(
                            "expected ':', '=' or '{{' after the key {:?}",
                            path.join(".")
                        ),
                    )
                }
            };
            out.push(Field { path, value, at });
            // Separator: newline or comma.
            self.skip_inline();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'\n') => {}
                None => {}
                Some(c) if Some(c) == close => {}
                Some(_) => return err(self.i, "expected a newline or ',' between fields"),
            }
        }
    }

    fn key(&mut self) -> Result<Vec<String>, HoconError> {
        let mut path = Vec::new();
        loop {
            let start = self.i;
            let el = match self.peek() {
                Some(b'"') => self.quoted()?,
                _ => {
                    while let Some(c) = self.peek() {
                        if forbidden(c) || c == b'.' || self.starts("//") {
                            break;
                        }
                        self.i += 1;
                    }
                    self.slice(start, self.i)?.to_string()
                }
            };
            if el.is_empty() && self.s.get(start) != Some(&b'"') {
                return err(start, "expected a key");
            }
            path.push(el);
            if self.peek() == Some(b'.') {
                self.i += 1;
            } else {
                return Ok(path);
            }
        }
    }

    fn slice(&self, a: usize, b: usize) -> Result<&str, HoconError> {
        self.text.get(a..b).ok_or(HoconError {
            offset: a,
            message: "invalid text".into(),
        })
    }

    /// A value: one or more parts on one line.
    fn value(&mut self, depth: usize) -> Result<Expr, HoconError> {
        if depth > MAX_DEPTH {
            return err(self.i, format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        let at = self.i;
        let mut parts = Vec::new();
        while let Some(c) = self.peek() {
            let part = match c {
                b'{' => {
                    self.i += 1;
                    let f = self.fields(Some(b'}'), depth + 1)?;
                    self.i += 1;
                    Part::Object(f)
                }
                b'[' => {
                    self.i += 1;
                    Part::Array(self.array(depth + 1)?)
                }
                b'"' => {
                    if self.starts("\"\"\"") {
                        Part::Text {
                            text: self.triple()?,
                            quoted: true,
                        }
                    } else {
                        Part::Text {
                            text: self.quoted()?,
                            quoted: true,
                        }
                    }
                }
                b'$' => self.subst()?,
                c if !forbidden(c) && !self.starts("//") => {
                    let start = self.i;
                    while let Some(c) = self.peek() {
                        if forbidden(c) || self.starts("//") {
                            break;
                        }
                        self.i += 1;
                    }
                    Part::Text {
                        text: self.slice(start, self.i)?.to_string(),
                        quoted: false,
                    }
                }
                _ => break,
            };
            parts.push(part);
            // Whitespace followed by more of the value continues the concatenation.
            let ws_start = self.i;
            while matches!(self.peek(), Some(b' ') | Some(b'\t')) {
                self.i += 1;
            }
            let more = match self.peek() {
                Some(b'{') | Some(b'[') | Some(b'"') | Some(b'$') => true,
                Some(c) => !forbidden(c) && !self.starts("//"),
                None => false,
            };
            if more {
                if self.i > ws_start {
                    parts.push(Part::Ws(self.slice(ws_start, self.i)?.to_string()));
                }
            } else {
                break;
            }
        }
        if parts.is_empty() {
            return match self.peek() {
                None => err(self.i, "unexpected end of text: expected a value"),
                Some(c) => err(
                    self.i,
                    format!("expected a value, found '{}'", char::from(c)),
                ),
            };
        }
        Ok(Expr { parts, at })
    }

    fn array(&mut self, depth: usize) -> Result<Vec<Expr>, HoconError> {
        let mut out = Vec::new();
        loop {
            self.skip_all();
            match self.peek() {
                None => return err(self.i, "unexpected end of text: missing ']'"),
                Some(b']') => {
                    self.i += 1;
                    return Ok(out);
                }
                _ => {}
            }
            out.push(self.value(depth)?);
            self.skip_inline();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'\n') | Some(b']') => {}
                None => return err(self.i, "unexpected end of text: missing ']'"),
                Some(c) => {
                    return err(
                        self.i,
                        format!("expected ',' or ']' in a list, found '{}'", char::from(c)),
                    )
                }
            }
        }
    }

    fn subst(&mut self) -> Result<Part, HoconError> {
        let at = self.i;
        if !self.starts("${") {
            return err(at, "'$' must start a substitution ${path}");
        }
        self.i += 2;
        let optional = self.peek() == Some(b'?');
        if optional {
            self.i += 1;
        }
        while matches!(self.peek(), Some(b' ') | Some(b'\t')) {
            self.i += 1;
        }
        let path = self.key()?;
        while matches!(self.peek(), Some(b' ') | Some(b'\t')) {
            self.i += 1;
        }
        if self.peek() != Some(b'}') {
            return err(self.i, "expected '}' to close the substitution");
        }
        self.i += 1;
        Ok(Part::Subst { path, optional, at })
    }

    fn quoted(&mut self) -> Result<String, HoconError> {
        let start = self.i;
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return err(start, "unterminated string");
            };
            match c {
                b'"' => {
                    self.i += 1;
                    return Ok(out);
                }
                b'\n' => return err(self.i, "unterminated string (newline inside quotes)"),
                b'\\' => {
                    self.i += 1;
                    let e = self.peek();
                    self.i += 1;
                    match e {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'/') => out.push('/'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'n') => out.push('\n'),
                        Some(b'r') => out.push('\r'),
                        Some(b't') => out.push('\t'),
                        Some(b'u') => {
                            let hex = self.slice(self.i, self.i + 4).map_err(|_| HoconError {
                                offset: self.i,
                                message: "bad \\u escape".into(),
                            })?;
                            let code = u32::from_str_radix(hex, 16).map_err(|_| HoconError {
                                offset: self.i,
                                message: "bad \\u escape".into(),
                            })?;
                            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                            self.i += 4;
                        }
                        _ => return err(self.i.saturating_sub(2), "unknown escape in a string"),
                    }
                }
                _ => {
                    // Copy one UTF-8 character.
                    let rest = self.text.get(self.i..).unwrap_or("");
                    match rest.chars().next() {
                        Some(ch) => {
                            out.push(ch);
                            self.i += ch.len_utf8();
                        }
                        None => return err(self.i, "invalid text"),
                    }
                }
            }
        }
    }

    fn triple(&mut self) -> Result<String, HoconError> {
        let start = self.i;
        self.i += 3;
        let rest = self.text.get(self.i..).unwrap_or("");
        match rest.find("\"\"\"") {
            Some(end) => {
                let s = rest[..end].to_string();
                self.i += end + 3;
                Ok(s)
            }
            None => err(start, "unterminated \"\"\" string"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(r: &Recipe, p: &str) -> Option<V> {
        let path: Vec<&str> = p.split('.').collect();
        r.resolve(&path).unwrap()
    }

    #[test]
    fn parses_kilt_syntax() {
        let r = Recipe::parse(
            "# comment\nbuild {\n  entry_point: [\"/kilt/run\", \"--\"] // trailing\n  a.b = 1\n  s: hello world\n  c: [] ${?x} [y]\n  o { k: v }\n}\nbuild.o.j: w\n",
        )
        .unwrap();
        assert_eq!(
            get(&r, "build.entry_point"),
            Some(V::Arr(vec![
                V::Str("/kilt/run".into()),
                V::Str("--".into())
            ]))
        );
        assert_eq!(get(&r, "build.a.b"), Some(V::Num("1".into())));
        assert_eq!(get(&r, "build.s"), Some(V::Str("hello world".into())));
        assert_eq!(get(&r, "build.c"), Some(V::Arr(vec![V::Str("y".into())])));
        assert_eq!(get(&r, "build.o.k"), Some(V::Str("v".into())));
        assert_eq!(get(&r, "build.o.j"), Some(V::Str("w".into())));
    }

    #[test]
    fn substitutions_and_errors() {
        let r = Recipe::parse("a: ${x.y}\nb: \"p-\"${x.y}\nc: ${?nope}\n")
            .unwrap()
            .with_given(&["x"], V::Obj(vec![("y".into(), V::Str("v".into()))]));
        assert_eq!(get(&r, "a"), Some(V::Str("v".into())));
        assert_eq!(get(&r, "b"), Some(V::Str("p-v".into())));
        assert_eq!(get(&r, "c"), None);
        let r = Recipe::parse("a: ${missing.var}").unwrap();
        let e = r.resolve(&["a"]).unwrap_err();
        assert!(e.message.contains("${missing.var}"), "{e:?}");
        assert_eq!(e.offset, 3);
        let r = Recipe::parse("a: ${b}\nb: ${a}").unwrap();
        assert!(r.resolve(&["a"]).is_err());
        for bad in [
            "a: [1, 2", "a {", "a: \"x", "a b", "a: ${x", "{", "a: }", "[1]",
        ] {
            assert!(Recipe::parse(bad).is_err(), "{bad}");
        }
        let deep = "a: ".to_string() + &"[".repeat(200);
        assert!(Recipe::parse(&deep).is_err());
        // Substitutions that double at each level stop with an error, not exhaustion.
        let mut laughs = String::from("l0: [x, x]\n");
        for i in 1..40 {
            laughs.push_str(&format!("l{i}: ${{l{}}} ${{l{}}}\n", i - 1, i - 1));
        }
        let r = Recipe::parse(&laughs).unwrap();
        assert!(r.resolve(&["l39"]).is_err());
    }

    /// Every prefix of a real recipe, and every single-byte change of it, parses or fails
    /// cleanly, and resolves or fails cleanly.
    #[test]
    fn never_panics_on_mangled_recipes() {
        let recipe = include_str!("../../../cli/tests/fixtures/kilt/mangle.kilt.cfg");
        let bytes = recipe.as_bytes();
        let mut texts: Vec<String> = (0..=bytes.len())
            .filter_map(|n| std::str::from_utf8(&bytes[..n]).ok().map(String::from))
            .collect();
        for i in 0..bytes.len() {
            for b in [
                b'{', b'}', b'[', b']', b'"', b'$', b'\n', b'.', b':', b' ', 0xc3,
            ] {
                let mut m = bytes.to_vec();
                m[i] = b;
                if let Ok(t) = String::from_utf8(m) {
                    texts.push(t);
                }
            }
        }
        for t in &texts {
            if let Ok(r) = Recipe::parse(t) {
                let r = r.with_given(&["original"], V::Obj(vec![]));
                for p in [
                    &["build"][..],
                    &["build", "entry_point"],
                    &["build", "mount"],
                ] {
                    let _ = r.resolve(p);
                }
            }
        }
    }
}
