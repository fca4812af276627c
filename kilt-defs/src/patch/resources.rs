//! The task's CPU and memory budget: the sidecars' share fitted into what the task has.
//!
//! ECS refuses a task definition whose containers' `cpu` add up to more than the task's `cpu`,
//! whose containers' `memoryReservation`s add up to more than the task's `memory`, or with a
//! container whose hard `memory` is above the task's. The commonest layout gives the
//! application the whole task, so the definition's sidecar resources (the built-in asks for
//! `cpu: 64` and `memoryReservation: 64`) are requests, fitted into what is free:
//!
//! - a request that fits is kept;
//! - one that does not is lowered to what is free, or left out when nothing is (at least
//!   [`MIN_MEMORY`] MiB for memory): a container without `cpu` shares the CPU the others leave,
//!   and one without a reservation is bounded by the task's memory, which ECS allows whenever
//!   the task has a size (always on Fargate);
//! - a sidecar's hard `memory` above the task's is lowered to the task's;
//! - when the task's size or another container's share is an intrinsic function kiltx cannot
//!   resolve (a `Ref` without a default or `--parameter`), what is free is unknown and the
//!   request is left out (always valid when the task has a size);
//! - a task without a size (EC2) has no budget: the requests are kept (ECS needs each container
//!   there to have `memory` or `memoryReservation`).
//!
//! Every change is a note in the run's report; nothing is taken from the application.

use serde_json::{Map, Value};

use super::fields::{at, entry_name, get};
use super::task::Cx;
use crate::error::{Error, Path};

/// Docker's smallest memory for a container (MiB).
pub const MIN_MEMORY: u64 = 6;

/// CPU units from a `cpu`: `1024`, `"1024"`, `"1 vCPU"`, `".25 vcpu"`.
pub fn parse_cpu(s: &str) -> Option<u64> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    if let Some(n) = lower.strip_suffix("vcpu") {
        let v: f64 = n.trim().parse().ok()?;
        return (v > 0.0).then(|| (v * 1024.0).round() as u64);
    }
    t.parse().ok()
}

/// MiB from a `memory`: `2048`, `"2048"`, `"2 GB"`, `"2GB"`, `"512 MiB"`.
pub fn parse_memory(s: &str) -> Option<u64> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    if let Some(n) = lower.strip_suffix("gb") {
        let v: f64 = n.trim().parse().ok()?;
        return (v > 0.0).then(|| (v * 1024.0).round() as u64);
    }
    if let Some(n) = lower
        .strip_suffix("mib")
        .or_else(|| lower.strip_suffix("mb"))
    {
        return n.trim().parse().ok();
    }
    t.parse().ok()
}

/// The task's size, read before its containers are changed.
#[derive(Debug, Clone, Copy)]
pub(super) struct TaskSize {
    cpu: Figure,
    memory: Figure,
    /// Both written as plain values (not intrinsics) in a task for Fargate: what
    /// `--grow-task` may raise.
    growable: bool,
}

/// A task size `--grow-task` chose: CPU units and MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct NewSize {
    pub(super) cpu: u64,
    pub(super) memory: u64,
}

/// A budget figure: absent, known, or given by something kiltx cannot evaluate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Figure {
    Absent,
    Known(u64),
    Unknown,
}

