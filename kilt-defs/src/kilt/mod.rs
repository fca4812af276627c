//! Kilt recipes (`.kilt.cfg`, HOCON) as kiltx definitions.
//!
//! A recipe is evaluated once per selected container with Kilt's variables (`original.image`,
//! `original.container_name`, `original.container_group_name`, `original.environment_variables`,
//! `original.metadata`, `config.*`). `original.entry_point` and `original.command` are not
//! values but stand-ins for kiltx's splices (`{splice: entryPoint}` / `{splice: command}`), so
//! `command: [] ${?original.entry_point} ${?original.command}` becomes the template
//! `[{splice: entryPoint}, {splice: command}]` and the engine fills in the container's original
//! argv (from the task definition or the image, by Docker's rules) as it does for any
//! definition. The result of each evaluation is a kiltx [`Definition`]; the engine applies it
//! through its [`Tailor`] hook. There is one engine, not a second patcher.
//!
//! Kilt's semantics kept: the recipe's environment variables override the container's own
//! (`build.environment_variables`); each sidecar (`build.mount[]`) also gets the recipe's
//! variables and those of the containers it serves (its own win); sidecars carry no `essential`
//! (ECS's default); no variable with the container's name is added.

pub mod hocon;

use std::sync::Arc;

use serde_json::{Map, Value as Json};

use crate::definition::{
    Arg, ContainerSpec, Definition, LogConfiguration, RepositoryCredentials, Sidecar, Splice,
    SpliceArg, TaskSpec, VolumeFrom,
};
use crate::error::Error;
use crate::patch::{Tailor, Tailored, TaskView};
use crate::shape::Shape;
use crate::source::{line_col, PathStep};
use hocon::{HoconError, Recipe, V};

/// Kilt's defaults, beneath every recipe.
const DEFAULTS: &str = "build {\n  entry_point: ${original.entry_point}\n  command: ${original.command}\n  mount: []\n}\n";

const BUILD_KEYS: &[&str] = &[
    "entry_point",
    "command",
    "image",
    "environment_variables",
    "capabilities",
    "mount",
];
const MOUNT_KEYS: &[&str] = &[
    "name",
    "image",
    "volumes",
    "entry_point",
    "environment_variables",
];
const TASK_KEYS: &[&str] = &["pid_mode"];

/// Whether a definition file is a Kilt recipe, by its name.
pub fn is_recipe_path(name: &str) -> bool {
    name.ends_with(".kilt.cfg") || name.ends_with(".cfg") || name.ends_with(".conf")
}

/// Kilt's configuration knobs (the macro's settings, `kiltx patch` flags).
#[derive(Debug, Clone, Default)]
pub struct Knobs {
    /// awslogs log group for the sidecars; empty or `None` for none.
    pub log_group: Option<String>,
    /// awslogs region; default in CloudFormation templates `{"Ref": "AWS::Region"}`.
    pub log_region: Option<String>,
    /// awslogs stream prefix; default in CloudFormation templates the task's logical ID.
    pub log_stream_prefix: Option<String>,
    /// Secret ARN for the sidecars' `repositoryCredentials`.
    pub image_auth_secret: Option<String>,
    /// Recipe environment variables become template Parameters (with the recipe's values as
    /// defaults) referenced with `Ref`.
    pub parameterize_env: bool,
    /// Replaces the first sidecar's image (`--tracer-image`).
    pub tracer_image: Option<String>,
}

impl Knobs {
    /// Whether anything depends on the task definition being patched.
    fn per_task(&self) -> bool {
        self.log_group.as_deref().is_some_and(|g| !g.is_empty())
    }

