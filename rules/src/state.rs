//! What the engine knows beyond one event: a process table per traced
//! container, built from fork/clone/exec/exit events (parent and ancestor
//! names, exe paths, command lines, start times, cwd, tty, user), the files
//! each container wrote (for `proc.is_exe_upper_layer`) and the container's
//! metadata. Exited processes leave the table, and every table is bounded,
//! so memory stays bounded whatever the workload.
//!
//! Also here: the event as the engine sees it ([`Ev`], a view over the parsed
//! JSON line) and the extraction of every supported field from an event and
//! this state ([`Ctx::extract`]).
use crate::fields::F;
use crate::json::{Obj, J};
use crate::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::borrow::Cow;
use std::collections::VecDeque;

/// Processes kept per container at most (lost exit events cannot make the
/// table grow without bound; the oldest eighth leaves when it is full).
pub const MAX_PROCS: usize = 16_384;
/// Paths remembered as written per container.
pub const MAX_WRITTEN: usize = 4_096;
/// Ancestors followed at most.
pub const MAX_ANCESTORS: usize = 64;

/// An event: a view over one parsed JSON line of `kiltx-tracer`.
pub struct Ev<'a> {
    /// Top-level keys the engine does not read itself (looked up by `key`).
    pub extra: &'a Obj<'a>,
    pub euid: Option<i64>,
    pub egid: Option<i64>,
    /// `syscall`, `process`, `stats`, `tracer`, `collector`.
    pub kind: &'a str,
    /// The syscall as the tracer names it.
    pub syscall: &'a str,
    /// The event type as Falco names it (`procexit` for an exit).
    pub evt_type: &'a str,
    pub ts: &'a str,
    pub ts_ns: Option<i64>,
    pub seq: Option<i64>,
    pub container: Option<&'a str>,
    pub pid: Option<i64>,
    pub tid: Option<i64>,
    pub ppid: Option<i64>,
    pub comm: Option<&'a str>,
    pub exe: Option<&'a str>,
    pub args: Option<&'a Obj<'a>>,
    pub result: Option<i64>,
    pub errno: Option<&'a str>,
}

impl<'a> Ev<'a> {
    /// `None` for a line that is not an object.
    pub fn new(v: &'a J<'a>) -> Option<Ev<'a>> {
        let raw = v.as_object()?;
        let mut e = Ev {
            extra: raw,
            euid: None,
            egid: None,
            kind: "",
            syscall: "",
            evt_type: "",
            ts: "",
            ts_ns: None,
            seq: None,
            container: None,
            pid: None,
            tid: None,
            ppid: None,
            comm: None,
            exe: None,
            args: None,
            result: None,
            errno: None,
        };
        let mut captured = true;
        for (k, v) in raw.iter() {
            match k {
                "ts" => e.ts = v.as_str().unwrap_or(""),
                "seq" => e.seq = v.as_i64(),
                "type" => e.kind = v.as_str().unwrap_or(""),
                "container" => e.container = v.as_str(),
                "pid" => e.pid = v.as_i64(),
                "tid" => e.tid = v.as_i64(),
                "ppid" => e.ppid = v.as_i64(),
                "comm" => e.comm = v.as_str(),
                "exe" => e.exe = v.as_str(),
                "syscall" => e.syscall = v.as_str().unwrap_or(""),
                "args" => e.args = v.as_object(),
                "result_captured" => captured = v.as_bool() != Some(false),
                "result" => e.result = v.as_i64(),
                "errno" => e.errno = v.as_str(),
                "euid" => e.euid = v.as_i64(),
                "egid" => e.egid = v.as_i64(),
                _ => {}
            }
        }
        if !captured {
            e.result = None;
        }
        e.evt_type = match (e.kind, e.syscall) {
            ("process", "exit") => "procexit",
            _ => e.syscall,
        };
        e.ts_ns = parse_rfc3339(e.ts);
        Some(e)
    }

    pub fn arg(&self, k: &str) -> Option<&'a J<'a>> {
        self.args?.get(k).filter(|v| !v.is_null())
    }

    pub fn arg_str(&self, k: &str) -> Option<&'a str> {
        self.arg(k).and_then(J::as_str)
    }

    /// An event key that the tracer may put in `args` or at the top level.
    pub fn key(&self, k: &str) -> Option<&'a J<'a>> {
        self.arg(k)
            .or_else(|| self.extra.get(k).filter(|v| !v.is_null()))
    }

    pub fn is_open(&self) -> bool {
        matches!(self.syscall, "open" | "openat" | "openat2" | "creat")
    }

    pub fn is_exec(&self) -> bool {
        self.kind == "syscall" && matches!(self.syscall, "execve" | "execveat")
    }

    /// Whether the flags argument names `flag`.
    pub fn has_flag(&self, flag: &str) -> bool {
        match self.arg("flags") {
            Some(J::Arr(a)) => a.iter().any(|f| f.as_str() == Some(flag)),
            Some(J::Str(s)) => s.split('|').any(|f| f == flag),
            _ => false,
        }
    }

    /// The socket address this event is about, and whether it is the peer
    /// (`accept`) rather than the address named by the call.
    fn sockaddr(&self) -> Option<(&'a Obj<'a>, &'static str)> {
        let role = match self.syscall {
            "connect" | "sendto" | "sendmsg" => "server",
            "bind" => "local-server",
            "accept" | "accept4" => "client",
            _ => return None,
        };
        let a = if role == "client" {
            self.arg("peer")
        } else {
            self.arg("addr")
        };
        Some((a?.as_object()?, role))
    }
}

