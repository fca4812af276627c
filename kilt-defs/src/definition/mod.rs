//! The definition format: what kiltx injects into a task definition.
//!
//! A definition is a YAML or JSON document (see docs/definitions.md for the full reference):
//!
//! ```yaml
//! version: 1
//! sidecars:            # containers added to every patched task, once
//!   - name: kiltx-tracer
//!     image: kiltx/kiltx-tracer:0.1.0
//!     essential: false
//!     entryPoint: [/kiltx/bin/kiltx-tracer, collect, --listen, "unix:/kiltx/run/events.sock", --rules, default]
//! containers:          # what changes in each selected application container
//!   entryPoint: [/kiltx/bin/kiltx-tracer, run, --output, "unix:/kiltx/run/events.sock", --]
//!   command: [{splice: argv}]
//!   capabilities: [SYS_PTRACE]
//! task:
//!   pidMode: task
//! ```

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, Path};
use crate::source::{Document, Format, PathStep};

/// The built-in definition's source text.
pub const BUILTIN: &str = include_str!("default.yaml");

/// Environment variable that overrides the image of the first sidecar (the tracer).
pub const TRACER_IMAGE_ENV: &str = "KILTX_TRACER_IMAGE";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Definition {
    /// Format version; must be 1.
    pub version: u32,
    #[serde(default)]
    pub sidecars: Vec<Sidecar>,
    pub containers: ContainerSpec,
    #[serde(default)]
    pub task: TaskSpec,
}

/// A container added to every patched task definition.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Sidecar {
    pub name: String,
    pub image: String,
    /// `essential`; `null` leaves it out (ECS then treats the sidecar as essential).
    #[serde(default = "not_essential")]
    pub essential: Option<bool>,
    pub entry_point: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    pub cpu: Option<u32>,
    pub memory: Option<u32>,
    pub memory_reservation: Option<u32>,
    #[serde(default)]
    pub environment: Map<String, Value>,
    #[serde(default)]
    pub secrets: Map<String, Value>,
    pub log_configuration: Option<LogConfiguration>,
    pub repository_credentials: Option<RepositoryCredentials>,
    /// CPU architectures the sidecar's image runs on (`X86_64`, `ARM64`); empty: not declared.
    /// Not written into task definitions; `kiltx lint` checks tasks' `runtimePlatform` against it.
    #[serde(default)]
    pub architectures: Vec<String>,
    /// Whether a sidecar without a `logConfiguration` gets one derived from the traced
    /// containers' (see patch/logging.rs): true (the default) for a sidecar whose output
    /// matters, such as kiltx's collector, which prints the events; a Kilt recipe's sidecar,
    /// which only carries files, says false.
    #[serde(default = "yes")]
    pub derive_log_configuration: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LogConfiguration {
    pub log_driver: String,
    #[serde(default)]
    pub options: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RepositoryCredentials {
    pub credentials_parameter: String,
}

/// What changes in each selected application container.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ContainerSpec {
    /// The new entryPoint: literal arguments and splices of the original argv.
    #[serde(default)]
    pub entry_point: Vec<Arg>,
    /// The new command: literal arguments and splices of the original argv.
    #[serde(default)]
    pub command: Vec<Arg>,
    /// Variables added to the container's environment.
    #[serde(default)]
    pub environment: Map<String, Value>,
    /// When true, the definition's variables replace the container's own of the same name;
    /// by default the container's own win.
    #[serde(default)]
    pub override_environment: bool,
    /// A variable set to the container's own name (for event attribution); `null` for none.
    #[serde(default = "default_name_variable")]
    pub container_name_variable: Option<String>,
    /// Secrets (name → valueFrom) added to the container.
    #[serde(default)]
    pub secrets: Map<String, Value>,
    /// Linux capabilities added (merged into `linuxParameters.capabilities.add`).
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// `volumesFrom` entries added; by default one read-only entry per sidecar.
    pub volumes_from: Option<Vec<VolumeFrom>>,
    /// `dependsOn` entries added.
    #[serde(default)]
    pub depends_on: Vec<DependsOn>,
}