    /// Apply to the sidecars of a definition made for the task at `view`.
    fn apply(&self, def: &mut Definition, view: &TaskView<'_>) -> Result<(), Error> {
        if let Some(group) = self.log_group.as_deref().filter(|g| !g.is_empty()) {
            let cfn = view.site.shape == Shape::CloudFormation;
            let region =
                match (&self.log_region, cfn) {
                    (Some(r), _) => Json::String(r.clone()),
                    (None, true) => serde_json::json!({"Ref": "AWS::Region"}),
                    (None, false) => return Err(Error::invalid_hint(
                        view.site.path.clone(),
                        "--log-group needs the log group's region outside CloudFormation templates",
                        "give it with --log-region REGION",
                    )),
                };
            let prefix = match (&self.log_stream_prefix, cfn) {
                (Some(p), _) => p.clone(),
                (None, true) => view.site.label.clone(),
                (None, false) => {
                    return Err(Error::invalid_hint(
                        view.site.path.clone(),
                        "--log-group needs a stream prefix outside CloudFormation templates",
                        "give it with --log-stream-prefix PREFIX",
                    ))
                }
            };
            let mut options = Map::new();
            options.insert("awslogs-group".into(), Json::String(group.to_string()));
            options.insert("awslogs-region".into(), region);
            options.insert("awslogs-stream-prefix".into(), Json::String(prefix));
            for s in &mut def.sidecars {
                s.log_configuration = Some(LogConfiguration {
                    log_driver: "awslogs".into(),
                    options: options.clone(),
                });
            }
        }
        Ok(())
    }

    /// Apply what does not depend on the task (repository credentials) to a definition.
    pub fn apply_static(&self, def: &mut Definition) {
        if let (Some(image), Some(s)) = (
            self.tracer_image
                .as_deref()
                .filter(|i| !i.trim().is_empty()),
            def.sidecars.first_mut(),
        ) {
            s.image = image.to_string();
        }
        if let Some(arn) = self.image_auth_secret.as_deref().filter(|a| !a.is_empty()) {
            for s in &mut def.sidecars {
                s.repository_credentials = Some(RepositoryCredentials {
                    credentials_parameter: arn.to_string(),
                });
            }
        }
    }
}

/// Applies [`Knobs`] to a kiltx definition per task (the log configuration's defaults name the
/// task).
#[derive(Debug)]
pub struct KnobsTailor {
    def: Definition,
    knobs: Knobs,
}

impl KnobsTailor {
    /// A tailor for `def`, or `None` when the knobs do not depend on the task.
    pub fn new(def: &Definition, knobs: &Knobs) -> Option<KnobsTailor> {
        knobs.per_task().then(|| KnobsTailor {
            def: def.clone(),
            knobs: knobs.clone(),
        })
    }
}

impl Tailor for KnobsTailor {
    fn tailor(&self, task: &TaskView<'_>) -> Result<Tailored, Error> {
        let mut def = self.def.clone();
        self.knobs.apply(&mut def, task)?;
        Ok(Tailored {
            definition: def,
            containers: Vec::new(),
        })
    }
}

/// A parsed Kilt recipe with its configuration (`config.*`).
#[derive(Debug, Clone)]
pub struct KiltRecipe {
    recipe: Recipe,
    text: String,
    origin: String,
    config: V,
}

/// What one evaluation of a recipe gives.
#[derive(Debug, Clone, PartialEq)]
struct Evaluated {
    entry_point: Vec<Arg>,
    command: Vec<Arg>,
    image: Option<V>,
    environment: Vec<(String, Json)>,
    capabilities: Vec<String>,
    mounts: Vec<Mount>,
    pid_mode: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Mount {
    name: String,
    image: String,
    has_volumes: bool,
    entry_point: Option<Vec<String>>,
    environment: Vec<(String, Json)>,
}

/// The variables of one evaluation.
struct Vars {
    original: Vec<(String, V)>,
    /// Unset `original.*` variables stand for themselves (before any container is seen).
    stand_ins: bool,
}

impl KiltRecipe {
    /// Parse a recipe. `config` is the recipe configuration (`config.*`), a JSON object.
    pub fn parse(text: &str, origin: &str, config: Option<&Json>) -> Result<KiltRecipe, Error> {
        let parsed = Recipe::parse(text).map_err(|mut e| {
            e.message = format!("HOCON syntax error: {}", e.message);
            hocon_error(text, origin, &[], e)
        })?;
        let defaults = Recipe::parse(DEFAULTS)
            .map_err(|e| hocon_error(DEFAULTS, "(Kilt defaults)", &[], e))?;
        let config = match config {
            None => V::Obj(Vec::new()),
            Some(j @ Json::Object(_)) => V::from_json(j),
            Some(other) => {
                return Err(Error::Definition {
                    origin: "--recipe-config".into(),
                    path: vec![],
                    message: format!(
                        "expected a JSON object, found {}",
                        crate::intrinsic::describe(other)
                    ),
                })
            }
        };
        let r = KiltRecipe {
            recipe: parsed.over(&defaults),
            text: text.to_string(),
            origin: origin.to_string(),
            config,
        };
        r.check_keys()?;
        Ok(r)
    }

