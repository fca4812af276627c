//! `kiltx lint`: are task definitions instrumented, and instrumented correctly?
//!
//! Pure, like the rest of the crate: a parsed [`Document`] in, [`Finding`]s out. The checks are
//! built on the patch engine rather than beside it: each task definition is patched on a copy
//! with the same definition, options and image configurations `kiltx patch` would use, and what
//! the engine changed (or refused) tells what is missing:
//! - a container the engine newly wraps was not instrumented (or was instrumented by another
//!   tool, which is told apart by its launcher or its sidecar);
//! - a container already wrapped to which the engine still adds SYS_PTRACE, volumesFrom or
//!   dependsOn lacks them; a sidecar it adds was missing;
//! - an engine error is a task definition that `kiltx patch` would fail on.
//!
//! Checks that are not about instrumentation (what Fargate and ECS reject, credentials in plain
//! environment values, excess privilege) read the task definition directly.

pub mod ecs;
pub mod rules;
pub mod secrets;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

pub use rules::{Rule, Severity, RULES};

use crate::definition::Definition;
use crate::error::{Error, Path};
use crate::image::{ImageConfigs, DEFAULT_PLATFORM};
use crate::intrinsic;
use crate::patch::{self, Options};
use crate::shape::{self, Shape, Site};
use crate::source::{Document, PathStep};

/// One thing `kiltx lint` found.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub rule: &'static Rule,
    /// What is wrong here, in a sentence.
    pub message: String,
    /// Where, from the document root: `Resources.App.Properties.ContainerDefinitions[1]`.
    pub path: Path,
    /// The task definition: its CloudFormation logical ID, or `task definition`.
    pub resource: Option<String>,
    /// 1-based line and column of `path` in the document.
    pub line: usize,
    pub column: usize,
}

/// The launcher a container gets when `kiltx patch` wraps it can be recognised; so can these
/// other tools' launchers (Kilt and its forks, Sysdig's serverless agent, Falco's pdig,
/// Datadog's cws-instrumentation).
const OTHER_LAUNCHERS: &[&str] = &[
    "/kilt/",
    "/opt/draios/",
    "/vendor/falco/",
    "/cws-instrumentation",
];

/// Placeholder entryPoint lint gives containers whose argv `kiltx patch` cannot rebuild, to go
/// on checking the rest of the task definition.
const PLACEHOLDER: &str = "/kiltx-lint/unknown-argv";

/// Rule IDs (and names) given to suppress: the known rules, and the entries that name none.
pub fn parse_suppressions<'a>(
    entries: impl IntoIterator<Item = &'a str>,
) -> (BTreeSet<&'static str>, Vec<String>) {
    let mut known = BTreeSet::new();
    let mut unknown = Vec::new();
    for e in entries {
        for part in e.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match rules::find(part) {
                Some(r) => {
                    known.insert(r.id);
                }
                None => unknown.push(part.to_string()),
            }
        }
    }
    (known, unknown)
}