/// An event line read without building its top-level object (the fast
/// path): the fields the engine reads, `args`, and the other keys.
pub struct Line<'a> {
    kind: &'a str,
    syscall: &'a str,
    ts: &'a str,
    seq: Option<i64>,
    container: Option<&'a str>,
    pid: Option<i64>,
    tid: Option<i64>,
    ppid: Option<i64>,
    euid: Option<i64>,
    egid: Option<i64>,
    comm: Option<&'a str>,
    exe: Option<&'a str>,
    args: Option<Obj<'a>>,
    captured: bool,
    result: Option<i64>,
    errno: Option<&'a str>,
    extra: Obj<'a>,
}

impl<'a> Line<'a> {
    /// `None` if the line is not a JSON object; `Some(Err(()))` if one of the
    /// strings the engine reads has escapes (then read it whole: `Ev::new`).
    pub fn parse(b: &'a [u8]) -> Option<Result<Line<'a>, ()>> {
        let mut l = Line {
            kind: "",
            syscall: "",
            ts: "",
            seq: None,
            container: None,
            pid: None,
            tid: None,
            ppid: None,
            euid: None,
            egid: None,
            comm: None,
            exe: None,
            args: None,
            captured: true,
            result: None,
            errno: None,
            extra: Obj::default(),
        };
        let mut escaped = false;
        crate::json::members(b, |k, v| {
            let mut text = |v: J<'a>| -> Option<&'a str> {
                match v {
                    J::Str(std::borrow::Cow::Borrowed(s)) => Some(s),
                    J::Str(_) => {
                        escaped = true;
                        None
                    }
                    _ => None,
                }
            };
            match k.as_ref() {
                "ts" => l.ts = text(v).unwrap_or(""),
                "seq" => l.seq = v.as_i64(),
                "type" => l.kind = text(v).unwrap_or(""),
                "container" => l.container = text(v),
                "pid" => l.pid = v.as_i64(),
                "tid" => l.tid = v.as_i64(),
                "ppid" => l.ppid = v.as_i64(),
                "euid" => l.euid = v.as_i64(),
                "egid" => l.egid = v.as_i64(),
                "comm" => l.comm = text(v),
                "exe" => l.exe = text(v),
                "syscall" => l.syscall = text(v).unwrap_or(""),
                "args" => {
                    if let J::Obj(o) = v {
                        l.args = Some(o);
                    }
                }
                "result_captured" => l.captured = v.as_bool() != Some(false),
                "result" => l.result = v.as_i64(),
                "errno" => l.errno = text(v),
                "uid" | "gid" | "abi" => {}
                _ => l.extra.0.push((k, v)),
            }
        })?;
        Some(if escaped { Err(()) } else { Ok(l) })
    }

    pub fn ev(&self) -> Ev<'_> {
        let evt_type = match (self.kind, self.syscall) {
            ("process", "exit") => "procexit",
            _ => self.syscall,
        };
        Ev {
            extra: &self.extra,
            euid: self.euid,
            egid: self.egid,
            kind: self.kind,
            syscall: self.syscall,
            evt_type,
            ts: self.ts,
            ts_ns: parse_rfc3339(self.ts),
            seq: self.seq,
            container: self.container,
            pid: self.pid,
            tid: self.tid,
            ppid: self.ppid,
            comm: self.comm,
            exe: self.exe,
            args: self.args.as_ref(),
            result: if self.captured { self.result } else { None },
            errno: self.errno,
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` as nanoseconds since the epoch.
pub fn parse_rfc3339(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { t.get(r)?.parse().ok() };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut nanos = 0i64;
    let ranges = [
        (y, 0, 9999),
        (m, 1, 12),
        (d, 1, 31),
        (hh, 0, 23),
        (mm, 0, 59),
        (ss, 0, 60),
    ];
    if ranges.iter().any(|(v, lo, hi)| v < lo || v > hi) || !b[..19].iter().all(|c| c.is_ascii()) {
        return None;
    }
    let mut rest = t.get(19..)?;
    if let Some(r) = rest.strip_prefix('.') {
        let len = r.bytes().take_while(u8::is_ascii_digit).count();
        rest = &r[len..];
        let mut n: i64 = 0;
        for c in r.bytes().take(len.min(9)) {
            n = n * 10 + i64::from(c - b'0');
        }
        for _ in len.min(9)..9 {
            n *= 10;
        }
        nanos = n;
    }
    if rest != "Z" {
        return None;
    }
    // days_from_civil (Howard Hinnant)
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    // i64 nanoseconds reach the year 2262
    let ns =
        i128::from(days * 86_400 + hh * 3600 + mm * 60 + ss) * 1_000_000_000 + i128::from(nanos);
    i64::try_from(ns).ok()
}

/// A process as the table knows it.
#[derive(Clone, Debug, Default)]
pub struct Proc {
    pub ppid: i64,
    pub comm: String,
    pub exepath: String,
    /// argv as exec'd (argv[0] included); empty if never seen.
    pub argv: Vec<String>,
    pub cwd: Option<String>,
    /// When the process was created (its fork), in ns; `None` if it was
    /// running before the tracer saw it start.
    pub start_ns: Option<i64>,
    pub tty: Option<i64>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub loginuid: Option<i64>,
    /// The effective capabilities, space-separated (Falco's format).
    pub cap_effective: Option<String>,
}

impl Proc {
    pub fn args(&self) -> String {
        self.argv.get(1..).unwrap_or(&[]).join(" ")
    }

    pub fn cmdline(&self) -> String {
        let a = self.args();
        if a.is_empty() {
            self.comm.clone()
        } else {
            format!("{} {a}", self.comm)
        }
    }
}

/// A container's metadata (from the ECS task metadata endpoint, when the
/// tracer reports it).
#[derive(Clone, Debug, Default)]
pub struct Meta {
    /// The host (in an awsvpc task, the task) the tracer runs on.
    pub hostname: Option<String>,
    pub container_id: Option<String>,
    pub image_repository: Option<String>,
    pub image_tag: Option<String>,
    pub image: Option<String>,
    pub image_digest: Option<String>,
    pub task_arn: Option<String>,
    pub cluster: Option<String>,
    pub runtime: Option<String>,
}

#[derive(Default)]
pub struct ContainerState {
    pub procs: HashMap<i64, Proc>,
    written: HashSet<String>,
    written_order: VecDeque<String>,
    pub meta: Meta,
}

impl ContainerState {
    pub fn was_written(&self, path: &str) -> bool {
        self.written.contains(path)
    }

    fn remember_written(&mut self, path: &str) {
        if !self.written.contains(path) && self.written.insert(path.to_string()) {
            self.written_order.push_back(path.to_string());
            if self.written_order.len() > MAX_WRITTEN {
                if let Some(old) = self.written_order.pop_front() {
                    self.written.remove(&old);
                }
            }
        }
    }

    fn insert(&mut self, pid: i64, p: Proc) {
        if self.procs.len() >= MAX_PROCS && !self.procs.contains_key(&pid) {
            // lost exits (dropped events): the oldest eighth leaves at once
            let mut ages: Vec<(i64, i64)> = self
                .procs
                .iter()
                .map(|(k, p)| (p.start_ns.unwrap_or(i64::MIN), *k))
                .collect();
            let n = MAX_PROCS / 8;
            ages.select_nth_unstable(n);
            for (_, k) in &ages[..n] {
                self.procs.remove(k);
            }
        }
        self.procs.insert(pid, p);
    }
}

/// The state of every container seen.
#[derive(Default)]
pub struct State {
    pub containers: HashMap<String, ContainerState>,
}

fn strings(v: Option<&J>) -> Option<Vec<String>> {
    Some(
        v?.as_array()?
            .iter()
            .map(|s| s.as_str().unwrap_or("").to_string())
            .collect(),
    )
}

impl State {
    pub fn container(&self, ev: &Ev) -> Option<&ContainerState> {
        self.containers.get(ev.container.unwrap_or(""))
    }

    /// Learn from `ev` before the rules see it (a new process, an exec).
    pub fn before(&mut self, ev: &Ev) {
        let key = ev.container.unwrap_or("");
        let cs = match self.containers.get_mut(key) {
            Some(cs) => cs,
            None => self.containers.entry(key.to_string()).or_default(),
        };
        if ev.kind == "tracer" || ev.kind == "meta" {
            learn_meta(&mut cs.meta, ev);
            return;
        }
        let Some(pid) = ev.pid else { return };
        if !cs.procs.contains_key(&pid) && (ev.kind == "syscall" || ev.kind == "process") {
            // running before we saw it start (or its fork event was dropped)
            cs.insert(
                pid,
                Proc {
                    ppid: ev.ppid.unwrap_or(0),
                    comm: ev.comm.unwrap_or("").to_string(),
                    exepath: ev.exe.unwrap_or("").to_string(),
                    ..Proc::default()
                },
            );
        }
        match (ev.kind, ev.syscall) {
            ("process", "fork" | "vfork" | "clone" | "clone3") => {
                if ev.arg("thread").and_then(J::as_bool) == Some(true) {
                    return;
                }
                let Some(child) = ev.arg("child_pid").and_then(J::as_i64) else {
                    return;
                };
                let mut p = cs.procs.get(&pid).cloned().unwrap_or_default();
                if !ev.has_flag("CLONE_PARENT") {
                    p.ppid = pid;
                }
                p.start_ns = ev.ts_ns;
                cs.insert(child, p);
            }
            ("syscall", "execve" | "execveat") if ev.result == Some(0) => {
                let p = cs.procs.get_mut(&pid).expect("inserted above");
                p.ppid = ev.ppid.unwrap_or(p.ppid);
                p.comm = ev.comm.unwrap_or("").to_string();
                p.exepath = ev.exe.unwrap_or("").to_string();
                if let Some(a) = strings(ev.arg("argv")) {
                    p.argv = a;
                }
                if let Some(c) = ev.key("cwd").and_then(J::as_str) {
                    p.cwd = Some(c.to_string());
                }
                if let Some(t) = ev.key("tty").and_then(J::as_i64) {
                    p.tty = Some(t);
                }
                if let Some(u) = ev.key("user").and_then(J::as_str) {
                    p.user = Some(u.to_string());
                }
                if let Some(g) = ev.key("group").and_then(J::as_str) {
                    p.group = Some(g.to_string());
                }
                if let Some(l) = ev.key("loginuid").and_then(J::as_i64) {
                    p.loginuid = Some(l);
                }
                if let Some(c) = ev.key("cap_effective").and_then(caps) {
                    p.cap_effective = Some(c);
                }
            }
            ("syscall", _) if ev.result.is_some_and(|r| r >= 0) => {
                let written = if ev.is_open() {
                    (ev.syscall == "creat"
                        || ev.has_flag("O_WRONLY")
                        || ev.has_flag("O_RDWR")
                        || ev.has_flag("O_CREAT"))
                    .then(|| ev.arg_str("abspath"))
                    .flatten()
                } else if matches!(
                    ev.syscall,
                    "rename" | "renameat" | "renameat2" | "link" | "linkat"
                ) {
                    ev.arg_str("newabspath")
                } else {
                    None
                };
                if let Some(w) = written {
                    cs.remember_written(w);
                }
            }
            _ => {}
        }
    }

    /// Forget what `ev` ends (an exited process, a tracer's whole stream).
    pub fn after(&mut self, ev: &Ev) {
        let key = ev.container.unwrap_or("");
        match (ev.kind, ev.syscall) {
            ("process", "exit") if ev.arg("thread").and_then(J::as_bool) != Some(true) => {
                if let (Some(cs), Some(pid)) = (self.containers.get_mut(key), ev.pid) {
                    cs.procs.remove(&pid);
                }
            }
            ("stats", _) if ev.arg("final").and_then(J::as_bool) == Some(true) => {
                // the tracer is gone, and with it every process of that container
                if let Some(cs) = self.containers.get_mut(key) {
                    cs.procs.clear();
                }
            }
            _ => {}
        }
    }

    pub fn processes(&self) -> usize {
        self.containers.values().map(|c| c.procs.len()).sum()
    }
}

/// Capabilities as Falco writes them: names separated by spaces.
fn caps(v: &J) -> Option<String> {
    match v {
        J::Arr(a) => Some(a.iter().filter_map(J::as_str).collect::<Vec<_>>().join(" ")),
        J::Str(s) => Some(s.to_string()),
        _ => None,
    }
}

/// Container metadata from the `meta` event every stream starts with:
/// `args.hostname`, and `args.ecs` with `container_id`, `image`,
/// `image_repository`, `image_tag`, `image_digest`, `task_arn`, `cluster`.
fn learn_meta(m: &mut Meta, ev: &Ev) {
    let Some(args) = ev.args else { return };
    if let Some(h) = args.get("hostname").and_then(J::as_str) {
        m.hostname = Some(h.to_string());
    }
    let src = args.get("ecs").and_then(J::as_object).unwrap_or(args);
    let get = |k: &str| src.get(k).and_then(J::as_str).map(str::to_string);
    m.container_id = get("container_id").or(m.container_id.take());
    m.image_repository = get("image_repository").or(m.image_repository.take());
    m.image_tag = get("image_tag").or(m.image_tag.take());
    m.image = get("image").or(m.image.take());
    m.image_digest = get("image_digest").or(m.image_digest.take());
    m.task_arn = get("task_arn").or(m.task_arn.take());
    m.cluster = get("cluster").or(m.cluster.take());
    m.runtime = get("runtime").or(m.runtime.take());
}

/// A value extracted from an event.
#[derive(Clone, Debug, PartialEq)]
pub enum V<'a> {
    S(Cow<'a, str>),
    N(i64),
    B(bool),
}

impl V<'_> {
    pub fn to_text(&self) -> Cow<'_, str> {
        match self {
            V::S(s) => Cow::Borrowed(s),
            V::N(n) => Cow::Owned(n.to_string()),
            V::B(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        }
    }
}

/// What a field gives for one event: nothing (it cannot be extracted), one
/// value, or several (`proc.aname` without an index: every ancestor).
#[derive(Clone, Debug, PartialEq)]
pub enum Ext<'a> {
    None,
    One(V<'a>),
    Many(Vec<V<'a>>),
}

impl<'a> Ext<'a> {
    fn from_opt(v: Option<V<'a>>) -> Ext<'a> {
        v.map_or(Ext::None, Ext::One)
    }

    pub fn values(&self) -> &[V<'a>] {
        match self {
            Ext::None => &[],
            Ext::One(v) => std::slice::from_ref(v),
            Ext::Many(v) => v,
        }
    }
}

fn st(s: &str) -> V<'_> {
    V::S(Cow::Borrowed(s))
}

fn owned<'a>(s: String) -> V<'a> {
    V::S(Cow::Owned(s))
}

/// An address and port, when known.
type Endpoint<'a> = Option<(&'a str, Option<i64>)>;

/// Everything extraction may read for one event.
pub struct Ctx<'a> {
    pub ev: &'a Ev<'a>,
    pub cs: Option<&'a ContainerState>,
    pub hostname: &'a str,
}

/// `HH:MM:SS.nnnnnnnnn` (UTC) of a time in ns.
pub fn clock(ns: i64, with_nanos: bool) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let rem = secs.rem_euclid(86_400);
    let n = ns.rem_euclid(1_000_000_000);
    if with_nanos {
        format!(
            "{:02}:{:02}:{:02}.{n:09}",
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        )
    } else {
        format!("{:02}:{:02}:{:02}", rem / 3600, rem / 60 % 60, rem % 60)
    }
}

fn dirname(p: &str) -> &str {
    match p.rfind('/') {
        Some(0) => "/",
        Some(i) => &p[..i],
        None => ".",
    }
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// A JSON argument rendered as Falco renders arguments: flags joined with
/// `|`, lists with spaces, socket addresses as `ip:port` or the path.
pub fn render<'v>(v: &'v J) -> Option<Cow<'v, str>> {
    Some(match v {
        J::Null => return None,
        J::Str(s) => Cow::Borrowed(s.as_ref()),
        J::Num(n) => Cow::Borrowed(*n),
        J::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        J::Arr(a) => {
            let parts: Vec<String> = a
                .iter()
                .filter_map(|x| render(x).map(Cow::into_owned))
                .collect();
            let all_flags = a.iter().all(|x| {
                x.as_str().is_some_and(|s| {
                    s.len() > 2
                        && s.bytes()
                            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
                })
            });
            Cow::Owned(parts.join(if all_flags && !a.is_empty() { "|" } else { " " }))
        }
        J::Obj(o) => render_addr(o),
    })
}

/// A socket address as Falco writes it: `ip:port`, `[ip6]:port`, or the path.
pub fn render_addr<'v>(o: &'v Obj) -> Cow<'v, str> {
    if let Some(p) = o.get("path").and_then(J::as_str) {
        Cow::Borrowed(p)
    } else {
        let addr = o.get("address").and_then(J::as_str).unwrap_or("");
        match o.get("port").and_then(J::as_i64) {
            Some(port) if addr.contains(':') => Cow::Owned(format!("[{addr}]:{port}")),
            Some(port) => Cow::Owned(format!("{addr}:{port}")),
            None => Cow::Borrowed(addr),
        }
    }
}

/// Falco's argument names, as the tracer spells them for that syscall.
fn arg_key<'k>(syscall: &str, name: &'k str) -> &'k str {
    match (syscall, name) {
        (_, "name" | "filename") => "path",
        ("ptrace", "request") => "request",
        ("socket", "proto") => "protocol",
        ("connect" | "bind" | "sendto" | "sendmsg", "tuple") => "addr",
        ("accept" | "accept4", "tuple" | "addr") => "peer",
        ("setuid" | "setgid" | "setuid32" | "setgid32", "uid" | "gid") => "id",
        (_, n) => n,
    }
}

impl<'a> Ctx<'a> {
    fn proc_(&self) -> Option<&'a Proc> {
        self.cs?.procs.get(&self.ev.pid?)
    }

    fn parent(&self) -> Option<&'a Proc> {
        let ppid = self.ev.ppid.or_else(|| self.proc_().map(|p| p.ppid))?;
        self.cs?.procs.get(&ppid)
    }

    /// The ancestors, parent first, with their pids.
    fn ancestors(&self) -> Vec<(i64, &'a Proc)> {
        let mut out = Vec::new();
        let (Some(cs), Some(mut pid)) = (self.cs, self.ev.ppid) else {
            return out;
        };
        let mut seen = HashSet::default();
        while out.len() < MAX_ANCESTORS && pid > 0 && seen.insert(pid) {
            let Some(p) = cs.procs.get(&pid) else { break };
            out.push((pid, p));
            pid = p.ppid;
        }
        out
    }

    fn argv0(&self) -> Option<&'a str> {
        self.proc_()?.argv.first().map(String::as_str)
    }

    fn fd_family(&self) -> Option<&'a str> {
        if self.ev.is_open() {
            return Some("file");
        }
        if let Some((a, _)) = self.ev.sockaddr() {
            return a.get("family").and_then(J::as_str);
        }
        None
    }

    /// The server and client sides (address, port) this event names.
    fn endpoints(&self) -> (Endpoint<'a>, Endpoint<'a>) {
        let Some((a, role)) = self.ev.sockaddr() else {
            return (None, None);
        };
        let Some(addr) = a.get("address").and_then(J::as_str) else {
            return (None, None);
        };
        let side = Some((addr, a.get("port").and_then(J::as_i64)));
        match role {
            "client" => (None, side),
            _ => (side, None),
        }
    }

    /// The remote side: the server for connect/sendto, the peer for accept.
    fn remote(&self) -> Option<(&'a str, Option<i64>)> {
        match self.ev.sockaddr()?.1 {
            "local-server" => None,
            _ => {
                let (s, c) = self.endpoints();
                s.or(c)
            }
        }
    }

    fn fd_type(&self) -> Option<&'a str> {
        for k in ["fd_type", "fdtype", "oldfd_type"] {
            if let Some(t) = self.ev.arg_str(k) {
                return Some(t);
            }
        }
        if self.ev.is_open() {
            return Some(if self.ev.has_flag("O_DIRECTORY") {
                "directory"
            } else {
                "file"
            });
        }
        match self.fd_family()? {
            "inet" => Some("ipv4"),
            "inet6" => Some("ipv6"),
            "unix" => Some("unix"),
            _ => None,
        }
    }

    /// Extract field `f` (argument `arg`, already validated).
    pub fn extract(&self, f: F, arg: Option<&str>) -> Ext<'a> {
        let ev = self.ev;
        let one = Ext::from_opt;
        match f {
            F::Missing => Ext::None,
            F::EvtType => one(Some(st(ev.evt_type))),
            F::EvtNum => one(ev.seq.map(V::N)),
            F::EvtTime => one(ev.ts_ns.map(|n| owned(clock(n, true)))),
            F::EvtTimeS => one(ev.ts_ns.map(|n| owned(clock(n, false)))),
            F::EvtTimeIso => one((!ev.ts.is_empty()).then(|| st(ev.ts))),
            F::EvtDatetime => one((ev.ts.len() >= 19)
                .then(|| owned(ev.ts.replace('T', " ").trim_end_matches('Z').to_string()))),
            F::EvtRawtime | F::EvtRawtimeNs => one(ev.ts_ns.map(V::N)),
            F::EvtRawtimeS => one(ev.ts_ns.map(|n| V::N(n / 1_000_000_000))),
            F::EvtRes => one(ev.result.map(|r| {
                if r >= 0 {
                    st("SUCCESS")
                } else {
                    ev.errno
                        .map(st)
                        .unwrap_or_else(|| owned(format!("E{}", -r)))
                }
            })),
            F::EvtRawres => one(ev.result.map(V::N)),
            F::EvtFailed => one(ev.result.map(|r| V::B(r < 0))),
            F::EvtDir => one(Some(st("<"))),
            F::EvtArg | F::EvtRawarg => {
                let Some(name) = arg else { return Ext::None };
                if name == "res"
                    || name == "fd" && (ev.is_open() || ev.syscall.starts_with("accept"))
                {
                    return one(ev.result.map(V::N));
                }
                let v = match name.parse::<usize>() {
                    Ok(n) => ev
                        .args
                        .and_then(|a| a.values().filter(|v| !v.is_null()).nth(n)),
                    Err(_) => ev.arg(arg_key(ev.syscall, name)),
                };
                match v {
                    Some(J::Num(n)) if f == F::EvtRawarg => one(n.parse().ok().map(V::N)),
                    Some(v) => one(render(v).map(V::S)),
                    None => Ext::None,
                }
            }
            F::EvtArgs => {
                let Some(a) = ev.args else { return Ext::None };
                let parts: Vec<String> = a
                    .iter()
                    .filter_map(|(k, v)| render(v).map(|r| format!("{k}={r}")))
                    .collect();
                one(Some(owned(parts.join(" "))))
            }
            F::EvtIsOpenRead | F::EvtIsOpenWrite | F::EvtIsOpenCreate | F::EvtIsOpenExec => {
                if !ev.is_open() {
                    return Ext::None;
                }
                let creat = ev.syscall == "creat";
                let (w, rw) = (ev.has_flag("O_WRONLY") || creat, ev.has_flag("O_RDWR"));
                let b = match f {
                    F::EvtIsOpenRead => rw || !w,
                    F::EvtIsOpenWrite => w || rw,
                    F::EvtIsOpenCreate => creat || ev.has_flag("O_CREAT"),
                    _ => {
                        (creat || ev.has_flag("O_CREAT"))
                            && ev
                                .arg_str("mode")
                                .and_then(|m| i64::from_str_radix(m, 8).ok())
                                .is_some_and(|m| m & 0o111 != 0)
                    }
                };
                one(Some(V::B(b)))
            }
            F::EvtHostname => one(Some(st(self.hostname))),
            F::EvtSource => one(Some(st("syscall"))),
            F::EvtAbspath | F::FsPathName => one(ev.arg_str("abspath").map(st)),
            F::EvtAbspathSrc | F::FsPathSource => one(ev
                .arg_str("oldabspath")
                .or_else(|| ev.arg_str("target"))
                .map(st)),
            F::EvtAbspathDst | F::FsPathTarget => one(ev
                .arg_str("newabspath")
                .or_else(|| ev.arg_str("abspath"))
                .map(st)),
            F::ProcPid => one(ev.pid.map(V::N)),
            F::ProcPpid => one(ev.ppid.map(V::N)),
            F::ProcName => one(ev.comm.map(st)),
            F::ProcExe => one(self.argv0().map(st)),
            F::ProcExepath => one(ev.exe.map(st)),
            F::ProcArgs => one(self
                .proc_()
                .filter(|p| !p.argv.is_empty())
                .map(|p| owned(p.args()))),
            F::ProcCmdline => one(match self.proc_() {
                Some(p) if !p.argv.is_empty() => {
                    let a = p.args();
                    let name = ev.comm.unwrap_or(&p.comm);
                    Some(owned(if a.is_empty() {
                        name.to_string()
                    } else {
                        format!("{name} {a}")
                    }))
                }
                _ => None,
            }),
            F::ProcCmdnargs => one(self
                .proc_()
                .filter(|p| !p.argv.is_empty())
                .map(|p| V::N(p.argv.len() as i64 - 1))),
            F::ProcCmdlenargs => one(self
                .proc_()
                .filter(|p| !p.argv.is_empty())
                .map(|p| V::N(p.argv[1..].iter().map(|a| a.len() as i64).sum()))),
            F::ProcExeline => one(self
                .proc_()
                .filter(|p| !p.argv.is_empty())
                .map(|p| owned(p.argv.join(" ")))),
            F::ProcPname => one(self.parent().map(|p| st(&p.comm))),
            F::ProcPexe => one(self.parent().and_then(|p| p.argv.first()).map(|s| st(s))),
            F::ProcPexepath => one(self.parent().map(|p| st(&p.exepath))),
            F::ProcPcmdline => one(self
                .parent()
                .filter(|p| !p.argv.is_empty())
                .map(|p| owned(p.cmdline()))),
            F::ProcAname | F::ProcApid | F::ProcAexe | F::ProcAexepath | F::ProcAcmdline => {
                let get = |(pid, p): (i64, &'a Proc)| -> Option<V<'a>> {
                    match f {
                        F::ProcAname => Some(st(&p.comm)),
                        F::ProcApid => Some(V::N(pid)),
                        F::ProcAexe => p.argv.first().map(|s| st(s)),
                        F::ProcAexepath => Some(st(&p.exepath)),
                        _ => (!p.argv.is_empty()).then(|| owned(p.cmdline())),
                    }
                };
                match arg.map(str::parse::<usize>) {
                    Some(Ok(0)) => match f {
                        F::ProcAname => one(ev.comm.map(st)),
                        F::ProcApid => one(ev.pid.map(V::N)),
                        F::ProcAexepath => one(ev.exe.map(st)),
                        F::ProcAexe => one(self.argv0().map(st)),
                        _ => one(self
                            .proc_()
                            .filter(|p| !p.argv.is_empty())
                            .map(|p| owned(p.cmdline()))),
                    },
                    Some(Ok(n)) => one(self.ancestors().get(n - 1).copied().and_then(get)),
                    Some(Err(_)) => Ext::None,
                    None => Ext::Many(self.ancestors().into_iter().filter_map(get).collect()),
                }
            }
            F::ProcCwd => one(self.proc_().and_then(|p| p.cwd.as_deref()).map(st)),
            F::ProcTty => one(ev
                .key("tty")
                .and_then(J::as_i64)
                .or_else(|| self.proc_().and_then(|p| p.tty))
                .map(V::N)),
            F::ProcDuration | F::ProcStartTs => {
                let start = self.proc_().and_then(|p| p.start_ns);
                one(match (f, start, ev.ts_ns) {
                    (F::ProcStartTs, Some(s), _) => Some(V::N(s)),
                    (F::ProcDuration, Some(s), Some(now)) => {
                        Some(V::N(now.saturating_sub(s).max(0)))
                    }
                    _ => None,
                })
            }
            F::ProcPpidDuration => one(match (self.parent().and_then(|p| p.start_ns), ev.ts_ns) {
                (Some(s), Some(now)) => Some(V::N(now.saturating_sub(s).max(0))),
                _ => None,
            }),
            F::ProcIsExeFromMemfd => one(ev
                .exe
                .map(|e| V::B(e.starts_with("/memfd:") || e.starts_with("memfd:")))),
            F::ProcIsExeUpperLayer => {
                one(ev.exe.zip(self.cs).map(|(e, cs)| V::B(cs.was_written(e))))
            }
            F::ThreadTid => one(ev.tid.map(V::N)),
            F::ThreadIsMain => one(ev.tid.zip(ev.pid).map(|(t, p)| V::B(t == p))),
            F::UserUid => one(ev.euid.map(V::N)),
            F::UserLoginuid => one(ev
                .key("loginuid")
                .and_then(J::as_i64)
                .or_else(|| self.proc_().and_then(|p| p.loginuid))
                .map(V::N)),
            F::ThreadCapEffective => match ev.key("cap_effective").and_then(caps) {
                Some(c) => one(Some(owned(c))),
                None => one(self
                    .proc_()
                    .and_then(|p| p.cap_effective.as_deref())
                    .map(st)),
            },
            F::GroupGid => one(ev.egid.map(V::N)),
            F::UserName => one(ev
                .key("user")
                .and_then(J::as_str)
                .or_else(|| self.proc_().and_then(|p| p.user.as_deref()))
                .map(st)),
            F::GroupName => one(ev
                .key("group")
                .filter(|_| !ev.syscall.contains("chown"))
                .and_then(J::as_str)
                .or_else(|| self.proc_().and_then(|p| p.group.as_deref()))
                .map(st)),
            F::FdNum => {
                if ev.is_open() || ev.syscall.starts_with("accept") || ev.syscall == "socket" {
                    one(ev.result.map(|r| V::N(if r < 0 { -1 } else { r })))
                } else if ev.syscall.starts_with("dup") {
                    one(ev.result.map(V::N))
                } else {
                    one(ev.arg("fd").and_then(J::as_i64).map(V::N))
                }
            }
            F::FdName => {
                if ev.is_open() {
                    one(ev.arg_str("abspath").or_else(|| ev.arg_str("path")).map(st))
                } else if let Some((a, _)) = ev.sockaddr() {
                    one(Some(V::S(render_addr(a))))
                } else {
                    Ext::None
                }
            }
            F::FdNameraw => one(if ev.is_open() {
                ev.arg_str("path").map(st)
            } else {
                None
            }),
            F::FdDirectory | F::FdFilename => {
                if !ev.is_open() {
                    return Ext::None;
                }
                let Some(p) = ev.arg_str("abspath") else {
                    return Ext::None;
                };
                one(Some(st(if f == F::FdDirectory {
                    dirname(p)
                } else {
                    basename(p)
                })))
            }
            F::FdType => one(self.fd_type().map(st)),
            F::FdTypechar => one(self.fd_type().and_then(|t| {
                Some(st(match t {
                    "file" => "f",
                    "directory" => "d",
                    "ipv4" => "4",
                    "ipv6" => "6",
                    "unix" => "u",
                    "pipe" => "p",
                    "event" => "e",
                    "signalfd" => "s",
                    "eventpoll" => "l",
                    "inotify" => "i",
                    "timerfd" => "t",
                    "netlink" => "n",
                    "bpf" => "b",
                    "memfd" => "m",
                    _ => return None,
                }))
            })),
            F::FdL4proto => one(ev
                .arg("sock")
                .and_then(J::as_object)
                .and_then(|o| o.get("l4proto"))
                .and_then(J::as_str)
                .or_else(|| ev.arg_str("l4proto"))
                .map(st)
                .or_else(|| {
                    let t = ev.arg_str("socktype").or_else(|| {
                        (ev.syscall != "socket")
                            .then(|| ev.arg_str("type"))
                            .flatten()
                    })?;
                    Some(st(match t {
                        "SOCK_STREAM" => "tcp",
                        "SOCK_DGRAM" => "udp",
                        "SOCK_RAW" => "raw",
                        other => other,
                    }))
                })),
            F::FdSockfamily => one(self.fd_family().and_then(|f| match f {
                "inet" | "inet6" => Some(st("ip")),
                "unix" => Some(st("unix")),
                _ => None,
            })),
            F::FdSip | F::FdSnet => one(self.endpoints().0.map(|e| st(e.0))),
            F::FdCip | F::FdCnet => one(self.endpoints().1.map(|e| st(e.0))),
            F::FdRip | F::FdRnet => one(self.remote().map(|e| st(e.0))),
            F::FdIp | F::FdNet => {
                let (s, c) = self.endpoints();
                Ext::Many(s.into_iter().chain(c).map(|e| st(e.0)).collect())
            }
            F::FdSport => one(self.endpoints().0.and_then(|e| e.1).map(V::N)),
            F::FdCport => one(self.endpoints().1.and_then(|e| e.1).map(V::N)),
            F::FdRport => one(self.remote().and_then(|e| e.1).map(V::N)),
            F::FdPort => {
                let (s, c) = self.endpoints();
                Ext::Many(
                    s.into_iter()
                        .chain(c)
                        .filter_map(|e| e.1)
                        .map(V::N)
                        .collect(),
                )
            }
            F::ContainerId | F::ContainerFullId => one(self
                .cs
                .and_then(|c| c.meta.container_id.as_deref())
                .or(ev.container)
                .map(|id| {
                    if f == F::ContainerId
                        && id.len() > 12
                        && id.bytes().all(|b| b.is_ascii_hexdigit())
                    {
                        st(&id[..12])
                    } else {
                        st(id)
                    }
                })),
            F::ContainerName => one(ev.container.map(st)),
            F::ContainerImage => one(self.cs.and_then(|c| c.meta.image.as_deref()).map(st)),
            F::ContainerImageRepository | F::ContainerImageTag => {
                let m = self.cs.map(|c| &c.meta);
                let given = match f {
                    F::ContainerImageRepository => m.and_then(|m| m.image_repository.as_deref()),
                    _ => m.and_then(|m| m.image_tag.as_deref()),
                };
                if let Some(g) = given {
                    return one(Some(st(g)));
                }
                let Some(img) = self.cs.and_then(|c| c.meta.image.as_deref()) else {
                    return Ext::None;
                };
                let img = img.split('@').next().unwrap_or(img);
                let (repo, tag) = match img.rfind(':') {
                    Some(i) if !img[i..].contains('/') => (&img[..i], Some(&img[i + 1..])),
                    _ => (img, None),
                };
                one(if f == F::ContainerImageRepository {
                    Some(st(repo))
                } else {
                    tag.map(st)
                })
            }
            F::ContainerImageDigest => {
                one(self.cs.and_then(|c| c.meta.image_digest.as_deref()).map(st))
            }
            F::ContainerType => one(self.cs.and_then(|c| c.meta.runtime.as_deref()).map(st)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_to_nanoseconds() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00.000000005Z"), Some(5));
        assert_eq!(
            parse_rfc3339("2024-02-29T23:59:59.123456789Z"),
            Some(1_709_251_199_123_456_789)
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T23:59:59Z"),
            Some(1_709_251_199_000_000_000)
        );
        assert_eq!(clock(1_709_251_199_123_456_789, true), "23:59:59.123456789");
    }

    #[test]
    fn the_table_is_bounded_when_exits_are_lost() {
        let mut tab = State::default();
        for pid in 0..(MAX_PROCS as i64 + 500) {
            let line = format!(
                r#"{{"ts":"2026-01-01T00:00:00Z","type":"process","container":"app","pid":{pid},"ppid":1,"comm":"sh","exe":"/bin/sh","syscall":"clone","args":{{"child_pid":{},"thread":false,"flags":[]}},"result":1}}"#,
                pid + 1_000_000
            );
            let v = crate::json::parse(line.as_bytes()).unwrap();
            tab.before(&Ev::new(&v).unwrap());
        }
        let n = tab.processes();
        assert!(n <= MAX_PROCS && n > MAX_PROCS * 7 / 8, "{n}");
    }

    #[test]
    fn table_follows_fork_exec_exit() {
        let lines = [
            r#"{"ts":"2026-01-01T00:00:00Z","seq":1,"type":"process","container":"app","pid":10,"tid":10,"ppid":1,"comm":"sh","exe":"/bin/dash","syscall":"clone","args":{"child_pid":11,"child_tid":11,"thread":false,"flags":[]},"result_captured":true,"result":11}"#,
            r#"{"ts":"2026-01-01T00:00:01Z","seq":2,"type":"syscall","container":"app","pid":11,"tid":11,"ppid":10,"comm":"cat","exe":"/bin/cat","syscall":"execve","args":{"path":"/bin/cat","abspath":"/bin/cat","argv":["cat","/etc/shadow"]},"result_captured":true,"result":0}"#,
        ];
        let mut tab = State::default();
        let vals: Vec<J> = lines
            .iter()
            .map(|l| crate::json::parse(l.as_bytes()).unwrap())
            .collect();
        for v in &vals {
            let ev = Ev::new(v).unwrap();
            tab.before(&ev);
        }
        let ev = Ev::new(&vals[1]).unwrap();
        let ctx = Ctx {
            ev: &ev,
            cs: tab.container(&ev),
            hostname: "h",
        };
        assert_eq!(ctx.extract(F::ProcPname, None), Ext::One(st("sh")));
        assert_eq!(
            ctx.extract(F::ProcCmdline, None),
            Ext::One(owned("cat /etc/shadow".into()))
        );
        assert_eq!(
            ctx.extract(F::ProcDuration, None),
            Ext::One(V::N(1_000_000_000))
        );
        assert_eq!(ctx.extract(F::ProcAname, Some("1")), Ext::One(st("sh")));
        assert_eq!(tab.processes(), 2);
        let exit = crate::json::parse(br#"{"type":"process","container":"app","pid":11,"syscall":"exit","args":{"thread":false}}"#).unwrap();
        tab.after(&Ev::new(&exit).unwrap());
        assert_eq!(tab.processes(), 1);
    }
}
