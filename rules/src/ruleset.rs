//! Falco rules files: `rule`, `macro`, `list`, `required_engine_version`,
//! `required_plugin_versions`, appends and overrides (`override:` and the
//! older `append: true`), several files in order, loaded and compiled the way
//! Falco's rule loader does it:
//!
//! - lists are expanded one level (an item naming an earlier list is replaced
//!   by its items) and substituted into conditions as text, items with a
//!   blank quoted (Falco's `resolve_list`);
//! - macros are parsed, and resolved in the syntax tree, each seeing the
//!   macros defined before it; rules see every macro;
//! - exceptions become `and not (...)` after the condition in parentheses;
//! - every field is checked against Falco's field table: an unknown one is an
//!   error; one kiltx cannot supply loads, and the rule is reported.
//!
//! Errors name the file, line and column.
use crate::condition::{self, Expr, Pos};
use crate::eval::{self, Node};
use crate::output::Format;
use crate::yaml::{self, Node as Y, Y as K};
use std::collections::{HashMap, HashSet};

/// The rules-engine version kiltx implements (Falco's numbering: the
/// condition grammar and fields of the 0.57 engine, Falco 0.42).
pub const ENGINE_VERSION: &str = "0.57.0";

/// An error in a rules file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{col}: {message}")]
pub struct RuleError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

/// Falco's priorities, most severe first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    Emergency,
    Alert,
    Critical,
    Error,
    Warning,
    Notice,
    Informational,
    Debug,
}

impl Priority {
    pub fn parse(s: &str) -> Option<Priority> {
        Some(match s.to_ascii_lowercase().as_str() {
            "emergency" => Priority::Emergency,
            "alert" => Priority::Alert,
            "critical" => Priority::Critical,
            "error" => Priority::Error,
            "warning" => Priority::Warning,
            "notice" => Priority::Notice,
            "informational" | "info" => Priority::Informational,
            "debug" => Priority::Debug,
            _ => return None,
        })
    }

    /// The word Falco writes in alerts.
    pub fn word(self) -> &'static str {
        match self {
            Priority::Emergency => "Emergency",
            Priority::Alert => "Alert",
            Priority::Critical => "Critical",
            Priority::Error => "Error",
            Priority::Warning => "Warning",
            Priority::Notice => "Notice",
            Priority::Informational => "Informational",
            Priority::Debug => "Debug",
        }
    }
}

/// A compiled rule.
#[derive(Debug)]
pub struct Rule {
    pub name: String,
    pub desc: String,
    pub priority: Priority,
    pub tags: Vec<String>,
    pub source: String,
    pub enabled: bool,
    pub output: Format,
    pub cond: Node,
    /// Fields of the condition kiltx cannot supply (they evaluate as missing).
    pub missing: Vec<String>,
    /// Whether the rule can fire at all under kiltx (`false` when it needs a
    /// field kiltx cannot supply).
    pub possible: bool,
    /// The event types the rule can match (`None`: any).
    pub evttypes: Option<crate::FxHashSet<String>>,
    pub file: String,
    pub line: usize,
}

/// A rule set: the compiled rules in file order, and warnings.
#[derive(Debug, Default)]
pub struct Ruleset {
    pub rules: Vec<Rule>,
    /// Rules of another source than `syscall` (loaded, never evaluated).
    pub other_source: Vec<String>,
    pub warnings: Vec<String>,
    pub macros: usize,
    pub lists: usize,
}

#[derive(Clone, Debug)]
struct Loc {
    file: String,
    line: usize,
    col: usize,
}

#[derive(Clone, Debug)]
struct ListInfo {
    items: Vec<String>,
    index: usize,
    visibility: usize,
    loc: Loc,
}

#[derive(Clone, Debug)]
struct MacroInfo {
    cond: String,
    index: usize,
    visibility: usize,
    loc: Loc,
    /// The condition's node, for exact error positions.
    cond_node: Option<(usize, usize, bool)>,
}

#[derive(Clone, Debug)]
struct Exception {
    name: String,
    fields: Option<ExVal>,
    comps: Option<ExVal>,
    values: Vec<ExVal>,
    loc: Loc,
}

#[derive(Clone, Debug)]
enum ExVal {
    Item(String),
    List(Vec<ExVal>),
}

#[derive(Clone, Debug)]
struct RuleInfo {
    name: String,
    desc: String,
    cond: String,
    output: String,
    priority: Priority,
    tags: Vec<String>,
    source: String,
    enabled: bool,
    exceptions: Vec<Exception>,
    /// `skip-if-unknown-filter`: a rule using a field this engine does not
    /// know is skipped with a warning instead of being an error.
    skip_unknown: bool,
    loc: Loc,
    cond_loc: Loc,
    cond_node: Option<(usize, usize, bool)>,
    output_loc: Loc,
}

/// Everything collected from the files, before compilation.
#[derive(Default)]
struct Collector {
    index: usize,
    lists: HashMap<String, ListInfo>,
    list_order: Vec<String>,
    macros: HashMap<String, MacroInfo>,
    macro_order: Vec<String>,
    rules: Vec<RuleInfo>,
    errors: Vec<RuleError>,
    warnings: Vec<String>,
}

fn version_tuple(v: &str) -> Option<(u64, u64, u64)> {
    let mut it = v.trim().split('.').map(|p| p.parse::<u64>().ok());
    let a = it.next()??;
    let b = it.next().unwrap_or(Some(0))?;
    let c = it.next().unwrap_or(Some(0))?;
    Some((a, b, c))
}

/// Scalar text of a node (numbers and booleans as written).
fn text(n: &Y) -> Option<String> {
    match &n.y {
        K::Scalar { text, .. } => Some(text.clone()),
        _ => None,
    }
}

impl Collector {
    fn err(&mut self, file: &str, n: &Y, m: impl Into<String>) {
        self.errors.push(RuleError {
            file: file.to_string(),
            line: n.line,
            col: n.col,
            message: m.into(),
        });
    }

    fn loc(file: &str, n: &Y) -> Loc {
        Loc {
            file: file.to_string(),
            line: n.line,
            col: n.col,
        }
    }

    fn file(&mut self, file: &str, src: &str) {
        let root = match yaml::parse(src) {
            Ok(r) => r,
            Err((m, line, col)) => {
                self.errors.push(RuleError {
                    file: file.into(),
                    line,
                    col,
                    message: format!("YAML syntax error: {m}"),
                });
                return;
            }
        };
        let items = match &root.y {
            K::Null => return,
            K::Seq(items) => items,
            _ => {
                self.err(
                    file,
                    &root,
                    "a rules file is a sequence of rule, macro and list items",
                );
                return;
            }
        };
        for item in items {
            if !matches!(item.y, K::Map(_)) {
                self.err(
                    file,
                    item,
                    format!(
                        "expected a mapping (rule, macro or list), found {}",
                        item.kind()
                    ),
                );
                continue;
            }
            if let Some(v) = item.get("required_engine_version") {
                self.engine_version(file, v);
            } else if item.get("required_plugin_versions").is_some() {
                // kiltx supplies the container plugin's fields itself
            } else if let Some(n) = item.get("list") {
                self.list(file, item, n);
            } else if let Some(n) = item.get("macro") {
                self.macro_(file, item, n);
            } else if let Some(n) = item.get("rule") {
                self.rule(file, item, n);
            } else {
                let keys: Vec<&str> = item.keys().map(|(k, _)| k).collect();
                self.warnings.push(format!(
                    "{file}:{}:{}: unknown top level item ({}): ignored",
                    item.line,
                    item.col,
                    keys.join(", ")
                ));
            }
        }
    }

