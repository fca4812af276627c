//! Files: opens (open, openat, openat2, creat), names (unlink, rmdir, mkdir,
//! rename, link, symlink, with their `*at` forms), attributes (chmod,
//! chown, truncate) and descriptors duplicated onto stdio (dup2, dup3).
//! Paths are given as passed and resolved; an open is reported when it has
//! write intent or its path is sensitive (or always, in the full profile).
use super::fdinfo;
use super::mem::{read_exact, str_value, PATH_MAX};
use super::path::{dirfd_value, fd_path, push_path};
use super::values::{flag_names, id, int32, octal, FlagTable, AT_FLAGS};
use super::{Call, Entry};
use crate::event::Value;
use crate::syscalls::{Sys, WRITE_INTENT};
use std::borrow::Cow;

const O_FLAGS: FlagTable = &[
    (libc::O_TMPFILE as u64, "O_TMPFILE"),
    (libc::O_SYNC as u64, "O_SYNC"),
    (libc::O_CREAT as u64, "O_CREAT"),
    (libc::O_EXCL as u64, "O_EXCL"),
    (libc::O_NOCTTY as u64, "O_NOCTTY"),
    (libc::O_TRUNC as u64, "O_TRUNC"),
    (libc::O_APPEND as u64, "O_APPEND"),
    (libc::O_NONBLOCK as u64, "O_NONBLOCK"),
    (libc::O_DSYNC as u64, "O_DSYNC"),
    (libc::O_ASYNC as u64, "O_ASYNC"),
    (libc::O_DIRECT as u64, "O_DIRECT"),
    (libc::O_LARGEFILE as u64, "O_LARGEFILE"),
    (libc::O_DIRECTORY as u64, "O_DIRECTORY"),
    (libc::O_NOFOLLOW as u64, "O_NOFOLLOW"),
    (libc::O_NOATIME as u64, "O_NOATIME"),
    (libc::O_CLOEXEC as u64, "O_CLOEXEC"),
    (libc::O_PATH as u64, "O_PATH"),
];

/// Open flags as names, access mode first.
fn open_flags(flags: u64) -> Vec<Cow<'static, str>> {
    let acc = match flags & 3 {
        0 => "O_RDONLY",
        1 => "O_WRONLY",
        2 => "O_RDWR",
        _ => "O_ACCMODE",
    };
    let mut v = vec![Cow::Borrowed(acc)];
    let rest = flags & !3;
    // the i386 O_LARGEFILE (0x8000) differs from x86_64's (0); harmless to
    // show as hex.
    v.extend(flag_names(rest, O_FLAGS));
    v
}

const RENAME_FLAGS: FlagTable = &[
    (1, "RENAME_NOREPLACE"),
    (2, "RENAME_EXCHANGE"),
    (4, "RENAME_WHITEOUT"),
];

/// The mode argument is only used with O_CREAT or O_TMPFILE. O_TMPFILE
/// includes the O_DIRECTORY bit, so it must be tested as a whole: a plain
/// O_DIRECTORY open has no mode.
fn mode_matters(flags: u64) -> bool {
    let tmpfile = libc::O_TMPFILE as u64;
    flags & (libc::O_CREAT as u64) != 0 || flags & tmpfile == tmpfile
}

fn write_intent(flags: u64) -> bool {
    flags & u64::from(WRITE_INTENT) != 0
}

/// The flags and mode of openat2, from its `struct open_how` (zero if it
/// cannot be read).
fn open_how(c: &Call) -> (u64, u64) {
    let mut how = [0u8; 16];
    match read_exact(c.tid, c.a[2], &mut how) {
        Some(()) => (
            u64::from_ne_bytes(how[0..8].try_into().unwrap_or([0; 8])),
            u64::from_ne_bytes(how[8..16].try_into().unwrap_or([0; 8])),
        ),
        None => (0, 0),
    }
}

/// open, openat, openat2, creat: dirfd, path, flags, mode (with O_CREAT or
/// O_TMPFILE); a read-only open is reported only if its path is sensitive.
pub fn open(c: &Call, e: &mut Entry) {
    let a = &c.a;
    let (dirfd, paddr, flags, mode) = match c.sys {
        Sys::Open => (None, a[0], a[1], a[2]),
        Sys::Creat => (
            None,
            a[0],
            (libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC) as u64,
            a[1],
        ),
        Sys::Openat => (Some(c.fd(0)), a[1], a[2], a[3]),
        _ => {
            let (f, m) = open_how(c);
            (Some(c.fd(0)), a[1], f, m)
        }
    };
    let v = &mut e.args;
    if let Some(d) = dirfd {
        v.push(("dirfd", dirfd_value(d)));
    }
    let abs = push_path(v, "path", "abspath", c.tid, dirfd, paddr);
    v.push(("flags", Value::Names(open_flags(flags))));
    if mode_matters(flags) {
        v.push(("mode", octal(mode)));
    }
    if !write_intent(flags) && !c.ctx.all_opens {
        e.report = match &abs {
            Some(p) => c.ctx.sensitive.matches(p),
            None => false,
        };
    }
}