    fn err(&self, path: &[&str], message: impl Into<String>) -> Error {
        let at = self
            .recipe
            .position(path)
            .map(|o| {
                let (l, c) = line_col(&self.text, o);
                format!(":{l}:{c}")
            })
            .unwrap_or_default();
        Error::Definition {
            origin: format!("{}{at}", self.origin),
            path: path.iter().map(|k| step(k)).collect(),
            message: message.into(),
        }
    }

    fn check_keys(&self) -> Result<(), Error> {
        for k in self.recipe.keys(&["build"]) {
            if !BUILD_KEYS.contains(&k.as_str()) {
                return Err(self.err(
                    &["build", &k],
                    format!(
                        "unknown key build.{k}; a Kilt recipe's build has {}",
                        BUILD_KEYS.join(", ")
                    ),
                ));
            }
        }
        for k in self.recipe.keys(&["task"]) {
            if !TASK_KEYS.contains(&k.as_str()) {
                return Err(self.err(
                    &["task", &k],
                    format!("unknown key task.{k}; a Kilt recipe's task has pid_mode"),
                ));
            }
        }
        Ok(())
    }

    fn with_vars(&self, vars: &Vars) -> Recipe {
        let r = self
            .recipe
            .clone()
            .with_given(&["original"], V::Obj(vars.original.clone()))
            .with_given(&["config"], self.config.clone());
        if vars.stand_ins {
            r.with_stand_ins("original")
        } else {
            r
        }
    }

    fn get(&self, r: &Recipe, path: &[&str]) -> Result<Option<V>, Error> {
        r.resolve(path)
            .map_err(|e| hocon_error(&self.text, &self.origin, path, e))
    }

    fn evaluate(&self, vars: &Vars) -> Result<Evaluated, Error> {
        let r = self.with_vars(vars);
        let entry_point = self.args(&r, "entry_point")?;
        let command = self.args(&r, "command")?;
        let image = self.get(&r, &["build", "image"])?;
        let environment = self.env(&r, &["build", "environment_variables"])?;
        let capabilities = match self.get(&r, &["build", "capabilities"])? {
            None | Some(V::Null) => Vec::new(),
            Some(V::Arr(items)) => {
                let mut out = Vec::new();
                for (i, c) in items.iter().enumerate() {
                    match c {
                        V::Str(s) => out.push(s.clone()),
                        other => {
                            let idx = i.to_string();
                            return Err(self.err(
                                &["build", "capabilities", &idx],
                                format!(
                                    "expected a capability name (a string), found {}",
                                    other.kind()
                                ),
                            ));
                        }
                    }
                }
                out
            }
            Some(other) => {
                return Err(self.err(
                    &["build", "capabilities"],
                    format!("expected a list, found {}", other.kind()),
                ))
            }
        };
        let mut mounts = Vec::new();
        match self.get(&r, &["build", "mount"])? {
            None | Some(V::Null) => {}
            Some(V::Arr(items)) => {
                for (i, m) in items.iter().enumerate() {
                    mounts.push(self.mount(i, m)?);
                }
            }
            Some(other) => {
                return Err(self.err(
                    &["build", "mount"],
                    format!("expected a list of sidecars, found {}", other.kind()),
                ))
            }
        }
        let pid_mode = match self.get(&r, &["task", "pid_mode"])? {
            None | Some(V::Null) => None,
            Some(V::Str(s)) => Some(s),
            Some(other) => {
                return Err(self.err(
                    &["task", "pid_mode"],
                    format!("expected a string, found {}", other.kind()),
                ))
            }
        };
        Ok(Evaluated {
            entry_point,
            command,
            image,
            environment,
            capabilities,
            mounts,
            pid_mode,
        })
    }

