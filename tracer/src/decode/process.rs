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

/// A ptrace request by name (every request of Linux's `<linux/ptrace.h>`
/// and x86's `<asm/ptrace-abi.h>`, as strace and Falco name them), or its
/// number when unknown.
fn ptrace_request(r: u64) -> Value {
    let req = match r {
        0 => "PTRACE_TRACEME",
        1 => "PTRACE_PEEKTEXT",
        2 => "PTRACE_PEEKDATA",
        3 => "PTRACE_PEEKUSER",
        4 => "PTRACE_POKETEXT",
        5 => "PTRACE_POKEDATA",
        6 => "PTRACE_POKEUSER",
        7 => "PTRACE_CONT",
        8 => "PTRACE_KILL",
        9 => "PTRACE_SINGLESTEP",
        12 => "PTRACE_GETREGS",
        13 => "PTRACE_SETREGS",
        14 => "PTRACE_GETFPREGS",
        15 => "PTRACE_SETFPREGS",
        16 => "PTRACE_ATTACH",
        17 => "PTRACE_DETACH",
        18 => "PTRACE_GETFPXREGS",
        19 => "PTRACE_SETFPXREGS",
        21 => "PTRACE_OLDSETOPTIONS",
        24 => "PTRACE_SYSCALL",
        25 => "PTRACE_GET_THREAD_AREA",
        26 => "PTRACE_SET_THREAD_AREA",
        30 => "PTRACE_ARCH_PRCTL",
        31 => "PTRACE_SYSEMU",
        32 => "PTRACE_SYSEMU_SINGLESTEP",
        33 => "PTRACE_SINGLEBLOCK",
        0x4200 => "PTRACE_SETOPTIONS",
        0x4201 => "PTRACE_GETEVENTMSG",
        0x4202 => "PTRACE_GETSIGINFO",
        0x4203 => "PTRACE_SETSIGINFO",
        0x4204 => "PTRACE_GETREGSET",
        0x4205 => "PTRACE_SETREGSET",
        0x4206 => "PTRACE_SEIZE",
        0x4207 => "PTRACE_INTERRUPT",
        0x4208 => "PTRACE_LISTEN",
        0x4209 => "PTRACE_PEEKSIGINFO",
        0x420a => "PTRACE_GETSIGMASK",
        0x420b => "PTRACE_SETSIGMASK",
        0x420c => "PTRACE_SECCOMP_GET_FILTER",
        0x420d => "PTRACE_SECCOMP_GET_METADATA",
        0x420e => "PTRACE_GET_SYSCALL_INFO",
        0x420f => "PTRACE_GET_RSEQ_CONFIGURATION",
        0x4210 => "PTRACE_SET_SYSCALL_USER_DISPATCH_CONFIG",
        0x4211 => "PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG",
        _ => return Value::Int(r as i64),
    };
    Value::Str(req.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ptrace_requests_by_name() {
        assert_eq!(ptrace_request(0), Value::Str("PTRACE_TRACEME".into()));
        assert_eq!(ptrace_request(16), Value::Str("PTRACE_ATTACH".into()));
        assert_eq!(ptrace_request(0x4206), Value::Str("PTRACE_SEIZE".into()));
        assert_eq!(ptrace_request(3), Value::Str("PTRACE_PEEKUSER".into()));
        assert_eq!(ptrace_request(0x4299), Value::Int(0x4299));
    }
}