    fn engine_version(&mut self, file: &str, v: &Y) {
        let Some(req) = text(v) else {
            self.err(file, v, "required_engine_version: expected a version");
            return;
        };
        match (version_tuple(&req), version_tuple(ENGINE_VERSION)) {
            (Some(r), Some(ours)) if r > ours => self.err(
                file,
                v,
                format!("rules require engine version {req}, but kiltx implements engine version {ENGINE_VERSION}"),
            ),
            (None, _) => self.err(file, v, format!("required_engine_version: '{req}' is not a version")),
            _ => {}
        }
    }

    /// `append: true` or `override: {key: append|replace}`: which keys are
    /// appended and which replaced; `None` for a plain definition.
    fn mode(
        &mut self,
        file: &str,
        item: &Y,
        appendable: &[&str],
        replaceable: &[&str],
    ) -> Option<Result<HashMap<String, bool>, ()>> {
        let append = item.get("append");
        let ovr = item.get("override");
        if append.is_some() && ovr.is_some() {
            self.err(
                file,
                item,
                "'append' and 'override' cannot be used together",
            );
            return Some(Err(()));
        }
        if let Some(a) = append {
            return match a.as_bool() {
                Some(true) => {
                    let m = appendable
                        .iter()
                        .filter(|k| item.get(k).is_some())
                        .map(|k| (k.to_string(), true))
                        .collect();
                    Some(Ok(m))
                }
                Some(false) => None,
                None => {
                    self.err(file, a, "append: expected true or false");
                    Some(Err(()))
                }
            };
        }
        let o = ovr?;
        if !matches!(o.y, K::Map(_)) {
            self.err(
                file,
                o,
                "override: expected a mapping of keys to append or replace",
            );
            return Some(Err(()));
        }
        let mut m = HashMap::new();
        for (k, v) in o.keys() {
            let how = v.as_str().unwrap_or("");
            let ok = match how {
                "append" => appendable.contains(&k),
                "replace" => replaceable.contains(&k),
                _ => false,
            };
            if !ok {
                self.err(
                    file,
                    v,
                    format!(
                        "override: key '{k}' cannot be '{how}' (append: {}; replace: {})",
                        appendable.join(", "),
                        replaceable.join(", ")
                    ),
                );
                return Some(Err(()));
            }
            if item.get(k).is_none() {
                self.err(
                    file,
                    o,
                    format!("override: key '{k}' is overridden but not given"),
                );
                return Some(Err(()));
            }
            m.insert(k.to_string(), how == "append");
        }
        Some(Ok(m))
    }

    fn string(&mut self, file: &str, item: &Y, key: &str) -> Option<String> {
        let v = item.get(key)?;
        match &v.y {
            K::Scalar { text, .. } => Some(text.clone()),
            K::Null => Some(String::new()),
            _ => {
                self.err(
                    file,
                    v,
                    format!("{key}: expected a string, found {}", v.kind()),
                );
                None
            }
        }
    }

    fn list(&mut self, file: &str, item: &Y, name: &Y) {
        let Some(name) = text(name) else {
            self.err(file, item, "list: expected a name");
            return;
        };
        let mut items = Vec::new();
        match item.get("items") {
            Some(n) => match &n.y {
                K::Seq(v) => {
                    for x in v {
                        match text(x) {
                            Some(t) => items.push(t),
                            None => self.err(file, x, "list items must be strings"),
                        }
                    }
                }
                K::Null => {}
                _ => {
                    self.err(file, n, "items: expected a sequence");
                    return;
                }
            },
            None => {
                self.err(file, item, format!("list '{name}' has no 'items'"));
                return;
            }
        }
        match self.mode(file, item, &["items"], &["items"]) {
            Some(Err(())) => {}
            Some(Ok(m)) => {
                let index = self.index;
                self.index += 1;
                match self.lists.get_mut(&name) {
                    Some(prev) => {
                        if m.get("items") == Some(&true) {
                            prev.items.extend(items);
                        } else {
                            prev.items = items;
                        }
                        prev.visibility = index;
                    }
                    None => self.err(file, item, format!("list '{name}' has 'append' or 'override' but no list by that name is defined")),
                }
            }
            None => {
                let index = self.index;
                self.index += 1;
                if !self.lists.contains_key(&name) {
                    self.list_order.push(name.clone());
                }
                self.lists.insert(
                    name,
                    ListInfo {
                        items,
                        index,
                        visibility: index,
                        loc: Self::loc(file, item),
                    },
                );
            }
        }
    }

    fn macro_(&mut self, file: &str, item: &Y, name: &Y) {
        let Some(name) = text(name) else {
            self.err(file, item, "macro: expected a name");
            return;
        };
        let Some(cn) = item.get("condition") else {
            self.err(file, item, format!("macro '{name}' has no 'condition'"));
            return;
        };
        let Some(cond) = self.string(file, item, "condition") else {
            return;
        };
        let node = cond_node(cn);
        match self.mode(file, item, &["condition"], &["condition"]) {
            Some(Err(())) => {}
            Some(Ok(m)) => {
                let index = self.index;
                self.index += 1;
                match self.macros.get_mut(&name) {
                    Some(prev) => {
                        if m.get("condition") == Some(&true) {
                            prev.cond = format!("{} {}", prev.cond, cond.trim());
                            prev.cond_node = None;
                        } else {
                            prev.cond = cond.trim().to_string();
                            prev.cond_node = node;
                            prev.loc = Self::loc(file, cn);
                        }
                        prev.visibility = index;
                    }
                    None => self.err(file, item, format!("macro '{name}' has 'append' or 'override' but no macro by that name is defined")),
                }
            }
            None => {
                let index = self.index;
                self.index += 1;
                if !self.macros.contains_key(&name) {
                    self.macro_order.push(name.clone());
                }
                self.macros.insert(
                    name,
                    MacroInfo {
                        cond: cond.trim().to_string(),
                        index,
                        visibility: index,
                        loc: Self::loc(file, cn),
                        cond_node: node,
                    },
                );
            }
        }
    }

