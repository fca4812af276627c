//! The patch engine: select task definitions and containers, wrap each selected container's
//! process with the tracer, and add the sidecars. Pure: it works on the value model only.
//!
//! On error the value may have been partly changed; callers discard it (nothing is written).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::definition::{Arg, ContainerSpec, Definition, Sidecar, Splice};
use crate::error::{Error, Path};
use crate::image::{ImageConfig, ImageConfigs, DEFAULT_PLATFORM};
use crate::intrinsic;
use crate::shape::{self, Dialect, Shape, Site};
use crate::source::PathStep;

/// How to select what gets patched.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Patch only task definitions tagged `kilt-include` / `kilt-include-containers`.
    pub opt_in: bool,
    /// Also patch task definitions that do not require FARGATE compatibility.
    pub include_ec2: bool,
    /// Values for template parameters (override their `Default`s), used to know images given
    /// as `Ref`/`Fn::Sub`.
    pub parameters: BTreeMap<String, String>,
    /// Trace only these containers (replaces a `kilt-include-containers` tag's list).
    pub include_containers: Option<Vec<String>>,
    /// Never trace these containers (added to a `kilt-ignore-containers` tag's list).
    pub ignore_containers: Vec<String>,
    /// Adjusts the definition for each task definition and container (e.g. a Kilt recipe,
    /// evaluated per container); `None` applies the definition as it is.
    pub tailor: Option<std::sync::Arc<dyn Tailor>>,
}

/// Makes the definition specific to one task definition and its selected containers, before
/// they are patched: how definitions whose content depends on the task (Kilt recipes, whose
/// variables include the container's name, image and environment) plug into the one engine.
pub trait Tailor: std::fmt::Debug + Send + Sync {
    /// The definition for `task`. Its sidecars must have the names (in order) of the
    /// definition given to [`patch`].
    fn tailor(&self, task: &TaskView<'_>) -> Result<Tailored, Error>;
}

/// What a [`Tailor`] sees of a task definition.
#[derive(Debug)]
pub struct TaskView<'a> {
    pub site: &'a Site,
    /// The task definition's tags (`Tags`/`tags`) as written, if any.
    pub tags: Option<&'a Value>,
    /// The selected containers, before patching, with their index in the containers list.
    pub containers: Vec<(usize, &'a Map<String, Value>)>,
}

/// A definition made for one task definition.
#[derive(Debug, Clone)]
pub struct Tailored {
    pub definition: Definition,
    /// One spec per selected container (in the order of [`TaskView::containers`]); empty to use
    /// `definition.containers` for all.
    pub containers: Vec<ContainerSpec>,
}

/// What happened to each task definition.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub tasks: Vec<TaskOutcome>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskOutcome {
    pub label: String,
    pub status: TaskStatus,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TaskStatus {
    /// Patched: containers newly wrapped, containers found already wrapped.
    Patched {
        wrapped: Vec<String>,
        already: Vec<String>,
    },
    /// Left alone, and why.
    Skipped(String),
}

impl Report {
    /// Containers newly wrapped, over all task definitions.
    pub fn wrapped_count(&self) -> usize {
        self.tasks
            .iter()
            .map(|t| match &t.status {
                TaskStatus::Patched { wrapped, .. } => wrapped.len(),
                TaskStatus::Skipped(_) => 0,
            })
            .sum()
    }
}

/// Patch `value` (a document of `shape`) in place. For [`Shape::Describe`] the value is first
/// turned into register-task-definition input.
pub fn patch(
    value: &mut Value,
    shape: Shape,
    def: &Definition,
    opts: &Options,
    images: &ImageConfigs,
) -> Result<Report, Error> {
    patch_recording(value, shape, def, opts, images, None)
}

/// [`patch`], recording images whose configuration is missing (see [`patch_site_recording`]).
pub fn patch_recording(
    value: &mut Value,
    shape: Shape,
    def: &Definition,
    opts: &Options,
    images: &ImageConfigs,
    needs: Option<&RefCell<Vec<NeededImage>>>,
) -> Result<Report, Error> {
    if shape == Shape::Describe {
        *value = shape::describe_to_register(value)?;
    }
    let sites = shape::sites(value, shape)?;
    let params = template_parameters(
        (shape == Shape::CloudFormation)
            .then(|| value.get("Parameters"))
            .flatten(),
        opts,
    );
    let mut report = Report::default();
    let mut errors = Vec::new();
    for site in &sites {
        let Some(target) = get_mut(value, &site.path) else {
            continue;
        };
        match patch_site_recording(target, site, def, opts, images, &params, needs) {
            Ok(outcome) => report.tasks.push(outcome),
            Err(Error::Multiple(mut e)) => errors.append(&mut e),
            Err(e) => errors.push(e),
        }
    }
    Error::from_many(errors)?;
    Ok(report)
}

/// An image whose ENTRYPOINT/CMD the patch needs and does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeededImage {
    /// The image reference, with parameters resolved.
    pub image: String,
    /// `os/arch` from the task definition's `runtimePlatform` (default `linux/amd64`).
    pub platform: String,
    /// Who needs it, for messages: `"app" in TaskResource`.
    pub container: String,
    /// Path to the container's image field.
    pub path: Path,
}

/// `needs` once per (image, platform), in their first order.
pub fn unique_needs(needs: Vec<NeededImage>) -> Vec<NeededImage> {
    let mut out: Vec<NeededImage> = Vec::new();
    for n in needs {
        if !out
            .iter()
            .any(|o| o.image == n.image && o.platform == n.platform)
        {
            out.push(n);
        }
    }
    out
}

/// Patch one task definition: `target` is the value at `site.path` (the properties object, or
/// for [`Shape::Containers`] the containers array). `params` are the template's parameter values
/// (see [`template_parameters`]). Errors carry paths from the document root.
pub fn patch_site(
    target: &mut Value,
    site: &Site,
    def: &Definition,
    opts: &Options,
    images: &ImageConfigs,
    params: &BTreeMap<String, String>,
) -> Result<TaskOutcome, Error> {
    patch_site_recording(target, site, def, opts, images, params, None)
}