/// Lint a document. `shape` forces the input's shape (`None`: detect). `ignore` are rule IDs
/// suppressed for the whole run. Findings come in source order. An error is input that cannot
/// be linted at all (not a task definition, a template whose `Resources` is not an object).
pub fn lint(
    doc: &Document,
    shape: Option<Shape>,
    def: &Definition,
    opts: &Options,
    images: &ImageConfigs,
    ignore: &BTreeSet<&'static str>,
) -> Result<Vec<Finding>, Error> {
    let shape = match shape {
        Some(s) => s,
        None => Shape::detect(&doc.value).map_err(|e| e.locate(doc))?,
    };
    // describe-task-definition output is linted as the task definition it holds.
    let converted;
    let (value, prefix): (&Value, Path) = if shape == Shape::Describe {
        converted = shape::describe_to_register(&doc.value).map_err(|e| e.locate(doc))?;
        (&converted, vec![PathStep::Key("taskDefinition".into())])
    } else {
        (&doc.value, vec![])
    };
    let sites = shape::sites(value, shape).map_err(|e| e.locate(doc))?;
    let params = match shape {
        Shape::CloudFormation => patch::Known::new(patch::Sections::of(value), opts),
        _ => patch::Known::new(patch::Sections::default(), opts),
    };
    let cx = Cx {
        def,
        opts,
        images,
        params: &params,
    };
    let mut raw = Vec::new();
    for site in &sites {
        let Some(target) = get(value, &site.path) else {
            continue;
        };
        let arm = field_of(target, "runtimePlatform")
            .and_then(|(_, rp)| field_of(rp, "cpuArchitecture"))
            .and_then(|(_, a)| a.as_str())
            .is_some_and(|a| a.eq_ignore_ascii_case("ARM64"));
        let mut t = Task {
            cx: &cx,
            site,
            platform: if arm { "linux/arm64" } else { DEFAULT_PLATFORM }.to_string(),
            out: Vec::new(),
        };
        t.lint(target);
        raw.append(&mut t.out);
    }
    // Suppressions in the template's Metadata.
    let mut resource_ignores: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
    let mut file_ignores = BTreeSet::new();
    if shape == Shape::CloudFormation {
        let meta_path = |p: &[&str]| -> Path { p.iter().map(|k| key(k)).collect() };
        if let Some(m) = value.get("Metadata") {
            file_ignores = suppressions(m, meta_path(&["Metadata"]), &mut raw);
        }
        if let Some(Value::Object(resources)) = value.get("Resources") {
            for (id, r) in resources {
                if let Some(m) = r.get("Metadata") {
                    let set = suppressions(m, meta_path(&["Resources", id, "Metadata"]), &mut raw);
                    resource_ignores.insert(id.clone(), set);
                }
            }
        }
    }
    let mut out: Vec<Finding> = raw
        .into_iter()
        .filter(|(rule, _, path, _)| {
            if ignore.contains(rule.id) || file_ignores.contains(rule.id) {
                return false;
            }
            match (path.first(), path.get(1)) {
                (Some(PathStep::Key(r)), Some(PathStep::Key(id))) if r == "Resources" => {
                    !resource_ignores
                        .get(id)
                        .is_some_and(|s| s.contains(rule.id))
                }
                _ => true,
            }
        })
        .map(|(rule, message, path, resource)| {
            let path: Path = prefix.iter().cloned().chain(path).collect();
            Finding {
                rule,
                message,
                path,
                resource,
                line: 0,
                column: 0,
            }
        })
        .collect();
    locate(doc, &mut out);
    out.sort_by(|a, b| {
        (a.line, a.column, a.rule.id)
            .cmp(&(b.line, b.column, b.rule.id))
            .then_with(|| a.message.cmp(&b.message))
    });
    out.dedup();
    Ok(out)
}

/// Fill in line and column: what [`Document::position`] gives, through one index of the text and
/// the span tree for all findings (one scan per finding is quadratic on large templates).
fn locate(doc: &Document, findings: &mut [Finding]) {
    let nodes = crate::source::NodeFinder::new(&doc.tree);
    let lines = crate::source::LineIndex::new(&doc.text);
    for f in findings.iter_mut() {
        (f.line, f.column) = lines.line_col(nodes.find(&f.path).span.start);
    }
}

