//! The tracing loop: one thread waits for ptrace stops of every task of the
//! application tree, decodes the syscalls the seccomp filter sent to it,
//! resumes the task, and queues events.
use crate::arch::{self, Abi};
use crate::decode::{self, Ctx, PathList};
use crate::event::{Event, Kind, Outcome, Value, Who};
use crate::seccomp::Filter;
use crate::sink::Sink;
use crate::sys::{self, OP_EXIT};
use crate::syscalls::{self, IoUring, Sys};
use std::collections::HashMap;
use std::sync::Arc;

pub const PTRACE_OPTIONS: libc::c_int = libc::PTRACE_O_TRACESECCOMP
    | libc::PTRACE_O_TRACESYSGOOD
    | libc::PTRACE_O_TRACEFORK
    | libc::PTRACE_O_TRACEVFORK
    | libc::PTRACE_O_TRACECLONE
    | libc::PTRACE_O_TRACEEXEC
    | libc::PTRACE_O_EXITKILL;

/// Per-process state (shared by the threads of a thread group).
#[derive(Clone, Debug)]
struct Proc {
    ppid: i32,
    uid: u32,
    gid: u32,
    euid: u32,
    egid: u32,
    comm: Arc<str>,
    exe: Arc<str>,
}

/// A syscall waiting for its exit stop.
struct Pending {
    sys: Sys,
    name: &'static str,
    abi: Abi,
    ts: (i64, u32),
    args: Vec<(&'static str, Value)>,
    exit_ptrs: Option<(u64, u64)>,
    alert: Option<&'static str>,
}

struct Task {
    tgid: i32,
    pending: Option<Pending>,
}

pub struct Tracer<'a> {
    filter: &'a Filter,
    sink: &'a Sink,
    sensitive: PathList,
    all_opens: bool,
    io_uring: IoUring,
    tasks: HashMap<i32, Task>,
    procs: HashMap<i32, Proc>,
    /// New tasks whose first stop came before their parent's fork event.
    unannounced: HashMap<i32, i32>,
    app: i32,
    /// User and group names for exec events.
    accounts: decode::Accounts,
}

/// How the application ended.
#[derive(Clone, Copy, Debug)]
pub enum AppExit {
    Code(i32),
    Signal(i32),
}

impl AppExit {
    pub fn status(self) -> i32 {
        match self {
            AppExit::Code(c) => c,
            AppExit::Signal(s) => 128 + s,
        }
    }
}

