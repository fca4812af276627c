//! Credentials: the set*id family (16- and 32-bit id variants alike) and
//! capset. After a successful call the tracer re-reads the caller's ids
//! (`trace`); the event shows those it had when it made the call.
use super::mem::read_exact;
use super::values::id;
use super::{Call, Entry};
use crate::event::Value;
use crate::syscalls::Sys;

pub fn decode(c: &Call, e: &mut Entry) {
    let (a, v) = (&c.a, &mut e.args);
    match c.sys {
        Sys::Setuid | Sys::Setgid | Sys::Setfsuid | Sys::Setfsgid => {
            v.push(("id", id(a[0])));
        }
        Sys::Setreuid | Sys::Setregid => {
            v.push(("real", id(a[0])));
            v.push(("effective", id(a[1])));
        }
        Sys::Setresuid | Sys::Setresgid => {
            v.push(("real", id(a[0])));
            v.push(("effective", id(a[1])));
            v.push(("saved", id(a[2])));
        }
        Sys::Capset => capset(c, e),
        _ => {} // not a credentials syscall (see decode::entry)
    }
}

/// capset(header, data): the target pid, and the three capability sets of
/// a version 2/3 `data` (two 32-bit halves each) as hex masks.
fn capset(c: &Call, e: &mut Entry) {
    let (tid, a, v) = (c.tid, &c.a, &mut e.args);
    let mut hdr = [0u8; 8];
    let mut data = [0u8; 24];
    if read_exact(tid, a[0], &mut hdr).is_some() {
        let pid = i32::from_ne_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]);
        v.push(("pid", Value::Int(i64::from(pid))));
    }
    if read_exact(tid, a[1], &mut data).is_some() {
        let w = |i: usize| u32::from_ne_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
        let cap = |lo: usize| u64::from(w(lo)) | (u64::from(w(lo + 12)) << 32);
        v.push(("effective", Value::Str(format!("{:#x}", cap(0)))));
        v.push(("permitted", Value::Str(format!("{:#x}", cap(4)))));
        v.push(("inheritable", Value::Str(format!("{:#x}", cap(8)))));
    }
}