type Raw = (&'static Rule, String, Path, Option<String>);

/// Read `Metadata.kiltx.ignore` (a list of rule IDs or names, or one comma-separated string).
fn suppressions(metadata: &Value, path: Path, raw: &mut Vec<Raw>) -> BTreeSet<&'static str> {
    let Some(k) = metadata.get("kiltx") else {
        return BTreeSet::new();
    };
    let kpath = at(&path, "kiltx");
    let bad = |raw: &mut Vec<Raw>, p: Path, msg: String| {
        raw.push((rules::BAD_SUPPRESSION, msg, p, None));
    };
    let Some(list) = k.as_object().and_then(|m| m.get("ignore")) else {
        bad(
            raw,
            kpath,
            "Metadata.kiltx has no `ignore` list; expected {ignore: [KX003, ...]}".into(),
        );
        return BTreeSet::new();
    };
    let ipath = at(&kpath, "ignore");
    let entries: Vec<(Path, &str)> = match list {
        Value::String(s) => vec![(ipath.clone(), s.as_str())],
        Value::Array(items) => {
            let mut v = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(s) => v.push((idx(&ipath, i), s.as_str())),
                    other => bad(
                        raw,
                        idx(&ipath, i),
                        format!(
                            "expected a rule ID such as KX003, found {}",
                            intrinsic::describe(other)
                        ),
                    ),
                }
            }
            v
        }
        other => {
            bad(
                raw,
                ipath,
                format!(
                    "expected a list of rule IDs, found {}",
                    intrinsic::describe(other)
                ),
            );
            return BTreeSet::new();
        }
    };
    let mut set = BTreeSet::new();
    for (p, s) in entries {
        let (known, unknown) = parse_suppressions([s]);
        set.extend(known);
        for u in unknown {
            bad(
                raw,
                p.clone(),
                format!("the suppression names {u:?}, which is not a kiltx lint rule"),
            );
        }
    }
    set
}

struct Cx<'a> {
    def: &'a Definition,
    opts: &'a Options,
    images: &'a ImageConfigs,
    params: &'a patch::Known,
}

/// Linting one task definition.
struct Task<'a> {
    cx: &'a Cx<'a>,
    site: &'a Site,
    /// `os/arch` of the task (`runtimePlatform`), for image configurations.
    platform: String,
    out: Vec<Raw>,
}

fn key(k: &str) -> PathStep {
    PathStep::Key(k.to_string())
}

fn at(path: &Path, k: &str) -> Path {
    let mut p = path.clone();
    p.push(key(k));
    p
}

fn idx(path: &Path, i: usize) -> Path {
    let mut p = path.clone();
    p.push(PathStep::Index(i));
    p
}

fn get<'v>(v: &'v Value, path: &[PathStep]) -> Option<&'v Value> {
    let mut cur = v;
    for step in path {
        cur = match step {
            PathStep::Key(k) => cur.as_object()?.get(k)?,
            PathStep::Index(i) => cur.as_array()?.get(*i)?,
        };
    }
    Some(cur)
}

/// A field matched without regard to case (as the engine and ECS do): its key and value.
fn field<'m>(m: &'m Map<String, Value>, camel: &str) -> Option<(&'m String, &'m Value)> {
    m.iter().find(|(k, _)| k.eq_ignore_ascii_case(camel))
}

fn field_of<'v>(v: &'v Value, camel: &str) -> Option<(&'v String, &'v Value)> {
    field(v.as_object()?, camel)
}

/// A list field's items (empty when absent or not a list).
fn items<'v>(v: &'v Value, camel: &str) -> &'v [Value] {
    match field_of(v, camel) {
        Some((_, Value::Array(a))) => a,
        _ => &[],
    }
}

fn truthy(v: &Value, want: bool) -> bool {
    match v {
        Value::Bool(b) => *b == want,
        Value::String(s) => s.eq_ignore_ascii_case(if want { "true" } else { "false" }),
        _ => false,
    }
}

/// The capabilities a container adds: (index, name) for literal entries.
fn added_caps(c: &Value) -> Vec<(usize, &str)> {
    let caps = field_of(c, "linuxParameters")
        .and_then(|(_, lp)| field_of(lp, "capabilities"))
        .map(|(_, c)| items(c, "add"))
        .unwrap_or(&[]);
    caps.iter()
        .enumerate()
        .filter_map(|(i, v)| v.as_str().map(|s| (i, s)))
        .collect()
}