fn not_essential() -> Option<bool> {
    Some(false)
}

fn default_name_variable() -> Option<String> {
    Some("KILTX_CONTAINER_NAME".to_string())
}

/// One argument of an entryPoint/command template.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Arg {
    Literal(String),
    Splice(SpliceArg),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpliceArg {
    pub splice: Splice,
}

/// What part of the container's original argv a splice stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Splice {
    /// The whole original argv: entrypoint followed by command.
    #[serde(rename = "argv")]
    Argv,
    /// The effective entrypoint (the task definition's, or the image's ENTRYPOINT).
    #[serde(rename = "entryPoint")]
    EntryPoint,
    /// The effective command (the task definition's, or the image's CMD when the entrypoint
    /// was not overridden).
    #[serde(rename = "command")]
    Command,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VolumeFrom {
    pub source_container: String,
    #[serde(default = "yes")]
    pub read_only: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DependsOn {
    pub container_name: String,
    pub condition: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TaskSpec {
    /// `pidMode` for the task (`task` lets a tracer in one container see the others).
    pub pid_mode: Option<String>,
}

impl Definition {
    /// The built-in definition.
    pub fn builtin() -> Definition {
        // The built-in text is part of the binary and covered by tests; should it ever fail to
        // load, fall back to nothing rather than panic is impossible to express, so the tests
        // guard it.
        match Definition::parse(BUILTIN, "(built-in)") {
            Ok(d) => d,
            Err(e) => unreachable_builtin(e),
        }
    }

    /// Parse and validate a definition from YAML or JSON text. `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Definition, Error> {
        let trimmed = text.trim_start();
        let doc = if trimmed.starts_with('{') {
            crate::json::parse(text)
        } else {
            crate::yaml::parse(text)
        }
        .map_err(|e| match e {
            Error::Syntax {
                format,
                line,
                column,
                message,
            } => Error::Definition {
                origin: format!("{origin}:{line}:{column}"),
                path: vec![],
                message: format!("{format} syntax error: {message}"),
            },
            other => other,
        })?;
        Definition::from_document(&doc, origin)
    }

    fn from_document(doc: &Document, origin: &str) -> Result<Definition, Error> {
        let def: Definition = serde_path_to_error::deserialize(&doc.value).map_err(|e| {
            let path = to_path(e.path());
            let at = position_suffix(doc, &path);
            Error::Definition {
                origin: format!("{origin}{at}"),
                path,
                message: e.inner().to_string(),
            }
        })?;
        def.validate().map_err(|(path, message)| {
            let at = position_suffix(doc, &path);
            Error::Definition {
                origin: format!("{origin}{at}"),
                path,
                message,
            }
        })?;
        Ok(def)
    }

    /// Replace the tracer (first sidecar) image.
    pub fn set_tracer_image(&mut self, image: &str) -> Result<(), Error> {
        match self.sidecars.first_mut() {
            Some(s) if !image.trim().is_empty() => {
                s.image = image.to_string();
                Ok(())
            }
            Some(_) => Err(Error::Definition {
                origin: "--tracer-image".into(),
                path: vec![],
                message: "the tracer image must not be empty".into(),
            }),
            None => Err(Error::Definition {
                origin: "--tracer-image".into(),
                path: vec![],
                message: "the definition has no sidecar whose image could be replaced".into(),
            }),
        }
    }

    /// The `volumesFrom` entries each target container gains.
    pub fn volumes_from(&self) -> Vec<VolumeFrom> {
        match &self.containers.volumes_from {
            Some(v) => v.clone(),
            None => self
                .sidecars
                .iter()
                .map(|s| VolumeFrom {
                    source_container: s.name.clone(),
                    read_only: true,
                })
                .collect(),
        }
    }

    /// The first literal argument of the wrapped argv (the launcher), if the templates start
    /// with one.
    pub fn launcher(&self) -> Option<&str> {
        match self
            .containers
            .entry_point
            .iter()
            .chain(self.containers.command.iter())
            .next()
        {
            Some(Arg::Literal(s)) => Some(s),
            _ => None,
        }
    }

    /// Render as YAML (for `kiltx definition show`).
    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(&self.to_value()).unwrap_or_default()
    }

    /// The definition as a value in its own format's camelCase keys.
    pub fn to_value(&self) -> Value {
        let mut root = Map::new();
        root.insert("version".into(), Value::from(self.version));
        let sidecars: Vec<Value> = self.sidecars.iter().map(sidecar_value).collect();
        root.insert("sidecars".into(), Value::Array(sidecars));
        let c = &self.containers;
        let mut cm = Map::new();
        cm.insert("entryPoint".into(), args_value(&c.entry_point));
        cm.insert("command".into(), args_value(&c.command));
        if !c.environment.is_empty() {
            cm.insert("environment".into(), Value::Object(c.environment.clone()));
        }
        if c.override_environment {
            cm.insert("overrideEnvironment".into(), Value::Bool(true));
        }
        cm.insert(
            "containerNameVariable".into(),
            c.container_name_variable
                .clone()
                .map_or(Value::Null, Value::String),
        );
        if !c.secrets.is_empty() {
            cm.insert("secrets".into(), Value::Object(c.secrets.clone()));
        }
        cm.insert(
            "capabilities".into(),
            Value::Array(c.capabilities.iter().cloned().map(Value::String).collect()),
        );
        let vf: Vec<Value> = self
            .volumes_from()
            .iter()
            .map(|v| {
                let mut m = Map::new();
                m.insert("sourceContainer".into(), v.source_container.clone().into());
                m.insert("readOnly".into(), v.read_only.into());
                Value::Object(m)
            })
            .collect();
        cm.insert("volumesFrom".into(), Value::Array(vf));
        if !c.depends_on.is_empty() {
            let d: Vec<Value> = c
                .depends_on
                .iter()
                .map(|d| {
                    let mut m = Map::new();
                    m.insert("containerName".into(), d.container_name.clone().into());
                    m.insert("condition".into(), d.condition.clone().into());
                    Value::Object(m)
                })
                .collect();
            cm.insert("dependsOn".into(), Value::Array(d));
        }
        root.insert("containers".into(), Value::Object(cm));
        if let Some(p) = &self.task.pid_mode {
            let mut t = Map::new();
            t.insert("pidMode".into(), p.clone().into());
            root.insert("task".into(), Value::Object(t));
        }
        Value::Object(root)
    }

    /// Validate a definition made in code (e.g. from a Kilt recipe): the path and the problem.
    pub fn check(&self) -> Result<(), (Path, String)> {
        self.validate()
    }

    fn validate(&self) -> Result<(), (Path, String)> {
        let key = |k: &str| PathStep::Key(k.to_string());
        if self.version != 1 {
            return Err((
                vec![key("version")],
                format!(
                    "unsupported version {}; this kiltx reads version 1",
                    self.version
                ),
            ));
        }
        let mut names = BTreeSet::new();
        for (i, s) in self.sidecars.iter().enumerate() {
            let at = |k: &str| vec![key("sidecars"), PathStep::Index(i), key(k)];
            if !valid_container_name(&s.name) {
                return Err((
                    at("name"),
                    format!(
                        "{:?} is not a valid container name (1-255 letters, digits, '-' or '_')",
                        s.name
                    ),
                ));
            }
            if !names.insert(s.name.as_str()) {
                return Err((at("name"), format!("two sidecars are named {:?}", s.name)));
            }
            if s.image.trim().is_empty() {
                return Err((at("image"), "the image must not be empty".into()));
            }
            for (j, a) in s.architectures.iter().enumerate() {
                if a != "X86_64" && a != "ARM64" {
                    let mut p = at("architectures");
                    p.push(PathStep::Index(j));
                    return Err((
                        p,
                        format!("{a:?} is not a CPU architecture (X86_64 or ARM64)"),
                    ));
                }
            }
            check_string_map(&s.environment, &at("environment"))?;
            check_string_map(&s.secrets, &at("secrets"))?;
            if let Some(l) = &s.log_configuration {
                let mut p = at("logConfiguration");
                p.push(key("options"));
                check_string_map(&l.options, &p)?;
            }
        }
        let c = &self.containers;
        let cpath = |k: &str| vec![key("containers"), key(k)];
        // The original argv must survive exactly once, in order.
        let splices: Vec<Splice> = c
            .entry_point
            .iter()
            .chain(c.command.iter())
            .filter_map(|a| match a {
                Arg::Splice(s) => Some(s.splice),
                Arg::Literal(_) => None,
            })
            .collect();
        let all: Vec<&Arg> = c.entry_point.iter().chain(c.command.iter()).collect();
        let adjacent = all.windows(2).any(|w| {
            matches!(
                (w[0], w[1]),
                (
                    Arg::Splice(SpliceArg {
                        splice: Splice::EntryPoint
                    }),
                    Arg::Splice(SpliceArg {
                        splice: Splice::Command
                    })
                )
            )
        });
        let ok = splices == [Splice::Argv]
            || (splices == [Splice::EntryPoint, Splice::Command] && adjacent);
        if !ok {
            return Err((
                cpath("entryPoint"),
                "the entryPoint and command templates together must contain the original argv exactly once: either one `{splice: argv}`, or `{splice: entryPoint}` directly followed by `{splice: command}`".into(),
            ));
        }
        if c.entry_point.is_empty() {
            return Err((
                cpath("entryPoint"),
                "the entryPoint template is empty; the wrapped container would fall back to its image's ENTRYPOINT".into(),
            ));
        }
        check_string_map(&c.environment, &cpath("environment"))?;
        check_string_map(&c.secrets, &cpath("secrets"))?;
        if let Some(v) = &c.container_name_variable {
            if !valid_env_name(v) {
                return Err((
                    cpath("containerNameVariable"),
                    format!("{v:?} is not a valid environment variable name"),
                ));
            }
        }
        for (i, cap) in c.capabilities.iter().enumerate() {
            if !LINUX_CAPABILITIES.contains(&cap.as_str()) {
                return Err((
                    vec![key("containers"), key("capabilities"), PathStep::Index(i)],
                    format!("{cap:?} is not a Linux capability name (e.g. SYS_PTRACE)"),
                ));
            }
        }
        for (i, v) in self.volumes_from().iter().enumerate() {
            if !names.contains(v.source_container.as_str()) {
                return Err((
                    vec![
                        key("containers"),
                        key("volumesFrom"),
                        PathStep::Index(i),
                        key("sourceContainer"),
                    ],
                    format!(
                        "{:?} is not one of the definition's sidecars",
                        v.source_container
                    ),
                ));
            }
        }
        for (i, d) in c.depends_on.iter().enumerate() {
            let p = |k: &str| {
                vec![
                    key("containers"),
                    key("dependsOn"),
                    PathStep::Index(i),
                    key(k),
                ]
            };
            if !names.contains(d.container_name.as_str()) {
                return Err((
                    p("containerName"),
                    format!(
                        "{:?} is not one of the definition's sidecars",
                        d.container_name
                    ),
                ));
            }
            if !["START", "COMPLETE", "SUCCESS", "HEALTHY"].contains(&d.condition.as_str()) {
                return Err((
                    p("condition"),
                    format!(
                        "{:?} is not a dependsOn condition (START, COMPLETE, SUCCESS, HEALTHY)",
                        d.condition
                    ),
                ));
            }
        }
        if let Some(p) = &self.task.pid_mode {
            if p != "task" && p != "host" {
                return Err((
                    vec![key("task"), key("pidMode")],
                    format!("{p:?} is not a pidMode (task or host)"),
                ));
            }
        }
        Ok(())
    }
}