    /// `build.entry_point` / `build.command` as a kiltx template.
    fn args(&self, r: &Recipe, key: &str) -> Result<Vec<Arg>, Error> {
        let path = ["build", key];
        let items = match self.get(r, &path)? {
            None | Some(V::Null) => return Ok(Vec::new()),
            Some(V::Arr(items)) => items,
            Some(other) => {
                return Err(self.err(
                    &path,
                    format!(
                        "expected a list (e.g. [\"/bin/launcher\", \"--\"]), found {}",
                        other.kind()
                    ),
                ))
            }
        };
        let mut out = Vec::new();
        for (i, v) in items.iter().enumerate() {
            match v {
                V::Str(s) | V::Num(s) => out.push(Arg::Literal(s.clone())),
                V::Bool(b) => out.push(Arg::Literal(b.to_string())),
                V::Splice(s) => out.push(Arg::Splice(SpliceArg { splice: *s })),
                other => {
                    let idx = i.to_string();
                    return Err(self.err(
                        &["build", key, &idx],
                        format!("expected a string argument, found {}", other.kind()),
                    ));
                }
            }
        }
        Ok(out)
    }

    /// An environment map: names to JSON values (strings; intrinsics carried verbatim).
    fn env(&self, r: &Recipe, path: &[&str]) -> Result<Vec<(String, Json)>, Error> {
        match self.get(r, path)? {
            None | Some(V::Null) => Ok(Vec::new()),
            Some(V::Obj(fields)) => env_fields(&fields).map_err(|(k, kind)| {
                let mut p = path.to_vec();
                p.push(&k);
                self.err(&p, format!("expected a string value, found {kind}"))
            }),
            Some(other) => Err(self.err(
                path,
                format!("expected an object of NAME: value, found {}", other.kind()),
            )),
        }
    }