    fn exceptions(&mut self, file: &str, n: &Y) -> Option<Vec<Exception>> {
        let K::Seq(v) = &n.y else {
            if n.is_null() {
                return Some(Vec::new());
            }
            self.err(file, n, "exceptions: expected a sequence");
            return None;
        };
        fn exval(n: &Y) -> Option<ExVal> {
            match &n.y {
                K::Scalar { text, .. } => Some(ExVal::Item(text.clone())),
                K::Seq(v) => Some(ExVal::List(v.iter().map(exval).collect::<Option<_>>()?)),
                _ => None,
            }
        }
        let mut out = Vec::new();
        for e in v {
            let Some(name) = e.get("name").and_then(text) else {
                self.err(file, e, "exception: expected a 'name'");
                return None;
            };
            let fields = match e.get("fields") {
                Some(f) => Some(exval(f).or_else(|| {
                    self.err(
                        file,
                        f,
                        "exception fields: expected a field or a list of fields",
                    );
                    None
                })?),
                None => None,
            };
            let comps = match e.get("comps") {
                Some(c) => Some(exval(c).or_else(|| {
                    self.err(
                        file,
                        c,
                        "exception comps: expected an operator or a list of operators",
                    );
                    None
                })?),
                None => None,
            };
            let values = match e.get("values") {
                Some(vn) => match &vn.y {
                    K::Seq(vs) => vs
                        .iter()
                        .map(|x| {
                            exval(x).or_else(|| {
                                self.err(
                                    file,
                                    x,
                                    "exception values: expected strings or lists of strings",
                                );
                                None
                            })
                        })
                        .collect::<Option<Vec<_>>>()?,
                    K::Null => Vec::new(),
                    _ => {
                        self.err(file, vn, "exception values: expected a sequence");
                        return None;
                    }
                },
                None => Vec::new(),
            };
            out.push(Exception {
                name,
                fields,
                comps,
                values,
                loc: Self::loc(file, e),
            });
        }
        Some(out)
    }

    fn rule(&mut self, file: &str, item: &Y, name_node: &Y) {
        let Some(name) = text(name_node) else {
            self.err(file, item, "rule: expected a name");
            return;
        };
        let enabled = match item.get("enabled") {
            Some(e) => match e.as_bool() {
                Some(b) => Some(b),
                None => {
                    self.err(file, e, "enabled: expected true or false");
                    return;
                }
            },
            None => None,
        };
        let mode = self.mode(
            file,
            item,
            &["condition", "output", "desc", "tags", "exceptions"],
            &[
                "condition",
                "output",
                "desc",
                "priority",
                "tags",
                "exceptions",
                "enabled",
                "source",
                "warn_evttypes",
                "skip-if-unknown-filter",
                "capture",
                "capture_duration",
            ],
        );
        let keys: Vec<&str> = item.keys().map(|(k, _)| k).collect();
        let only_enabled =
            enabled.is_some() && keys.iter().all(|k| matches!(*k, "rule" | "enabled"));
        let tags = match item.get("tags") {
            Some(t) => match &t.y {
                K::Seq(v) => v.iter().filter_map(text).collect(),
                K::Null => Vec::new(),
                _ => {
                    self.err(file, t, "tags: expected a sequence of strings");
                    return;
                }
            },
            None => Vec::new(),
        };
        let priority = match item.get("priority") {
            Some(p) => match text(p).as_deref().and_then(Priority::parse) {
                Some(p) => Some(p),
                None => {
                    self.err(file, p, format!("invalid priority '{}': expected emergency, alert, critical, error, warning, notice, informational (info) or debug", text(p).unwrap_or_default()));
                    return;
                }
            },
            None => None,
        };
        let exceptions = match item.get("exceptions") {
            Some(e) => match self.exceptions(file, e) {
                Some(x) => x,
                None => return,
            },
            None => Vec::new(),
        };
        let cond = self.string(file, item, "condition");
        let output = self.string(file, item, "output");
        let desc = self.string(file, item, "desc");
        let source = self.string(file, item, "source");
        let cond_loc = item.get("condition").map(|n| Self::loc(file, n));
        let cond_nd = item.get("condition").and_then(cond_node);
        let output_loc = item.get("output").map(|n| Self::loc(file, n));
        if only_enabled && mode.is_none() {
            match self.rules.iter_mut().find(|r| r.name == name) {
                Some(r) => r.enabled = enabled.expect("only_enabled"),
                None => self.err(
                    file,
                    item,
                    format!(
                        "rule '{name}' has 'enabled' key but no rule by that name already exists"
                    ),
                ),
            }
            return;
        }
        match mode {
            Some(Err(())) => {}
            Some(Ok(m)) => {
                let Some(prev) = self.rules.iter_mut().find(|r| r.name == name) else {
                    self.err(file, item, format!("rule '{name}' has 'append' or 'override' but no rule by that name already exists"));
                    return;
                };
                let app = |k: &str| m.get(k).copied();
                if let Some(c) = &cond {
                    match app("condition") {
                        Some(true) => {
                            prev.cond = format!("{} {}", prev.cond, c.trim());
                            prev.cond_node = None;
                        }
                        Some(false) => {
                            prev.cond = c.trim().to_string();
                            prev.cond_loc = cond_loc.clone().expect("condition given");
                            prev.cond_node = cond_nd;
                        }
                        None => {}
                    }
                }
                if let Some(o) = &output {
                    match app("output") {
                        Some(true) => prev.output = format!("{} {}", prev.output, o.trim()),
                        Some(false) => {
                            prev.output = o.trim().to_string();
                            prev.output_loc = output_loc.clone().expect("output given");
                        }
                        None => {}
                    }
                }
                if let Some(d) = &desc {
                    match app("desc") {
                        Some(true) => prev.desc = format!("{} {}", prev.desc, d.trim()),
                        Some(false) => prev.desc = d.trim().to_string(),
                        None => {}
                    }
                }
                match app("tags") {
                    Some(true) => prev.tags.extend(tags),
                    Some(false) => prev.tags = tags,
                    None => {}
                }
                if app("skip-if-unknown-filter") == Some(false) {
                    prev.skip_unknown = item
                        .get("skip-if-unknown-filter")
                        .and_then(Y::as_bool)
                        .unwrap_or(false);
                }
                if app("priority") == Some(false) {
                    prev.priority = priority.expect("priority given");
                }
                if app("source") == Some(false) {
                    prev.source = source.unwrap_or_default();
                }
                if let Some(e) = enabled {
                    if app("enabled").is_some() || m.is_empty() || item.get("append").is_some() {
                        prev.enabled = e;
                    }
                }
                match app("exceptions") {
                    Some(true) => {
                        for ex in exceptions {
                            match prev.exceptions.iter_mut().find(|p| p.name == ex.name) {
                                Some(p) => {
                                    if ex.fields.is_some() || ex.comps.is_some() {
                                        let (f, l) = (ex.loc.file.clone(), ex.loc.line);
                                        self.errors.push(RuleError { file: f, line: l, col: ex.loc.col, message: format!("exception '{}': cannot append fields or comps to an existing exception, only values", ex.name) });
                                        return;
                                    }
                                    p.values.extend(ex.values);
                                }
                                None => prev.exceptions.push(ex),
                            }
                        }
                    }
                    Some(false) => prev.exceptions = exceptions,
                    None => {}
                }
            }
            None => {
                let mut missing = Vec::new();
                for k in ["condition", "output", "desc", "priority"] {
                    if item.get(k).is_none() {
                        missing.push(k);
                    }
                }
                if !missing.is_empty() {
                    self.err(
                        file,
                        item,
                        format!("rule '{name}': missing {}", missing.join(", ")),
                    );
                    return;
                }
                let info = RuleInfo {
                    skip_unknown: item
                        .get("skip-if-unknown-filter")
                        .and_then(Y::as_bool)
                        .unwrap_or(false),
                    name: name.clone(),
                    desc: desc.unwrap_or_default().trim().to_string(),
                    cond: cond.unwrap_or_default().trim().to_string(),
                    output: output.unwrap_or_default().trim().to_string(),
                    priority: priority.expect("checked"),
                    tags,
                    source: source.unwrap_or_else(|| "syscall".into()),
                    enabled: enabled.unwrap_or(true),
                    exceptions,
                    loc: Self::loc(file, item),
                    cond_loc: cond_loc.expect("checked"),
                    cond_node: cond_nd,
                    output_loc: output_loc.expect("checked"),
                };
                match self.rules.iter_mut().find(|r| r.name == name) {
                    // a redefinition replaces the rule, keeping its place
                    Some(prev) => *prev = info,
                    None => self.rules.push(info),
                }
            }
        }
    }
}

