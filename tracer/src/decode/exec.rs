//! execve, execveat: the program's path and argv. The result comes from the
//! exec event (success) or the exit stop (failure), where `facts` adds the
//! process's cwd, tty and user and group names.
use super::mem::read_argv;
use super::path::{dirfd_value, push_path};
use super::values::{flag_names, AT_FLAGS};
use super::{Call, Entry};
use crate::event::Value;
use crate::syscalls::Sys;
use std::borrow::Cow;
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

/// Capability names by bit (`<linux/capability.h>`).
const CAPS: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// A capability mask as names (unknown bits as `CAP_<n>`).
fn cap_names(mask: u64) -> Value {
    let names = (0..64)
        .filter(|b| mask & (1u64 << b) != 0)
        .map(|b| match CAPS.get(b as usize) {
            Some(n) => Cow::Borrowed(*n),
            None => Cow::Owned(format!("CAP_{b}")),
        })
        .collect();
    Value::Names(names)
}

/// The effective capabilities (`CapEff` of /proc/PID/status).
fn cap_effective(pid: i32) -> Value {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let hex = s.lines().find_map(|l| l.strip_prefix("CapEff:"))?;
            u64::from_str_radix(hex.trim(), 16).ok()
        })
        .map(cap_names)
        .unwrap_or(Value::Null)
}

/// The audit login uid (/proc/PID/loginuid; -1 when unset, as Falco's
/// `user.loginuid`).
fn loginuid(pid: i32) -> Value {
    std::fs::read_to_string(format!("/proc/{pid}/loginuid"))
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .map(|v| Value::Int(i64::from(v as i32)))
        .unwrap_or(Value::Null)
}

/// What an exec event carries about the process besides its arguments,
/// read while it is stopped at the exec (or, for a failed exec, at the
/// syscall's exit, so the caller's): `cwd`, `tty`, the names of its
/// effective user and group (`user`, `group`: `null` when the container's
/// files do not name them), `loginuid` and `cap_effective` (names).
pub fn facts(pid: i32, euid: u32, egid: u32, acc: &mut Accounts) -> Vec<(&'static str, Value)> {
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd"))
        .map(|p| Value::Str(p.to_string_lossy().into_owned()))
        .unwrap_or(Value::Null);
    let tty = tty_nr(pid).map(Value::Int).unwrap_or(Value::Null);
    let name = |n: Option<String>| n.map(Value::Str).unwrap_or(Value::Null);
    let user = name(acc.name(pid, "/etc/passwd", euid));
    let group = name(acc.name(pid, "/etc/group", egid));
    vec![
        ("cwd", cwd),
        ("tty", tty),
        ("user", user),
        ("group", group),
        ("loginuid", loginuid(pid)),
        ("cap_effective", cap_effective(pid)),
    ]
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

    #[test]
    fn capabilities_by_name() {
        assert_eq!(
            cap_names((1 << 21) | (1 << 1) | (1 << 50)),
            Value::Names(vec![
                "CAP_DAC_OVERRIDE".into(),
                "CAP_SYS_ADMIN".into(),
                "CAP_50".into()
            ])
        );
        assert_eq!(cap_names(0), Value::Names(vec![]));
    }
}