    fn mount(&self, i: usize, m: &V) -> Result<Mount, Error> {
        let idx = i.to_string();
        let at = |k: &str| -> Vec<String> {
            ["build", "mount", idx.as_str(), k]
                .iter()
                .map(|s| s.to_string())
                .collect()
        };
        let err = |k: &str, msg: String| {
            let p = at(k);
            let p: Vec<&str> = p
                .iter()
                .map(String::as_str)
                .filter(|s| !s.is_empty())
                .collect();
            self.err(&p, msg)
        };
        let V::Obj(fields) = m else {
            return Err(err(
                "",
                format!("expected a sidecar (an object), found {}", m.kind()),
            ));
        };
        for (k, _) in fields {
            if !MOUNT_KEYS.contains(&k.as_str()) {
                return Err(err(
                    k,
                    format!(
                        "unknown key {k} in build.mount[{i}]; a mount has {}",
                        MOUNT_KEYS.join(", ")
                    ),
                ));
            }
        }
        let string = |k: &str| -> Result<String, Error> {
            match m.get(k) {
                Some(V::Str(s)) if !s.is_empty() => Ok(s.clone()),
                Some(V::Str(_)) | None | Some(V::Null) => {
                    Err(err(k, format!("build.mount[{i}] needs a {k}")))
                }
                Some(other) => Err(err(k, format!("expected a string, found {}", other.kind()))),
            }
        };
        let strings = |k: &str| -> Result<Option<Vec<String>>, Error> {
            match m.get(k) {
                None | Some(V::Null) => Ok(None),
                Some(V::Arr(items)) => items
                    .iter()
                    .map(|v| match v {
                        V::Str(s) | V::Num(s) => Ok(s.clone()),
                        other => Err(err(k, format!("expected strings, found {}", other.kind()))),
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some),
                Some(other) => Err(err(k, format!("expected a list, found {}", other.kind()))),
            }
        };
        let environment = match m.get("environment_variables") {
            None | Some(V::Null) => Vec::new(),
            Some(V::Obj(f)) => env_fields(f).map_err(|(k, kind)| {
                err(
                    "environment_variables",
                    format!("{k}: expected a string value, found {kind}"),
                )
            })?,
            Some(other) => {
                return Err(err(
                    "environment_variables",
                    format!("expected an object of NAME: value, found {}", other.kind()),
                ))
            }
        };
        Ok(Mount {
            name: string("name")?,
            image: string("image")?,
            has_volumes: strings("volumes")?.is_some_and(|v| !v.is_empty()),
            entry_point: strings("entry_point")?.filter(|v| !v.is_empty()),
            environment,
        })
    }

    /// Variables for an evaluation without a container: `original.entry_point`/`command` are
    /// the splices; with `placeholders`, the other per-container variables are stand-ins (for the
    /// sidecar names and checks done before any container is seen), otherwise unset.
    fn static_vars(placeholders: bool) -> Vars {
        let mut original = vec![
            (
                "entry_point".to_string(),
                V::Arr(vec![V::Splice(Splice::EntryPoint)]),
            ),
            (
                "command".to_string(),
                V::Arr(vec![V::Splice(Splice::Command)]),
            ),
        ];
        if placeholders {
            for k in ["image", "container_name", "container_group_name"] {
                original.push((k.to_string(), V::Str(format!("${{original.{k}}}"))));
            }
            original.push(("environment_variables".into(), V::Obj(Vec::new())));
            original.push(("metadata".into(), V::Obj(Vec::new())));
        }
        Vars {
            original,
            stand_ins: placeholders,
        }
    }

    /// The recipe as a kiltx definition, for the engine's checks before any container is seen
    /// (per-container variables are stand-ins).
    pub fn definition(&self, knobs: &Knobs) -> Result<Definition, Error> {
        let vars = Self::static_vars(true);
        let e = self.evaluate(&vars)?;
        let spec = self.spec(&e, &Map::new(), knobs)?;
        let mut def = self.assemble(&e, spec, &[], knobs)?;
        knobs.apply_static(&mut def);
        Ok(def)
    }

    /// The equivalent kiltx definition (`kiltx definition convert`): only recipes that use no
    /// per-container variable other than `original.entry_point`/`original.command` have one.
    pub fn convert(&self) -> Result<Definition, Error> {
        let vars = Self::static_vars(false);
        let e = self.evaluate(&vars).map_err(|e| match e {
            Error::Definition {
                origin,
                path,
                message,
            } if message.contains("${original.") => Error::Definition {
                origin,
                path,
                message: format!(
                    "{message}; this variable differs per container, so the recipe has no static kiltx equivalent (use it directly: kiltx patch --definition FILE.kilt.cfg)"
                ),
            },
            other => other,
        })?;
        let knobs = Knobs::default();
        let spec = self.spec(&e, &Map::new(), &knobs)?;
        self.assemble(&e, spec, &[], &knobs)
    }

    /// The template Parameters `--parameterize-env` adds: name → (Type String, Default value).
    pub fn parameters(&self) -> Result<Vec<(String, Json)>, Error> {
        let r = self.with_vars(&Self::static_vars(true));
        Ok(self
            .env(&r, &["build", "environment_variables"])?
            .into_iter()
            .map(|(k, v)| (parameter_name(&k), v))
            .collect())
    }

    /// `--parameterize-env` for a CloudFormation template: add the recipe's variables to its
    /// `Parameters` (`Type: String`, `Default`: the recipe's value); parameters of the same name
    /// that the template already has are kept.
    pub fn add_template_parameters(&self, template: &mut Json) -> Result<(), Error> {
        let params = self.parameters()?;
        if params.is_empty() {
            return Ok(());
        }
        let Json::Object(root) = template else {
            return Err(Error::invalid(
                vec![],
                "expected a CloudFormation template (an object)",
            ));
        };
        let section = root
            .entry("Parameters")
            .or_insert_with(|| Json::Object(Map::new()));
        let Json::Object(section) = section else {
            return Err(Error::invalid(
                vec![PathStep::Key("Parameters".into())],
                "expected an object; the recipe's variables cannot be added as parameters",
            ));
        };
        for (name, default) in params {
            section
                .entry(name)
                .or_insert_with(|| serde_json::json!({"Default": default, "Type": "String"}));
        }
        Ok(())
    }

    /// The container spec of one evaluation. `own_env` is the container's own environment
    /// variable names (their recipe values are written literally, never as parameters).
    fn spec(
        &self,
        e: &Evaluated,
        own_env: &Map<String, Json>,
        knobs: &Knobs,
    ) -> Result<ContainerSpec, Error> {
        let mut environment = Map::new();
        for (k, v) in &e.environment {
            let param = serde_json::json!({"Ref": parameter_name(k)});
            // A variable the container has of its own gets the recipe's value literally (as
            // Kilt does), unless it is the parameter already (an earlier patch).
            let v = if knobs.parameterize_env
                && v.is_string()
                && own_env.get(k).is_none_or(|own| *own == param)
            {
                param
            } else {
                v.clone()
            };
            environment.insert(k.clone(), v);
        }
        Ok(ContainerSpec {
            entry_point: e.entry_point.clone(),
            command: e.command.clone(),
            environment,
            override_environment: true,
            container_name_variable: None,
            secrets: Map::new(),
            capabilities: e.capabilities.clone(),
            volumes_from: Some(
                e.mounts
                    .iter()
                    .filter(|m| m.has_volumes)
                    .map(|m| VolumeFrom {
                        source_container: m.name.clone(),
                        read_only: true,
                    })
                    .collect(),
            ),
            depends_on: Vec::new(),
        })
    }

    /// A whole definition from an evaluation; `served` are the environments of the containers
    /// the sidecars serve (they inherit them).
    fn assemble(
        &self,
        e: &Evaluated,
        spec: ContainerSpec,
        served: &[&Map<String, Json>],
        knobs: &Knobs,
    ) -> Result<Definition, Error> {
        let mut sidecars = Vec::new();
        for m in &e.mounts {
            let mut env = Map::new();
            for (k, v) in &m.environment {
                env.insert(k.clone(), v.clone());
            }
            for (k, v) in &e.environment {
                if env.contains_key(k) {
                    continue;
                }
                let param = serde_json::json!({"Ref": parameter_name(k)});
                let own = served
                    .iter()
                    .any(|s| s.get(k).is_some_and(|own| *own != param));
                let v = if knobs.parameterize_env && v.is_string() && !own {
                    param
                } else {
                    v.clone()
                };
                env.insert(k.clone(), v);
            }
            for s in served {
                for (k, v) in s.iter() {
                    if !env.contains_key(k) {
                        env.insert(k.clone(), v.clone());
                    }
                }
            }
            sidecars.push(Sidecar {
                name: m.name.clone(),
                image: m.image.clone(),
                essential: None,
                entry_point: m.entry_point.clone(),
                command: None,
                cpu: None,
                memory: None,
                memory_reservation: None,
                environment: env,
                secrets: Map::new(),
                log_configuration: None,
                repository_credentials: None,
                architectures: Vec::new(),
                // Kilt's sidecar carries the agent's files; its output is not the events.
                derive_log_configuration: false,
            });
        }
        let def = Definition {
            version: 1,
            sidecars,
            containers: spec,
            task: TaskSpec {
                pid_mode: e.pid_mode.clone(),
            },
        };
        checkable(&def).check().map_err(|(path, message)| {
            let (rpath, message) = recipe_terms(&path, &message);
            let rp: Vec<&str> = rpath.iter().map(String::as_str).collect();
            self.err(&rp, message)
        })?;
        Ok(def)
    }

    /// A [`Tailor`] that evaluates the recipe for each task definition's containers.
    pub fn tailor(self, knobs: Knobs) -> Result<(Definition, Arc<dyn Tailor>), Error> {
        let def = self.definition(&knobs)?;
        let t = RecipeTailor {
            recipe: self,
            knobs,
        };
        Ok((def, Arc::new(t)))
    }
}

/// Applies a recipe per task definition.
#[derive(Debug)]
struct RecipeTailor {
    recipe: KiltRecipe,
    knobs: Knobs,
}

impl Tailor for RecipeTailor {
    fn tailor(&self, task: &TaskView<'_>) -> Result<Tailored, Error> {
        let metadata = tags_object(task.tags);
        let mut specs = Vec::new();
        let mut served: Vec<Map<String, Json>> = Vec::new();
        let mut first: Option<(Evaluated, String)> = None;
        for (_, c) in &task.containers {
            let env = container_env(c);
            let name = field(c, "name")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_string();
            let mut original = vec![
                ("container_name".to_string(), V::Str(name.clone())),
                (
                    "container_group_name".to_string(),
                    V::Str(task.site.label.clone()),
                ),
                (
                    "entry_point".to_string(),
                    V::Arr(vec![V::Splice(Splice::EntryPoint)]),
                ),
                (
                    "command".to_string(),
                    V::Arr(vec![V::Splice(Splice::Command)]),
                ),
                (
                    "environment_variables".to_string(),
                    V::Obj(
                        env.iter()
                            .map(|(k, v)| (k.clone(), V::from_json(v)))
                            .collect(),
                    ),
                ),
                ("metadata".to_string(), metadata.clone()),
            ];
            if let Some(image) = field(c, "image") {
                original.push(("image".to_string(), V::from_json(image)));
            }
            let e = self.recipe.evaluate(&Vars {
                original,
                stand_ins: false,
            })?;
            if let Some(img) = &e.image {
                let own = field(c, "image").map(V::from_json);
                if Some(img) != own.as_ref() {
                    return Err(self.recipe.err(
                        &["build", "image"],
                        format!("for container {name:?} the recipe sets build.image to something other than ${{original.image}}; kiltx never replaces an application's image"),
                    ));
                }
            }
            specs.push(self.recipe.spec(&e, &env, &self.knobs)?);
            match &first {
                None => first = Some((e, name)),
                Some((f, fname)) => {
                    if f.mounts
                        .iter()
                        .map(|m| (&m.name, &m.image, &m.entry_point, &m.environment))
                        .ne(e
                            .mounts
                            .iter()
                            .map(|m| (&m.name, &m.image, &m.entry_point, &m.environment)))
                        || f.pid_mode != e.pid_mode
                    {
                        return Err(self.recipe.err(
                            &["build", "mount"],
                            format!("the recipe gives containers {fname:?} and {name:?} different sidecars (or pid_mode); a task definition has one sidecar of each name, so build.mount must not depend on per-container variables"),
                        ));
                    }
                }
            }
            served.push(env);
        }
        let Some((e, _)) = first else {
            return Err(Error::invalid(
                task.site.path.clone(),
                "internal error: no container to tailor for",
            ));
        };
        let served_refs: Vec<&Map<String, Json>> = served.iter().collect();
        let spec = specs.first().cloned().unwrap_or_else(|| ContainerSpec {
            entry_point: Vec::new(),
            command: Vec::new(),
            environment: Map::new(),
            override_environment: true,
            container_name_variable: None,
            secrets: Map::new(),
            capabilities: Vec::new(),
            volumes_from: None,
            depends_on: Vec::new(),
        });
        let mut def = self.recipe.assemble(&e, spec, &served_refs, &self.knobs)?;
        for s in &specs {
            // Each container's own spec must make a valid definition too.
            let d = Definition {
                containers: s.clone(),
                ..def.clone()
            };
            checkable(&d).check().map_err(|(path, message)| {
                let (rpath, message) = recipe_terms(&path, &message);
                let rp: Vec<&str> = rpath.iter().map(String::as_str).collect();
                self.recipe.err(&rp, message)
            })?;
        }
        self.knobs.apply_static(&mut def);
        self.knobs.apply(&mut def, task)?;
        Ok(Tailored {
            definition: def,
            containers: specs,
        })
    }
}

/// Explain a definition check failure in the recipe's terms.
fn recipe_terms(path: &[PathStep], message: &str) -> (Vec<String>, String) {
    let keys: Vec<String> = path
        .iter()
        .map(|s| match s {
            PathStep::Key(k) => k.clone(),
            PathStep::Index(i) => i.to_string(),
        })
        .collect();
    let first_two: Vec<&str> = keys.iter().take(2).map(String::as_str).collect();
    match first_two.as_slice() {
        ["containers", "entryPoint"] | ["containers", "command"] if message.contains("original argv") => (
            vec!["build".into(), "entry_point".into()],
            "build.entry_point and build.command together must contain ${?original.entry_point} directly followed by ${?original.command}, exactly once (the container's original command line must survive exactly once)".into(),
        ),
        ["containers", "entryPoint"] => (
            vec!["build".into(), "entry_point".into()],
            format!("build.entry_point: {message}"),
        ),
        ["containers", "capabilities"] => (vec!["build".into(), "capabilities".into()], message.to_string()),
        ["task", _] => (vec!["task".into(), "pid_mode".into()], message.to_string()),
        ["sidecars", _] => (vec!["build".into(), "mount".into()], message.to_string()),
        _ => (vec!["build".into()], format!("{}: {message}", crate::source::render_path(path))),
    }
}

/// `def` with intrinsic environment values (parameterized variables, values taken from the
/// containers) replaced by strings, for [`Definition::check`], which expects strings there.
fn checkable(def: &Definition) -> Definition {
    let strings = |m: &Map<String, Json>| -> Map<String, Json> {
        m.iter()
            .map(|(k, v)| {
                let v = if v.is_string() {
                    v.clone()
                } else {
                    Json::String(String::new())
                };
                (k.clone(), v)
            })
            .collect()
    };
    let mut d = def.clone();
    d.containers.environment = strings(&d.containers.environment);
    for s in &mut d.sidecars {
        s.environment = strings(&s.environment);
        if let Some(l) = &mut s.log_configuration {
            l.options = strings(&l.options);
        }
    }
    d
}

fn env_fields(fields: &[(String, V)]) -> Result<Vec<(String, Json)>, (String, &'static str)> {
    let mut out: Vec<(String, Json)> = Vec::new();
    for (k, v) in fields {
        let j = match v {
            V::Str(s) | V::Num(s) => Json::String(s.clone()),
            V::Bool(b) => Json::String(b.to_string()),
            V::Obj(_) => v.to_json(),
            other => return Err((k.clone(), other.kind())),
        };
        out.retain(|(n, _)| n != k);
        out.push((k.clone(), j));
    }
    Ok(out)
}

fn step(k: &str) -> PathStep {
    match k.parse::<usize>() {
        Ok(i) => PathStep::Index(i),
        Err(_) => PathStep::Key(k.to_string()),
    }
}

fn field<'a>(m: &'a Map<String, Json>, camel: &str) -> Option<&'a Json> {
    m.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(camel))
        .map(|(_, v)| v)
}