fn caps_path(c: &Value, cpath: &Path) -> Path {
    let mut p = cpath.clone();
    if let Some((k, lp)) = field_of(c, "linuxParameters") {
        p.push(key(k));
        if let Some((k, caps)) = field_of(lp, "capabilities") {
            p.push(key(k));
            if let Some((k, _)) = field_of(caps, "add") {
                p.push(key(k));
            }
        }
    }
    p
}

fn has_ptrace(c: &Value) -> bool {
    added_caps(c)
        .iter()
        .any(|(_, s)| s.trim().eq_ignore_ascii_case("SYS_PTRACE"))
}

/// The string names of the entries of list `camel` (their field `entry_field`).
fn entry_names<'v>(c: &'v Value, camel: &str, entry_field: &str) -> Vec<&'v str> {
    items(c, camel)
        .iter()
        .filter_map(|e| field_of(e, entry_field).and_then(|(_, v)| v.as_str()))
        .collect()
}

fn name_of(c: &Value) -> Option<&str> {
    field_of(c, "name").and_then(|(_, v)| v.as_str())
}

impl Task<'_> {
    fn push(&mut self, rule: &'static Rule, message: String, path: Path) {
        self.out
            .push((rule, message, path, Some(self.site.label.clone())));
    }

    /// Where the containers list is, and the list, in `target` (the site's value).
    fn containers<'v>(&self, target: &'v Value) -> Option<(Path, &'v Vec<Value>)> {
        if self.site.shape == Shape::Containers {
            return target.as_array().map(|a| (self.site.path.clone(), a));
        }
        let (k, v) = field_of(target, "containerDefinitions")?;
        Some((at(&self.site.path, k), v.as_array()?))
    }

    fn lint(&mut self, target: &Value) {
        let Some((cpath, containers)) = self.containers(target) else {
            // Not a list the checks can read; patching reports why (e.g. Fn::If containers).
            self.engine(target, None);
            return;
        };
        // What ECS rejects or cannot run (register JSON without requiresCompatibilities is
        // judged for Fargate's container rules, as kiltx patches it for Fargate).
        for v in ecs::validate(
            target,
            &self.site.path,
            self.site.shape,
            self.cx.params,
            self.site.shape != Shape::CloudFormation,
        ) {
            self.push(v.rule, v.message, v.path);
        }
        self.secrets(&cpath, containers);
        self.engine(target, Some((&cpath, containers)));
    }

    /// Credentials in plain environment values.
    fn secrets(&mut self, cpath: &Path, containers: &[Value]) {
        for (i, c) in containers.iter().enumerate() {
            let Some((ek, _)) = field_of(c, "environment") else {
                continue;
            };
            let cname = name_of(c).unwrap_or("?");
            let epath = at(&idx(cpath, i), ek);
            for (j, e) in items(c, "environment").iter().enumerate() {
                let Some(Value::String(name)) = field_of(e, "name").map(|(_, v)| v) else {
                    continue;
                };
                let Some((vk, Value::String(value))) = field_of(e, "value") else {
                    continue;
                };
                let p = at(&idx(&epath, j), vk);
                if let Some(kind) = secrets::value_kind(value) {
                    self.push(
                        rules::SECRET_VALUE,
                        format!("environment variable {name} of container {cname:?} holds {kind} in plain text"),
                        p,
                    );
                } else if secrets::credential_name(name) && secrets::plain_value(value) {
                    self.push(
                        rules::SECRET_NAME,
                        format!("environment variable {name} of container {cname:?} looks like a credential and has a literal value; reference it from secrets instead"),
                        p,
                    );
                }
            }
        }
    }

    fn run_engine(&self, v: &mut Value) -> Result<patch::TaskOutcome, Error> {
        patch::Patcher::new(
            self.cx.def,
            self.cx.opts,
            self.cx.images,
            patch::Mode::Plain,
        )
        .patch_site(v, self.site, self.cx.params)
    }

    /// Patch a copy and read what the engine did, or why it refused.
    fn engine(&mut self, target: &Value, containers: Option<(&Path, &Vec<Value>)>) {
        let mut after = target.clone();
        let errors = match self.run_engine(&mut after) {
            Ok(_) => {
                if let Some((cpath, before)) = containers {
                    self.compare(target, &after, cpath, before);
                }
                return;
            }
            Err(e) => e,
        };
        // Turn the errors into findings; containers whose argv cannot be rebuilt get a
        // placeholder entryPoint so that the rest of the task definition can be checked.
        let mut placeholders = Vec::new();
        for e in errors.flatten() {
            match e {
                Error::Invalid {
                    message,
                    path,
                    hint,
                    ..
                } => {
                    if message.starts_with("two containers are named") {
                        continue; // KX025 says it.
                    }
                    self.push(rules::PATCH_FAILS, with_hint(message, hint), path.clone());
                }
                Error::Unpatchable {
                    path,
                    container,
                    message,
                    hint,
                    ..
                } => {
                    if message
                        .starts_with("it runs the tracer's wrapper with no application command")
                    {
                        // The engine refuses a wrapper with nothing to run: the argv is lost.
                        let container_path = path[..path.len().saturating_sub(1)].to_vec();
                        let name = container.split(" in ").next().unwrap_or(container);
                        self.push(
                            rules::ARGV_LOST,
                            format!("container {name} is wrapped, but the launcher is given nothing to run"),
                            container_path,
                        );
                        continue;
                    }
                    let rule = containers.and_then(|(cpath, list)| {
                        let i = match path.get(cpath.len()) {
                            Some(PathStep::Index(i)) if path.starts_with(cpath) => *i,
                            _ => return None,
                        };
                        let c = list.get(i)?;
                        // The argv errors: at the container ("no image") or at its image.
                        let at_image = match &path[cpath.len() + 1..] {
                            [] => !message.starts_with("it has nothing to run"),
                            [PathStep::Key(k)] => k.eq_ignore_ascii_case("image"),
                            _ => false,
                        };
                        if !at_image || !items(c, "entryPoint").is_empty() {
                            return None;
                        }
                        placeholders.push(i);
                        // An intrinsic image the engine could resolve from the template's
                        // parameters is just an unknown image.
                        Some(match field_of(c, "image") {
                            Some((_, v))
                                if intrinsic::is_intrinsic(v)
                                    && message.contains("cannot know") =>
                            {
                                rules::IMAGE_UNRESOLVED
                            }
                            _ => rules::IMAGE_UNKNOWN,
                        })
                    });
                    let rule = rule.unwrap_or(rules::PATCH_FAILS);
                    self.push(
                        rule,
                        with_hint(&format!("container {container}: {message}"), hint),
                        path.clone(),
                    );
                }
                other => self.push(
                    rules::PATCH_FAILS,
                    other.to_string(),
                    self.site.path.clone(),
                ),
            }
        }
        let Some((cpath, _)) = containers else {
            return;
        };
        if placeholders.is_empty() {
            return;
        }
        // Second pass with placeholder entryPoints.
        let mut before = target.clone();
        let rel = &cpath[self.site.path.len()..];
        let dialect = self.site.dialect;
        if let Some(Value::Array(list)) = crate::patch::get_mut(&mut before, rel) {
            for i in &placeholders {
                if let Some(Value::Object(m)) = list.get_mut(*i) {
                    let k = m
                        .keys()
                        .find(|k| k.eq_ignore_ascii_case("entryPoint"))
                        .cloned()
                        .unwrap_or_else(|| dialect.key("entryPoint"));
                    m.insert(k, Value::Array(vec![Value::String(PLACEHOLDER.into())]));
                }
            }
        }
        let mut after = before.clone();
        if self.run_engine(&mut after).is_ok() {
            if let Some(Value::Array(list)) = get(&before, rel) {
                let list = list.clone();
                self.compare(&before, &after, cpath, &list);
            }
        }
    }

    /// Compare a task definition before and after the engine patched it.
    fn compare(&mut self, target: &Value, after: &Value, cpath: &Path, before: &[Value]) {
        let def = self.cx.def;
        let rel = &cpath[self.site.path.len()..];
        let empty = Vec::new();
        let after_list = get(after, rel).and_then(Value::as_array).unwrap_or(&empty);
        let wrapped =
            |c: &Value| patch::is_wrapped(def, items(c, "entryPoint"), items(c, "command"));
        let names: Vec<Option<&str>> = before.iter().map(name_of).collect();
        let sidecar_names: Vec<&str> = def.sidecars.iter().map(|s| s.name.as_str()).collect();
        let is_def_sidecar = |n: Option<&str>| n.is_some_and(|n| sidecar_names.contains(&n));

        // Other tools' instrumentation: their wrapped containers and their sidecars.
        let mut foreign = BTreeSet::new();
        let mut foreign_sidecars = BTreeSet::new();
        for (i, c) in before.iter().enumerate() {
            if wrapped(c) || is_def_sidecar(names[i]) {
                continue;
            }
            let launcher = items(c, "entryPoint").first().and_then(Value::as_str);
            let known = launcher.is_some_and(|l| OTHER_LAUNCHERS.iter().any(|p| l.starts_with(p)));
            let sources: Vec<usize> = entry_names(c, "volumesFrom", "sourceContainer")
                .into_iter()
                .filter(|s| !sidecar_names.contains(s) && Some(*s) != names[i])
                .filter_map(|s| names.iter().position(|n| *n == Some(s)))
                .collect();
            if known {
                foreign.insert(i);
                foreign_sidecars.extend(sources);
            }
        }
        // A sidecar of another tool runs that tool's own program (e.g. /kilt/wait).
        foreign.retain(|i| !foreign_sidecars.contains(i));

        let fargate = field_of(target, "requiresCompatibilities")
            .and_then(|(_, v)| self.cx.params.eval(v))
            .is_some_and(|v| {
                v.as_array()
                    .is_some_and(|a| a.iter().any(|x| x.as_str() == Some("FARGATE")))
            });
        let mut any_wrapped_before = false;
        let mut any_wrapped_after = false;
        for (i, b) in before.iter().enumerate() {
            let ipath = idx(cpath, i);
            let name = names[i].unwrap_or("?");
            if is_def_sidecar(names[i]) {
                self.sidecar(b, &ipath, fargate);
                continue;
            }
            let a = after_list.get(i).unwrap_or(b);
            let (wb, wa) = (wrapped(b), wrapped(a));
            any_wrapped_before |= wb;
            any_wrapped_after |= wa;
            if !wb && wa {
                if foreign.contains(&i) {
                    let launcher = items(b, "entryPoint")
                        .first()
                        .and_then(Value::as_str)
                        .unwrap_or("?");
                    let ep =
                        field_of(b, "entryPoint").map_or(ipath.clone(), |(k, _)| at(&ipath, k));
                    self.push(
                        rules::OTHER_TOOL,
                        format!("container {name:?} is instrumented by another tool (launcher {launcher}), not by this definition; kiltx patch would wrap it again"),
                        ep,
                    );
                } else if !foreign_sidecars.contains(&i) {
                    self.push(
                        rules::NOT_INSTRUMENTED,
                        format!(
                            "container {name:?} in {} is not instrumented: it does not run under {}",
                            self.site.label,
                            def.launcher().unwrap_or("the tracer")
                        ),
                        ipath.clone(),
                    );
                }
            }
            if wb {
                self.wrapped_container(b, &ipath, name);
            }
            if !wb && !wa && !foreign.contains(&i) && !foreign_sidecars.contains(&i) {
                for (j, cap) in added_caps(b) {
                    if cap.trim().eq_ignore_ascii_case("SYS_PTRACE") {
                        self.push(
                            rules::PTRACE_UNTRACED,
                            format!("container {name:?} is granted SYS_PTRACE but is not traced"),
                            idx(&caps_path(b, &ipath), j),
                        );
                    }
                }
            }
        }
        if any_wrapped_before {
            for s in &def.sidecars {
                if !names.contains(&Some(s.name.as_str())) {
                    self.push(
                        rules::SIDECAR_MISSING,
                        format!(
                            "containers run under the tracer's launcher, but the task has no {:?} sidecar",
                            s.name
                        ),
                        cpath.clone(),
                    );
                }
            }
        }
        if any_wrapped_after || any_wrapped_before {
            self.architecture(target);
        }
    }

    fn sidecar(&mut self, c: &Value, ipath: &Path, fargate: bool) {
        let Some(s) = self
            .cx
            .def
            .sidecars
            .iter()
            .find(|s| Some(s.name.as_str()) == name_of(c))
        else {
            return;
        };
        let (essential, p) = match field_of(c, "essential") {
            Some((k, v)) => (!truthy(v, false), at(ipath, k)),
            None => (true, ipath.clone()),
        };
        if fargate
            && s.derive_log_configuration
            && field_of(c, "logConfiguration").is_none_or(|(_, v)| v.is_null())
        {
            self.push(
                rules::SIDECAR_LOGS,
                format!(
                    "sidecar {:?} has no log configuration: on Fargate its output, every event and alert, is discarded",
                    s.name
                ),
                ipath.clone(),
            );
        }
        // A sidecar the definition writes without `essential` gets ECS's default: essential.
        let want = s.essential.unwrap_or(true);
        if essential != want {
            self.push(
                rules::SIDECAR_ESSENTIAL,
                format!(
                    "sidecar {:?} is {}essential, but the definition says it {}",
                    s.name,
                    if essential { "" } else { "not " },
                    if want {
                        "must be essential"
                    } else {
                        "must not be essential"
                    }
                ),
                p,
            );
        }
    }

    /// Checks on a container wrapped by the definition.
    fn wrapped_container(&mut self, c: &Value, ipath: &Path, name: &str) {
        let def = self.cx.def;
        if def
            .containers
            .capabilities
            .iter()
            .any(|cap| cap == "SYS_PTRACE")
            && !has_ptrace(c)
        {
            self.push(
                rules::PTRACE_MISSING,
                format!("container {name:?} is wrapped but does not add SYS_PTRACE"),
                caps_path(c, ipath),
            );
        }
        let list_path = |camel: &str| match field_of(c, camel) {
            Some((k, _)) => at(ipath, k),
            None => ipath.clone(),
        };
        let sources = entry_names(c, "volumesFrom", "sourceContainer");
        for vf in def.volumes_from() {
            if !sources.contains(&vf.source_container.as_str()) {
                self.push(
                    rules::VOLUME_MISSING,
                    format!(
                        "container {name:?} is wrapped but has no volumesFrom entry for {:?}",
                        vf.source_container
                    ),
                    list_path("volumesFrom"),
                );
            }
        }
        let deps = entry_names(c, "dependsOn", "containerName");
        for d in &def.containers.depends_on {
            if !deps.contains(&d.container_name.as_str()) {
                self.push(
                    rules::DEPENDS_ON_MISSING,
                    format!(
                        "container {name:?} is wrapped but does not depend on {:?} ({})",
                        d.container_name, d.condition
                    ),
                    list_path("dependsOn"),
                );
            }
        }
        // The argv the launcher runs.
        let argv = wrapped_argv(def, items(c, "entryPoint"), items(c, "command"));
        let argv_path = list_path("command");
        match argv.first() {
            None => self.push(
                rules::ARGV_LOST,
                format!("container {name:?} is wrapped, but the launcher is given nothing to run"),
                argv_path,
            ),
            Some(Value::String(first)) if Some(first.as_str()) == def.launcher() => self.push(
                rules::ARGV_LOST,
                format!("container {name:?} is wrapped twice: the launcher runs the launcher"),
                argv_path,
            ),
            Some(_) => {
                let config = match field_of(c, "image") {
                    Some((_, Value::String(image))) => {
                        self.cx.images.get_for(image, &self.platform)
                    }
                    _ => None,
                };
                // The signature of a wrapper that dropped the image's ENTRYPOINT: the argv
                // starts with the image's CMD program, not with the ENTRYPOINT. (An argv that
                // starts with something else is an entrypoint override, which is fine.)
                let ep = config.and_then(|c| c.entrypoint.as_ref());
                let cmd0 = config.and_then(|c| c.cmd.as_ref()).and_then(|c| c.first());
                if let (Some(ep), Some(cmd0)) = (ep, cmd0) {
                    let starts = argv.len() >= ep.len()
                        && ep
                            .iter()
                            .zip(&argv)
                            .all(|(e, a)| a.as_str() == Some(e.as_str()));
                    let runs_cmd = argv.first().and_then(Value::as_str) == Some(cmd0.as_str());
                    if !ep.is_empty() && !starts && runs_cmd {
                        self.push(
                            rules::ARGV_DIFFERS,
                            format!(
                                "container {name:?} runs {} under the tracer, which does not start with its image's ENTRYPOINT {:?}",
                                show_argv(&argv),
                                ep
                            ),
                            argv_path,
                        );
                    }
                }
            }
        }
    }

    fn architecture(&mut self, target: &Value) {
        let Some((rk, rp)) = field_of(target, "runtimePlatform") else {
            return;
        };
        let Some((ak, Value::String(arch))) = field_of(rp, "cpuArchitecture") else {
            return;
        };
        if !arch.eq_ignore_ascii_case("ARM64") {
            return;
        }
        for s in &self.cx.def.sidecars {
            if !s.architectures.is_empty() && !s.architectures.iter().any(|a| a == "ARM64") {
                self.push(
                    rules::ARCHITECTURE,
                    format!(
                        "the task runs on ARM64, but the definition declares sidecar {:?} ({}) for {} only",
                        s.name,
                        s.image,
                        s.architectures.join(", ")
                    ),
                    at(&at(&self.site.path, rk), ak),
                );
            }
        }
    }
}

