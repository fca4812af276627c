//! Run a [`Task`] with podman the way ECS runs it on Fargate.
//!
//! - The task is a pod: one network namespace for all containers (awsvpc), and one PID
//!   namespace too when the task says `pidMode: task`. In `bridge` mode every container has a
//!   network namespace of its own, with only its loopback (`--network none`).
//! - `memory` and `memoryReservation` are the container's hard and soft memory limits
//!   (`--memory`, `--memory-reservation`), as ECS sets them.
//! - Containers start in dependency order; a container waits until each `dependsOn` condition
//!   holds (START: the dependency was started; COMPLETE: it exited; SUCCESS: it exited 0 —
//!   otherwise the task stops and the dependent never starts).
//! - `entryPoint`/`command` are passed as ECS passes them to the container runtime, with the
//!   runtime's rules: an overridden entrypoint drops the image's CMD.
//! - `environment`, `linuxParameters.capabilities` (`--cap-add`/`--cap-drop`),
//!   `initProcessEnabled` (`--init`), `volumesFrom` (`--volumes-from NAME[:ro]`),
//!   `workingDirectory`, `user`, `readonlyRootFilesystem` map to their podman flags.
//! - The seccomp profile is podman's default with one change: `ptrace(2)` is allowed only with
//!   CAP_SYS_PTRACE, as in the containerd releases Fargate platform 1.4 was built on (and
//!   Docker before 19.03). Current podman/Docker/containerd profiles allow a process to trace
//!   its own children without the capability; AWS documents SYS_PTRACE as what tracing needs
//!   on Fargate, so the harness holds tasks to that.
//! - When an essential container exits, the task stops: the other containers get SIGTERM and,
//!   after their `stopTimeout` (default 30 s), SIGKILL — dependents before what they depend on.
//!   [`RunningTask::stop`] does the same on request (ECS `StopTask`, `podman stop`).
//!
//! Podman keeps its images and containers under the scratch directory given to
//! [`Podman::new`] (`--root`/`--runroot`), with a `CONTAINERS_CONF` of its own: on this
//! kernel podman needs the runc runtime and explicit rlimits, the pods' infra containers
//! included. Everything is removed when the [`Podman`] is dropped.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use kilt_defs::reference::Reference;
use serde_json::Value;

use crate::task::{Condition, Container, Network, Task};

pub struct Podman {
    bin: PathBuf,
    dir: PathBuf,
    conf: PathBuf,
    seccomp: PathBuf,
}

/// A container's life, as the harness saw it.
#[derive(Clone, Debug)]
pub struct ContainerRun {
    pub name: String,
    /// `None`: never started (a dependency condition failed).
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

#[derive(Debug)]
pub struct TaskRun {
    pub containers: Vec<ContainerRun>,
    /// Why the task stopped, in ECS's words.
    pub stopped_reason: String,
}

impl TaskRun {
    pub fn container(&self, name: &str) -> &ContainerRun {
        self.containers
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("the task has no container {name:?}: {self:#?}"))
    }
}

/// `podman inspect` state of one container.
#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Created,
    Running,
    Exited(i32),
}

