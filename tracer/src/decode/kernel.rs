//! Code loaded into the kernel or run from memory: init_module,
//! finit_module, delete_module, bpf, memfd_create.
use super::mem::str_value;
use super::path::fd_path;
use super::values::{flag_names, int32, FlagTable};
use super::{Call, Entry};
use crate::event::Value;
use crate::syscalls::Sys;

const MFD_FLAGS: FlagTable = &[
    (1, "MFD_CLOEXEC"),
    (2, "MFD_ALLOW_SEALING"),
    (4, "MFD_HUGETLB"),
    (8, "MFD_NOEXEC_SEAL"),
    (16, "MFD_EXEC"),
];

pub fn decode(c: &Call, e: &mut Entry) {
    let (tid, a, v) = (c.tid, &c.a, &mut e.args);
    match c.sys {
        Sys::InitModule => {
            v.push(("len", Value::Int(a[1] as i64)));
            v.push(("params", str_value(tid, a[2], 1024)));
        }
        Sys::FinitModule => {
            v.push(("fd", int32(a[0])));
            v.push(("abspath", fd_path(tid, c.fd(0))));
            v.push(("params", str_value(tid, a[1], 1024)));
        }
        Sys::DeleteModule => v.push(("name", str_value(tid, a[0], 256))),
        Sys::Bpf => v.push(("cmd", int32(a[0]))),
        Sys::MemfdCreate => {
            v.push(("name", str_value(tid, a[0], 256)));
            v.push(("flags", Value::Names(flag_names(a[1], MFD_FLAGS))));
        }
        _ => {} // not a kernel syscall (see decode::entry)
    }
}
