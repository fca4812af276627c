//! execve, execveat: the program's path and argv. The result comes from the
//! exec event (success) or the exit stop (failure), where `facts` adds the
//! process's cwd, tty and user and group names.
use super::mem::read_argv;
use super::path::{dirfd_value, push_path};
use super::values::{flag_names, AT_FLAGS};
use super::{Call, Entry};
use crate::event::Value;
use crate::syscalls::Sys;
use std::collections::HashMap;
use std::sync::Arc;

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

/// User and group names, read from the traced container's own
/// `/etc/passwd` and `/etc/group` (through `/proc/PID/root`), cached while
/// the file is unchanged (same device, inode, size and mtime).
#[derive(Default)]
pub struct Accounts {
    files: HashMap<FileId, Arc<HashMap<u32, String>>>,
}

type FileId = (u64, u64, u64, i64, i64);

fn file_id(m: &std::fs::Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino(), m.size(), m.mtime(), m.mtime_nsec())
}

/// `name:x:id:...` lines: id -> the first name with that id.
fn parse_ids(text: &str) -> HashMap<u32, String> {
    let mut m = HashMap::new();
    for line in text.lines() {
        let mut f = line.split(':');
        let (Some(name), Some(_), Some(id)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        if let Ok(id) = id.trim().parse::<u32>() {
            m.entry(id).or_insert_with(|| name.to_string());
        }
    }
    m
}

/// /etc/passwd or /etc/group of a process's root can be large (a directory's
/// worth of users): read at most this much.
const ACCOUNTS_MAX: u64 = 4 << 20;

impl Accounts {
    /// The name of `id` in `file` (`/etc/passwd`, `/etc/group`) as process
    /// `pid` sees its root; `None` when the file or the id is missing.
    fn name(&mut self, pid: i32, file: &str, id: u32) -> Option<String> {
        use std::io::Read;
        let path = format!("/proc/{pid}/root{file}");
        let f = std::fs::File::open(&path).ok()?;
        let key = file_id(&f.metadata().ok()?);
        if let Some(t) = self.files.get(&key) {
            return t.get(&id).cloned();
        }
        let mut text = String::new();
        f.take(ACCOUNTS_MAX).read_to_string(&mut text).ok()?;
        let t = Arc::new(parse_ids(&text));
        if self.files.len() >= 64 {
            self.files.clear();
        }
        self.files.insert(key, t.clone());
        t.get(&id).cloned()
    }
}

/// The controlling terminal of `pid` (`tty_nr` of /proc/PID/stat: the
/// device number, 0 for none; Falco's `proc.tty`).
fn tty_nr(pid: i32) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // after "(comm)": state ppid pgrp session tty_nr
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(4)?.parse().ok()
}

/// What an exec event carries about the process besides its arguments,
/// read while it is stopped at the exec (or, for a failed exec, at the
/// syscall's exit, so the caller's): `cwd`, `tty`, and the names of its
/// effective user and group (`user`, `group`: `null` when the container's
/// files do not name them).
pub fn facts(pid: i32, euid: u32, egid: u32, acc: &mut Accounts) -> Vec<(&'static str, Value)> {
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd"))
        .map(|p| Value::Str(p.to_string_lossy().into_owned()))
        .unwrap_or(Value::Null);
    let tty = tty_nr(pid).map(Value::Int).unwrap_or(Value::Null);
    let name = |n: Option<String>| n.map(Value::Str).unwrap_or(Value::Null);
    let user = name(acc.name(pid, "/etc/passwd", euid));
    let group = name(acc.name(pid, "/etc/group", egid));
    vec![("cwd", cwd), ("tty", tty), ("user", user), ("group", group)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_files() {
        let m =
            parse_ids("root:x:0:0:root:/root:/bin/sh\n# c\nbad\ndaemon:x:1:1::/:/x\nalias:x:0:0\n");
        assert_eq!(m.get(&0).map(String::as_str), Some("root"));
        assert_eq!(m.get(&1).map(String::as_str), Some("daemon"));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn own_facts() {
        let me = std::process::id() as i32;
        let f = facts(me, u32::MAX - 1, u32::MAX - 1, &mut Accounts::default());
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(f[0], ("cwd", Value::Str(cwd.to_string_lossy().into())));
        assert!(matches!(f[1].1, Value::Int(_)));
        assert_eq!(f[2], ("user", Value::Null));
    }
}