fn output_text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Call `step` every 50 ms until it gives a value or `timeout` has passed (`Ok(None)`).
fn poll<T>(
    timeout: Duration,
    mut step: impl FnMut() -> Result<Option<T>, String>,
) -> Result<Option<T>, String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = step()? {
            return Ok(Some(v));
        }
        if Instant::now() > deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Podman {
    /// Podman with its storage, configuration and seccomp profile under `dir`.
    pub fn new(dir: &Path) -> Podman {
        let bin = kiltx_testsupport::require("podman", "apt-get install podman runc");
        kiltx_testsupport::require("runc", "apt-get install runc");
        fs::create_dir_all(dir).expect("podman scratch directory");
        let conf = dir.join("containers.conf");
        fs::write(
            &conf,
            "[containers]\n\
             default_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n\
             log_driver = \"k8s-file\"\n\
             [engine]\n\
             runtime = \"runc\"\n",
        )
        .expect("write containers.conf");
        let seccomp = dir.join("seccomp-fargate.json");
        fs::write(&seccomp, fargate_seccomp_profile()).expect("write the seccomp profile");
        Podman {
            bin,
            dir: dir.to_path_buf(),
            conf,
            seccomp,
        }
    }

    /// `podman --root … --runroot …` with this instance's configuration.
    pub fn command(&self) -> Command {
        // nothing inherited (XDG_RUNTIME_DIR, REGISTRY_AUTH_FILE, CONTAINERS_* …) but this
        // instance's configuration
        let mut c = kiltx_testsupport::hermetic::command(&self.bin);
        c.env("CONTAINERS_CONF", &self.conf)
            .arg("--root")
            .arg(self.dir.join("storage"))
            .arg("--runroot")
            .arg(self.dir.join("run"))
            .stdin(Stdio::null());
        c
    }

    /// Run podman with `args`; its stdout, or the error with everything it printed.
    pub fn run(&self, args: &[&str]) -> Result<String, String> {
        let out = self
            .command()
            .args(args)
            .output()
            .map_err(|e| format!("cannot run podman: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "podman {} failed ({}): {}",
                args.join(" "),
                out.status,
                output_text(&out)
            ))
        }
    }

    /// Pull `image` (plain HTTP for registries on 127.0.0.1/localhost).
    pub fn pull(&self, image: &str) -> Result<(), String> {
        let loopback = Reference::parse(image).is_ok_and(|r| r.is_loopback());
        let tls = format!("--tls-verify={}", !loopback);
        self.run(&["pull", "--quiet", &tls, image]).map(|_| ())
    }

    /// The image's config (`podman image inspect`'s `Config`).
    pub fn image_config(&self, image: &str) -> Result<Value, String> {
        let out = self.run(&["image", "inspect", "--format", "{{json .Config}}", image])?;
        serde_json::from_str(out.trim()).map_err(|e| format!("podman image inspect: {e}: {out}"))
    }

    /// Pull the task's images and start its containers, in dependency order. `id` names the
    /// pod (and prefixes the container names).
    pub fn start_task<'a>(&'a self, task: &Task, id: &str) -> Result<RunningTask<'a>, String> {
        let mut images: Vec<&str> = task.containers.iter().map(|c| c.image.as_str()).collect();
        images.sort();
        images.dedup();
        for image in images {
            self.pull(image)?;
        }
        let mut pod = vec!["pod", "create", "--name", id];
        let share = match (task.network, task.pid_task) {
            (Network::Awsvpc, true) => "net,pid",
            (Network::Awsvpc, false) => "net",
            (Network::Bridge, true) => "pid",
            (Network::Bridge, false) => "none",
        };
        pod.extend(["--share", share]);
        self.run(&pod)?;
        let mut t = RunningTask {
            podman: self,
            id: id.to_string(),
            task: task.clone(),
            started: Vec::new(),
            never_started: Vec::new(),
            stopped_reason: None,
        };
        for i in task.start_order()? {
            let c = &task.containers[i];
            match t.wait_for_dependencies(c)? {
                true => {
                    let mut args = create_args(c, id, &self.seccomp);
                    if task.network == Network::Bridge {
                        // A network namespace of its own: its own loopback, nothing shared.
                        args.insert(1, "--network=none".into());
                    }
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    self.run(&args)?;
                    self.run(&["start", &t.name_of(&c.name)])?;
                    t.started.push(c.name.clone());
                }
                false => {
                    // ECS: a dependency condition that can no longer hold stops the task
                    t.never_started.push(c.name.clone());
                }
            }
        }
        Ok(t)
    }

    fn states(&self, names: &[String]) -> Result<HashMap<String, State>, String> {
        if names.is_empty() {
            return Ok(HashMap::new());
        }
        let mut args = vec!["container", "inspect", "--format", "json"];
        args.extend(names.iter().map(String::as_str));
        let out = self.run(&args)?;
        let v: Value =
            serde_json::from_str(&out).map_err(|e| format!("podman inspect: {e}: {out}"))?;
        let mut m = HashMap::new();
        for c in v.as_array().into_iter().flatten() {
            let name = c["Name"].as_str().unwrap_or_default().to_string();
            let st = &c["State"];
            let state = match st["Status"].as_str().unwrap_or_default() {
                "created" | "configured" | "initialized" => State::Created,
                "exited" | "stopped" => State::Exited(st["ExitCode"].as_i64().unwrap_or(-1) as i32),
                _ => State::Running,
            };
            m.insert(name, state);
        }
        Ok(m)
    }
}

