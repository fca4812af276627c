//! The part of an ECS task definition that decides how its containers run on Fargate, read from
//! register-task-definition JSON, describe-task-definition output, or a CloudFormation
//! `AWS::ECS::TaskDefinition` resource's Properties (keys are matched case-insensitively, as
//! ECS does). Everything the harness cannot reproduce faithfully is an error, never ignored:
//! a run that silently differs from Fargate would prove nothing.

use serde_json::{Map, Value};

/// When a container may start, relative to another (`dependsOn[].condition`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// The dependency has been started.
    Start,
    /// The dependency has run to completion (any exit status).
    Complete,
    /// The dependency exited with status 0.
    Success,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Container {
    pub name: String,
    pub image: String,
    /// `None` when absent or empty (ECS and Docker treat `[]` as absent).
    pub entry_point: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    pub environment: Vec<(String, String)>,
    pub essential: bool,
    pub depends_on: Vec<(String, Condition)>,
    /// `(sourceContainer, readOnly)`.
    pub volumes_from: Vec<(String, bool)>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub init_process: bool,
    pub working_directory: Option<String>,
    pub user: Option<String>,
    pub readonly_root: bool,
    /// Seconds between SIGTERM and SIGKILL when the task stops (ECS default 30).
    pub stop_timeout: u64,
    /// The hard memory limit in MiB (`memory`), which ECS sets as the container's cgroup limit.
    pub memory: Option<u64>,
    /// The soft limit in MiB (`memoryReservation`).
    pub memory_reservation: Option<u64>,
}

/// How the task's containers are networked (`networkMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    /// `awsvpc` (Fargate): one network namespace for the whole task.
    Awsvpc,
    /// `bridge` (EC2's default, and the mode of a task definition without `networkMode` that is
    /// not for Fargate): every container in a network namespace of its own, with its own
    /// loopback. The harness gives each only its loopback; what lies beyond is not modelled.
    Bridge,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    pub family: Option<String>,
    /// `pidMode: task`: one PID namespace for the whole task.
    pub pid_task: bool,
    pub network: Network,
    pub containers: Vec<Container>,
}

/// Container fields that change nothing the harness checks (resources, ports in the shared
/// network namespace, where ECS ships logs) and are therefore accepted and not modelled.
const IGNORED: &[&str] = &[
    "cpu",
    "portmappings",
    "logconfiguration",
    "dockerlabels",
    "starttimeout",
    "ulimits",
    "versionconsistency",
];

fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn string(v: &Value, at: &str) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!(
            "{at}: expected a string, found {other} (intrinsic functions must be resolved first)"
        )),
    }
}

/// `obj[key]`, a string that must be there.
fn required_string(obj: &Map<String, Value>, key: &str, at: &str) -> Result<String, String> {
    let v = field(obj, key).ok_or_else(|| format!("{at}: no {key}"))?;
    string(v, &format!("{at}.{key}"))
}

fn strings(v: &Value, at: &str) -> Result<Vec<String>, String> {
    let items = v
        .as_array()
        .ok_or_else(|| format!("{at}: expected a list of strings, found {v}"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, s)| string(s, &format!("{at}[{i}]")))
        .collect()
}

fn objects<'a>(v: &'a Value, at: &str) -> Result<Vec<&'a Map<String, Value>>, String> {
    let items = v
        .as_array()
        .ok_or_else(|| format!("{at}: expected a list of objects, found {v}"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, o)| {
            o.as_object()
                .ok_or_else(|| format!("{at}[{i}]: expected an object, found {o}"))
        })
        .collect()
}

fn boolean(v: &Value, at: &str) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        // CloudFormation templates often carry booleans as strings
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(format!("{at}: expected true or false, found {other}")),
    }
}

impl Task {
    /// A task definition: register-task-definition input, describe-task-definition output
    /// (`{"taskDefinition": {...}}`), or a CloudFormation resource's Properties.
    pub fn from_json(v: &Value) -> Result<Task, String> {
        let obj = v
            .as_object()
            .ok_or("a task definition must be a JSON object")?;
        if let Some(inner) = field(obj, "taskDefinition").and_then(Value::as_object) {
            return Task::from_object(inner, "taskDefinition");
        }
        Task::from_object(obj, "")
    }