/// [`patch_site`], but images whose configuration is missing are recorded in `needs` instead of
/// failing the patch (their containers are patched with an empty argv; callers discard the
/// result and look the images up).
pub fn patch_site_recording(
    target: &mut Value,
    site: &Site,
    def: &Definition,
    opts: &Options,
    images: &ImageConfigs,
    params: &BTreeMap<String, String>,
    needs: Option<&RefCell<Vec<NeededImage>>>,
) -> Result<TaskOutcome, Error> {
    let platform = task_platform(target, site)?;
    let cx = Cx {
        site,
        def,
        opts,
        images,
        params,
        platform,
        needs,
    };
    match cx.patch_task(target) {
        Ok(status) => Ok(TaskOutcome {
            label: site.label.clone(),
            status,
        }),
        Err(errors) => Err(Error::from_many(errors).err().unwrap_or_else(|| {
            Error::invalid(
                site.path.clone(),
                "internal error: failure without a reason",
            )
        })),
    }
}

/// The value at `path`, for changing it.
pub(crate) fn get_mut<'a>(v: &'a mut Value, path: &[PathStep]) -> Option<&'a mut Value> {
    let mut cur = v;
    for step in path {
        cur = match step {
            PathStep::Key(k) => cur.as_object_mut()?.get_mut(k)?,
            PathStep::Index(i) => cur.as_array_mut()?.get_mut(*i)?,
        };
    }
    Some(cur)
}

/// Template parameter values: `--parameter` over each parameter's `Default`. `parameters` is the
/// template's `Parameters` section, if any.
pub fn template_parameters(parameters: Option<&Value>, opts: &Options) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    {
        if let Some(Value::Object(params)) = parameters {
            for (name, p) in params {
                if let Some(d) = p.get("Default") {
                    let s = match d {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => continue,
                    };
                    out.insert(name.clone(), s);
                }
            }
        }
    }
    for (k, val) in &opts.parameters {
        out.insert(k.clone(), val.clone());
    }
    out
}

/// The selection tags kiltx understands (Kilt's names, and the same with `kiltx-`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Ignore,
    Include,
    IncludeContainers,
    IgnoreContainers,
}

fn selection_tag(key: &str) -> Option<Tag> {
    let rest = key
        .strip_prefix("kiltx-")
        .or_else(|| key.strip_prefix("kilt-"))?;
    Some(match rest {
        "ignore" | "exclude" => Tag::Ignore,
        "include" => Tag::Include,
        "include-containers" => Tag::IncludeContainers,
        "ignore-containers" | "exclude-containers" => Tag::IgnoreContainers,
        _ => return None,
    })
}

struct Cx<'a> {
    site: &'a Site,
    def: &'a Definition,
    opts: &'a Options,
    images: &'a ImageConfigs,
    params: &'a BTreeMap<String, String>,
    /// `Ok(os/arch)`, or why the task's platform cannot be known.
    platform: Result<String, Error>,
    needs: Option<&'a RefCell<Vec<NeededImage>>>,
}

impl<'a> Cx<'a> {
    /// The same context with another definition (one made for the task or a container).
    fn with_def<'b>(&'b self, def: &'b Definition) -> Cx<'b>
    where
        'a: 'b,
    {
        Cx {
            site: self.site,
            def,
            opts: self.opts,
            images: self.images,
            params: self.params,
            platform: self.platform.as_ref().cloned().map_err(clone_error),
            needs: self.needs,
        }
    }
}

/// The platform a task runs on, from `runtimePlatform.cpuArchitecture`.
fn task_platform(target: &Value, site: &Site) -> Result<Result<String, Error>, Error> {
    let Value::Object(props) = target else {
        return Ok(Ok(DEFAULT_PLATFORM.to_string()));
    };
    let path = &site.path;
    let Some((rk, rp)) = get(props, "runtimePlatform", path)? else {
        return Ok(Ok(DEFAULT_PLATFORM.to_string()));
    };
    let rpath = at(path, &rk);
    let Value::Object(rp) = rp else {
        return Ok(Err(expected(rpath, "an object", rp)));
    };
    Ok(match get(rp, "cpuArchitecture", &rpath)? {
        None => Ok(DEFAULT_PLATFORM.to_string()),
        Some((_, Value::String(a))) if a.eq_ignore_ascii_case("X86_64") => Ok("linux/amd64".into()),
        Some((_, Value::String(a))) if a.eq_ignore_ascii_case("ARM64") => Ok("linux/arm64".into()),
        Some((k, other)) => Err(Error::invalid_hint(
            at(&rpath, &k),
            format!(
                "kiltx must know the task's CPU architecture to read its images' ENTRYPOINT/CMD, and this is {}",
                match other {
                    Value::String(s) => format!("{s:?} (expected X86_64 or ARM64)"),
                    v => intrinsic::describe(v),
                }
            ),
            "write X86_64 or ARM64, or set entryPoint/command on the containers",
        )),
    })
}

/// A step further down a path.
fn at(path: &Path, step: impl Into<Step>) -> Path {
    let mut p = path.clone();
    p.push(match step.into() {
        Step::K(k) => PathStep::Key(k),
        Step::I(i) => PathStep::Index(i),
    });
    p
}

enum Step {
    K(String),
    I(usize),
}
impl From<&str> for Step {
    fn from(s: &str) -> Self {
        Step::K(s.to_string())
    }
}
impl From<&String> for Step {
    fn from(s: &String) -> Self {
        Step::K(s.clone())
    }
}
impl From<usize> for Step {
    fn from(i: usize) -> Self {
        Step::I(i)
    }
}