#[cold]
fn unreachable_builtin(e: Error) -> Definition {
    // Covered by `builtin_definition_loads`; keep the message useful if it ever happens.
    eprintln!("kiltx: internal error: the built-in definition does not load: {e}");
    std::process::exit(70)
}

fn position_suffix(doc: &Document, path: &Path) -> String {
    if doc.format == Format::Json || !path.is_empty() {
        let (l, c) = doc.position(path);
        format!(":{l}:{c}")
    } else {
        String::new()
    }
}

pub(crate) fn to_path(p: &serde_path_to_error::Path) -> Path {
    use serde_path_to_error::Segment;
    p.iter()
        .filter_map(|s| match s {
            Segment::Seq { index } => Some(PathStep::Index(*index)),
            Segment::Map { key } => Some(PathStep::Key(key.clone())),
            Segment::Enum { variant } => Some(PathStep::Key(variant.clone())),
            Segment::Unknown => None,
        })
        .collect()
}

fn check_string_map(m: &Map<String, Value>, path: &Path) -> Result<(), (Path, String)> {
    for (k, v) in m {
        if k.is_empty() {
            return Err((path.clone(), "names must not be empty".into()));
        }
        if !v.is_string() {
            let mut p = path.clone();
            p.push(PathStep::Key(k.clone()));
            return Err((
                p,
                format!("expected a string, found {}", crate::intrinsic::describe(v)),
            ));
        }
    }
    Ok(())
}

