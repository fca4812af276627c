//! What ECS itself accepts: the semantic rules of RegisterTaskDefinition (and, where the
//! registration succeeds but the task cannot start, of the agent that starts it), which no
//! shape check (botocore's, cfn-lint's) knows. From AWS's own documentation of the task
//! definition parameters:
//!
//! - container names unique, of letters, digits, `-` and `_`, at most 255;
//! - `dependsOn`, `volumesFrom` and `links` name containers of the task, not themselves, with no
//!   cycle among them; `COMPLETE`/`SUCCESS` only on a container that is not essential, `HEALTHY`
//!   only on one with a health check; at least one essential container;
//! - the task's CPU and memory: on Fargate both given and one of Fargate's combinations; the
//!   containers' `cpu` summed at most the task's ("The sum of all container 'memoryReservation'
//!   values cannot be greater than the value of the task 'memory'"), their `memoryReservation`s
//!   summed and each hard `memory` at most the task's (hard limits are not summed: ECS accepts
//!   an application holding the whole task's memory beside sidecars that only reserve);
//!   `memoryReservation` at most `memory`; without task memory (EC2), every container has
//!   `memory` or `memoryReservation`;
//! - the network mode: Fargate only `awsvpc`; `links` only in `bridge`; `hostPort` equal to
//!   `containerPort` (or absent) in `awsvpc` and `host`; no `hostname` in `awsvpc`;
//! - Fargate: only `SYS_PTRACE` added, nothing privileged, no `pidMode: host`, no `ipcMode`, no
//!   devices, `sharedMemorySize`, `tmpfs`, host-path or Docker volumes, placement constraints;
//! - Windows tasks: none of the Linux-only fields (`linuxParameters`, `pidMode`, `ipcMode`,
//!   `user`, `readonlyRootFilesystem`, `privileged`…);
//! - FireLens: a container logging with `awsfirelens` needs the task's log router (a container
//!   with `firelensConfiguration`).
//!
//! Values the validator cannot know (an intrinsic function it cannot resolve with the
//! template's parameters) are not judged: only what is certain is reported.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::rules::{self, Rule};
use super::{at, field_of, idx, items, name_of, truthy};
use crate::error::Path;
pub use crate::patch::resources::{parse_cpu, parse_memory};
use crate::shape::Shape;

/// One rule broken.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub rule: &'static Rule,
    pub message: String,
    /// From the document root.
    pub path: Path,
}

/// Fargate's task sizes: CPU units and the memory (MiB) each allows, as (first, last, step);
/// 256 CPU units allow 512, 1024 and 2048 only (not 1536), which `fargate_size_ok` knows.
const FARGATE_SIZES: &[(u64, u64, u64, u64)] = &[
    (256, 512, 2048, 512),
    (512, 1024, 4096, 1024),
    (1024, 2048, 8192, 1024),
    (2048, 4096, 16384, 1024),
    (4096, 8192, 30720, 1024),
    (8192, 16384, 61440, 4096),
    (16384, 32768, 122880, 8192),
];

/// Windows on Fargate runs only the 1, 2 and 4 vCPU sizes.
const FARGATE_WINDOWS_CPUS: &[u64] = &[1024, 2048, 4096];

/// Whether `cpu`/`memory` is one of Fargate's task sizes.
pub fn fargate_size_ok(cpu: u64, memory: u64, windows: bool) -> bool {
    if windows && !FARGATE_WINDOWS_CPUS.contains(&cpu) {
        return false;
    }
    if cpu == 256 {
        return [512, 1024, 2048].contains(&memory);
    }
    FARGATE_SIZES.iter().any(|&(c, first, last, step)| {
        c == cpu && (first..=last).contains(&memory) && (memory - first) % step == 0
    })
}

/// The smallest Fargate task size (CPU units, MiB) with at least `cpu` and `memory` (Linux): the
/// fewest CPU units first, then the least memory. `None` above the largest.
pub fn next_fargate_size(cpu: u64, memory: u64) -> Option<(u64, u64)> {
    FARGATE_SIZES
        .iter()
        .filter(|&&(c, _, last, _)| c >= cpu && last >= memory)
        .find_map(|&(c, first, last, step)| {
            (first..=last)
                .step_by(step as usize)
                .chain((c == 256).then_some(2048))
                .filter(|&m| m >= memory && fargate_size_ok(c, m, false))
                .min()
                .map(|m| (c, m))
        })
}