fn read_small(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// (uid, gid, euid, egid) from /proc/TID/status.
fn read_creds(tid: i32) -> Option<(u32, u32, u32, u32)> {
    let s = read_small(&format!("/proc/{tid}/status"))?;
    let mut uid = None;
    let mut gid = None;
    for line in s.lines() {
        let mut f = line.split_whitespace();
        match f.next() {
            Some("Uid:") => {
                let r = f.next()?.parse().ok()?;
                let e = f.next()?.parse().ok()?;
                uid = Some((r, e));
            }
            Some("Gid:") => {
                let r = f.next()?.parse().ok()?;
                let e = f.next()?.parse().ok()?;
                gid = Some((r, e));
            }
            _ => {}
        }
    }
    let (u, eu) = uid?;
    let (g, eg) = gid?;
    Some((u, g, eu, eg))
}

fn exe_of(pid: i32) -> Arc<str> {
    match std::fs::read_link(format!("/proc/{pid}/exe")) {
        Ok(p) => Arc::from(p.to_string_lossy().as_ref()),
        Err(_) => Arc::from(""),
    }
}

fn comm_of(pid: i32) -> Arc<str> {
    match read_small(&format!("/proc/{pid}/comm")) {
        Some(c) => Arc::from(c.trim_end_matches('\n')),
        None => Arc::from(""),
    }
}

impl<'a> Tracer<'a> {
    pub fn new(
        filter: &'a Filter,
        sink: &'a Sink,
        sensitive: PathList,
        all_opens: bool,
        io_uring: IoUring,
        app: i32,
    ) -> Tracer<'a> {
        let mut t = Tracer {
            filter,
            sink,
            sensitive,
            all_opens,
            io_uring,
            tasks: HashMap::new(),
            procs: HashMap::new(),
            unannounced: HashMap::new(),
            app,
            accounts: decode::Accounts::default(),
        };
        let me = sys::getpid();
        let (uid, gid, euid, egid) = read_creds(me).unwrap_or((0, 0, 0, 0));
        t.procs.insert(
            app,
            Proc {
                ppid: me,
                uid,
                gid,
                euid,
                egid,
                comm: comm_of(app),
                exe: exe_of(app),
            },
        );
        t.tasks.insert(
            app,
            Task {
                tgid: app,
                pending: None,
            },
        );
        t
    }

    fn who(&self, tid: i32) -> Option<Who> {
        let task = self.tasks.get(&tid)?;
        let p = self.procs.get(&task.tgid)?;
        Some(Who {
            pid: task.tgid,
            tid,
            ppid: p.ppid,
            uid: p.uid,
            gid: p.gid,
            euid: p.euid,
            egid: p.egid,
            comm: p.comm.clone(),
            exe: p.exe.clone(),
        })
    }

    /// An exec event's process facts (cwd, tty, user and group names),
    /// read while `tid` is stopped.
    fn exec_facts(&mut self, tid: i32) -> Vec<(&'static str, Value)> {
        let (euid, egid) = self
            .tasks
            .get(&tid)
            .and_then(|t| self.procs.get(&t.tgid))
            .map(|p| (p.euid, p.egid))
            .unwrap_or((u32::MAX, u32::MAX));
        decode::exec_facts(tid, euid, egid, &mut self.accounts)
    }

    fn emit(&self, mut ev: Event, tid: i32) {
        ev.who = self.who(tid);
        self.sink.push(ev);
    }

    /// Run until the application's main process has exited.
    pub fn run(&mut self) -> AppExit {
        loop {
            let w = match sys::wait_any() {
                Ok(w) => w,
                Err(e) => {
                    crate::warn!("kiltx-tracer: wait failed: {e}");
                    return AppExit::Code(1);
                }
            };
            if let Some(exit) = self.dispatch(w.pid, w.status) {
                return exit;
            }
        }
    }

    /// Handle one wait status; `Some` when the application has exited.
    fn dispatch(&mut self, pid: i32, st: i32) -> Option<AppExit> {
        if libc::WIFEXITED(st) || libc::WIFSIGNALED(st) {
            let how = if libc::WIFEXITED(st) {
                AppExit::Code(libc::WEXITSTATUS(st))
            } else {
                AppExit::Signal(libc::WTERMSIG(st))
            };
            self.on_exit(pid, how, libc::WIFSIGNALED(st) && libc::WCOREDUMP(st));
            self.unannounced.remove(&pid);
            if pid == self.app {
                return Some(how);
            }
            return None;
        }
        if !libc::WIFSTOPPED(st) {
            return None;
        }
        self.sink.count_stop();
        let sig = libc::WSTOPSIG(st);
        let event = (st >> 16) & 0xff;
        if !self.tasks.contains_key(&pid) {
            // A new task reporting before its parent's fork event: hold it
            // until the parent's event tells us who it is.
            self.unannounced.insert(pid, st);
            return None;
        }
        match event {
            libc::PTRACE_EVENT_SECCOMP => self.on_seccomp(pid),
            libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK | libc::PTRACE_EVENT_CLONE => {
                self.on_fork(pid, event)
            }
            libc::PTRACE_EVENT_EXEC => self.on_exec(pid),
            libc::PTRACE_EVENT_STOP => {
                if matches!(
                    sig,
                    libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU
                ) {
                    // group-stop: stay stopped, but let SIGCONT be seen
                    let _ = sys::listen(pid);
                } else {
                    let _ = sys::cont(pid, 0);
                }
            }
            0 if sig == (libc::SIGTRAP | 0x80) => self.on_syscall_exit(pid),
            0 => {
                // signal-delivery-stop: deliver the signal unchanged
                let _ = sys::cont(pid, sig);
            }
            _ => {
                let _ = sys::cont(pid, 0);
            }
        }
        None
    }

    fn on_exit(&mut self, tid: i32, how: AppExit, core: bool) {
        let Some(task) = self.tasks.get(&tid) else {
            return;
        };
        let tgid = task.tgid;
        // a syscall still waiting for its result (killed while blocked in it)
        if let Some(p) = self.tasks.get_mut(&tid).and_then(|t| t.pending.take()) {
            self.emit_pending(p, tid, Outcome::NotCaptured);
        }
        let mut ev = Event::new(Kind::Process, self.sink.next_seq(), "exit");
        ev.args.push(("thread", Value::Bool(tid != tgid)));
        match how {
            AppExit::Code(c) => {
                ev.args.push(("code", Value::Int(i64::from(c))));
                ev.outcome = Outcome::Ok(i64::from(c));
            }
            AppExit::Signal(s) => {
                ev.args.push(("signal", Value::Str(decode::signal_name(s))));
                ev.args.push(("core_dumped", Value::Bool(core)));
                ev.outcome = Outcome::Ok(128 + i64::from(s));
            }
        }
        self.emit(ev, tid);
        self.tasks.remove(&tid);
        if tid == tgid {
            self.procs.remove(&tgid);
        }
        if !self.unannounced.is_empty() {
            self.adopt_unannounced();
        }
    }

    /// New tasks held until their parent's fork event: if that parent died
    /// before reporting it, learn who they are from /proc and let them run.
    fn adopt_unannounced(&mut self) {
        let held: Vec<(i32, i32)> = self.unannounced.iter().map(|(t, s)| (*t, *s)).collect();
        for (tid, st) in held {
            let Some(status) = read_small(&format!("/proc/{tid}/status")) else {
                continue;
            };
            let field = |name: &str| -> Option<i32> {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .and_then(|v| v.trim().parse().ok())
            };
            let (Some(tgid), Some(ppid)) = (field("Tgid:"), field("PPid:")) else {
                continue;
            };
            let parent_alive = self.tasks.contains_key(&ppid) || self.tasks.contains_key(&tgid);
            if parent_alive && tgid != tid {
                continue; // a thread whose creator's event is still to come
            }
            if parent_alive && self.procs.contains_key(&ppid) {
                continue; // the parent will report it
            }
            if tgid == tid {
                let (uid, gid, euid, egid) = read_creds(tid).unwrap_or((0, 0, 0, 0));
                self.procs.insert(
                    tid,
                    Proc {
                        ppid,
                        uid,
                        gid,
                        euid,
                        egid,
                        comm: comm_of(tid),
                        exe: exe_of(tid),
                    },
                );
            }
            self.tasks.insert(
                tid,
                Task {
                    tgid,
                    pending: None,
                },
            );
            self.unannounced.remove(&tid);
            let _ = self.dispatch(tid, st);
        }
    }

    /// PTRACE_GET_SYSCALL_INFO, or `None` when the kernel lacks it (and
    /// from then on the registers are used).
    fn syscall_info(tid: i32) -> Option<sys::SyscallInfo> {
        if sys::regs_only() {
            return None;
        }
        match sys::syscall_info(tid) {
            Ok(i) => Some(i),
            Err(e) => {
                if matches!(e.raw_os_error(), Some(libc::EIO) | Some(libc::EINVAL)) {
                    sys::set_regs_only();
                }
                None
            }
        }
    }

    fn on_seccomp(&mut self, tid: i32) {
        let info = match Self::syscall_info(tid) {
            Some(i) if i.op == sys::OP_SECCOMP => Some(i),
            Some(_) => {
                let _ = sys::cont(tid, 0);
                return;
            }
            None => None,
        };
        let ret_data = match &info {
            Some(i) => i.ret_data,
            None => sys::event_msg(tid).map(|m| m as u32).unwrap_or(u32::MAX),
        };
        let Some(entry) = self.filter.entry(ret_data).copied() else {
            let _ = sys::cont(tid, 0);
            return;
        };
        let info = match info {
            Some(i) => i,
            None => match arch::syscall_from_regs(tid, entry.abi) {
                Ok((nr, args)) => sys::SyscallInfo {
                    op: sys::OP_SECCOMP,
                    arch: match entry.abi {
                        Abi::Compat => arch::COMPAT_AUDIT_ARCH,
                        _ => arch::NATIVE_AUDIT_ARCH,
                    },
                    nr,
                    args,
                    ret_data,
                    ..Default::default()
                },
                Err(_) => {
                    let _ = sys::cont(tid, 0);
                    return;
                }
            },
        };
        let ts = sys::now();
        let abi = arch::abi_of(info.arch, info.nr).unwrap_or(entry.abi);
        let ctx = Ctx {
            sensitive: &self.sensitive,
            all_opens: self.all_opens,
            io_uring: self.io_uring,
        };
        let d = decode::entry(&ctx, tid, abi, entry.sys, &info.args);
        if let Some(errno) = d.deny {
            // fail the call without running it; no exit stop is needed
            let outcome = match arch::deny_syscall(tid, errno) {
                Ok(()) => Outcome::Err(errno),
                Err(_) => Outcome::NotCaptured,
            };
            let _ = sys::cont(tid, 0);
            let mut ev = Event::new(Kind::Syscall, self.sink.next_seq(), entry.name);
            ev.ts = ts;
            ev.abi = abi.name();
            ev.args = d.args;
            ev.alert = d.alert;
            ev.outcome = outcome;
            self.emit(ev, tid);
            return;
        }
        let is_exec = matches!(entry.sys, Sys::Execve | Sys::Execveat);
        if d.want_result || is_exec {
            if let Some(t) = self.tasks.get_mut(&tid) {
                t.pending = Some(Pending {
                    sys: entry.sys,
                    name: entry.name,
                    abi,
                    ts,
                    args: d.args,
                    exit_ptrs: d.exit_ptrs,
                    alert: d.alert,
                });
            }
            let _ = sys::cont_to_exit(tid, 0);
            return;
        }
        let _ = sys::cont(tid, 0);
        if d.report {
            let mut ev = Event::new(Kind::Syscall, self.sink.next_seq(), entry.name);
            ev.ts = ts;
            ev.abi = abi.name();
            ev.args = d.args;
            ev.alert = d.alert;
            self.emit(ev, tid);
        }
    }

    fn on_syscall_exit(&mut self, tid: i32) {
        let pending = self.tasks.get_mut(&tid).and_then(|t| t.pending.take());
        let Some(p) = pending else {
            let _ = sys::cont(tid, 0);
            return;
        };
        let result = match Self::syscall_info(tid) {
            Some(i) if i.op == OP_EXIT => Some((i.rval, i.is_error)),
            Some(_) => None,
            None => arch::result_from_regs(tid).ok(),
        };
        let outcome = match result {
            Some((v, true)) => Outcome::Err((-v) as i32),
            Some((v, false)) => Outcome::Ok(v),
            None => Outcome::NotCaptured,
        };
        let mut args = p.args;
        if let (Some((addr, lenp)), Outcome::Ok(_)) = (p.exit_ptrs, outcome) {
            args.push(("peer", decode::accept_peer(tid, addr, lenp)));
        }
        if matches!(p.sys, Sys::Execve | Sys::Execveat) {
            // a failed exec: the caller's facts
            args.extend(self.exec_facts(tid));
        }
        let creds_changed = matches!(outcome, Outcome::Ok(_)) && syscalls::changes_ids(p.sys);
        let creds = if creds_changed { read_creds(tid) } else { None };
        let _ = sys::cont(tid, 0);
        // the event shows the ids the caller had when it made the call
        let who = self.who(tid);
        if let Some((u, g, eu, eg)) = creds {
            if let Some(proc_) = self
                .tasks
                .get(&tid)
                .and_then(|t| self.procs.get_mut(&t.tgid))
            {
                proc_.uid = u;
                proc_.gid = g;
                proc_.euid = eu;
                proc_.egid = eg;
            }
        }
        let mut ev = Event::new(Kind::Syscall, self.sink.next_seq(), p.name);
        ev.ts = p.ts;
        ev.abi = p.abi.name();
        ev.args = args;
        ev.outcome = outcome;
        ev.alert = p.alert;
        ev.who = who;
        self.sink.push(ev);
    }

    fn emit_pending(&self, p: Pending, tid: i32, outcome: Outcome) {
        let mut ev = Event::new(Kind::Syscall, self.sink.next_seq(), p.name);
        ev.ts = p.ts;
        ev.abi = p.abi.name();
        ev.args = p.args;
        ev.outcome = outcome;
        ev.alert = p.alert;
        self.emit(ev, tid);
    }

    fn on_exec(&mut self, tid: i32) {
        // After an exec from a non-leader thread, the thread takes the
        // leader's tid; the message tells the former tid.
        let old = sys::event_msg(tid).map(|m| m as i32).unwrap_or(tid);
        let mut pending = None;
        let mut lost = None;
        if old != tid {
            if let Some(t) = self.tasks.remove(&old) {
                pending = t.pending;
            }
        }
        let tgid = self.tasks.get(&tid).map(|t| t.tgid).unwrap_or(tid);
        if let Some(t) = self.tasks.get_mut(&tid) {
            if pending.is_none() {
                pending = t.pending.take();
            } else {
                // the leader was inside a syscall when another thread exec'd
                lost = t.pending.take();
            }
        }
        if let Some(l) = lost {
            self.emit_pending(l, tid, Outcome::NotCaptured);
        }
        let comm = comm_of(tid);
        let exe = exe_of(tid);
        let facts = if pending.is_some() {
            self.exec_facts(tid)
        } else {
            Vec::new()
        };
        let _ = sys::cont(tid, 0);
        if let Some(p) = self.procs.get_mut(&tgid) {
            p.comm = comm;
            p.exe = exe;
        }
        if let Some(p) = pending {
            let mut ev = Event::new(Kind::Syscall, self.sink.next_seq(), p.name);
            ev.ts = p.ts;
            ev.abi = p.abi.name();
            ev.args = p.args;
            if old != tid {
                ev.args.push(("former_tid", Value::Int(i64::from(old))));
            }
            ev.args.extend(facts);
            ev.outcome = Outcome::Ok(0);
            self.emit(ev, tid);
        }
    }

    fn on_fork(&mut self, tid: i32, event: i32) {
        let child = match sys::event_msg(tid) {
            Ok(c) => c as i32,
            Err(_) => {
                let _ = sys::cont(tid, 0);
                return;
            }
        };
        let regs = arch::fork_event_regs(tid).ok();
        let name = regs
            .as_ref()
            .map(arch::fork_syscall_name)
            .unwrap_or(match event {
                libc::PTRACE_EVENT_FORK => "fork",
                libc::PTRACE_EVENT_VFORK => "vfork",
                _ => "clone",
            });
        let flags: u64 = match &regs {
            Some(r) if arch::is_clone3(r) => {
                let mut b = [0u8; 8];
                match sys::read_mem(tid, r.arg0, &mut b) {
                    Ok(8) => u64::from_ne_bytes(b),
                    _ => 0,
                }
            }
            Some(r) if name == "clone" => r.arg0,
            _ if event == libc::PTRACE_EVENT_VFORK => (libc::CLONE_VM | libc::CLONE_VFORK) as u64,
            _ => 0,
        };
        let thread = event == libc::PTRACE_EVENT_CLONE && flags & libc::CLONE_THREAD as u64 != 0;
        let parent_tgid = self.tasks.get(&tid).map(|t| t.tgid).unwrap_or(tid);
        let child_tgid = if thread { parent_tgid } else { child };
        if !thread {
            let mut p = self.procs.get(&parent_tgid).cloned().unwrap_or(Proc {
                ppid: 0,
                uid: 0,
                gid: 0,
                euid: 0,
                egid: 0,
                comm: Arc::from(""),
                exe: Arc::from(""),
            });
            if flags & libc::CLONE_PARENT as u64 == 0 {
                p.ppid = parent_tgid;
            }
            self.procs.insert(child, p);
        }
        self.tasks.insert(
            child,
            Task {
                tgid: child_tgid,
                pending: None,
            },
        );
        let _ = sys::cont(tid, 0);
        if let Some(st) = self.unannounced.remove(&child) {
            // its first stop came early; handle it now that it is known
            let _ = self.dispatch(child, st);
        }
        let mut ev = Event::new(Kind::Process, self.sink.next_seq(), name);
        ev.abi = if regs.as_ref().map(|r| r.compat).unwrap_or(false) {
            Abi::Compat.name()
        } else {
            Abi::Native.name()
        };
        ev.args = vec![
            ("child_pid", Value::Int(i64::from(child_tgid))),
            ("child_tid", Value::Int(i64::from(child))),
            ("thread", Value::Bool(thread)),
            (
                "flags",
                Value::Names(decode::flag_names(flags & !0xff, decode::CLONE_FLAGS)),
            ),
        ];
        ev.outcome = Outcome::Ok(i64::from(child));
        self.emit(ev, tid);
    }
}