/// The actual key in `m` that spells the ECS field `camel` (keys are matched without regard to
/// case, as ECS's own JSON decoding and Terraform do). Two spellings at once are an error.
fn find_key(m: &Map<String, Value>, camel: &str, path: &Path) -> Result<Option<String>, Error> {
    let mut found: Option<&String> = None;
    for k in m.keys() {
        if k.eq_ignore_ascii_case(camel) {
            if let Some(prev) = found {
                return Err(Error::invalid_hint(
                    at(path, k),
                    format!("both {prev:?} and {k:?} are given; they name the same field"),
                    "keep one of them",
                ));
            }
            found = Some(k);
        }
    }
    Ok(found.cloned())
}

fn get<'m>(
    m: &'m Map<String, Value>,
    camel: &str,
    path: &Path,
) -> Result<Option<(String, &'m Value)>, Error> {
    Ok(find_key(m, camel, path)?.and_then(|k| m.get(&k).map(|v| (k.clone(), v))))
}

/// The key to write `camel` under: the existing spelling, or the dialect's.
fn key_for(
    m: &Map<String, Value>,
    camel: &str,
    dialect: Dialect,
    path: &Path,
) -> Result<String, Error> {
    Ok(find_key(m, camel, path)?.unwrap_or_else(|| dialect.key(camel)))
}

fn expected(path: Path, what: &str, found: &Value) -> Error {
    if intrinsic::is_intrinsic(found) {
        Error::invalid_hint(
            path,
            format!("expected {what}, found {}; kiltx must read this value to patch the task definition", intrinsic::describe(found)),
            "write the value literally here (intrinsic functions are fine inside list items and values)",
        )
    } else {
        Error::invalid(
            path,
            format!("expected {what}, found {}", intrinsic::describe(found)),
        )
    }
}

fn string_of<'v>(v: &'v Value, path: &Path) -> Result<&'v str, Error> {
    v.as_str()
        .ok_or_else(|| expected(path.clone(), "a string", v))
}

/// A list field: absent → None; intrinsic or other type → error.
fn list_of<'v>(
    m: &'v Map<String, Value>,
    camel: &str,
    path: &Path,
) -> Result<Option<(String, &'v Vec<Value>)>, Error> {
    match get(m, camel, path)? {
        None => Ok(None),
        Some((k, Value::Array(a))) => Ok(Some((k, a))),
        Some((k, Value::Null)) => {
            let _ = k;
            Ok(None)
        }
        Some((k, other)) => Err(expected(at(path, &k), "a list", other)),
    }
}

