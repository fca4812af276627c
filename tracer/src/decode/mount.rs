//! The filesystem tree: mount, umount2, move_mount, chroot, pivot_root.
use super::mem::{str_value, PATH_MAX};
use super::path::{dirfd_value, push_path};
use super::values::{flag_names, FlagTable};
use super::{Call, Entry};
use crate::event::Value;
use crate::syscalls::Sys;

const MS_FLAGS: FlagTable = &[
    (libc::MS_RDONLY, "MS_RDONLY"),
    (libc::MS_NOSUID, "MS_NOSUID"),
    (libc::MS_NODEV, "MS_NODEV"),
    (libc::MS_NOEXEC, "MS_NOEXEC"),
    (libc::MS_SYNCHRONOUS, "MS_SYNCHRONOUS"),
    (libc::MS_REMOUNT, "MS_REMOUNT"),
    (libc::MS_MANDLOCK, "MS_MANDLOCK"),
    (libc::MS_DIRSYNC, "MS_DIRSYNC"),
    (libc::MS_NOATIME, "MS_NOATIME"),
    (libc::MS_NODIRATIME, "MS_NODIRATIME"),
    (libc::MS_BIND, "MS_BIND"),
    (libc::MS_MOVE, "MS_MOVE"),
    (libc::MS_REC, "MS_REC"),
    (libc::MS_SILENT, "MS_SILENT"),
    (libc::MS_UNBINDABLE, "MS_UNBINDABLE"),
    (libc::MS_PRIVATE, "MS_PRIVATE"),
    (libc::MS_SLAVE, "MS_SLAVE"),
    (libc::MS_SHARED, "MS_SHARED"),
    (libc::MS_RELATIME, "MS_RELATIME"),
    (libc::MS_STRICTATIME, "MS_STRICTATIME"),
    (libc::MS_LAZYTIME, "MS_LAZYTIME"),
];

const UMOUNT_FLAGS: FlagTable = &[
    (1, "MNT_FORCE"),
    (2, "MNT_DETACH"),
    (4, "MNT_EXPIRE"),
    (8, "UMOUNT_NOFOLLOW"),
];

pub fn decode(c: &Call, e: &mut Entry) {
    let (tid, a, v) = (c.tid, &c.a, &mut e.args);
    match c.sys {
        Sys::Mount => {
            v.push(("source", str_value(tid, a[0], PATH_MAX)));
            push_path(v, "target", "abspath", tid, None, a[1]);
            v.push(("fstype", str_value(tid, a[2], 256)));
            v.push(("flags", Value::Names(flag_names(a[3], MS_FLAGS))));
        }
        Sys::Umount2 => {
            push_path(v, "target", "abspath", tid, None, a[0]);
            v.push(("flags", Value::Names(flag_names(a[1], UMOUNT_FLAGS))));
        }
        Sys::MoveMount => {
            v.push(("from_dirfd", dirfd_value(c.fd(0))));
            push_path(v, "from_path", "from_abspath", tid, Some(c.fd(0)), a[1]);
            v.push(("to_dirfd", dirfd_value(c.fd(2))));
            push_path(v, "to_path", "to_abspath", tid, Some(c.fd(2)), a[3]);
        }
        Sys::Chroot => {
            push_path(v, "path", "abspath", tid, None, a[0]);
        }
        Sys::PivotRoot => {
            push_path(v, "new_root", "new_root_abspath", tid, None, a[0]);
            push_path(v, "put_old", "put_old_abspath", tid, None, a[1]);
        }
        _ => {} // not a mount syscall (see decode::entry)
    }
}
