//! Other processes: ptrace, kill, tkill, tgkill, process_vm_readv/writev, and
//! namespaces (unshare, setns). Fork, clone and exit are not decoded here:
//! `trace` reports them as process events from ptrace's fork and exit events.
use super::path::fd_path;
use super::values::{flag_names, int32, signal_name, CLONE_FLAGS};
use super::{Call, Entry};
use crate::event::Value;
use crate::syscalls::Sys;

pub fn decode(c: &Call, e: &mut Entry) {
    let (tid, a, v) = (c.tid, &c.a, &mut e.args);
    match c.sys {
        Sys::Ptrace => {
            v.push(("request", ptrace_request(a[0])));
            v.push(("pid", int32(a[1])));
        }
        Sys::Kill | Sys::Tkill => {
            v.push(("pid", int32(a[0])));
            v.push(("signal", Value::Str(signal_name(a[1] as i32))));
        }
        Sys::Tgkill => {
            v.push(("tgid", int32(a[0])));
            v.push(("tid", int32(a[1])));
            v.push(("signal", Value::Str(signal_name(a[2] as i32))));
        }
        Sys::Unshare => v.push(("flags", Value::Names(flag_names(a[0], CLONE_FLAGS)))),
        Sys::Setns => {
            v.push(("fd", int32(a[0])));
            v.push(("abspath", fd_path(tid, c.fd(0))));
            v.push(("nstype", Value::Names(flag_names(a[1], CLONE_FLAGS))));
        }
        Sys::ProcessVmReadv | Sys::ProcessVmWritev => v.push(("pid", int32(a[0]))),
        _ => {} // not a process syscall (see decode::entry)
    }
}

/// A ptrace request by name (the common ones), or its number.
fn ptrace_request(r: u64) -> Value {
    let req = match r as i64 {
        0 => "PTRACE_TRACEME",
        1 => "PTRACE_PEEKTEXT",
        2 => "PTRACE_PEEKDATA",
        4 => "PTRACE_POKETEXT",
        5 => "PTRACE_POKEDATA",
        7 => "PTRACE_CONT",
        8 => "PTRACE_KILL",
        12 => "PTRACE_GETREGS",
        13 => "PTRACE_SETREGS",
        16 => "PTRACE_ATTACH",
        17 => "PTRACE_DETACH",
        24 => "PTRACE_SYSCALL",
        0x4200 => "PTRACE_SETOPTIONS",
        0x4206 => "PTRACE_SEIZE",
        0x4207 => "PTRACE_INTERRUPT",
        _ => return Value::Int(r as i64),
    };
    Value::Str(req.into())
}