/// A container's environment as name → value (names that are not strings are skipped).
fn container_env(m: &Map<String, Json>) -> Map<String, Json> {
    let mut out = Map::new();
    if let Some(Json::Array(list)) = field(m, "environment") {
        for e in list {
            if let Json::Object(e) = e {
                if let (Some(Json::String(n)), Some(v)) = (field(e, "name"), field(e, "value")) {
                    out.insert(n.clone(), v.clone());
                }
            }
        }
    }
    out
}

/// The task's tags as Key → Value (`original.metadata`).
fn tags_object(tags: Option<&Json>) -> V {
    let mut out = Vec::new();
    if let Some(Json::Array(list)) = tags {
        for t in list {
            if let Json::Object(t) = t {
                if let Some(Json::String(k)) = field(t, "key") {
                    let v = field(t, "value")
                        .map(V::from_json)
                        .unwrap_or(V::Str(String::new()));
                    out.push((k.clone(), v));
                }
            }
        }
    }
    V::Obj(out)
}

/// Kilt's template parameter name for an environment variable: the name itself when it is
/// alphanumeric, otherwise camelCase (`SO_LONG_AND_THANKS` → `soLongAndThanks`).
pub fn parameter_name(env: &str) -> String {
    if env.chars().all(|c| c.is_ascii_alphanumeric()) {
        return env.to_string();
    }
    let lower = env.to_lowercase();
    let mut out = String::new();
    let mut chars = lower.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if let Some(&n) = chars.peek() {
            if n.is_alphanumeric() {
                out.extend(n.to_uppercase());
                chars.next();
            }
        }
    }
    out
}

fn hocon_error(text: &str, origin: &str, path: &[&str], e: HoconError) -> Error {
    let (l, c) = line_col(text, e.offset);
    let mut message = e.message;
    if message.contains("${config.") {
        message
            .push_str("; recipe settings come from --recipe-config '{\"NAME\": \"VALUE\", ...}'");
    }
    Error::Definition {
        origin: format!("{origin}:{l}:{c}"),
        path: path.iter().map(|k| step(k)).collect(),
        message,
    }
}

#[cfg(test)]
mod tests;
