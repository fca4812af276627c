//! execve, execveat: the program's path and argv. The result comes from the
//! exec event (success) or the exit stop (failure).
use super::mem::read_argv;
use super::path::{dirfd_value, push_path};
use super::values::{flag_names, AT_FLAGS};
use super::{Call, Entry};
use crate::event::Value;
use crate::syscalls::Sys;

pub fn decode(c: &Call, e: &mut Entry) {
    let (tid, a, v) = (c.tid, &c.a, &mut e.args);
    // execve(path, argv, envp); execveat(dirfd, path, argv, envp, flags)
    let (dirfd, path, argv) = match c.sys {
        Sys::Execveat => (Some(c.fd(0)), a[1], a[2]),
        _ => (None, a[0], a[1]),
    };
    if let Some(d) = dirfd {
        v.push(("dirfd", dirfd_value(d)));
    }
    push_path(v, "path", "abspath", tid, dirfd, path);
    v.push((
        "argv",
        read_argv(tid, c.abi, argv)
            .map(Value::Strs)
            .unwrap_or(Value::Null),
    ));
    if c.sys == Sys::Execveat {
        v.push(("flags", Value::Names(flag_names(a[4], AT_FLAGS))));
    }
}