    /// The Properties of `logical_id` in a CloudFormation template (JSON).
    pub fn from_cloudformation(template: &Value, logical_id: &str) -> Result<Task, String> {
        let res = template
            .get("Resources")
            .and_then(|r| r.get(logical_id))
            .ok_or_else(|| format!("the template has no resource {logical_id}"))?;
        let ty = res.get("Type").and_then(Value::as_str).unwrap_or_default();
        if ty != "AWS::ECS::TaskDefinition" {
            return Err(format!(
                "Resources.{logical_id} is a {ty:?}, not an AWS::ECS::TaskDefinition"
            ));
        }
        let props = res
            .get("Properties")
            .and_then(Value::as_object)
            .ok_or_else(|| format!("Resources.{logical_id} has no Properties"))?;
        Task::from_object(props, &format!("Resources.{logical_id}.Properties"))
    }

    fn from_object(obj: &Map<String, Value>, at: &str) -> Result<Task, String> {
        let p = |k: &str| {
            if at.is_empty() {
                k.to_string()
            } else {
                format!("{at}.{k}")
            }
        };
        let family = field(obj, "family")
            .map(|v| string(v, &p("family")))
            .transpose()?;
        let pid_task = match field(obj, "pidMode") {
            None | Some(Value::Null) => false,
            Some(v) => match string(v, &p("pidMode"))?.as_str() {
                "task" => true,
                other => {
                    return Err(format!(
                        "{}: {other:?}; Fargate supports only \"task\"",
                        p("pidMode")
                    ))
                }
            },
        };
        let fargate = field(obj, "requiresCompatibilities")
            .and_then(Value::as_array)
            .is_some_and(|l| l.iter().any(|c| c == "FARGATE"));
        let network = match field(obj, "networkMode") {
            None | Some(Value::Null) if fargate => Network::Awsvpc,
            None | Some(Value::Null) => Network::Bridge,
            Some(mode) => match string(mode, &p("networkMode"))?.as_str() {
                "awsvpc" => Network::Awsvpc,
                "bridge" if !fargate => Network::Bridge,
                other => {
                    return Err(format!(
                        "{}: {other:?} is not modelled by the harness (awsvpc, and bridge for tasks not for Fargate, are)",
                        p("networkMode")
                    ))
                }
            },
        };
        if field(obj, "volumes").is_some_and(|v| v.as_array().is_some_and(|a| !a.is_empty())) {
            return Err(format!(
                "{}: task volumes are not modelled by the harness",
                p("volumes")
            ));
        }
        let defs_at = p("containerDefinitions");
        let defs =
            field(obj, "containerDefinitions").ok_or_else(|| format!("{defs_at}: missing"))?;
        let mut containers = Vec::new();
        for (i, c) in objects(defs, &defs_at)?.into_iter().enumerate() {
            containers.push(Container::from_object(c, &format!("{defs_at}[{i}]"))?);
        }
        let task = Task {
            family,
            pid_task,
            network,
            containers,
        };
        task.check_references(&defs_at)?;
        Ok(task)
    }

    pub fn container(&self, name: &str) -> Option<&Container> {
        self.containers.iter().find(|c| c.name == name)
    }

    fn check_references(&self, at: &str) -> Result<(), String> {
        if !self.containers.iter().any(|c| c.essential) {
            return Err(format!(
                "{at}: no container is essential; ECS refuses such a task"
            ));
        }
        for (i, c) in self.containers.iter().enumerate() {
            if self.containers[..i].iter().any(|d| d.name == c.name) {
                return Err(format!("{at}[{i}]: a second container named {:?}", c.name));
            }
            for (dep, _) in &c.depends_on {
                if self.container(dep).is_none() {
                    return Err(format!(
                        "{at}[{i}].dependsOn: no container named {dep:?} in the task"
                    ));
                }
            }
            for (src, _) in &c.volumes_from {
                if self.container(src).is_none() {
                    return Err(format!(
                        "{at}[{i}].volumesFrom: no container named {src:?} in the task"
                    ));
                }
            }
        }
        self.start_order().map(|_| ())
    }