/// The valid Fargate task sizes, for messages: `256 CPU: 512, 1024 or 2048 MiB; …`.
fn fargate_sizes_text() -> String {
    FARGATE_SIZES
        .iter()
        .map(|&(c, first, last, step)| {
            if c == 256 {
                format!("{c} CPU with 512, 1024 or 2048 MiB")
            } else {
                format!("{c} CPU with {first}–{last} MiB in steps of {step}")
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Check one task definition: `task` is the site's value (a task definition, or a bare
/// container list for `Shape::Containers`), at `path`. `params` resolve `Ref`s (template
/// parameters' defaults and `--parameter` values). `fargate_default`: whether a task that
/// names no compatibilities is judged as Fargate (lint does so for register JSON, as patch
/// does).
pub fn validate(
    task: &Value,
    path: &Path,
    shape: Shape,
    params: &crate::patch::Known,
    fargate_default: bool,
) -> Vec<Violation> {
    let mut v = Validator {
        out: Vec::new(),
        params,
    };
    let (cpath, containers) = if shape == Shape::Containers {
        match task.as_array() {
            Some(a) => (path.clone(), a.as_slice()),
            None => return v.out,
        }
    } else {
        match field_of(task, "containerDefinitions") {
            Some((k, Value::Array(a))) => (at(path, k), a.as_slice()),
            _ => return v.out,
        }
    };
    let task_level = shape != Shape::Containers;
    let compat = match field_of(task, "requiresCompatibilities") {
        Some((_, Value::Array(l))) => {
            let known: Vec<String> = l.iter().filter_map(|x| v.scalar(x)).collect();
            if known.len() < l.len() {
                Compat::Unknown
            } else if known.iter().any(|s| s == "FARGATE") {
                Compat::Fargate
            } else {
                Compat::Other
            }
        }
        Some(_) => Compat::Unknown,
        None if fargate_default => Compat::Assumed,
        None => Compat::Other,
    };
    let os = field_of(task, "runtimePlatform")
        .and_then(|(_, rp)| field_of(rp, "operatingSystemFamily"))
        .map(|(_, os)| v.scalar(os));
    let windows = match os {
        Some(Some(s)) => Some(s.to_ascii_uppercase().starts_with("WINDOWS")),
        Some(None) => None,
        None => Some(false),
    };
    let network = match field_of(task, "networkMode") {
        Some((_, x)) => v.scalar(x),
        None if compat == Compat::Fargate => Some("awsvpc".into()),
        None if compat == Compat::Unknown => None,
        None if windows == Some(true) => Some("default".into()),
        None => Some("bridge".into()),
    };
    v.names(&cpath, containers);
    v.references(&cpath, containers);
    v.essential(&cpath, containers);
    if task_level {
        v.budget(task, path, &cpath, containers, compat, windows);
    }
    v.network(task, path, &cpath, containers, compat, network.as_deref());
    if matches!(compat, Compat::Fargate | Compat::Assumed) {
        v.fargate(task, path, &cpath, containers, task_level);
    }
    if windows == Some(true) {
        v.windows(task, path, &cpath, containers);
    }
    v.firelens(&cpath, containers);
    v.out
}

/// The launch types the task definition asks for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Compat {
    /// `requiresCompatibilities` names FARGATE.
    Fargate,
    /// It names none, and the caller runs it on Fargate (kiltx patches such register JSON):
    /// what Fargate forbids in a container is reported; the task is registered as ECS would
    /// (EC2), so its size and network mode are judged as EC2's.
    Assumed,
    /// It names launch types without FARGATE (or none, and the caller assumes nothing).
    Other,
    /// An intrinsic function kiltx cannot resolve.
    Unknown,
}

struct Validator<'a> {
    out: Vec<Violation>,
    params: &'a crate::patch::Known,
}

impl Validator<'_> {
    fn push(&mut self, rule: &'static Rule, message: String, path: Path) {
        self.out.push(Violation {
            rule,
            message,
            path,
        });
    }

    /// A scalar's text: a literal, or evaluated over what is known (as the patch engine reads
    /// it).
    fn scalar(&self, v: &Value) -> Option<String> {
        self.params.scalar(v)
    }

    fn number(&self, v: &Value) -> Option<u64> {
        self.scalar(v)?.trim().parse().ok()
    }

    fn names(&mut self, cpath: &Path, containers: &[Value]) {
        let mut seen = BTreeSet::new();
        for (i, c) in containers.iter().enumerate() {
            let Some(n) = name_of(c) else { continue };
            let p = match field_of(c, "name") {
                Some((k, _)) => at(&idx(cpath, i), k),
                None => idx(cpath, i),
            };
            if !seen.insert(n) {
                self.push(
                    rules::DUPLICATE_NAME,
                    format!("two containers are named {n:?}"),
                    p,
                );
            } else if n.is_empty()
                || n.len() > 255
                || !n
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
            {
                self.push(
                    rules::CONTAINER_NAME,
                    format!("container name {n:?} is not 1–255 letters, digits, hyphens and underscores"),
                    p,
                );
            }
        }
    }

    /// `volumesFrom`, `dependsOn`, `links`: they name containers of the task, not the
    /// container itself, and form no cycle; dependency conditions the named container allows.
    fn references(&mut self, cpath: &Path, containers: &[Value]) {
        let names: Vec<Option<&str>> = containers.iter().map(name_of).collect();
        if !names.iter().all(Option::is_some) {
            return;
        }
        let index: BTreeMap<&str, usize> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.unwrap_or_default(), i))
            .collect();
        let mut edges: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); containers.len()];
        for (i, c) in containers.iter().enumerate() {
            let me = names[i].unwrap_or("?");
            let ipath = idx(cpath, i);
            // the list, the entries' field naming the container (empty: the entry is the
            // name), and how to get the name out of it
            type Strip = fn(&str) -> &str;
            let refs: [(&str, &str, Strip); 3] = [
                ("volumesFrom", "sourceContainer", |s| s),
                ("dependsOn", "containerName", |s| s),
                ("links", "", |s| s.split(':').next().unwrap_or(s)),
            ];
            for (list, entry, strip) in refs {
                let Some((lk, _)) = field_of(c, list) else {
                    continue;
                };
                for (j, e) in items(c, list).iter().enumerate() {
                    let (target, p) = if entry.is_empty() {
                        (e.as_str(), idx(&at(&ipath, lk), j))
                    } else {
                        match field_of(e, entry) {
                            Some((ek, v)) => (v.as_str(), at(&idx(&at(&ipath, lk), j), ek)),
                            None => (None, idx(&at(&ipath, lk), j)),
                        }
                    };
                    let Some(t) = target.map(strip) else {
                        continue;
                    };
                    match index.get(t) {
                        None => self.push(
                            rules::UNKNOWN_REFERENCE,
                            format!(
                                "{list} of container {me:?} names {t:?}, which is not a container of this task definition"
                            ),
                            p,
                        ),
                        Some(&j2) if j2 == i => self.push(
                            rules::DEPENDENCY,
                            format!("{list} of container {me:?} names the container itself"),
                            p,
                        ),
                        Some(&j2) => {
                            edges[i].insert(j2);
                            if list == "dependsOn" {
                                self.condition(e, &containers[j2], t, &p);
                            }
                        }
                    }
                }
            }
        }
        if let Some(cycle) = find_cycle(&edges) {
            let shown: Vec<&str> = cycle.iter().map(|&i| names[i].unwrap_or("?")).collect();
            self.push(
                rules::DEPENDENCY,
                format!(
                    "the containers wait for each other in a cycle ({}) through dependsOn, volumesFrom or links; none of them can start",
                    shown.join(" → ")
                ),
                idx(cpath, cycle[0]),
            );
        }
    }

    /// One `dependsOn` entry's condition against the container it names.
    fn condition(&mut self, entry: &Value, target: &Value, name: &str, p: &Path) {
        let Some((_, cond)) = field_of(entry, "condition") else {
            return;
        };
        let Some(cond) = self.scalar(cond) else {
            return;
        };
        match cond.as_str() {
            "START" => {}
            "COMPLETE" | "SUCCESS" => {
                let essential = match field_of(target, "essential") {
                    Some((_, v)) => !truthy(v, false),
                    None => true,
                };
                if essential {
                    self.push(
                        rules::DEPENDENCY,
                        format!("dependsOn waits for {name:?} to {}, but {name:?} is essential: its exit stops the task; make it essential: false", if cond == "COMPLETE" { "complete" } else { "succeed" }),
                        p.clone(),
                    );
                }
            }
            "HEALTHY" => {
                if field_of(target, "healthCheck").is_none() {
                    self.push(
                        rules::DEPENDENCY,
                        format!("dependsOn waits for {name:?} to be HEALTHY, but {name:?} has no healthCheck"),
                        p.clone(),
                    );
                }
            }
            other => self.push(
                rules::DEPENDENCY,
                format!(
                    "dependsOn condition {other:?} is not one of START, COMPLETE, SUCCESS, HEALTHY"
                ),
                p.clone(),
            ),
        }
    }

    fn essential(&mut self, cpath: &Path, containers: &[Value]) {
        if !containers.is_empty()
            && containers
                .iter()
                .all(|c| field_of(c, "essential").is_some_and(|(_, v)| truthy(v, false)))
        {
            self.push(
                rules::NO_ESSENTIAL,
                "every container says essential: false; a task definition needs one essential container".into(),
                cpath.clone(),
            );
        }
    }

    /// The task's CPU and memory against Fargate's sizes and the containers' shares.
    fn budget(
        &mut self,
        task: &Value,
        path: &Path,
        cpath: &Path,
        containers: &[Value],
        compat: Compat,
        windows: Option<bool>,
    ) {
        let task_cpu = field_of(task, "cpu").map(|(k, v)| (at(path, k), self.scalar(v)));
        let task_mem = field_of(task, "memory").map(|(k, v)| (at(path, k), self.scalar(v)));
        let cpu = match &task_cpu {
            Some((p, Some(s))) => match parse_cpu(s) {
                Some(n) => Some(n),
                None => {
                    self.push(
                        rules::TASK_SIZE,
                        format!("task cpu {s:?} is not a number of CPU units (1024 = 1 vCPU) or \"N vCPU\""),
                        p.clone(),
                    );
                    return;
                }
            },
            _ => None,
        };
        let mem = match &task_mem {
            Some((p, Some(s))) => match parse_memory(s) {
                Some(n) => Some(n),
                None => {
                    self.push(
                        rules::TASK_SIZE,
                        format!("task memory {s:?} is not a number of MiB or \"N GB\""),
                        p.clone(),
                    );
                    return;
                }
            },
            _ => None,
        };
        if compat == Compat::Fargate {
            if task_cpu.is_none() || task_mem.is_none() {
                let missing = match (task_cpu.is_none(), task_mem.is_none()) {
                    (true, true) => "cpu and memory",
                    (true, false) => "cpu",
                    _ => "memory",
                };
                self.push(
                    rules::TASK_SIZE,
                    format!("a Fargate task definition needs the task's {missing}"),
                    path.clone(),
                );
            } else if let (Some(c), Some(m), Some(w)) = (cpu, mem, windows) {
                if !fargate_size_ok(c, m, w) {
                    let p = task_mem
                        .as_ref()
                        .map(|(p, _)| p.clone())
                        .unwrap_or_default();
                    self.push(
                        rules::TASK_SIZE,
                        format!(
                            "cpu {c} with memory {m} MiB is not a Fargate task size{}; valid: {}",
                            if w {
                                " for Windows (1, 2 or 4 vCPU)"
                            } else {
                                ""
                            },
                            fargate_sizes_text()
                        ),
                        p,
                    );
                }
            }
        }
        // The containers' shares, when every one is known.
        let mut cpu_sum = Some(0u64);
        let mut reserved = Some(0u64);
        for (i, c) in containers.iter().enumerate() {
            let ipath = idx(cpath, i);
            let name = name_of(c).unwrap_or("?");
            let ccpu = field_of(c, "cpu").map(|(_, v)| self.number(v));
            cpu_sum = match ccpu {
                Some(Some(n)) => cpu_sum.map(|s| s + n),
                Some(None) => None,
                None => cpu_sum,
            };
            let hard = field_of(c, "memory").map(|(k, v)| (at(&ipath, k), self.number(v)));
            let soft =
                field_of(c, "memoryReservation").map(|(k, v)| (at(&ipath, k), self.number(v)));
            if let (Some((_, Some(h))), Some((sp, Some(s)))) = (&hard, &soft) {
                if s > h {
                    self.push(
                        rules::MEMORY_BUDGET,
                        format!("container {name:?} reserves {s} MiB (memoryReservation) above its limit of {h} MiB (memory)"),
                        sp.clone(),
                    );
                }
            }
            if let (Some((hp, Some(h))), Some(m)) = (&hard, mem) {
                if *h > m {
                    self.push(
                        rules::MEMORY_BUDGET,
                        format!("container {name:?} has a memory limit of {h} MiB, above the task's {m} MiB"),
                        hp.clone(),
                    );
                }
            }
            reserved = match (&soft, &hard) {
                (Some((_, Some(s))), _) => reserved.map(|r| r + s),
                (Some((_, None)), _) => None,
                (None, Some(_)) => reserved,
                (None, None) => {
                    if task_mem.is_none() && matches!(compat, Compat::Other | Compat::Assumed) {
                        self.push(
                            rules::MEMORY_BUDGET,
                            format!("container {name:?} has neither memory nor memoryReservation, and the task has no memory: ECS needs one of them"),
                            ipath.clone(),
                        );
                    }
                    reserved
                }
            };
        }
        if let (Some(sum), Some(c)) = (cpu_sum, cpu) {
            if sum > c {
                self.push(
                    rules::CPU_BUDGET,
                    format!("the containers' cpu adds up to {sum}, above the task's {c}"),
                    cpath.clone(),
                );
            }
        }
        if let (Some(sum), Some(m)) = (reserved, mem) {
            if sum > m {
                self.push(
                    rules::MEMORY_BUDGET,
                    format!("the containers' memoryReservation adds up to {sum} MiB, above the task's {m} MiB"),
                    cpath.clone(),
                );
            }
        }
    }

    fn network(
        &mut self,
        task: &Value,
        path: &Path,
        cpath: &Path,
        containers: &[Value],
        compat: Compat,
        mode: Option<&str>,
    ) {
        let Some(mode) = mode else { return };
        if compat == Compat::Fargate && mode != "awsvpc" {
            let p = field_of(task, "networkMode")
                .map(|(k, _)| at(path, k))
                .unwrap_or_else(|| path.clone());
            self.push(
                rules::NETWORK_MODE,
                format!("networkMode is {mode:?}; Fargate runs only awsvpc"),
                p,
            );
        }
        for (i, c) in containers.iter().enumerate() {
            let ipath = idx(cpath, i);
            let name = name_of(c).unwrap_or("?");
            if mode != "bridge" {
                if let Some((k, _)) = field_of(c, "links") {
                    if !items(c, "links").is_empty() {
                        self.push(
                            rules::NETWORK_MODE,
                            format!("container {name:?} has links, which only the bridge network mode supports (here {mode})"),
                            at(&ipath, k),
                        );
                    }
                }
            }
            if mode == "awsvpc" {
                if let Some((k, _)) = field_of(c, "hostname") {
                    self.push(
                        rules::NETWORK_MODE,
                        format!("container {name:?} sets hostname, which the awsvpc network mode does not support"),
                        at(&ipath, k),
                    );
                }
            }
            if mode == "awsvpc" || mode == "host" {
                if let Some((pk, _)) = field_of(c, "portMappings") {
                    for (j, pm) in items(c, "portMappings").iter().enumerate() {
                        let cp = field_of(pm, "containerPort").and_then(|(_, v)| self.number(v));
                        let hp = field_of(pm, "hostPort").map(|(k, v)| (k, self.number(v)));
                        if let (Some(cp), Some((hk, Some(hp)))) = (cp, hp) {
                            if hp != cp && hp != 0 {
                                self.push(
                                    rules::NETWORK_MODE,
                                    format!("container {name:?} maps host port {hp} to container port {cp}; in the {mode} network mode they must be equal (or hostPort left out)"),
                                    at(&idx(&at(&ipath, pk), j), hk),
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    /// What Fargate rejects.
    fn fargate(
        &mut self,
        task: &Value,
        path: &Path,
        cpath: &Path,
        containers: &[Value],
        task_level: bool,
    ) {
        if task_level {
            if let Some((k, v)) = field_of(task, "pidMode") {
                if v.as_str() == Some("host") {
                    self.push(
                        rules::FARGATE_PID_HOST,
                        "pidMode is host, which Fargate rejects".into(),
                        at(path, k),
                    );
                }
            }
            if let Some((k, v)) = field_of(task, "ipcMode") {
                if !v.is_null() {
                    self.push(
                        rules::FARGATE_IPC,
                        "ipcMode is set, which Fargate does not support".into(),
                        at(path, k),
                    );
                }
            }
            if let Some((k, _)) = field_of(task, "placementConstraints") {
                if !items(task, "placementConstraints").is_empty() {
                    self.push(
                        rules::FARGATE_UNSUPPORTED,
                        "placementConstraints are set, which Fargate does not support".into(),
                        at(path, k),
                    );
                }
            }
            if let Some((vk, _)) = field_of(task, "volumes") {
                for (j, vol) in items(task, "volumes").iter().enumerate() {
                    let vp = idx(&at(path, vk), j);
                    if let Some((k, _)) = field_of(vol, "dockerVolumeConfiguration") {
                        self.push(
                            rules::FARGATE_UNSUPPORTED,
                            "a volume with dockerVolumeConfiguration, which Fargate does not support (use EFS or a task-scoped bind mount)".into(),
                            at(&vp, k),
                        );
                    }
                    if let Some((hk, host)) = field_of(vol, "host") {
                        if field_of(host, "sourcePath").is_some() {
                            self.push(
                                rules::FARGATE_UNSUPPORTED,
                                "a volume with a host sourcePath, which Fargate does not support"
                                    .into(),
                                at(&vp, hk),
                            );
                        }
                    }
                }
            }
        }
        for (i, c) in containers.iter().enumerate() {
            let ipath = idx(cpath, i);
            let name = name_of(c).unwrap_or("?");
            for (j, cap) in super::added_caps(c) {
                if !cap.trim().eq_ignore_ascii_case("SYS_PTRACE") {
                    self.push(
                        rules::FARGATE_CAPABILITY,
                        format!("container {name:?} adds capability {cap}; Fargate allows only SYS_PTRACE"),
                        idx(&super::caps_path(c, &ipath), j),
                    );
                }
            }
            if let Some((k, v)) = field_of(c, "privileged") {
                if truthy(v, true) {
                    self.push(
                        rules::FARGATE_PRIVILEGED,
                        format!("container {name:?} is privileged, which Fargate rejects"),
                        at(&ipath, k),
                    );
                }
            }
            if let Some((lk, lp)) = field_of(c, "linuxParameters") {
                for f in ["devices", "sharedMemorySize", "tmpfs"] {
                    if let Some((k, _)) = field_of(lp, f) {
                        self.push(
                            rules::FARGATE_UNSUPPORTED,
                            format!("container {name:?} sets linuxParameters.{f}, which Fargate does not support"),
                            at(&at(&ipath, lk), k),
                        );
                    }
                }
            }
        }
    }

    /// Linux-only fields in a Windows task.
    fn windows(&mut self, task: &Value, path: &Path, cpath: &Path, containers: &[Value]) {
        for f in ["pidMode", "ipcMode"] {
            if let Some((k, _)) = field_of(task, f) {
                self.push(
                    rules::OS_FAMILY,
                    format!("{f} is set, which Windows tasks do not support"),
                    at(path, k),
                );
            }
        }
        for (i, c) in containers.iter().enumerate() {
            let ipath = idx(cpath, i);
            let name = name_of(c).unwrap_or("?");
            for f in [
                "linuxParameters",
                "user",
                "readonlyRootFilesystem",
                "privileged",
                "systemControls",
                "ulimits",
            ] {
                if let Some((k, _)) = field_of(c, f) {
                    self.push(
                        rules::OS_FAMILY,
                        format!(
                            "container {name:?} sets {f}, which Windows containers do not support"
                        ),
                        at(&ipath, k),
                    );
                }
            }
        }
    }

    /// `awsfirelens` logging needs the task's log router.
    fn firelens(&mut self, cpath: &Path, containers: &[Value]) {
        let router = containers
            .iter()
            .any(|c| field_of(c, "firelensConfiguration").is_some());
        if router {
            return;
        }
        for (i, c) in containers.iter().enumerate() {
            let driver = field_of(c, "logConfiguration")
                .and_then(|(_, lc)| field_of(lc, "logDriver"))
                .map(|(k, v)| (k, self.scalar(v)));
            if let Some((_, Some(d))) = driver {
                if d == "awsfirelens" {
                    let name = name_of(c).unwrap_or("?");
                    let (lk, _) = field_of(c, "logConfiguration").expect("just found");
                    self.push(
                        rules::FIRELENS_ROUTER,
                        format!("container {name:?} logs with awsfirelens, but no container of the task has a firelensConfiguration (the log router)"),
                        at(&idx(cpath, i), lk),
                    );
                }
            }
        }
    }
}

/// A cycle in the graph `edges` (i waits for each j in edges[i]), as the nodes on it, first
/// node repeated last. Iterative, so that no input's size decides the stack's depth.
fn find_cycle(edges: &[BTreeSet<usize>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark = vec![Mark::New; edges.len()];
    for start in 0..edges.len() {
        if mark[start] != Mark::New {
            continue;
        }
        // (node, its successors not yet visited)
        let mut stack: Vec<(usize, Vec<usize>)> =
            vec![(start, edges[start].iter().copied().collect())];
        mark[start] = Mark::Open;
        while let Some((n, next)) = stack.last_mut() {
            let n = *n;
            match next.pop() {
                Some(m) => match mark[m] {
                    Mark::Open => {
                        let from = stack.iter().position(|(x, _)| *x == m).unwrap_or(0);
                        let mut cycle: Vec<usize> = stack[from..].iter().map(|(x, _)| *x).collect();
                        cycle.push(m);
                        return Some(cycle);
                    }
                    Mark::New => {
                        mark[m] = Mark::Open;
                        stack.push((m, edges[m].iter().copied().collect()));
                    }
                    Mark::Done => {}
                },
                None => {
                    mark[n] = Mark::Done;
                    stack.pop();
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules_of(task: Value, params: &[(&str, &str)]) -> Vec<&'static str> {
        let params = crate::patch::Known::from_parameters(
            params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        validate(&task, &vec![], Shape::Register, &params, false)
            .into_iter()
            .map(|v| v.rule.id)
            .collect()
    }

    #[test]
    fn the_next_fargate_size_is_the_smallest_that_fits() {
        assert_eq!(next_fargate_size(256, 512), Some((256, 512)));
        assert_eq!(next_fargate_size(320, 576), Some((512, 1024)));
        assert_eq!(
            next_fargate_size(256, 1536),
            Some((256, 2048)),
            "256 has no 1536"
        );
        assert_eq!(next_fargate_size(256, 2049), Some((512, 3072)));
        assert_eq!(next_fargate_size(4097, 8192), Some((8192, 16384)));
        assert_eq!(next_fargate_size(16384, 122880), Some((16384, 122880)));
        assert_eq!(next_fargate_size(16385, 512), None);
        assert_eq!(next_fargate_size(256, 122881), None);
        for cpu in [1, 256, 300, 1024, 5000] {
            for mem in [1, 512, 1500, 8000, 30000, 100000] {
                if let Some((c, m)) = next_fargate_size(cpu, mem) {
                    assert!(fargate_size_ok(c, m, false) && c >= cpu && m >= mem);
                }
            }
        }
    }

    #[test]
    fn fargate_sizes_are_awss_table() {
        assert!(fargate_size_ok(256, 512, false));
        assert!(fargate_size_ok(256, 2048, false));
        assert!(!fargate_size_ok(256, 1536, false));
        assert!(!fargate_size_ok(256, 4096, false));
        assert!(fargate_size_ok(512, 3072, false));
        assert!(!fargate_size_ok(512, 512, false));
        assert!(fargate_size_ok(4096, 30720, false));
        assert!(!fargate_size_ok(4096, 31744, false));
        assert!(fargate_size_ok(8192, 20480, false));
        assert!(
            !fargate_size_ok(8192, 17408, false),
            "8 vCPU: steps of 4 GB"
        );
        assert!(fargate_size_ok(16384, 122880, false));
        assert!(
            !fargate_size_ok(16384, 36864, false),
            "16 vCPU: steps of 8 GB"
        );
        assert!(!fargate_size_ok(256, 512, true), "Windows: 1, 2 or 4 vCPU");
        assert!(fargate_size_ok(1024, 2048, true));
        assert!(!fargate_size_ok(300, 1024, false));
    }

    #[test]
    fn task_sizes_in_every_spelling() {
        assert_eq!(parse_cpu("1024"), Some(1024));
        assert_eq!(parse_cpu("1 vCPU"), Some(1024));
        assert_eq!(parse_cpu(".25 vcpu"), Some(256));
        assert_eq!(parse_cpu("2vCPU"), Some(2048));
        assert_eq!(parse_cpu("lots"), None);
        assert_eq!(parse_memory("2048"), Some(2048));
        assert_eq!(parse_memory("2 GB"), Some(2048));
        assert_eq!(parse_memory("0.5GB"), Some(512));
        assert_eq!(parse_memory("512 MiB"), Some(512));
        assert_eq!(parse_memory("-1 GB"), None);
    }

    #[test]
    fn cycles_through_any_kind_of_reference_are_found() {
        let task = json!({"containerDefinitions": [
            {"name": "a", "dependsOn": [{"containerName": "b", "condition": "START"}]},
            {"name": "b", "volumesFrom": [{"sourceContainer": "c"}]},
            {"name": "c", "links": ["a:alias"]}]});
        let v = validate(
            &task,
            &vec![],
            Shape::Register,
            &crate::patch::Known::default(),
            false,
        );
        let cycle: Vec<&Violation> = v.iter().filter(|v| v.message.contains("cycle")).collect();
        assert_eq!(cycle.len(), 1, "{v:?}");
        assert!(
            cycle[0].message.contains("a → b → c → a"),
            "{}",
            cycle[0].message
        );
        // a chain is no cycle, however long (and no recursion decides the stack's depth)
        let n = 20_000;
        let chain: Vec<Value> = (0..n)
            .map(|i| {
                let mut c = json!({"name": format!("c{i}"), "memory": 6});
                if i + 1 < n {
                    c["dependsOn"] =
                        json!([{"containerName": format!("c{}", i + 1), "condition": "START"}]);
                }
                c
            })
            .collect();
        assert!(rules_of(json!({"containerDefinitions": chain}), &[]).is_empty());
    }

    #[test]
    fn conditions_must_suit_the_container_they_name() {
        let with = |cond: &str, target: Value| {
            let mut t = target;
            t["name"] = json!("init");
            rules_of(
                json!({"memory": "512", "containerDefinitions": [
                    {"name": "app", "dependsOn": [{"containerName": "init", "condition": cond}]}, t]}),
                &[],
            )
        };
        assert_eq!(
            with("COMPLETE", json!({"essential": false})),
            Vec::<&str>::new()
        );
        assert_eq!(
            with("SUCCESS", json!({})),
            vec!["KX028"],
            "essential by default"
        );
        assert_eq!(with("HEALTHY", json!({"essential": false})), vec!["KX028"]);
        assert_eq!(
            with(
                "HEALTHY",
                json!({"healthCheck": {"command": ["CMD", "true"]}})
            ),
            Vec::<&str>::new()
        );
        assert_eq!(with("READY", json!({})), vec!["KX028"]);
    }

    #[test]
    fn budgets_resolve_refs_and_judge_only_what_is_known() {
        let task = |cpu: Value, ccpu: Value| {
            json!({"requiresCompatibilities": ["FARGATE"], "cpu": cpu, "memory": "512",
                   "containerDefinitions": [{"name": "app", "cpu": ccpu},
                                            {"name": "kiltx-tracer", "cpu": 64, "memoryReservation": 64}]})
        };
        let r = json!({"Ref": "Cpu"});
        assert_eq!(
            rules_of(task(r.clone(), r.clone()), &[("Cpu", "256")]),
            vec!["KX061"]
        );
        assert_eq!(
            rules_of(task(json!("256"), json!(192)), &[]),
            Vec::<&str>::new()
        );
        // Fn::Sub over known parameters too, as the budget fitting reads it
        let sub = json!({"Fn::Sub": "${Cpu}"});
        assert_eq!(
            rules_of(task(sub.clone(), sub), &[("Cpu", "256")]),
            vec!["KX061"]
        );
        // unknown: not judged
        assert_eq!(rules_of(task(r.clone(), r), &[]), Vec::<&str>::new());
        // hard limits are not summed; reservations are
        let mem = |app: Value| {
            json!({"requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
                   "containerDefinitions": [app, {"name": "side", "memoryReservation": 64}]})
        };
        assert!(rules_of(mem(json!({"name": "app", "memory": 512})), &[]).is_empty());
        assert_eq!(
            rules_of(mem(json!({"name": "app", "memory": 1024})), &[]),
            vec!["KX062"]
        );
        assert_eq!(
            rules_of(mem(json!({"name": "app", "memoryReservation": 500})), &[]),
            vec!["KX062"]
        );
        assert_eq!(
            rules_of(
                mem(json!({"name": "app", "memory": 100, "memoryReservation": 200})),
                &[]
            ),
            vec!["KX062"]
        );
        // EC2 without task memory: every container needs memory or memoryReservation
        assert_eq!(
            rules_of(
                json!({"containerDefinitions": [{"name": "a"}, {"name": "b", "memory": 64}]}),
                &[]
            ),
            vec!["KX062"]
        );
    }

    #[test]
    fn network_modes_have_their_limits() {
        let t = |mode: &str| {
            json!({"networkMode": mode, "memory": "512", "containerDefinitions": [
                {"name": "a", "links": ["b"], "hostname": "a", "portMappings": [{"containerPort": 80, "hostPort": 8080}]},
                {"name": "b"}]})
        };
        assert_eq!(rules_of(t("bridge"), &[]), Vec::<&str>::new());
        assert_eq!(rules_of(t("host"), &[]), vec!["KX063", "KX063"]);
        assert_eq!(rules_of(t("awsvpc"), &[]), vec!["KX063", "KX063", "KX063"]);
        let fargate_bridge = json!({"requiresCompatibilities": ["FARGATE"], "networkMode": "bridge",
            "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a"}]});
        assert_eq!(rules_of(fargate_bridge, &[]), vec!["KX063"]);
    }
}