impl Cx<'_> {
    fn figure(
        &self,
        m: &Map<String, Value>,
        camel: &str,
        parse: fn(&str) -> Option<u64>,
    ) -> Figure {
        match m.iter().find(|(k, _)| k.eq_ignore_ascii_case(camel)) {
            None | Some((_, Value::Null)) => Figure::Absent,
            Some((_, v)) => match self.params.scalar(v).and_then(|t| parse(&t)) {
                Some(n) => Figure::Known(n),
                None => Figure::Unknown,
            },
        }
    }

    /// The task's size: its `cpu` and `memory` (absent for a bare container list).
    pub(super) fn task_size(&self, target: &Value) -> TaskSize {
        match target {
            Value::Object(task) => {
                let plain = |camel: &str| {
                    task.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(camel))
                        .is_some_and(|(_, v)| v.is_string() || v.is_number())
                };
                let fargate = task
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("requiresCompatibilities"))
                    .and_then(|(_, v)| self.params.eval(v))
                    .is_some_and(|v| {
                        v.as_array()
                            .is_some_and(|a| a.iter().any(|x| x.as_str() == Some("FARGATE")))
                    });
                TaskSize {
                    cpu: self.figure(task, "cpu", parse_cpu),
                    memory: self.figure(task, "memory", parse_memory),
                    growable: fargate && plain("cpu") && plain("memory"),
                }
            }
            _ => TaskSize {
                cpu: Figure::Absent,
                memory: Figure::Absent,
                growable: false,
            },
        }
    }

    /// Fit the sidecars' `cpu`, `memoryReservation` and `memory` into the task's budget
    /// (`containers` are the task's containers after the sidecars were placed). Returns what
    /// was changed, as notes for the report, and with `--grow-task` the task's new size when
    /// it had to grow (the caller writes it).
    pub(super) fn fit_budget(
        &self,
        size: TaskSize,
        containers: &mut [Value],
        containers_path: &Path,
    ) -> Result<(Vec<String>, Option<NewSize>), Error> {
        let (mut task_cpu, mut task_mem) = (size.cpu, size.memory);
        if task_cpu == Figure::Absent && task_mem == Figure::Absent {
            return Ok((Vec::new(), None));
        }
        let is_sidecar = |c: &Value| {
            entry_name(c, "name").is_some_and(|n| self.def.sidecars.iter().any(|s| s.name == n))
        };
        // What the application's containers take.
        let mut cpu_used = Figure::Known(0);
        let mut mem_reserved = Figure::Known(0);
        for c in containers.iter().filter(|c| !is_sidecar(c)) {
            let Value::Object(m) = c else { continue };
            cpu_used = add(cpu_used, self.figure(m, "cpu", parse_number));
            mem_reserved = add(
                mem_reserved,
                self.figure(m, "memoryReservation", parse_number),
            );
        }
        let mut notes = Vec::new();
        let mut grown = None;
        if self.run.opts.grow_task {
            // What the sidecars ask for, on top of the application's share.
            let mut cpu_asked = cpu_used;
            let mut mem_asked = mem_reserved;
            let mut hard = 0;
            for c in containers.iter() {
                let Value::Object(m) = c else { continue };
                if let Figure::Known(n) = self.figure(m, "memory", parse_number) {
                    hard = hard.max(n);
                }
                if is_sidecar(c) {
                    cpu_asked = add(cpu_asked, self.figure(m, "cpu", parse_number));
                    mem_asked = add(mem_asked, self.figure(m, "memoryReservation", parse_number));
                }
            }
            match (task_cpu, task_mem, cpu_asked, mem_asked) {
                (Figure::Known(tc), Figure::Known(tm), Figure::Known(c), Figure::Known(r))
                    if c > tc || r.max(hard) > tm =>
                {
                    let want = (c.max(tc), r.max(hard).max(tm));
                    match (size.growable, crate::lint::ecs::next_fargate_size(want.0, want.1)) {
                        (true, Some((nc, nm))) => {
                            notes.push(format!(
                                "the task's size raised from {tc} CPU units / {tm} MiB to {nc} / {nm} (--grow-task): the sidecars' requests did not fit beside the application's containers"
                            ));
                            grown = Some(NewSize { cpu: nc, memory: nm });
                            (task_cpu, task_mem) = (Figure::Known(nc), Figure::Known(nm));
                        }
                        (false, _) => notes.push(
                            "the task's size was not raised (--grow-task): only a Fargate task whose cpu and memory are written as plain values can be; the sidecars' requests were fitted instead".into(),
                        ),
                        (true, None) => notes.push(format!(
                            "the task's size was not raised (--grow-task): no Fargate size has {} CPU units and {} MiB; the sidecars' requests were fitted instead",
                            want.0, want.1
                        )),
                    }
                }
                _ => {}
            }
        }
        for (i, c) in containers.iter_mut().enumerate() {
            if !is_sidecar(c) {
                continue;
            }
            let cpath = at(containers_path, i);
            let name = entry_name(c, "name").unwrap_or_else(|| "sidecar".into());
            let Value::Object(m) = c else { continue };
            let free_cpu = free(task_cpu, cpu_used);
            if let Some(note) = self.fit(m, &cpath, &name, "cpu", free_cpu, 1, "CPU units")? {
                notes.push(note);
            }
            if let Figure::Known(n) = self.figure(m, "cpu", parse_number) {
                cpu_used = add(cpu_used, Figure::Known(n));
            }
            let free_mem = free(task_mem, mem_reserved);
            if let Some(note) = self.fit(
                m,
                &cpath,
                &name,
                "memoryReservation",
                free_mem,
                MIN_MEMORY,
                "MiB",
            )? {
                notes.push(note);
            }
            if let Figure::Known(n) = self.figure(m, "memoryReservation", parse_number) {
                mem_reserved = add(mem_reserved, Figure::Known(n));
            }
            // A hard limit above the task's memory.
            if let Some(note) = self.fit(m, &cpath, &name, "memory", task_mem, MIN_MEMORY, "MiB")? {
                notes.push(note);
            }
        }
        Ok((notes, grown))
    }

    /// Write the task size `--grow-task` chose, as the task wrote its own (a string stays a
    /// string, a number a number).
    pub(super) fn write_size(&self, target: &mut Value, new: NewSize) {
        let Value::Object(task) = target else { return };
        for (camel, n) in [("cpu", new.cpu), ("memory", new.memory)] {
            if let Some((_, v)) = task.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(camel)) {
                *v = match v {
                    Value::Number(_) => Value::from(n),
                    _ => Value::String(n.to_string()),
                };
            }
        }
    }

    /// Fit field `camel` of sidecar `m` into `room`: kept, lowered, or removed. `min` is the
    /// smallest value worth writing.
    #[allow(clippy::too_many_arguments)]
    fn fit(
        &self,
        m: &mut Map<String, Value>,
        cpath: &Path,
        name: &str,
        camel: &str,
        room: Figure,
        min: u64,
        unit: &str,
    ) -> Result<Option<String>, Error> {
        let Some((key, _)) = get(m, camel, cpath)? else {
            return Ok(None);
        };
        let Figure::Known(want) = self.figure(m, camel, parse_number) else {
            return Ok(None); // the definition's own intrinsic: left as written
        };
        let shown = self.site.dialect.key(camel);
        match room {
            Figure::Absent => Ok(None),
            Figure::Known(free) if want <= free => Ok(None),
            Figure::Known(free) if free >= min => {
                m.insert(key, Value::from(free));
                Ok(Some(format!(
                    "{name}'s {shown} lowered from {want} to {free} {unit}: only that is free in the task's budget"
                )))
            }
            Figure::Known(_) => {
                m.remove(&key);
                Ok(Some(format!(
                    "{name}'s {shown} left out: the application's containers take the task's whole budget, so {name} shares what they leave"
                )))
            }
            Figure::Unknown => {
                m.remove(&key);
                let fix = match self.run.opts.frontend {
                    super::Frontend::Cli => " (pass --parameter to let it fit the request)",
                    super::Frontend::Macro => "",
                };
                Ok(Some(format!(
                    "{name}'s {shown} left out: the task's budget is given by values kiltx cannot evaluate{fix}"
                )))
            }
        }
    }
}

fn parse_number(s: &str) -> Option<u64> {
    s.trim().parse().ok()
}

fn add(a: Figure, b: Figure) -> Figure {
    match (a, b) {
        (Figure::Unknown, _) | (_, Figure::Unknown) => Figure::Unknown,
        (Figure::Known(x), Figure::Known(y)) => Figure::Known(x + y),
        (Figure::Known(x), Figure::Absent) | (Figure::Absent, Figure::Known(x)) => Figure::Known(x),
        (Figure::Absent, Figure::Absent) => Figure::Absent,
    }
}

/// What is free of `total` when `used` is taken.
fn free(total: Figure, used: Figure) -> Figure {
    match (total, used) {
        (Figure::Absent, _) => Figure::Absent,
        (Figure::Unknown, _) | (_, Figure::Unknown) => Figure::Unknown,
        (Figure::Known(t), Figure::Known(u)) => Figure::Known(t.saturating_sub(u)),
        (Figure::Known(t), Figure::Absent) => Figure::Known(t),
    }
}