    /// Container indexes in an order where each comes after everything it depends on (and,
    /// as on ECS, after the sources of its volumesFrom); otherwise the order of the task
    /// definition.
    pub fn start_order(&self) -> Result<Vec<usize>, String> {
        let mut order = Vec::new();
        let mut state = vec![0u8; self.containers.len()]; // 0 new, 1 visiting, 2 done
        fn visit(
            t: &Task,
            i: usize,
            state: &mut [u8],
            order: &mut Vec<usize>,
        ) -> Result<(), String> {
            match state[i] {
                2 => return Ok(()),
                1 => {
                    return Err(format!(
                        "container {:?}: its dependsOn/volumesFrom form a cycle",
                        t.containers[i].name
                    ))
                }
                _ => {}
            }
            state[i] = 1;
            let c = &t.containers[i];
            let before = c
                .depends_on
                .iter()
                .map(|(n, _)| n)
                .chain(c.volumes_from.iter().map(|(n, _)| n));
            for name in before {
                if let Some(j) = t.containers.iter().position(|d| &d.name == name) {
                    visit(t, j, state, order)?;
                }
            }
            state[i] = 2;
            order.push(i);
            Ok(())
        }
        for i in 0..self.containers.len() {
            visit(self, i, &mut state, &mut order)?;
        }
        Ok(order)
    }
}