pub(crate) fn valid_container_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 255
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn valid_env_name(n: &str) -> bool {
    let mut chars = n.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn args_value(args: &[Arg]) -> Value {
    Value::Array(
        args.iter()
            .map(|a| match a {
                Arg::Literal(s) => Value::String(s.clone()),
                Arg::Splice(s) => {
                    let mut m = Map::new();
                    let name = match s.splice {
                        Splice::Argv => "argv",
                        Splice::EntryPoint => "entryPoint",
                        Splice::Command => "command",
                    };
                    m.insert("splice".into(), name.into());
                    Value::Object(m)
                }
            })
            .collect(),
    )
}

fn sidecar_value(s: &Sidecar) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), s.name.clone().into());
    m.insert("image".into(), s.image.clone().into());
    m.insert(
        "essential".into(),
        s.essential.map_or(Value::Null, Value::Bool),
    );
    let list = |v: &Vec<String>| Value::Array(v.iter().cloned().map(Value::String).collect());
    if let Some(e) = &s.entry_point {
        m.insert("entryPoint".into(), list(e));
    }
    if let Some(c) = &s.command {
        m.insert("command".into(), list(c));
    }
    for (k, v) in [
        ("cpu", s.cpu),
        ("memory", s.memory),
        ("memoryReservation", s.memory_reservation),
    ] {
        if let Some(v) = v {
            m.insert(k.into(), v.into());
        }
    }
    if !s.environment.is_empty() {
        m.insert("environment".into(), Value::Object(s.environment.clone()));
    }
    if !s.secrets.is_empty() {
        m.insert("secrets".into(), Value::Object(s.secrets.clone()));
    }
    if let Some(l) = &s.log_configuration {
        let mut lm = Map::new();
        lm.insert("logDriver".into(), l.log_driver.clone().into());
        lm.insert("options".into(), Value::Object(l.options.clone()));
        m.insert("logConfiguration".into(), Value::Object(lm));
    }
    if let Some(r) = &s.repository_credentials {
        let mut rm = Map::new();
        rm.insert(
            "credentialsParameter".into(),
            r.credentials_parameter.clone().into(),
        );
        m.insert("repositoryCredentials".into(), Value::Object(rm));
    }
    if !s.architectures.is_empty() {
        let a = s.architectures.iter().cloned().map(Value::String).collect();
        m.insert("architectures".into(), Value::Array(a));
    }
    if !s.derive_log_configuration {
        m.insert("deriveLogConfiguration".into(), false.into());
    }
    Value::Object(m)
}

/// Linux capability names as ECS spells them.
pub const LINUX_CAPABILITIES: &[&str] = &[
    "ALL",
    "AUDIT_CONTROL",
    "AUDIT_READ",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "BPF",
    "CHECKPOINT_RESTORE",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "PERFMON",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "SYSLOG",
    "WAKE_ALARM",
];

#[cfg(test)]
mod tests;