impl Cx<'_> {
    fn patch_task(&self, target: &mut Value) -> Result<TaskStatus, Vec<Error>> {
        let path = self.site.path.clone();
        let d = self.site.dialect;
        let mut raw_tags: Option<Value> = None;
        // Where the containers are.
        let (containers_path, tags) = if self.site.shape == Shape::Containers {
            (path.clone(), Vec::new())
        } else {
            let Value::Object(props) = &*target else {
                return Err(vec![expected(path, "an object", target)]);
            };
            if let Some(reason) = self.compatibility(props, &path).map_err(|e| vec![e])? {
                return Ok(TaskStatus::Skipped(reason));
            }
            let tags = self.tags(props, &path).map_err(|e| vec![e])?;
            if self.opts.tailor.is_some() {
                raw_tags = get(props, "tags", &path)
                    .map_err(|e| vec![e])?
                    .map(|(_, v)| v.clone());
            }
            let key = match find_key(props, "containerDefinitions", &path).map_err(|e| vec![e])? {
                Some(k) => k,
                None => {
                    return Err(vec![Error::invalid_hint(
                        path.clone(),
                        format!(
                            "task definition {} has no {}",
                            self.site.label,
                            d.key("containerDefinitions")
                        ),
                        "add its containers, or tag it kilt-ignore to leave it alone",
                    )])
                }
            };
            (at(&path, &key), tags)
        };
        // Task-level selection.
        let has = |t: Tag| tags.iter().any(|(tag, _)| *tag == t);
        if has(Tag::Ignore) {
            return Ok(TaskStatus::Skipped("tagged kilt-ignore".into()));
        }
        if self.opts.opt_in && !has(Tag::Include) && !has(Tag::IncludeContainers) {
            return Ok(TaskStatus::Skipped(
                "opt-in mode and not tagged kilt-include or kilt-include-containers".into(),
            ));
        }
        let containers_value =
            get_mut(target, &containers_path[path.len()..]).ok_or_else(Vec::new)?;
        let Value::Array(containers) = containers_value else {
            let what = if intrinsic::is_intrinsic(containers_value) {
                format!(
                    "task definition {} gives its containers as {}; kiltx must see every container to instrument them",
                    self.site.label,
                    intrinsic::describe(containers_value)
                )
            } else {
                format!(
                    "expected a list of container definitions, found {}",
                    intrinsic::describe(containers_value)
                )
            };
            return Err(vec![Error::invalid_hint(
                containers_path,
                what,
                "write the container definitions as a literal list (intrinsics are fine inside each container), or patch each variant in a template of its own",
            )]);
        };

        // Names, duplicates, our sidecars.
        let mut errors = Vec::new();
        let mut names: Vec<Option<String>> = Vec::new();
        let mut display: Vec<String> = Vec::new();
        for (i, c) in containers.iter().enumerate() {
            let cpath = at(&containers_path, i);
            let Value::Object(m) = c else {
                errors.push(expected(cpath, "a container definition (an object)", c));
                names.push(None);
                display.push(format!("#{i}"));
                continue;
            };
            match get(m, "name", &cpath) {
                Ok(Some((_, Value::String(s)))) => {
                    names.push(Some(s.clone()));
                    display.push(s.clone());
                }
                Ok(Some((k, v))) if intrinsic::is_intrinsic(v) => {
                    let _ = k;
                    names.push(None);
                    display.push(format!("#{i} ({})", intrinsic::describe(v)));
                }
                Ok(Some((k, v))) => {
                    errors.push(expected(at(&cpath, &k), "a string", v));
                    names.push(None);
                    display.push(format!("#{i}"));
                }
                Ok(None) => {
                    errors.push(Error::invalid_hint(
                        cpath,
                        "the container has no name",
                        format!("give it a {}", d.key("name")),
                    ));
                    names.push(None);
                    display.push(format!("#{i}"));
                }
                Err(e) => {
                    errors.push(e);
                    names.push(None);
                    display.push(format!("#{i}"));
                }
            }
        }
        let mut seen = BTreeSet::new();
        for (i, n) in names.iter().enumerate() {
            if let Some(n) = n {
                if !seen.insert(n.as_str()) {
                    errors.push(Error::invalid_hint(
                        at(&at(&containers_path, i), d.key("name").as_str()),
                        format!("two containers are named {n:?}"),
                        "container names must be unique within a task definition",
                    ));
                }
            }
        }
        // Existing sidecars (from an earlier patch) by index.
        let mut sidecar_at: Vec<Option<usize>> = Vec::new();
        for s in &self.def.sidecars {
            let idx = names
                .iter()
                .position(|n| n.as_deref() == Some(s.name.as_str()));
            if let Some(i) = idx {
                if let Value::Object(m) = &containers[i] {
                    if !is_our_sidecar(m, s, d) {
                        errors.push(Error::invalid_hint(
                            at(&containers_path, i),
                            format!("a container is already named {:?}, the name of the definition's sidecar", s.name),
                            "rename the container, or rename the sidecar in your --definition",
                        ));
                    }
                }
            }
            sidecar_at.push(idx);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // Container-level selection.
        let include: Option<&Vec<String>> = self.opts.include_containers.as_ref().or_else(|| {
            tags.iter()
                .find(|(t, _)| *t == Tag::IncludeContainers)
                .map(|(_, v)| v)
        });
        let ignore_list: Vec<String> = tags
            .iter()
            .filter(|(t, _)| *t == Tag::IgnoreContainers)
            .flat_map(|(_, v)| v.iter().cloned())
            .chain(self.opts.ignore_containers.iter().cloned())
            .collect();
        let ignore = (!ignore_list.is_empty()).then_some(&ignore_list);
        for list in [include, ignore].into_iter().flatten() {
            for wanted in list {
                if !names.iter().any(|n| n.as_deref() == Some(wanted.as_str())) {
                    let all_named = names.iter().all(Option::is_some);
                    if all_named {
                        errors.push(Error::invalid_hint(
                            path.clone(),
                            format!("a selection tag names container {wanted:?}, which task definition {} does not have", self.site.label),
                            format!("containers are: {}", display.join(", ")),
                        ));
                    } else {
                        errors.push(Error::invalid_hint(
                            path.clone(),
                            format!("a selection tag names container {wanted:?}, but some container names are intrinsic functions, so kiltx cannot tell which containers it means"),
                            "give the containers literal names, or drop the container selection tag",
                        ));
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let targets: Vec<usize> = (0..containers.len())
            .filter(|i| !sidecar_at.contains(&Some(*i)))
            .filter(|i| {
                let n = names[*i].as_deref();
                include.is_none_or(|l| n.is_some_and(|n| l.iter().any(|x| x == n)))
                    && ignore.is_none_or(|l| !n.is_some_and(|n| l.iter().any(|x| x == n)))
            })
            .collect();
        if targets.is_empty() {
            return Ok(TaskStatus::Skipped(
                "no container is selected for tracing".into(),
            ));
        }

        // A definition made for this task, where a tailor is given.
        let tailored = match &self.opts.tailor {
            None => None,
            Some(t) => {
                let view = TaskView {
                    site: self.site,
                    tags: raw_tags.as_ref(),
                    containers: targets
                        .iter()
                        .filter_map(|&i| containers[i].as_object().map(|m| (i, m)))
                        .collect(),
                };
                let made = t.tailor(&view).map_err(|e| vec![e])?;
                let names = |d: &Definition| -> Vec<String> {
                    d.sidecars.iter().map(|s| s.name.clone()).collect()
                };
                if names(&made.definition) != names(self.def)
                    || !(made.containers.is_empty()
                        || made.containers.len() == view.containers.len())
                {
                    return Err(vec![Error::invalid(
                        path.clone(),
                        "internal error: the definition made for this task does not match the one given",
                    )]);
                }
                Some(made)
            }
        };
        let task_cx;
        let cx: &Cx = match &tailored {
            Some(t) => {
                task_cx = self.with_def(&t.definition);
                &task_cx
            }
            None => self,
        };
        let per_container: Vec<Definition> = match &tailored {
            Some(t) => t
                .containers
                .iter()
                .map(|spec| Definition {
                    containers: spec.clone(),
                    ..t.definition.clone()
                })
                .collect(),
            None => Vec::new(),
        };

        let mut wrapped = Vec::new();
        let mut already = Vec::new();
        for (n, &i) in targets.iter().enumerate() {
            let cpath = at(&containers_path, i);
            let Value::Object(m) = &mut containers[i] else {
                continue;
            };
            let container_cx;
            let ccx: &Cx = match per_container.get(n) {
                Some(def) => {
                    container_cx = cx.with_def(def);
                    &container_cx
                }
                None => cx,
            };
            match ccx.patch_container(m, &cpath, &display[i]) {
                Ok(true) => wrapped.push(display[i].clone()),
                Ok(false) => already.push(display[i].clone()),
                Err(mut e) => errors.append(&mut e),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // Sidecars: add, or bring an existing one up to the definition.
        for (s, idx) in cx.def.sidecars.iter().zip(&sidecar_at) {
            let fresh = sidecar_value(s, d);
            match idx {
                Some(i) => {
                    if let Value::Object(m) = &mut containers[*i] {
                        let cpath = at(&containers_path, *i);
                        for (k, v) in fresh {
                            match find_key(m, &k, &cpath) {
                                Ok(Some(existing)) => {
                                    m.insert(existing, v);
                                }
                                Ok(None) => {
                                    m.insert(k, v);
                                }
                                Err(e) => errors.push(e),
                            }
                        }
                    }
                }
                None => containers.push(Value::Object(fresh)),
            }
        }
        // Task-level settings.
        if self.site.shape != Shape::Containers {
            if let Some(pid) = &cx.def.task.pid_mode {
                if let Value::Object(props) = target {
                    match get(props, "pidMode", &path) {
                        Ok(None) => {
                            props.insert(d.key("pidMode"), Value::String(pid.clone()));
                        }
                        Ok(Some((_, Value::String(cur)))) if cur == pid => {}
                        Ok(Some((k, cur))) => errors.push(Error::invalid_hint(
                            at(&path, &k),
                            format!("the definition needs pidMode {pid:?}, but the task definition sets {}", render_value(cur)),
                            "remove the task definition's pidMode, or use a definition without task.pidMode",
                        )),
                        Err(e) => errors.push(e),
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(TaskStatus::Patched { wrapped, already })
    }

    /// `Some(reason)` when the task definition is not for Fargate and EC2 is not included.
    fn compatibility(
        &self,
        props: &Map<String, Value>,
        path: &Path,
    ) -> Result<Option<String>, Error> {
        if self.opts.include_ec2 {
            return Ok(None);
        }
        let key = "requiresCompatibilities";
        let shown = self.site.dialect.key(key);
        match list_of(props, key, path)? {
            None if self.site.shape == Shape::CloudFormation => Ok(Some(format!(
                "{shown} does not include FARGATE (pass --include-ec2 to patch it anyway)"
            ))),
            None => Ok(None),
            Some((k, list)) => {
                let kpath = at(path, &k);
                let mut fargate = false;
                for (i, item) in list.iter().enumerate() {
                    if string_of(item, &at(&kpath, i))? == "FARGATE" {
                        fargate = true;
                    }
                }
                Ok((!fargate).then(|| {
                    format!(
                        "{shown} does not include FARGATE (pass --include-ec2 to patch it anyway)"
                    )
                }))
            }
        }
    }

    /// The selection tags present, with their container lists (empty for task-level tags).
    fn tags(
        &self,
        props: &Map<String, Value>,
        path: &Path,
    ) -> Result<Vec<(Tag, Vec<String>)>, Error> {
        let mut out = Vec::new();
        let Some((k, list)) = list_of(props, "tags", path)? else {
            return Ok(out);
        };
        let tpath = at(path, &k);
        for (i, t) in list.iter().enumerate() {
            let ipath = at(&tpath, i);
            let Value::Object(m) = t else {
                return Err(expected(ipath, "a tag ({Key, Value})", t));
            };
            let Some((kk, key)) = get(m, "key", &ipath)? else {
                return Err(Error::invalid(ipath, "the tag has no Key"));
            };
            let Value::String(key) = key else {
                // A computed key cannot be one of ours unless it resolves to one; refuse to guess.
                return Err(expected(at(&ipath, &kk), "a string tag key", key));
            };
            let Some(tag) = selection_tag(key) else {
                continue;
            };
            let value = match get(m, "value", &ipath)? {
                None => String::new(),
                Some((_, Value::String(s))) => s.clone(),
                Some((vk, other)) => {
                    return Err(Error::invalid_hint(
                        at(&ipath, &vk),
                        format!(
                            "tag {key} has {} as its value; kiltx needs a literal string to decide what to patch",
                            intrinsic::describe(other)
                        ),
                        match tag {
                            Tag::IncludeContainers | Tag::IgnoreContainers => {
                                "write the container names literally, separated by ':' (e.g. app:worker)"
                            }
                            _ => "write the value literally (any string will do)",
                        },
                    ))
                }
            };
            let names = match tag {
                Tag::IncludeContainers | Tag::IgnoreContainers => value
                    .split(':')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect(),
                _ => Vec::new(),
            };
            out.push((tag, names));
        }
        Ok(out)
    }

    /// Patch one container. `Ok(true)` when newly wrapped, `Ok(false)` when it already was.
    fn patch_container(
        &self,
        m: &mut Map<String, Value>,
        path: &Path,
        name: &str,
    ) -> Result<bool, Vec<Error>> {
        let d = self.site.dialect;
        let spec = &self.def.containers;
        let unpatchable = |p: Path, message: String, hint: Option<String>| Error::Unpatchable {
            path: p,
            container: format!("{name:?} in {}", self.site.label),
            message,
            hint,
            at: None,
        };
        let one = |e: Error| vec![e];
        let (ep, cmd) = match (list_of(m, "entryPoint", path), list_of(m, "command", path)) {
            (Ok(ep), Ok(cmd)) => (ep, cmd),
            (ep, cmd) => {
                let mut errors: Vec<Error> = [ep.err(), cmd.err()].into_iter().flatten().collect();
                if let Err(e) = self.add_environment(&mut m.clone(), path) {
                    errors.push(e);
                }
                return Err(errors);
            }
        };
        let ep_now: Vec<Value> = ep.as_ref().map(|(_, l)| (*l).clone()).unwrap_or_default();
        let cmd_now: Vec<Value> = cmd.as_ref().map(|(_, l)| (*l).clone()).unwrap_or_default();
        let already = matches(&spec.entry_point, &ep_now) && matches(&spec.command, &cmd_now);
        let literals = spec
            .entry_point
            .iter()
            .chain(&spec.command)
            .filter(|a| matches!(a, Arg::Literal(_)))
            .count();
        if already && ep_now.len() + cmd_now.len() == literals {
            // The wrapper is there, but the splices matched nothing: there is no program left
            // to run, and nothing to recover it from.
            let k = cmd
                .as_ref()
                .or(ep.as_ref())
                .map(|(k, _)| k.clone())
                .unwrap_or_default();
            return Err(vec![unpatchable(
                at(path, &k),
                "it runs the tracer's wrapper with no application command after it".into(),
                Some(format!(
                    "restore the container's original {} and {}, and patch again",
                    d.key("entryPoint"),
                    d.key("command")
                )),
            )]);
        }
        if !already {
            if let (Some(launcher), Some(Value::String(first))) =
                (self.def.launcher(), ep_now.first())
            {
                if first == launcher {
                    let k = ep.as_ref().map(|(k, _)| k.clone()).unwrap_or_default();
                    return Err(vec![unpatchable(
                        at(path, &k),
                        format!("it is already wrapped by {launcher}, but not the way this definition wraps it"),
                        Some("restore the container's original entryPoint/command and patch again".into()),
                    )]);
                }
            }
            // The original argv, by Docker's rules.
            let (eff_ep, eff_cmd) = if !ep_now.is_empty() {
                (ep_now.clone(), cmd_now.clone())
            } else {
                let config = self.image_config(m, path, name).map_err(one)?;
                let eff_cmd = if cmd.is_some() && !cmd_now.is_empty() {
                    cmd_now.clone()
                } else {
                    strings(config.cmd.as_deref())
                };
                (strings(config.entrypoint.as_deref()), eff_cmd)
            };
            if eff_ep.is_empty() && eff_cmd.is_empty() {
                return Err(vec![unpatchable(
                    path.clone(),
                    "it has nothing to run: no entryPoint or command, and its image has no ENTRYPOINT or CMD".into(),
                    Some(format!("set {} or {} on the container", d.key("entryPoint"), d.key("command"))),
                )]);
            }
            let new_ep = render(&spec.entry_point, &eff_ep, &eff_cmd);
            let new_cmd = render(&spec.command, &eff_ep, &eff_cmd);
            set_list(m, "entryPoint", new_ep, d, path).map_err(one)?;
            set_list(m, "command", new_cmd, d, path).map_err(one)?;
        }
        let mut errors = Vec::new();
        if let Err(e) = self.add_capabilities(m, path, &unpatchable) {
            errors.push(e);
        }
        for vf in self.def.volumes_from() {
            let r = merge_entry(
                m,
                "volumesFrom",
                ("sourceContainer", &vf.source_container),
                ("readOnly", || Value::Bool(vf.read_only)),
                d,
                path,
            );
            if let Err(e) = r {
                errors.push(e);
            }
        }
        for dep in &spec.depends_on {
            let r = merge_entry(
                m,
                "dependsOn",
                ("containerName", &dep.container_name),
                ("condition", || Value::String(dep.condition.clone())),
                d,
                path,
            );
            if let Err(e) = r {
                errors.push(e);
            }
        }
        if let Err(e) = self.add_environment(m, path) {
            errors.push(e);
        }
        if errors.is_empty() {
            Ok(!already)
        } else {
            Err(errors)
        }
    }

    fn image_config(
        &self,
        m: &Map<String, Value>,
        path: &Path,
        name: &str,
    ) -> Result<ImageConfig, Error> {
        let d = self.site.dialect;
        let hint = format!(
            "set {ep} (and {cmd}) on the container, or pin the image's configuration with --image-config FILE (JSON: {{\"IMAGE\": {{\"entrypoint\": [...], \"cmd\": [...]}}}})",
            ep = d.key("entryPoint"),
            cmd = d.key("command")
        );
        let container = format!("{name:?} in {}", self.site.label);
        let Some((k, image)) = get(m, "image", path)? else {
            return Err(Error::Unpatchable {
                path: path.clone(),
                container,
                message: "it has no image and no entryPoint".into(),
                hint: Some(format!("give it an {}", d.key("image"))),
                at: None,
            });
        };
        let ipath = at(path, &k);
        let image_str = match image {
            Value::String(s) => s.clone(),
            other => match self.resolve(other) {
                Some(s) => s,
                None => {
                    return Err(Error::Unpatchable {
                        path: ipath,
                        container,
                        message: format!(
                            "it has no entryPoint, and its image is {} whose value kiltx cannot know, so the image's ENTRYPOINT/CMD cannot be looked up",
                            intrinsic::describe(other)
                        ),
                        hint: Some(format!("{hint}; or give the parameter a value with --parameter NAME=VALUE")),
                        at: None,
                    })
                }
            },
        };
        let platform = self.platform.as_ref().map_err(clone_error)?;
        match self.images.get_for(&image_str, platform) {
            Some(c) => Ok(c.clone()),
            None if self.needs.is_some() => {
                if let Some(needs) = self.needs {
                    needs.borrow_mut().push(NeededImage {
                        image: image_str,
                        platform: platform.clone(),
                        container,
                        path: ipath,
                    });
                }
                Ok(ImageConfig {
                    entrypoint: None,
                    cmd: Some(vec![String::new()]),
                })
            }
            None => Err(Error::Unpatchable {
                path: ipath,
                container,
                message: format!(
                    "it has no entryPoint, and the ENTRYPOINT/CMD of its image {image_str:?} are not known, so its original command line cannot be rebuilt"
                ),
                hint: Some(hint),
                at: None,
            }),
        }
    }

    /// The value of a `Ref`/`Fn::Sub` over known parameters.
    fn resolve(&self, v: &Value) -> Option<String> {
        let name = intrinsic::name(v)?;
        let arg = intrinsic::argument(v)?;
        match name.as_str() {
            "Ref" => self.params.get(arg.as_str()?).cloned(),
            "Fn::Sub" => {
                let s = arg.as_str()?;
                let mut out = String::new();
                let mut rest = s;
                while let Some(start) = rest.find("${") {
                    out.push_str(&rest[..start]);
                    let after = &rest[start + 2..];
                    if let Some(stripped) = after.strip_prefix('!') {
                        // `${!Literal}` is a literal `${Literal}`.
                        let end = stripped.find('}')?;
                        out.push_str("${");
                        out.push_str(&stripped[..=end]);
                        rest = &stripped[end + 1..];
                        continue;
                    }
                    let end = after.find('}')?;
                    out.push_str(self.params.get(&after[..end])?);
                    rest = &after[end + 1..];
                }
                out.push_str(rest);
                Some(out)
            }
            _ => None,
        }
    }

    fn add_capabilities(
        &self,
        m: &mut Map<String, Value>,
        path: &Path,
        unpatchable: &dyn Fn(Path, String, Option<String>) -> Error,
    ) -> Result<(), Error> {
        let caps = &self.def.containers.capabilities;
        if caps.is_empty() {
            return Ok(());
        }
        let d = self.site.dialect;
        let lp_key = key_for(m, "linuxParameters", d, path)?;
        let lp_path = at(path, &lp_key);
        let lp = object_entry(m, &lp_key, &lp_path)?;
        let c_key = key_for(lp, "capabilities", d, &lp_path)?;
        let c_path = at(&lp_path, &c_key);
        let c = object_entry(lp, &c_key, &c_path)?;
        if let Some((dk, drop)) = list_of(c, "drop", &c_path)? {
            for cap in caps {
                if drop
                    .iter()
                    .any(|v| v.as_str().is_some_and(|s| cap_eq(s, cap)))
                {
                    return Err(unpatchable(
                        at(&c_path, &dk),
                        format!("it drops {cap}, which the tracer needs"),
                        Some(format!(
                            "remove {cap} from the container's dropped capabilities"
                        )),
                    ));
                }
            }
        }
        let a_key = key_for(c, "add", d, &c_path)?;
        let a_path = at(&c_path, &a_key);
        let add = match c.entry(a_key).or_insert_with(|| Value::Array(vec![])) {
            Value::Array(a) => a,
            other => return Err(expected(a_path, "a list", other)),
        };
        for cap in caps {
            if !add
                .iter()
                .any(|v| v.as_str().is_some_and(|s| cap_eq(s, cap)))
            {
                add.push(Value::String(cap.clone()));
            }
        }
        Ok(())
    }

    fn add_environment(&self, m: &mut Map<String, Value>, path: &Path) -> Result<(), Error> {
        let spec = &self.def.containers;
        let d = self.site.dialect;
        let secret_names: Vec<String> = match list_of(m, "secrets", path)? {
            Some((k, l)) => {
                check_entries(l, "name", d, &at(path, &k))?;
                l.iter().filter_map(|s| entry_name(s, "name")).collect()
            }
            None => Vec::new(),
        };
        let container_name = get(m, "name", path)?.map(|(_, v)| v.clone());
        let mut wanted: Vec<(String, Value, bool)> = spec
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), v.clone(), spec.override_environment))
            .collect();
        if let (Some(var), Some(n)) = (&spec.container_name_variable, container_name) {
            wanted.push((var.clone(), n, false));
        }
        if !wanted.is_empty() {
            let key = key_for(m, "environment", d, path)?;
            let epath = at(path, &key);
            let env = match m.entry(key).or_insert_with(|| Value::Array(vec![])) {
                Value::Array(a) => a,
                other => return Err(expected(epath, "a list", other)),
            };
            check_entries(env, "name", d, &epath)?;
            for (name, value, force) in wanted {
                if secret_names.contains(&name) {
                    continue;
                }
                let existing = env
                    .iter_mut()
                    .find(|e| entry_name(e, "name").as_deref() == Some(name.as_str()));
                match existing {
                    Some(Value::Object(e)) => {
                        if force {
                            let vk =
                                find_key(e, "value", &epath)?.unwrap_or_else(|| d.key("value"));
                            e.insert(vk, value);
                        }
                    }
                    _ => {
                        let mut e = Map::new();
                        e.insert(d.key("name"), Value::String(name));
                        e.insert(d.key("value"), value);
                        env.push(Value::Object(e));
                    }
                }
            }
        }
        for (name, value_from) in &spec.secrets {
            merge_entry(
                m,
                "secrets",
                ("name", name),
                ("valueFrom", || value_from.clone()),
                d,
                path,
            )?;
        }
        Ok(())
    }
}

fn clone_error(e: &Error) -> Error {
    match e {
        Error::Invalid {
            path,
            message,
            hint,
            at,
        } => Error::Invalid {
            path: path.clone(),
            message: message.clone(),
            hint: hint.clone(),
            at: *at,
        },
        other => Error::invalid(vec![], other.to_string()),
    }
}

fn cap_eq(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b)
}

/// The string value of field `camel` of a list entry (`{Name: X}`), matched without case.
fn entry_name(entry: &Value, camel: &str) -> Option<String> {
    entry
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(camel))
        .and_then(|(_, v)| v.as_str().map(String::from))
}

/// Check the entries of a list kiltx merges into: each is an object whose `field` is a string
/// or an intrinsic function, or the whole entry is an intrinsic function (e.g. `Fn::If`).
fn check_entries(list: &[Value], field: &str, d: Dialect, path: &Path) -> Result<(), Error> {
    for (i, e) in list.iter().enumerate() {
        let ipath = at(path, i);
        match e {
            Value::Object(m) if !intrinsic::is_intrinsic(e) => {
                if let Some((k, v)) = get(m, field, &ipath)? {
                    if !v.is_string() && !intrinsic::is_intrinsic(v) {
                        return Err(expected(at(&ipath, &k), "a string", v));
                    }
                } else {
                    return Err(Error::invalid(
                        ipath,
                        format!("the entry has no {}", d.key(field)),
                    ));
                }
            }
            Value::Object(_) => {}
            other => return Err(expected(ipath, "an object", other)),
        }
    }
    Ok(())
}

/// The object at `m[key]`, created if absent.
fn object_entry<'m>(
    m: &'m mut Map<String, Value>,
    key: &str,
    path: &Path,
) -> Result<&'m mut Map<String, Value>, Error> {
    match m
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()))
    {
        Value::Object(o) => Ok(o),
        other => Err(expected(path.clone(), "an object", other)),
    }
}

/// Append `{field: wanted, other: make()}` (keys spelled in `d`) to list `camel` unless an
/// entry's `field` already equals `wanted`.
fn merge_entry(
    m: &mut Map<String, Value>,
    camel: &str,
    (field, wanted): (&str, &str),
    (other, make): (&str, impl FnOnce() -> Value),
    d: Dialect,
    path: &Path,
) -> Result<(), Error> {
    let key = key_for(m, camel, d, path)?;
    let lpath = at(path, &key);
    let list = match m.entry(key).or_insert_with(|| Value::Array(vec![])) {
        Value::Array(a) => a,
        other => return Err(expected(lpath, "a list", other)),
    };
    if !list
        .iter()
        .any(|e| entry_name(e, field).as_deref() == Some(wanted))
    {
        let mut e = Map::new();
        e.insert(d.key(field), Value::String(wanted.to_string()));
        e.insert(d.key(other), make());
        list.push(Value::Object(e));
    }
    Ok(())
}

fn set_list(
    m: &mut Map<String, Value>,
    camel: &str,
    list: Vec<Value>,
    d: Dialect,
    path: &Path,
) -> Result<(), Error> {
    let key = key_for(m, camel, d, path)?;
    if list.is_empty() {
        m.remove(&key);
    } else {
        m.insert(key, Value::Array(list));
    }
    Ok(())
}

fn strings(v: Option<&[String]>) -> Vec<Value> {
    v.unwrap_or_default()
        .iter()
        .cloned()
        .map(Value::String)
        .collect()
}

/// Render a template with the original argv.
fn render(args: &[Arg], ep: &[Value], cmd: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for a in args {
        match a {
            Arg::Literal(s) => out.push(Value::String(s.clone())),
            Arg::Splice(s) => match s.splice {
                Splice::Argv => {
                    out.extend_from_slice(ep);
                    out.extend_from_slice(cmd);
                }
                Splice::EntryPoint => out.extend_from_slice(ep),
                Splice::Command => out.extend_from_slice(cmd),
            },
        }
    }
    out
}

/// Whether a container's `entryPoint` and `command` are what `def` wraps containers into, for
/// some original argv: the engine's own "already wrapped" test (used by `kiltx lint`).
pub fn is_wrapped(def: &Definition, entry_point: &[Value], command: &[Value]) -> bool {
    matches(&def.containers.entry_point, entry_point) && matches(&def.containers.command, command)
}

/// Whether `actual` is what `args` renders to for some argv (splices match any run).
fn matches(args: &[Arg], actual: &[Value]) -> bool {
    match args.split_first() {
        None => actual.is_empty(),
        Some((Arg::Literal(s), rest)) => {
            actual.first().and_then(Value::as_str) == Some(s.as_str())
                && matches(rest, &actual[1..])
        }
        Some((Arg::Splice(_), rest)) => (0..=actual.len()).any(|k| matches(rest, &actual[k..])),
    }
}

fn is_our_sidecar(m: &Map<String, Value>, s: &Sidecar, d: Dialect) -> bool {
    let fresh = sidecar_value(s, d);
    let field = |camel: &str| {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(camel))
            .map(|(_, v)| v)
    };
    match &s.entry_point {
        Some(_) => field("entryPoint") == fresh.get(&d.key("entryPoint")),
        None => field("image") == fresh.get(&d.key("image")),
    }
}