/// `podman create` arguments for container `c` of task (pod) `id`.
pub fn create_args(c: &Container, id: &str, seccomp: &Path) -> Vec<String> {
    let name = |n: &str| format!("{id}-{n}");
    let mut a: Vec<String> = ["create", "--pod", id, "--name"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    a.push(name(&c.name));
    a.push("--security-opt".into());
    a.push(format!("seccomp={}", seccomp.display()));
    a.push(format!("--stop-timeout={}", c.stop_timeout));
    for (k, v) in &c.environment {
        a.push("--env".into());
        a.push(format!("{k}={v}"));
    }
    for cap in &c.cap_add {
        a.push(format!("--cap-add={cap}"));
    }
    for cap in &c.cap_drop {
        a.push(format!("--cap-drop={cap}"));
    }
    for (src, ro) in &c.volumes_from {
        let ro = if *ro { ":ro" } else { "" };
        a.push(format!("--volumes-from={}{ro}", name(src)));
    }
    if c.init_process {
        a.push("--init".into());
    }
    if let Some(w) = &c.working_directory {
        a.push(format!("--workdir={w}"));
    }
    if let Some(u) = &c.user {
        a.push(format!("--user={u}"));
    }
    if c.readonly_root {
        a.push("--read-only".into());
    }
    if let Some(m) = c.memory {
        a.push(format!("--memory={m}m"));
    }
    if let Some(m) = c.memory_reservation {
        a.push(format!("--memory-reservation={m}m"));
    }
    if let Some(ep) = &c.entry_point {
        a.push(format!(
            "--entrypoint={}",
            serde_json::to_string(ep).expect("a list of strings is JSON")
        ));
    }
    a.push(c.image.clone());
    if let Some(cmd) = &c.command {
        a.extend(cmd.iter().cloned());
    }
    a
}

impl Drop for Podman {
    fn drop(&mut self) {
        // only what this instance created lives under its --root
        let _ = self.run(&["pod", "rm", "--all", "--force", "--time", "0"]);
        let _ = self.run(&["rm", "--all", "--force", "--time", "0"]);
        let _ = self.run(&["rmi", "--all", "--force"]);
    }
}

/// Podman's default seccomp profile, with ptrace(2) allowed only with CAP_SYS_PTRACE.
fn fargate_seccomp_profile() -> String {
    let path = "/usr/share/containers/seccomp.json";
    let text = fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e} (apt-get install podman installs it)"));
    let mut p: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON: {e}"));
    let rules = p["syscalls"]
        .as_array_mut()
        .unwrap_or_else(|| panic!("{path}: no syscalls list"));
    let mut removed = 0;
    for r in rules.iter_mut() {
        let conditional = r["includes"]["caps"]
            .as_array()
            .is_some_and(|c| !c.is_empty());
        if r["action"] == "SCMP_ACT_ALLOW" && !conditional {
            if let Some(names) = r["names"].as_array_mut() {
                let before = names.len();
                names.retain(|n| n != "ptrace");
                removed += before - names.len();
            }
        }
    }
    assert!(
        removed > 0,
        "{path}: ptrace is not allowed unconditionally; the harness's profile needs updating"
    );
    rules.push(serde_json::json!({
        "names": ["ptrace"], "action": "SCMP_ACT_ALLOW",
        "includes": {"caps": ["CAP_SYS_PTRACE"]}, "excludes": {}
    }));
    rules.push(serde_json::json!({
        "names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
        "includes": {}, "excludes": {"caps": ["CAP_SYS_PTRACE"]}
    }));
    serde_json::to_string_pretty(&p).expect("JSON")
}