/// unlink, unlinkat, rmdir, mkdir, mkdirat, rename, renameat, renameat2,
/// link, linkat, symlink, symlinkat.
pub fn names(c: &Call, e: &mut Entry) {
    let (tid, a, v) = (c.tid, &c.a, &mut e.args);
    match c.sys {
        Sys::Unlink | Sys::Rmdir => {
            push_path(v, "path", "abspath", tid, None, a[0]);
        }
        Sys::Unlinkat => {
            v.push(("dirfd", dirfd_value(c.fd(0))));
            push_path(v, "path", "abspath", tid, Some(c.fd(0)), a[1]);
            v.push(("flags", Value::Names(flag_names(a[2], AT_FLAGS))));
        }
        Sys::Mkdir => {
            push_path(v, "path", "abspath", tid, None, a[0]);
            v.push(("mode", octal(a[1])));
        }
        Sys::Mkdirat => {
            v.push(("dirfd", dirfd_value(c.fd(0))));
            push_path(v, "path", "abspath", tid, Some(c.fd(0)), a[1]);
            v.push(("mode", octal(a[2])));
        }
        Sys::Rename | Sys::Link => {
            push_path(v, "oldpath", "oldabspath", tid, None, a[0]);
            push_path(v, "newpath", "newabspath", tid, None, a[1]);
        }
        Sys::Renameat | Sys::Renameat2 | Sys::Linkat => {
            v.push(("olddirfd", dirfd_value(c.fd(0))));
            push_path(v, "oldpath", "oldabspath", tid, Some(c.fd(0)), a[1]);
            v.push(("newdirfd", dirfd_value(c.fd(2))));
            push_path(v, "newpath", "newabspath", tid, Some(c.fd(2)), a[3]);
            match c.sys {
                Sys::Renameat2 => v.push(("flags", Value::Names(flag_names(a[4], RENAME_FLAGS)))),
                Sys::Linkat => v.push(("flags", Value::Names(flag_names(a[4], AT_FLAGS)))),
                _ => {}
            }
        }
        Sys::Symlink => {
            v.push(("target", str_value(tid, a[0], PATH_MAX)));
            push_path(v, "linkpath", "abspath", tid, None, a[1]);
        }
        Sys::Symlinkat => {
            v.push(("target", str_value(tid, a[0], PATH_MAX)));
            v.push(("newdirfd", dirfd_value(c.fd(1))));
            push_path(v, "linkpath", "abspath", tid, Some(c.fd(1)), a[2]);
        }
        _ => {} // not a name syscall (see decode::entry)
    }
}

/// chmod, fchmod, fchmodat, fchmodat2, chown, fchown, lchown, fchownat,
/// truncate.
pub fn attrs(c: &Call, e: &mut Entry) {
    let (tid, a, v) = (c.tid, &c.a, &mut e.args);
    match c.sys {
        Sys::Chmod => {
            push_path(v, "path", "abspath", tid, None, a[0]);
            v.push(("mode", octal(a[1])));
        }
        Sys::Fchmodat | Sys::Fchmodat2 => {
            v.push(("dirfd", dirfd_value(c.fd(0))));
            push_path(v, "path", "abspath", tid, Some(c.fd(0)), a[1]);
            v.push(("mode", octal(a[2])));
            if c.sys == Sys::Fchmodat2 {
                v.push(("flags", Value::Names(flag_names(a[3], AT_FLAGS))));
            }
        }
        Sys::Fchmod => {
            v.push(("fd", int32(a[0])));
            v.push(("abspath", fd_path(tid, c.fd(0))));
            v.push(("mode", octal(a[1])));
        }
        Sys::Chown | Sys::Lchown => {
            push_path(v, "path", "abspath", tid, None, a[0]);
            v.push(("owner", id(a[1])));
            v.push(("group", id(a[2])));
        }
        Sys::Fchown => {
            v.push(("fd", int32(a[0])));
            v.push(("abspath", fd_path(tid, c.fd(0))));
            v.push(("owner", id(a[1])));
            v.push(("group", id(a[2])));
        }
        Sys::Fchownat => {
            v.push(("dirfd", dirfd_value(c.fd(0))));
            push_path(v, "path", "abspath", tid, Some(c.fd(0)), a[1]);
            v.push(("owner", id(a[2])));
            v.push(("group", id(a[3])));
            v.push(("flags", Value::Names(flag_names(a[4], AT_FLAGS))));
        }
        Sys::Truncate => {
            push_path(v, "path", "abspath", tid, None, a[0]);
            v.push(("length", Value::Int(a[1] as i64)));
        }
        _ => {} // not an attribute syscall (see decode::entry)
    }
}

/// dup2, dup3 (the filter stops them only when the new descriptor is 0, 1
/// or 2): the descriptors, what is duplicated (`fdtype`, in Falco's
/// `fd.type` words, `abspath`, and `sock` for a socket). A socket made
/// stdin/stdout/stderr is how a reverse shell starts: then the result is
/// captured too (a second stop); other redirections cost one stop.
pub fn dup(c: &Call, e: &mut Entry) {
    let (tid, a, v) = (c.tid, &c.a, &mut e.args);
    v.push(("oldfd", int32(a[0])));
    v.push(("newfd", int32(a[1])));
    if c.sys == Sys::Dup3 {
        v.push(("flags", Value::Names(flag_names(a[2], O_FLAGS))));
    }
    let (kind, sock) = fdinfo::fd_kind(tid, c.fd(0));
    v.push(("abspath", fd_path(tid, c.fd(0))));
    e.want_result = sock != Value::Null;
    v.push(("fdtype", kind));
    if sock != Value::Null {
        v.push(("sock", sock));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flag_names() {
        let f = (libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC) as u64;
        assert_eq!(
            open_flags(f),
            vec!["O_WRONLY", "O_CREAT", "O_TRUNC", "O_CLOEXEC"]
        );
    }

    #[test]
    fn mode_only_with_creat_or_tmpfile() {
        assert!(!mode_matters((libc::O_RDONLY | libc::O_DIRECTORY) as u64));
        assert!(!mode_matters(libc::O_WRONLY as u64));
        assert!(mode_matters((libc::O_WRONLY | libc::O_CREAT) as u64));
        assert!(mode_matters((libc::O_RDWR | libc::O_TMPFILE) as u64));
    }
}