fn with_hint(message: &str, hint: &Option<String>) -> String {
    match hint {
        Some(h) => format!("{message} ({h})"),
        None => message.to_string(),
    }
}

fn show_argv(argv: &[Value]) -> String {
    let parts: Vec<String> = argv
        .iter()
        .map(|v| match v {
            Value::String(s) => format!("{s:?}"),
            other => intrinsic::describe(other),
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// The original argv inside a wrapped container's entryPoint and command: what the
/// definition's splices matched (the templates' literals are skipped).
fn wrapped_argv(def: &Definition, ep: &[Value], cmd: &[Value]) -> Vec<Value> {
    use crate::definition::Arg;
    fn capture(args: &[Arg], actual: &[Value], out: &mut Vec<Value>) -> bool {
        match args.split_first() {
            None => actual.is_empty(),
            Some((Arg::Literal(s), rest)) => {
                actual.first().and_then(Value::as_str) == Some(s.as_str())
                    && capture(rest, &actual[1..], out)
            }
            Some((Arg::Splice(_), rest)) => {
                // The longest run that lets the rest match (templates end in literals rarely).
                for k in (0..=actual.len()).rev() {
                    let mut tail = Vec::new();
                    if capture(rest, &actual[k..], &mut tail) {
                        out.extend_from_slice(&actual[..k]);
                        out.extend(tail);
                        return true;
                    }
                }
                false
            }
        }
    }
    let mut out = Vec::new();
    capture(&def.containers.entry_point, ep, &mut out);
    capture(&def.containers.command, cmd, &mut out);
    out
}

#[cfg(test)]
mod tests;