/// A task whose containers have been started.
pub struct RunningTask<'a> {
    podman: &'a Podman,
    id: String,
    task: Task,
    started: Vec<String>,
    never_started: Vec<String>,
    stopped_reason: Option<String>,
}

impl RunningTask<'_> {
    fn name_of(&self, container: &str) -> String {
        format!("{}-{container}", self.id)
    }

    fn state(&self, container: &str) -> Result<State, String> {
        let n = self.name_of(container);
        let m = self.podman.states(std::slice::from_ref(&n))?;
        m.get(&n)
            .cloned()
            .ok_or_else(|| format!("podman does not know container {n}"))
    }

    /// Wait until `c`'s dependency conditions hold: `Ok(true)`; `Ok(false)` when one can no
    /// longer hold (SUCCESS of a failed or never-started container).
    fn wait_for_dependencies(&mut self, c: &Container) -> Result<bool, String> {
        for (dep, cond) in &c.depends_on {
            if self.never_started.contains(dep) {
                self.stopped_reason.get_or_insert(format!(
                    "dependency {dep} of container {} was never started",
                    c.name
                ));
                return Ok(false);
            }
            // the state in which the condition was decided
            let decided = poll(Duration::from_secs(120), || {
                Ok(match (cond, self.state(dep)?) {
                    (Condition::Start, state) => Some(state),
                    (_, state @ State::Exited(_)) => Some(state),
                    _ => None,
                })
            })?
            .ok_or_else(|| {
                format!(
                    "container {}: {dep} did not reach {cond:?} within 120 s",
                    c.name
                )
            })?;
            match (cond, decided) {
                (Condition::Success, State::Exited(code)) if code != 0 => {
                    self.stopped_reason.get_or_insert(format!(
                        "container {} needed {dep} to succeed; it exited {code}",
                        c.name
                    ));
                    return Ok(false);
                }
                _ => {}
            }
        }
        Ok(true)
    }

    /// A container's stdout and stderr so far (`podman logs` keeps them apart).
    fn logs(&self, container: &str) -> Result<(String, String), String> {
        let out = self
            .podman
            .command()
            .args(["logs", &self.name_of(container)])
            .output()
            .map_err(|e| format!("podman logs: {e}"))?;
        Ok((
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    /// A container's stdout so far.
    pub fn stdout(&self, container: &str) -> Result<String, String> {
        Ok(self.logs(container)?.0)
    }

    /// Wait until `container`'s stdout contains `needle`.
    pub fn wait_for_stdout(
        &self,
        container: &str,
        needle: &str,
        timeout: Duration,
    ) -> Result<(), String> {
        let mut last = String::new();
        let found = poll(timeout, || {
            last = self.stdout(container)?;
            Ok(last.contains(needle).then_some(()))
        })?;
        found.ok_or_else(|| {
            format!(
                "{container} did not print {needle:?} within {timeout:?}; stdout so far: {last}"
            )
        })
    }

    /// Run until the task stops by itself: an essential container exits (or nothing is left
    /// running), then the rest is stopped as ECS stops it.
    pub fn wait(mut self, timeout: Duration) -> Result<TaskRun, String> {
        let names: Vec<String> = self.started.iter().map(|n| self.name_of(n)).collect();
        if self.stopped_reason.is_none() {
            let mut last = HashMap::new();
            let reason = poll(timeout, || {
                let states = self.podman.states(&names)?;
                let exited = |c: &&Container| {
                    matches!(states.get(&self.name_of(&c.name)), Some(State::Exited(_)))
                };
                let started: Vec<&Container> = self
                    .task
                    .containers
                    .iter()
                    .filter(|c| self.started.contains(&c.name))
                    .collect();
                let reason = match started.iter().find(|c| c.essential && exited(c)) {
                    Some(c) => Some(format!("Essential container in task exited ({})", c.name)),
                    None if started.iter().all(exited) => Some("every container exited".into()),
                    None => None,
                };
                last = states;
                Ok(reason)
            })?;
            match reason {
                Some(r) => self.stopped_reason = Some(r),
                None => {
                    let _ = self.stop_all();
                    return Err(format!(
                        "task {} still running after {timeout:?}: {last:?}",
                        self.id
                    ));
                }
            }
        }
        self.stop_all()?;
        self.collect()
    }

    /// ECS `StopTask`: SIGTERM to every container (dependents first), SIGKILL after each one's
    /// stopTimeout.
    pub fn stop(mut self) -> Result<TaskRun, String> {
        self.stopped_reason = Some("Task stopped by user".into());
        self.stop_all()?;
        self.collect()
    }

    fn stop_all(&self) -> Result<(), String> {
        let order = self.task.start_order()?;
        for &i in order.iter().rev() {
            let c = &self.task.containers[i];
            if self.started.contains(&c.name) {
                let t = format!("--time={}", c.stop_timeout);
                self.podman.run(&["stop", &t, &self.name_of(&c.name)])?;
            }
        }
        Ok(())
    }

    fn collect(&self) -> Result<TaskRun, String> {
        let mut containers = Vec::new();
        for c in &self.task.containers {
            if !self.started.contains(&c.name) {
                containers.push(ContainerRun {
                    name: c.name.clone(),
                    exit_code: None,
                    stdout: String::new(),
                    stderr: String::new(),
                });
                continue;
            }
            let name = self.name_of(&c.name);
            let code = match self.state(&c.name)? {
                State::Exited(code) => code,
                other => return Err(format!("{name} is {other:?} after the task stopped")),
            };
            let (stdout, stderr) = self.logs(&c.name)?;
            containers.push(ContainerRun {
                name: c.name.clone(),
                exit_code: Some(code),
                stdout,
                stderr,
            });
        }
        Ok(TaskRun {
            containers,
            stopped_reason: self.stopped_reason.clone().unwrap_or_default(),
        })
    }
}

impl Drop for RunningTask<'_> {
    fn drop(&mut self) {
        let _ = self
            .podman
            .run(&["pod", "rm", "--force", "--time", "0", &self.id]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patched_container_translates_flag_by_flag() {
        let task = Task::from_json(&serde_json::json!({"containerDefinitions": [
            {"name": "app", "image": "127.0.0.1:5000/app:1",
             "entryPoint": ["/kiltx/bin/kiltx-tracer", "run", "--"],
             "command": ["/bin/sh", "-c", "echo $HOME"],
             "environment": [{"name": "KILTX_CONTAINER_NAME", "value": "app"}],
             "linuxParameters": {"capabilities": {"add": ["SYS_PTRACE"], "drop": ["NET_RAW"]},
                                 "initProcessEnabled": true},
             "volumesFrom": [{"sourceContainer": "kiltx-tracer", "readOnly": true}],
             "dependsOn": [{"containerName": "kiltx-tracer", "condition": "START"}],
             "workingDirectory": "/srv", "user": "1000:1000", "readonlyRootFilesystem": true,
             "stopTimeout": 5},
            {"name": "kiltx-tracer", "image": "t", "essential": false}
        ]}))
        .unwrap();
        let args = create_args(&task.containers[0], "t1", Path::new("/s.json"));
        let want = [
            "create",
            "--pod",
            "t1",
            "--name",
            "t1-app",
            "--security-opt",
            "seccomp=/s.json",
            "--stop-timeout=5",
            "--env",
            "KILTX_CONTAINER_NAME=app",
            "--cap-add=SYS_PTRACE",
            "--cap-drop=NET_RAW",
            "--volumes-from=t1-kiltx-tracer:ro",
            "--init",
            "--workdir=/srv",
            "--user=1000:1000",
            "--read-only",
            r#"--entrypoint=["/kiltx/bin/kiltx-tracer","run","--"]"#,
            "127.0.0.1:5000/app:1",
            "/bin/sh",
            "-c",
            "echo $HOME",
        ];
        assert_eq!(args, want);
        // no entryPoint, no command: the image's own ENTRYPOINT and CMD
        let args = create_args(&task.containers[1], "t1", Path::new("/s.json"));
        assert_eq!(args.last().map(String::as_str), Some("t"));
        assert!(!args.iter().any(|a| a.starts_with("--entrypoint")));
    }
}