/// A sidecar as a container definition, in the given dialect, keys in a fixed order.
pub fn sidecar_value(s: &Sidecar, d: Dialect) -> Map<String, Value> {
    let mut m = Map::new();
    let k = |c: &str| d.key(c);
    m.insert(k("name"), s.name.clone().into());
    m.insert(k("image"), s.image.clone().into());
    if let Some(e) = s.essential {
        m.insert(k("essential"), e.into());
    }
    let list = |v: &Vec<String>| Value::Array(v.iter().cloned().map(Value::String).collect());
    if let Some(e) = &s.entry_point {
        m.insert(k("entryPoint"), list(e));
    }
    if let Some(c) = &s.command {
        m.insert(k("command"), list(c));
    }
    for (name, v) in [
        ("cpu", s.cpu),
        ("memory", s.memory),
        ("memoryReservation", s.memory_reservation),
    ] {
        if let Some(v) = v {
            m.insert(k(name), v.into());
        }
    }
    // `{NAME: x}` maps become ECS's `[{name: NAME, <field>: x}]` lists.
    let named = |map: &Map<String, Value>, field: &str| {
        let list = map
            .iter()
            .map(|(n, v)| {
                let mut e = Map::new();
                e.insert(k("name"), n.clone().into());
                e.insert(k(field), v.clone());
                Value::Object(e)
            })
            .collect();
        Value::Array(list)
    };
    if !s.environment.is_empty() {
        m.insert(k("environment"), named(&s.environment, "value"));
    }
    if !s.secrets.is_empty() {
        m.insert(k("secrets"), named(&s.secrets, "valueFrom"));
    }
    if let Some(l) = &s.log_configuration {
        let mut lm = Map::new();
        lm.insert(k("logDriver"), l.log_driver.clone().into());
        if !l.options.is_empty() {
            lm.insert(k("options"), Value::Object(l.options.clone()));
        }
        m.insert(k("logConfiguration"), Value::Object(lm));
    }
    if let Some(r) = &s.repository_credentials {
        let mut rm = Map::new();
        rm.insert(
            k("credentialsParameter"),
            r.credentials_parameter.clone().into(),
        );
        m.insert(k("repositoryCredentials"), Value::Object(rm));
    }
    m
}

fn render_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => intrinsic::describe(other),
    }
}

#[cfg(test)]
mod tests;