/// For a condition written on one line: (line, column, quoted), so that a
/// position inside the condition maps to the file.
fn cond_node(n: &Y) -> Option<(usize, usize, bool)> {
    match &n.y {
        K::Scalar { text, plain } if !text.contains('\n') => Some((n.line, n.col, !plain)),
        _ => None,
    }
}

/// Falco's quoting of a list item when substituted: quoted if it has a blank
/// and is not quoted already.
fn quote_item(e: &str) -> String {
    if e.contains(' ') && !e.starts_with('"') && !e.starts_with('\'') {
        format!("\"{e}\"")
    } else {
        e.to_string()
    }
}

/// Falco's `resolve_list`: every occurrence of the list's name delimited by
/// blanks, parentheses, commas or `=` is replaced by its items.
///
/// One pass over the condition, whatever the number of occurrences (the text is built once,
/// not once per occurrence), stopping with `Err(bytes)` as soon as the text would grow past
/// `room` bytes. Which occurrences are replaced, and where the search resumes after each, is
/// exactly Falco's loop (`tests::resolve_list_is_the_reference_one`).
fn resolve_list(
    cnd: &mut String,
    name: &str,
    items: &[String],
    room: usize,
) -> Result<bool, usize> {
    if name.is_empty() {
        return Ok(false);
    }
    let src = cnd.as_str();
    let b = src.as_bytes();
    // (callers check that `from` is a char boundary)
    let find = |from: usize| -> Option<usize> { src.get(from..)?.find(name).map(|i| i + from) };
    let mut sub: Option<String> = None;
    // The text so far: `out`, then src[i..] unchanged.
    let mut out = String::new();
    let mut i = 0;
    let mut next = find(0);
    while let Some(p) = next {
        let end = p + name.len();
        // the byte before the occurrence in the text as it now reads
        let before = if p > i {
            Some(b[p - 1])
        } else {
            out.as_bytes().last().copied()
        };
        if before.is_none_or(|c| LIST_DELIMS.contains(&c))
            && (end >= b.len() || LIST_DELIMS.contains(&b[end]))
        {
            let sub = sub.get_or_insert_with(|| {
                items
                    .iter()
                    .map(|v| quote_item(v))
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            out.push_str(&src[i..p]);
            while out
                .as_bytes()
                .last()
                .is_some_and(|c| LIST_BLANKS.contains(c))
            {
                out.pop();
            }
            let mut e = end;
            while e < b.len() && LIST_BLANKS.contains(&b[e]) {
                e += 1;
            }
            if sub.is_empty() {
                if out.ends_with(',') {
                    out.pop();
                } else if e < b.len() && b[e] == b',' {
                    e += 1;
                }
            }
            let began = out.is_empty();
            if !began {
                out.push(' ');
            }
            out.push_str(sub);
            out.push(' ');
            i = e;
            let length = out.len() + (b.len() - i);
            if length > room {
                return Err(length);
            }
            // Falco searches again one byte past the blank written after the items: the
            // rest of the text, or its second byte when the items begin the text.
            let from = if began { e + 1 } else { e };
            next = if from <= b.len() && src.is_char_boundary(from) {
                find(from)
            } else {
                None
            };
        } else {
            next = if src.is_char_boundary(p + 1) {
                find(p + 1)
            } else {
                None
            };
        }
    }
    if sub.is_none() {
        return Ok(false);
    }
    out.push_str(&src[i..]);
    *cnd = out;
    Ok(true)
}

/// Falco's exception conditions: `(cond) and not (...)` per exception.
fn with_exceptions(cond: &str, exceptions: &[Exception]) -> Result<String, (Loc, String)> {
    let mut c = format!("({cond})");
    let is_list_op = |op: &str| matches!(op, "in" | "intersects" | "pmatch");
    for ex in exceptions {
        let mut icond = String::new();
        match &ex.fields {
            Some(ExVal::Item(field)) => {
                let comp = match &ex.comps {
                    Some(ExVal::Item(c)) => c.clone(),
                    None => "in".into(),
                    Some(ExVal::List(_)) => {
                        return Err((
                            ex.loc.clone(),
                            format!(
                            "exception '{}': comps must be one operator when fields is one field",
                            ex.name
                        ),
                        ))
                    }
                };
                for v in &ex.values {
                    let ExVal::Item(v) = v else {
                        return Err((
                            ex.loc.clone(),
                            "Expected values array to contain a list of strings".into(),
                        ));
                    };
                    icond.push_str(if icond.is_empty() { "(" } else { ", " });
                    if icond == "(" {
                        icond = format!("({field} {comp} (");
                    }
                    icond.push_str(&quote_item(v));
                }
                if !icond.is_empty() {
                    icond.push_str("))");
                }
            }
            Some(ExVal::List(fields)) => {
                let comps: Vec<String> = match &ex.comps {
                    Some(ExVal::List(c)) => c
                        .iter()
                        .map(|x| match x {
                            ExVal::Item(s) => Ok(s.clone()),
                            ExVal::List(_) => Err((
                                ex.loc.clone(),
                                format!("exception '{}': comps must be operators", ex.name),
                            )),
                        })
                        .collect::<Result<_, _>>()?,
                    None => vec!["=".into(); fields.len()],
                    Some(ExVal::Item(_)) => {
                        return Err((
                            ex.loc.clone(),
                            format!(
                                "exception '{}': comps must be a list when fields is a list",
                                ex.name
                            ),
                        ))
                    }
                };
                if comps.len() != fields.len() {
                    return Err((
                        ex.loc.clone(),
                        format!(
                            "exception '{}': fields and comps lists must have equal length",
                            ex.name
                        ),
                    ));
                }
                icond.push('(');
                for values in &ex.values {
                    let ExVal::List(vals) = values else {
                        return Err((
                            ex.loc.clone(),
                            format!(
                                "exception '{}': each value must be a list as long as fields",
                                ex.name
                            ),
                        ));
                    };
                    if vals.len() != fields.len() {
                        return Err((
                            ex.loc.clone(),
                            "Fields and values lists must have equal length".into(),
                        ));
                    }
                    if icond != "(" {
                        icond.push_str(" or ");
                    }
                    icond.push('(');
                    for (k, field) in fields.iter().enumerate() {
                        let ExVal::Item(field) = field else {
                            return Err((
                                ex.loc.clone(),
                                format!("exception '{}': fields must be field names", ex.name),
                            ));
                        };
                        if k > 0 {
                            icond.push_str(" and ");
                        }
                        let v = match &vals[k] {
                            ExVal::List(l) => {
                                let items: Vec<String> = l
                                    .iter()
                                    .map(|x| match x {
                                        ExVal::Item(s) => quote_item(s),
                                        ExVal::List(_) => String::new(),
                                    })
                                    .collect();
                                format!("({})", items.join(", "))
                            }
                            ExVal::Item(s) => {
                                if is_list_op(&comps[k]) {
                                    if s.starts_with('(') {
                                        s.clone()
                                    } else {
                                        format!("({s})")
                                    }
                                } else {
                                    quote_item(s)
                                }
                            }
                        };
                        icond.push_str(&format!(" {field} {} {v}", comps[k]));
                    }
                    icond.push(')');
                }
                icond.push(')');
                if icond == "()" {
                    icond.clear();
                }
            }
            None => {
                return Err((
                    ex.loc.clone(),
                    format!("exception '{}': must have fields", ex.name),
                ))
            }
        }
        if !icond.is_empty() {
            c.push_str(" and not ");
            c.push_str(&icond);
        }
    }
    Ok(c)
}

/// What loading may build from its input, in proportion to it. Lists named inside lists and
/// macros named inside macros multiply at each level (30 macros, each `(m or m)` of the one
/// before, are a 1 kB file and 2^30 nodes once expanded; Falco builds them all), so what an
/// expansion would make is counted before it is made, and loading stops with an error at the
/// list, macro or rule that would pass the limit. The limit is also what a rule costs per
/// event (a condition is evaluated as its expanded tree). Falco's `falco_rules.yaml` (64 kB)
/// uses 27 kB of text and 799 nodes of limits of 2 MB and 227k.
#[derive(Debug)]
struct Budget {
    /// Bytes of list items and of conditions with lists substituted, left.
    text: usize,
    /// Condition nodes of macros and rules with macros substituted, left.
    nodes: usize,
    /// Bytes of rules files the limits follow from.
    input: usize,
}

/// Expanded text allowed: this much, plus [`TEXT_PER_BYTE`] per byte of the rules files.
pub const TEXT_FLOOR: usize = 1 << 20;
pub const TEXT_PER_BYTE: usize = 16;
/// Expanded condition nodes allowed: this many, plus [`NODES_PER_BYTE`] per byte of input.
pub const NODES_FLOOR: usize = 100_000;
pub const NODES_PER_BYTE: usize = 2;

impl Budget {
    fn new(input: usize) -> Budget {
        Budget {
            text: Self::text_limit(input),
            nodes: Self::nodes_limit(input),
            input,
        }
    }

    fn text_limit(input: usize) -> usize {
        TEXT_FLOOR.saturating_add(input.saturating_mul(TEXT_PER_BYTE))
    }

    fn nodes_limit(input: usize) -> usize {
        NODES_FLOOR.saturating_add(input.saturating_mul(NODES_PER_BYTE))
    }

    fn spend_text(&mut self, bytes: usize) -> Result<(), String> {
        match self.text.checked_sub(bytes) {
            Some(left) => {
                self.text = left;
                Ok(())
            }
            None => Err(self.text_error()),
        }
    }

    fn text_error(&self) -> String {
        format!(
            "with lists substituted, the rules files' conditions and lists grow past {} bytes, \
             the most kiltx builds from {} bytes of rules files ({TEXT_FLOOR} + {TEXT_PER_BYTE} \
             per byte): a list named inside another list, or a list named many times in one \
             condition, multiplies its items; name the items once, or split the list",
            Self::text_limit(self.input),
            self.input
        )
    }

    fn spend_nodes(&mut self, nodes: usize) -> Result<(), String> {
        match self.nodes.checked_sub(nodes) {
            Some(left) => {
                self.nodes = left;
                Ok(())
            }
            None => Err(format!(
                "with macros substituted, the conditions grow past {} nodes, the most kiltx \
                 builds from {} bytes of rules files ({NODES_FLOOR} + {NODES_PER_BYTE} per \
                 byte); this one alone is {nodes}: a macro is substituted whole wherever it is \
                 named, so one named in many places, or inside macros that are themselves named \
                 more than once, multiplies; name it in fewer places",
                Self::nodes_limit(self.input),
                self.input
            )),
        }
    }
}

/// The number of nodes `e` has once its macros are substituted (`sizes`: the resolved
/// macros'), counted without building it.
fn expanded_size(e: &Expr, sizes: &impl Fn(&str) -> Option<usize>) -> usize {
    match e {
        Expr::And(v) | Expr::Or(v) => v
            .iter()
            .fold(1usize, |n, c| n.saturating_add(expanded_size(c, sizes))),
        Expr::Not(n) => expanded_size(n, sizes).saturating_add(1),
        Expr::Ident { name, .. } => sizes(name).unwrap_or(1),
        _ => 1,
    }
}

/// The blanks and delimiters around a list's name where Falco substitutes it.
const LIST_BLANKS: &[u8] = b" \t\n\r";
const LIST_DELIMS: &[u8] = b" \t\n\r(),=";

/// The words of a condition between list delimiters.
fn list_tokens(c: &str) -> impl Iterator<Item = &str> {
    c.split(|ch: char| ch.is_ascii() && LIST_DELIMS.contains(&(ch as u8)))
        .filter(|t| !t.is_empty())
}

/// Replace macro references with their (already resolved) conditions (`macros`: those
/// visible from here).
fn resolve_macros<'m>(
    e: &mut Expr,
    macros: &impl Fn(&str) -> Option<&'m Expr>,
    used: &mut HashSet<String>,
) -> Result<(), (String, Pos)> {
    match e {
        Expr::And(v) | Expr::Or(v) => v
            .iter_mut()
            .try_for_each(|c| resolve_macros(c, macros, used)),
        Expr::Not(n) => resolve_macros(n, macros, used),
        Expr::Ident { name, pos } => match macros(name.as_str()) {
            Some(m) => {
                used.insert(name.clone());
                *e = m.clone();
                Ok(())
            }
            None => Err((format!("Undefined macro '{name}' used in filter."), *pos)),
        },
        _ => Ok(()),
    }
}

/// Where a position inside a condition is in the file.
fn place(
    loc: &Loc,
    node: Option<(usize, usize, bool)>,
    expanded_same: bool,
    pos: Pos,
    msg: String,
) -> RuleError {
    match node {
        Some((line, col, quoted)) if expanded_same && pos.line == 1 => RuleError {
            file: loc.file.clone(),
            line,
            col: col + pos.col as usize - 1 + usize::from(quoted),
            message: msg,
        },
        _ => RuleError {
            file: loc.file.clone(),
            line: loc.line,
            col: loc.col,
            message: format!("{msg} (condition line {}, column {})", pos.line, pos.col),
        },
    }
}

/// The lists, expanded one level, in order, ready to be substituted into conditions.
struct Lists {
    lists: Vec<(String, Vec<String>)>,
    /// The lists whose names have no delimiter, by name.
    by_name: HashMap<String, usize>,
    /// The others (passed over every condition).
    odd: Vec<usize>,
}

impl Lists {
    fn new(lists: Vec<(String, Vec<String>)>) -> Lists {
        let by_name: HashMap<String, usize> = lists
            .iter()
            .enumerate()
            .filter(|(_, (n, _))| n.bytes().all(|b| !LIST_DELIMS.contains(&b)))
            .map(|(i, (n, _))| (n.clone(), i))
            .collect();
        let odd = (0..lists.len())
            .filter(|&i| !by_name.contains_key(lists[i].0.as_str()))
            .collect();
        Lists {
            lists,
            by_name,
            odd,
        }
    }

    /// The condition with lists substituted in list order, as Falco does, but only the passes
    /// that can replace something: a name without delimiters occurs only as a whole token, so
    /// the lists to pass are those the condition's tokens name, plus those that the items a
    /// pass inserts name further on. A condition costs its length and the lists it names, not
    /// its length times every list (`tests::substituting_only_the_named_lists_is_every_pass`).
    fn substitute(
        &self,
        cond: &str,
        used: &mut HashSet<String>,
        budget: &mut Budget,
    ) -> Result<String, String> {
        let mut c = cond.to_string();
        let mut pending: std::collections::BTreeSet<usize> = self.odd.iter().copied().collect();
        let named =
            |text: &str, after: Option<usize>, pending: &mut std::collections::BTreeSet<usize>| {
                for t in list_tokens(text) {
                    if let Some(&i) = self.by_name.get(t) {
                        if after.is_none_or(|a| i > a) {
                            pending.insert(i);
                        }
                    }
                }
            };
        named(&c, None, &mut pending);
        while let Some(k) = pending.pop_first() {
            let (name, items) = &self.lists[k];
            match resolve_list(&mut c, name, items, budget.text) {
                Ok(true) => {
                    used.insert(name.clone());
                    for it in items {
                        named(&quote_item(it), Some(k), &mut pending);
                    }
                }
                Ok(false) => {}
                Err(_) => return Err(budget.text_error()),
            }
        }
        budget.spend_text(c.len())?;
        Ok(c)
    }
}

/// Load rules files, in order: `(name, text)` pairs.
pub fn load(files: &[(String, String)]) -> Result<Ruleset, Vec<RuleError>> {
    let mut col = Collector::default();
    for (name, text) in files {
        col.file(name, text);
    }
    if !col.errors.is_empty() {
        return Err(col.errors);
    }
    let mut budget = Budget::new(files.iter().map(|(_, t)| t.len()).sum());
    let mut errors = Vec::new();
    let at = |loc: &Loc, message: String| RuleError {
        file: loc.file.clone(),
        line: loc.line,
        col: loc.col,
        message,
    };
    // lists, one level of expansion (Falco's compile_list_infos)
    let mut lists: Vec<(String, Vec<String>)> = Vec::new();
    let mut used_lists: HashSet<String> = HashSet::new();
    for name in &col.list_order {
        let l = &col.lists[name];
        let mut items = Vec::new();
        for it in &l.items {
            let add = match col.lists.get(it) {
                Some(r) if r.index < l.visibility => {
                    used_lists.insert(it.clone());
                    &r.items[..]
                }
                _ => std::slice::from_ref(it),
            };
            let bytes = add.iter().map(|i| i.len() + 2).sum();
            if let Err(m) = budget.spend_text(bytes) {
                errors.push(at(&l.loc, format!("list '{name}': {m}")));
                return Err(errors);
            }
            items.extend(add.iter().cloned());
        }
        lists.push((name.clone(), items));
    }
    let lists = Lists::new(lists);
    // macros, in order, each seeing the macros defined before it
    let mut resolved: HashMap<String, Expr> = HashMap::new();
    let mut sizes: HashMap<String, usize> = HashMap::new();
    let mut used_macros = HashSet::new();
    let mut order: Vec<&String> = col.macro_order.iter().collect();
    order.sort_by_key(|n| col.macros[n.as_str()].index);
    for name in order {
        let m = &col.macros[name.as_str()];
        let text = match lists.substitute(&m.cond, &mut used_lists, &mut budget) {
            Ok(t) => t,
            Err(msg) => {
                errors.push(at(&m.loc, format!("macro '{name}': {msg}")));
                return Err(errors);
            }
        };
        let same = text == m.cond;
        let mut e = match condition::parse_with_depth(&text, condition::RULES_MAX_DEPTH) {
            Ok(e) => e,
            Err(pe) => {
                errors.push(place(
                    &m.loc,
                    m.cond_node,
                    same,
                    pe.pos,
                    format!("macro '{name}': {}", pe.message),
                ));
                continue;
            }
        };
        let visible = |n: &str| col.macros.get(n).is_some_and(|d| d.index < m.visibility);
        let size = expanded_size(&e, &|n| sizes.get(n).copied().filter(|_| visible(n)));
        if let Err(msg) = budget.spend_nodes(size) {
            errors.push(at(&m.loc, format!("macro '{name}': {msg}")));
            return Err(errors);
        }
        let lookup = |n: &str| resolved.get(n).filter(|_| visible(n));
        if let Err((msg, pos)) = resolve_macros(&mut e, &lookup, &mut used_macros) {
            errors.push(place(
                &m.loc,
                m.cond_node,
                same,
                pos,
                format!("macro '{name}': {msg}"),
            ));
            continue;
        }
        sizes.insert(name.clone(), size);
        resolved.insert(name.clone(), e);
    }
    let mut rs = Ruleset {
        warnings: col.warnings,
        macros: col.macros.len(),
        lists: col.lists.len(),
        ..Ruleset::default()
    };
    for r in &col.rules {
        if r.source != "syscall" {
            rs.other_source.push(r.name.clone());
            continue;
        }
        let cond = if r.exceptions.is_empty() {
            r.cond.clone()
        } else {
            match with_exceptions(&r.cond, &r.exceptions) {
                Ok(c) => c,
                Err((loc, m)) => {
                    errors.push(RuleError {
                        file: loc.file,
                        line: loc.line,
                        col: loc.col,
                        message: format!("rule '{}': {m}", r.name),
                    });
                    continue;
                }
            }
        };
        let text = match lists.substitute(&cond, &mut used_lists, &mut budget) {
            Ok(t) => t,
            Err(msg) => {
                errors.push(at(&r.cond_loc, format!("rule '{}': {msg}", r.name)));
                return Err(errors);
            }
        };
        let same = text == r.cond;
        let mut e = match condition::parse_with_depth(&text, condition::RULES_MAX_DEPTH) {
            Ok(e) => e,
            Err(pe) => {
                errors.push(place(
                    &r.cond_loc,
                    r.cond_node,
                    same,
                    pe.pos,
                    format!("rule '{}': {}", r.name, pe.message),
                ));
                continue;
            }
        };
        let size = expanded_size(&e, &|n| sizes.get(n).copied());
        if let Err(msg) = budget.spend_nodes(size) {
            errors.push(at(&r.cond_loc, format!("rule '{}': {msg}", r.name)));
            return Err(errors);
        }
        if let Err((msg, pos)) = resolve_macros(&mut e, &|n| resolved.get(n), &mut used_macros) {
            errors.push(place(
                &r.cond_loc,
                r.cond_node,
                same,
                pos,
                format!("rule '{}': {msg}", r.name),
            ));
            continue;
        }
        let node = match eval::compile(&e) {
            Ok(n) => n,
            Err(ce) if r.skip_unknown && ce.message.starts_with("nonexistent field") => {
                rs.warnings.push(format!(
                    "{}:{}:{}: rule '{}' skipped (skip-if-unknown-filter): {}",
                    r.cond_loc.file, r.cond_loc.line, r.cond_loc.col, r.name, ce.message
                ));
                continue;
            }
            Err(ce) => {
                errors.push(place(
                    &r.cond_loc,
                    r.cond_node,
                    same,
                    ce.pos,
                    format!("rule '{}': {}", r.name, ce.message),
                ));
                continue;
            }
        };
        let output = match Format::parse(&r.output) {
            Ok(f) => f,
            Err(m) if r.skip_unknown && m.contains("nonexistent field") => {
                rs.warnings.push(format!(
                    "{}:{}:{}: rule '{}' skipped (skip-if-unknown-filter): output: {m}",
                    r.output_loc.file, r.output_loc.line, r.output_loc.col, r.name
                ));
                continue;
            }
            Err(m) => {
                errors.push(RuleError {
                    file: r.output_loc.file.clone(),
                    line: r.output_loc.line,
                    col: r.output_loc.col,
                    message: format!("rule '{}': output: {m}", r.name),
                });
                continue;
            }
        };
        let mut missing = Vec::new();
        node.missing(&mut missing);
        let evttypes = node.evttypes();
        let possible = node.possible();
        rs.rules.push(Rule {
            possible,
            name: r.name.clone(),
            desc: r.desc.clone(),
            priority: r.priority,
            tags: r.tags.clone(),
            source: r.source.clone(),
            enabled: r.enabled,
            output,
            cond: node,
            missing,
            evttypes,
            file: r.loc.file.clone(),
            line: r.loc.line,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(rs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first implementation of `resolve_list` (a new string per occurrence), kept as the
    /// reference the one-pass one is compared with.
    fn resolve_list_quadratic(cnd: &mut String, name: &str, items: &[String]) -> bool {
        const BLANKS: &[u8] = b" \t\n\r";
        const DELIMS: &[u8] = b" \t\n\r(),=";
        let mut used = false;
        // byte search: a match of a whole UTF-8 name starts at a char boundary
        let find_from = |c: &str, from: usize| -> Option<usize> {
            let (h, n) = (c.as_bytes(), name.as_bytes());
            if n.is_empty() || from > h.len() {
                return None;
            }
            h[from..]
                .windows(n.len())
                .position(|w| w == n)
                .map(|i| i + from)
        };
        let mut start = find_from(cnd, 0);
        while let Some(mut st) = start {
            let b = cnd.as_bytes();
            let mut end = st + name.len();
            if (st == 0 || DELIMS.contains(&b[st - 1]))
                && (end >= b.len() || DELIMS.contains(&b[end]))
            {
                while st > 0 && BLANKS.contains(&b[st - 1]) {
                    st -= 1;
                }
                while end < b.len() && BLANKS.contains(&b[end]) {
                    end += 1;
                }
                let sub = items
                    .iter()
                    .map(|v| quote_item(v))
                    .collect::<Vec<_>>()
                    .join(", ");
                if sub.is_empty() {
                    if st > 0 && b[st - 1] == b',' {
                        st -= 1;
                    } else if end < b.len() && b[end] == b',' {
                        end += 1;
                    }
                }
                let mut new = String::with_capacity(cnd.len() + sub.len());
                if st > 0 {
                    new.push_str(&cnd[..st]);
                    new.push(' ');
                }
                new.push_str(&sub);
                new.push(' ');
                if end <= cnd.len() {
                    new.push_str(&cnd[end..]);
                }
                *cnd = new;
                st += sub.len() + 1;
                used = true;
                start = cnd
                    .get(st + 1..)
                    .and_then(|r| r.find(name))
                    .map(|i| i + st + 1);
            } else {
                start = cnd
                    .get(st + 1..)
                    .and_then(|r| r.find(name))
                    .map(|i| i + st + 1);
            }
        }
        used
    }

    fn one(src: &str) -> Result<Ruleset, Vec<RuleError>> {
        load(&[("r.yaml".to_string(), src.to_string())])
    }

    #[test]
    fn lists_are_substituted_as_falco_does() {
        let mut c = "proc.name in (shell_binaries, x) and a".to_string();
        assert_eq!(
            resolve_list(
                &mut c,
                "shell_binaries",
                &["sh".into(), "my shell".into()],
                usize::MAX
            ),
            Ok(true)
        );
        assert_eq!(c, "proc.name in ( sh, \"my shell\" , x) and a");
        let mut c = "proc.name in (empty, x)".to_string();
        resolve_list(&mut c, "empty", &[], usize::MAX).unwrap();
        assert!(condition::parse(&c).is_ok(), "{c}");
        // the text it would make is refused before it is made
        let mut c = "a in (l, l, l)".to_string();
        assert!(matches!(
            resolve_list(&mut c, "l", &["x".repeat(100)], 150),
            Err(n) if n > 150
        ));
        assert_eq!(c, "a in (l, l, l)", "unchanged");
    }

    /// The one-pass `resolve_list` replaces what the first, quadratic, implementation
    /// (Falco's loop, a new string per occurrence) replaced, byte for byte: conditions made of
    /// names, delimiters, blanks, quotes and a multi-byte character, every list shape.
    #[test]
    fn resolve_list_is_the_reference_one() {
        let pieces = [
            "l", "la", "l", " ", ",", "(", ")", "=", "\t", "x", "é", "\"", " in ", "\n",
        ];
        let names = ["l", "la", ",l", "é", "l l"];
        let item_sets: [&[&str]; 4] = [&[], &["x"], &["my x", "y"], &["l"]];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut compared = 0;
        for _ in 0..40_000 {
            let len = (next() % 12) as usize;
            let text: String = (0..len)
                .map(|_| pieces[(next() % pieces.len() as u64) as usize])
                .collect();
            let name = names[(next() % names.len() as u64) as usize];
            let items: Vec<String> = item_sets[(next() % 4) as usize]
                .iter()
                .map(|s| s.to_string())
                .collect();
            let mut reference = text.clone();
            let replaced = resolve_list_quadratic(&mut reference, name, &items);
            let mut one_pass = text.clone();
            assert_eq!(
                resolve_list(&mut one_pass, name, &items, usize::MAX),
                Ok(replaced),
                "{text:?} {name:?} {items:?}"
            );
            assert_eq!(one_pass, reference, "{text:?} {name:?} {items:?}");
            compared += usize::from(replaced);
        }
        assert!(
            compared > 3_000,
            "only {compared} inputs had a substitution"
        );
    }

    /// Passing only the lists a condition names (and those their items name further on) gives
    /// what passing every list in order gives: generated lists naming each other (earlier and
    /// later ones, by plain names and names with blanks or commas) and conditions over them.
    #[test]
    fn substituting_only_the_named_lists_is_every_pass() {
        let names = ["a", "b", "c", "d", "e f", ",g", "h"];
        let words = [
            "a", "b", "c", "d", "e f", ",g", "h", "x", "\"a\"", "(", ")", ",",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |m: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % m as u64) as usize
        };
        let mut differ = 0;
        for _ in 0..5_000 {
            let mut lists: Vec<(String, Vec<String>)> = Vec::new();
            for n in names {
                if next(4) > 0 {
                    let items = (0..next(4)).map(|_| words[next(words.len())].to_string());
                    let items = items.collect();
                    lists.push((n.to_string(), items));
                }
            }
            let cond: Vec<&str> = (0..next(8)).map(|_| words[next(words.len())]).collect();
            let cond = format!("proc.name in ({})", cond.join(" "));
            let mut every = cond.clone();
            for (name, items) in &lists {
                resolve_list(&mut every, name, items, usize::MAX).unwrap();
            }
            let named = Lists::new(lists)
                .substitute(&cond, &mut HashSet::new(), &mut Budget::new(1 << 40))
                .unwrap();
            assert_eq!(named, every, "{cond}");
            differ += usize::from(every != cond);
        }
        assert!(
            differ > 1_000,
            "only {differ} conditions had a list substituted"
        );
    }

    /// Lists in lists and macros in macros multiply at each level; loading refuses, at the
    /// list, macro or rule that would pass the limit, before building it, and in time and
    /// memory that grow no faster than the file.
    #[test]
    fn expansion_bombs_are_refused_where_they_start() {
        // 30 macros, each (m or m) of the one before: 2^30 nodes expanded
        let mut macros = String::from("- macro: m0\n  condition: evt.type = open\n");
        for i in 1..=30 {
            macros.push_str(&format!(
                "- macro: m{i}\n  condition: (m{} or m{})\n",
                i - 1,
                i - 1
            ));
        }
        macros.push_str("- rule: r\n  desc: d\n  condition: m30\n  output: o\n  priority: INFO\n");
        let started = std::time::Instant::now();
        let e = one(&macros).unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].message.starts_with("macro 'm")
                && e[0]
                    .message
                    .contains("with macros substituted, the conditions grow past"),
            "{e:?}"
        );
        // lists naming later lists, substituted pass by pass: 2^25 items
        let mut lists = String::new();
        for i in 0..25 {
            lists.push_str(&format!(
                "- list: l{i}\n  items: [l{}, l{}]\n",
                i + 1,
                i + 1
            ));
        }
        lists.push_str("- list: l25\n  items: [a]\n");
        lists.push_str(
            "- rule: r\n  desc: d\n  condition: proc.name in (l0)\n  output: o\n  priority: INFO\n",
        );
        let e = one(&lists).unwrap_err();
        assert!(
            e.len() == 1
                && e[0].message.starts_with("rule 'r': with lists substituted")
                && e[0].line == 55,
            "{e:?}"
        );
        // a list naming an earlier list many times (one level, quadratic)
        let mut wide = String::from("- list: big\n  items: [");
        wide.push_str(&vec!["abcdefghij"; 4000].join(", "));
        wide.push_str("]\n- list: wider\n  items: [");
        wide.push_str(&vec!["big"; 4000].join(", "));
        wide.push_str("]\n");
        let e = one(&wide).unwrap_err();
        assert!(
            e.len() == 1
                && e[0]
                    .message
                    .starts_with("list 'wider': with lists substituted"),
            "{e:?}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn appends_overrides_and_exceptions() {
        let rs = one(
            "- list: l\n  items: [a]\n- list: l\n  items: [b]\n  append: true\n\
             - macro: m\n  condition: proc.name in (l)\n\
             - rule: r\n  desc: d\n  condition: m\n  output: o %proc.name\n  priority: WARNING\n\
               \x20 exceptions:\n  - name: e\n    fields: [proc.pname]\n    values: [[bash]]\n\
             - rule: r\n  condition: and evt.type=execve\n  override:\n    condition: append\n\
             - rule: r\n  enabled: false\n",
        )
        .unwrap();
        assert_eq!(rs.rules.len(), 1);
        let r = &rs.rules[0];
        assert!(!r.enabled);
        assert_eq!(
            r.evttypes,
            Some(["execve".to_string()].into_iter().collect())
        );
    }

    #[test]
    fn rule_conditions_nest_as_deep_as_falcos_loader_allows() {
        let deep = format!("{}proc.name = x{}", "(".repeat(150), ")".repeat(150));
        assert!(
            condition::parse(&deep).is_err(),
            "libsinsp's parser alone stops at 100"
        );
        let rs = one(&format!(
            "- rule: r\n  desc: d\n  condition: \"{deep}\"\n  output: o\n  priority: INFO\n"
        ))
        .unwrap();
        assert_eq!(rs.rules.len(), 1);
    }

    #[test]
    fn errors_carry_file_line_column() {
        let e = one(
            "- rule: r\n  desc: d\n  condition: proc.nmae = x\n  output: o\n  priority: INFO\n",
        )
        .unwrap_err();
        assert_eq!(
            e[0].to_string(),
            "r.yaml:3:14: rule 'r': nonexistent field proc.nmae"
        );
        let e = one("- rule: r\n  desc: d\n  condition: evt.type = execve and nope\n  output: o\n  priority: INFO\n").unwrap_err();
        assert_eq!(
            e[0].to_string(),
            "r.yaml:3:36: rule 'r': Undefined macro 'nope' used in filter."
        );
        let e =
            one("- rule: r\n  desc: d\n  condition: \"a andb\"\n  output: o\n  priority: INFO\n")
                .unwrap_err();
        assert_eq!((e[0].line, e[0].col), (3, 20));
        let e = one("- rule: r\n  desc: d\n  condition: x.y = 1\n  output: o\n  priority: LOUD\n")
            .unwrap_err();
        assert!(e[0].message.contains("invalid priority 'LOUD'"), "{e:?}");
        let rs = one("- rule: r\n  desc: d\n  condition: k8s.ns.name = x\n  output: o\n  priority: INFO\n  skip-if-unknown-filter: true\n- rule: s\n  desc: d\n  condition: nope.field = x\n  output: o\n  priority: INFO\n  skip-if-unknown-filter: true\n").unwrap();
        assert_eq!(rs.rules.len(), 1, "k8s.* is valid Falco, missing here");
        assert!(
            rs.warnings[0].contains(
                "rule 's' skipped (skip-if-unknown-filter): nonexistent field nope.field"
            ),
            "{:?}",
            rs.warnings
        );
        let e = one("- required_engine_version: 99.0.0\n").unwrap_err();
        assert!(e[0].message.contains("engine version"));
    }
}