impl Container {
    fn from_object(obj: &Map<String, Value>, at: &str) -> Result<Container, String> {
        let p = |k: &str| format!("{at}.{k}");
        let mut c = Container {
            name: String::new(),
            image: String::new(),
            entry_point: None,
            command: None,
            environment: Vec::new(),
            essential: true,
            depends_on: Vec::new(),
            volumes_from: Vec::new(),
            cap_add: Vec::new(),
            cap_drop: Vec::new(),
            init_process: false,
            working_directory: None,
            user: None,
            readonly_root: false,
            stop_timeout: 30,
            memory: None,
            memory_reservation: None,
        };
        for (key, v) in obj {
            let k = key.to_ascii_lowercase();
            let at = p(key);
            match k.as_str() {
                "name" => c.name = string(v, &at)?,
                "image" => c.image = string(v, &at)?,
                "entrypoint" => c.entry_point = Some(strings(v, &at)?).filter(|l| !l.is_empty()),
                "command" => c.command = Some(strings(v, &at)?).filter(|l| !l.is_empty()),
                "environment" => {
                    for (i, e) in objects(v, &at)?.into_iter().enumerate() {
                        let ea = format!("{at}[{i}]");
                        let name = required_string(e, "name", &ea)?;
                        let value = field(e, "value")
                            .map(|n| string(n, &format!("{ea}.value")))
                            .transpose()?
                            .unwrap_or_default();
                        c.environment.push((name, value));
                    }
                }
                "essential" => c.essential = boolean(v, &at)?,
                "dependson" => {
                    for (i, d) in objects(v, &at)?.into_iter().enumerate() {
                        let da = format!("{at}[{i}]");
                        let name = required_string(d, "containerName", &da)?;
                        let cond = match required_string(d, "condition", &da)?.as_str() {
                            "START" => Condition::Start,
                            "COMPLETE" => Condition::Complete,
                            "SUCCESS" => Condition::Success,
                            other => {
                                return Err(format!(
                                    "{da}.condition: {other:?} is not modelled by the harness (START, COMPLETE, SUCCESS are)"
                                ))
                            }
                        };
                        c.depends_on.push((name, cond));
                    }
                }
                "volumesfrom" => {
                    for (i, d) in objects(v, &at)?.into_iter().enumerate() {
                        let da = format!("{at}[{i}]");
                        let src = required_string(d, "sourceContainer", &da)?;
                        let ro = field(d, "readOnly")
                            .map(|b| boolean(b, &format!("{da}.readOnly")))
                            .transpose()?
                            .unwrap_or(false);
                        c.volumes_from.push((src, ro));
                    }
                }
                "linuxparameters" => {
                    let lp = v
                        .as_object()
                        .ok_or_else(|| format!("{at}: expected an object"))?;
                    for (lk, lv) in lp {
                        let la = format!("{at}.{lk}");
                        match lk.to_ascii_lowercase().as_str() {
                            "capabilities" => {
                                let caps = lv
                                    .as_object()
                                    .ok_or_else(|| format!("{la}: expected an object"))?;
                                if let Some(add) = field(caps, "add") {
                                    c.cap_add = strings(add, &format!("{la}.add"))?;
                                }
                                if let Some(drop) = field(caps, "drop") {
                                    c.cap_drop = strings(drop, &format!("{la}.drop"))?;
                                }
                                for cap in &c.cap_add {
                                    if cap != "SYS_PTRACE" {
                                        return Err(format!(
                                            "{la}.add: {cap}; Fargate lets a task add only SYS_PTRACE"
                                        ));
                                    }
                                }
                            }
                            "initprocessenabled" => c.init_process = boolean(lv, &la)?,
                            other => {
                                return Err(format!(
                                    "{la}: linuxParameters.{other} is not modelled by the harness"
                                ))
                            }
                        }
                    }
                }
                "workingdirectory" => c.working_directory = Some(string(v, &at)?),
                "user" => c.user = Some(string(v, &at)?),
                "readonlyrootfilesystem" => c.readonly_root = boolean(v, &at)?,
                "stoptimeout" => {
                    c.stop_timeout = v
                        .as_u64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                        .filter(|&s| s <= 120)
                        .ok_or_else(|| {
                            format!("{at}: expected seconds (0 to 120, Fargate's limit), found {v}")
                        })?
                }
                "memory" | "memoryreservation" => {
                    let mib = v
                        .as_u64()
                        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                        .filter(|&m| m >= 6)
                        .ok_or_else(|| format!("{at}: expected MiB (at least 6), found {v}"))?;
                    if k == "memory" {
                        c.memory = Some(mib);
                    } else {
                        c.memory_reservation = Some(mib);
                    }
                }
                k if IGNORED.contains(&k) => {}
                _ => {
                    return Err(format!(
                        "{at}: the harness does not model {key} (it would run the container differently from Fargate)"
                    ))
                }
            }
        }
        if c.name.is_empty() {
            return Err(format!("{at}: no name"));
        }
        if c.image.is_empty() {
            return Err(format!("{at}: no image"));
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn app() -> Value {
        json!({"name": "app", "image": "registry.example/app:1"})
    }

    #[test]
    fn register_json_and_cloudformation_read_alike() {
        let register = json!({
            "family": "demo",
            "networkMode": "awsvpc",
            "containerDefinitions": [
                {"name": "app", "image": "img", "entryPoint": ["/t", "run", "--"],
                 "command": ["/bin/sh"], "environment": [{"name": "A", "value": "1"}],
                 "linuxParameters": {"capabilities": {"add": ["SYS_PTRACE"]}},
                 "volumesFrom": [{"sourceContainer": "side", "readOnly": true}],
                 "dependsOn": [{"containerName": "side", "condition": "START"}]},
                {"name": "side", "image": "s", "essential": false, "cpu": 64}
            ]
        });
        let cfn = json!({"Resources": {"T": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
        "Family": "demo",
        "NetworkMode": "awsvpc",
        "ContainerDefinitions": [
            {"Name": "app", "Image": "img", "EntryPoint": ["/t", "run", "--"],
             "Command": ["/bin/sh"], "Environment": [{"Name": "A", "Value": "1"}],
             "LinuxParameters": {"Capabilities": {"Add": ["SYS_PTRACE"]}},
             "VolumesFrom": [{"SourceContainer": "side", "ReadOnly": "true"}],
             "DependsOn": [{"ContainerName": "side", "Condition": "START"}]},
            {"Name": "side", "Image": "s", "Essential": "false", "Cpu": 64}
        ]}}}});
        let a = Task::from_json(&register).unwrap();
        let b = Task::from_cloudformation(&cfn, "T").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.start_order().unwrap(), vec![1, 0]);
        let app = a.container("app").unwrap();
        assert_eq!(app.volumes_from, vec![("side".to_string(), true)]);
        assert_eq!(app.depends_on, vec![("side".to_string(), Condition::Start)]);
        assert!(!a.container("side").unwrap().essential);
    }

    #[test]
    fn what_cannot_be_reproduced_is_an_error() {
        let cases = [
            (
                json!({"containerDefinitions": [{"name": "app", "image": "i", "secrets": []}]}),
                "containerDefinitions[0].secrets: the harness does not model secrets",
            ),
            (
                json!({"containerDefinitions": [{"name": "app", "image": {"Ref": "Img"}}]}),
                "containerDefinitions[0].image: expected a string",
            ),
            (
                json!({"containerDefinitions": [{"name": "app", "image": "i",
                    "linuxParameters": {"capabilities": {"add": ["NET_ADMIN"]}}}]}),
                "Fargate lets a task add only SYS_PTRACE",
            ),
            (
                json!({"containerDefinitions": [{"name": "app", "image": "i",
                    "dependsOn": [{"containerName": "ghost", "condition": "START"}]}]}),
                "no container named \"ghost\"",
            ),
            (
                json!({"containerDefinitions": [
                    {"name": "a", "image": "i", "dependsOn": [{"containerName": "b", "condition": "START"}]},
                    {"name": "b", "image": "i", "dependsOn": [{"containerName": "a", "condition": "START"}]}]}),
                "form a cycle",
            ),
            (
                json!({"containerDefinitions": [{"name": "app", "image": "i", "essential": false}]}),
                "no container is essential",
            ),
            (
                json!({"networkMode": "bridge", "requiresCompatibilities": ["FARGATE"],
                    "containerDefinitions": [app()]}),
                "\"bridge\" is not modelled",
            ),
            (
                json!({"networkMode": "host", "containerDefinitions": [app()]}),
                "\"host\" is not modelled",
            ),
            (
                json!({"containerDefinitions": [{"name": "app", "image": "i",
                    "dependsOn": [{"containerName": "app", "condition": "HEALTHY"}]}]}),
                "\"HEALTHY\" is not modelled",
            ),
        ];
        for (input, want) in cases {
            let err = Task::from_json(&input).unwrap_err();
            assert!(err.contains(want), "{input}: got {err:?}, want {want:?}");
        }
    }

    #[test]
    fn network_modes_are_ecss() {
        let mode = |v: Value| Task::from_json(&v).unwrap().network;
        let fargate =
            json!({"requiresCompatibilities": ["FARGATE"], "containerDefinitions": [app()]});
        assert_eq!(mode(fargate), Network::Awsvpc, "Fargate's only mode");
        // Without networkMode, a task not for Fargate is in bridge mode (ECS's default on EC2).
        assert_eq!(
            mode(json!({"containerDefinitions": [app()]})),
            Network::Bridge
        );
        assert_eq!(
            mode(json!({"networkMode": "bridge", "containerDefinitions": [app()]})),
            Network::Bridge
        );
        assert_eq!(
            mode(json!({"networkMode": "awsvpc", "containerDefinitions": [app()]})),
            Network::Awsvpc
        );
        let t = Task::from_json(&json!({"containerDefinitions": [
            {"name": "app", "image": "i", "memory": 512, "memoryReservation": "256"}]}))
        .unwrap();
        assert_eq!(
            (t.containers[0].memory, t.containers[0].memory_reservation),
            (Some(512), Some(256))
        );
        let args = crate::podman::create_args(&t.containers[0], "t", std::path::Path::new("/s"));
        assert!(args.contains(&"--memory=512m".to_string()), "{args:?}");
        assert!(
            args.contains(&"--memory-reservation=256m".to_string()),
            "{args:?}"
        );
    }

    #[test]
    fn empty_lists_count_as_absent() {
        let t = Task::from_json(&json!({"containerDefinitions": [
            {"name": "app", "image": "i", "entryPoint": [], "command": []}]}))
        .unwrap();
        assert_eq!(t.containers[0].entry_point, None);
        assert_eq!(t.containers[0].command, None);
    }
}
