//! Decoding of syscall arguments from a stopped tracee: strings, argv arrays,
//! paths (resolved against the cwd or dirfd), flags as names, socket
//! addresses. Everything read from the tracee is untrusted: every read is
//! bounded and failures yield `null` values rather than errors.
use crate::arch::{self, Abi};
use crate::event::Value;
use crate::sys;
use crate::syscalls::Sys;
use std::borrow::Cow;

pub const PATH_MAX: usize = 4096;
const ARGV_MAX: usize = 1024;
const ARGV_BYTES_MAX: usize = 64 * 1024;

/// Read a NUL-terminated string (at most `max` bytes).
pub fn read_cstr(pid: i32, addr: u64, max: usize) -> Option<Vec<u8>> {
    if addr == 0 {
        return None;
    }
    let mut out = Vec::new();
    let mut a = addr;
    let mut chunk = [0u8; 4096];
    while out.len() < max {
        let to_page = 4096 - (a % 4096) as usize;
        let n = to_page.min(max - out.len()).min(chunk.len());
        let got = sys::read_mem(pid, a, &mut chunk[..n]).ok()?;
        if got == 0 {
            return if out.is_empty() { None } else { Some(out) };
        }
        if let Some(p) = chunk[..got].iter().position(|&b| b == 0) {
            out.extend_from_slice(&chunk[..p]);
            return Some(out);
        }
        out.extend_from_slice(&chunk[..got]);
        a = a.wrapping_add(got as u64);
    }
    Some(out)
}

fn read_exact(pid: i32, addr: u64, buf: &mut [u8]) -> Option<()> {
    if addr == 0 {
        return None;
    }
    (sys::read_mem(pid, addr, buf).ok()? == buf.len()).then_some(())
}

pub fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Read a NULL-terminated array of string pointers (argv).
pub fn read_argv(pid: i32, abi: Abi, addr: u64) -> Option<Vec<String>> {
    if addr == 0 {
        return Some(Vec::new());
    }
    let psz = arch::pointer_size(abi);
    let mut out = Vec::new();
    let mut total = 0usize;
    let mut buf = [0u8; 8 * 64];
    let mut a = addr;
    'outer: while out.len() < ARGV_MAX {
        let n = sys::read_mem(pid, a, &mut buf).ok()?;
        let n = n - n % psz;
        if n == 0 {
            break;
        }
        for c in buf[..n].chunks_exact(psz) {
            let p = if psz == 8 {
                u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
            } else {
                u64::from(u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
            };
            if p == 0 || out.len() >= ARGV_MAX || total >= ARGV_BYTES_MAX {
                break 'outer;
            }
            let s = read_cstr(pid, p, PATH_MAX * 8).unwrap_or_default();
            total += s.len();
            out.push(lossy(&s));
        }
        a = a.wrapping_add(n as u64);
    }
    Some(out)
}

fn readlink(path: &str) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStringExt;
    std::fs::read_link(path)
        .ok()
        .map(|p| p.into_os_string().into_vec())
}

/// Lexically normalise an absolute path (".", "..", "//").
pub fn normalize(p: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for c in p.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            _ => parts.push(c),
        }
    }
    let mut out = Vec::with_capacity(p.len() + 1);
    for c in &parts {
        out.push(b'/');
        out.extend_from_slice(c);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

/// The directory a relative path is resolved against.
fn base_dir(tid: i32, dirfd: Option<i32>) -> Option<Vec<u8>> {
    match dirfd {
        None => readlink(&format!("/proc/{tid}/cwd")),
        Some(libc::AT_FDCWD) => readlink(&format!("/proc/{tid}/cwd")),
        Some(fd) if fd >= 0 => readlink(&format!("/proc/{tid}/fd/{fd}")),
        Some(_) => None,
    }
}

/// Absolute, normalised form of `path` as the tracee sees it.
pub fn resolve(tid: i32, dirfd: Option<i32>, path: &[u8]) -> Option<Vec<u8>> {
    if path.first() == Some(&b'/') {
        return Some(normalize(path));
    }
    let mut base = base_dir(tid, dirfd)?;
    if base.first() != Some(&b'/') {
        // e.g. "socket:[123]" or "anon_inode:..."
        return None;
    }
    if !path.is_empty() {
        base.push(b'/');
        base.extend_from_slice(path);
    }
    Some(normalize(&base))
}

pub fn fd_path(tid: i32, fd: i32) -> Value {
    match readlink(&format!("/proc/{tid}/fd/{fd}")) {
        Some(p) => Value::Str(lossy(&p)),
        None => Value::Null,
    }
}

/// Push "path" (as given) and "abspath" (resolved) for a path argument.
/// Returns the resolved path.
fn push_path(
    out: &mut Vec<(&'static str, Value)>,
    key: &'static str,
    abs_key: &'static str,
    tid: i32,
    dirfd: Option<i32>,
    addr: u64,
) -> Option<Vec<u8>> {
    match read_cstr(tid, addr, PATH_MAX) {
        Some(p) => {
            let abs = resolve(tid, dirfd, &p);
            out.push((key, Value::Str(lossy(&p))));
            out.push((
                abs_key,
                abs.as_deref()
                    .map(|a| Value::Str(lossy(a)))
                    .unwrap_or(Value::Null),
            ));
            abs
        }
        None => {
            out.push((key, Value::Null));
            out.push((abs_key, Value::Null));
            None
        }
    }
}

fn dirfd_value(fd: i32) -> Value {
    if fd == libc::AT_FDCWD {
        Value::Str("AT_FDCWD".into())
    } else {
        Value::Int(i64::from(fd))
    }
}

type FlagTable = &'static [(u64, &'static str)];

/// Flags as names; unknown bits as a hex string.
pub fn flag_names(v: u64, table: FlagTable) -> Vec<Cow<'static, str>> {
    let mut names = Vec::new();
    let mut rest = v;
    for (bit, name) in table {
        if *bit != 0 && v & bit == *bit && rest & bit != 0 {
            names.push(Cow::Borrowed(*name));
            rest &= !bit;
        }
    }
    if rest != 0 {
        names.push(Cow::Owned(format!("{rest:#x}")));
    }
    names
}

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
pub fn open_flags(flags: u64) -> Vec<Cow<'static, str>> {
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

pub const CLONE_FLAGS: FlagTable = &[
    (libc::CLONE_VM as u64, "CLONE_VM"),
    (libc::CLONE_FS as u64, "CLONE_FS"),
    (libc::CLONE_FILES as u64, "CLONE_FILES"),
    (libc::CLONE_SIGHAND as u64, "CLONE_SIGHAND"),
    (libc::CLONE_PIDFD as u64, "CLONE_PIDFD"),
    (libc::CLONE_PTRACE as u64, "CLONE_PTRACE"),
    (libc::CLONE_VFORK as u64, "CLONE_VFORK"),
    (libc::CLONE_PARENT as u64, "CLONE_PARENT"),
    (libc::CLONE_THREAD as u64, "CLONE_THREAD"),
    (libc::CLONE_NEWNS as u64, "CLONE_NEWNS"),
    (libc::CLONE_SYSVSEM as u64, "CLONE_SYSVSEM"),
    (libc::CLONE_SETTLS as u64, "CLONE_SETTLS"),
    (libc::CLONE_PARENT_SETTID as u64, "CLONE_PARENT_SETTID"),
    (libc::CLONE_CHILD_CLEARTID as u64, "CLONE_CHILD_CLEARTID"),
    (libc::CLONE_DETACHED as u64, "CLONE_DETACHED"),
    (libc::CLONE_UNTRACED as u64, "CLONE_UNTRACED"),
    (libc::CLONE_CHILD_SETTID as u64, "CLONE_CHILD_SETTID"),
    (libc::CLONE_NEWCGROUP as u64, "CLONE_NEWCGROUP"),
    (libc::CLONE_NEWUTS as u64, "CLONE_NEWUTS"),
    (libc::CLONE_NEWIPC as u64, "CLONE_NEWIPC"),
    (libc::CLONE_NEWUSER as u64, "CLONE_NEWUSER"),
    (libc::CLONE_NEWPID as u64, "CLONE_NEWPID"),
    (libc::CLONE_NEWNET as u64, "CLONE_NEWNET"),
    (libc::CLONE_IO as u64, "CLONE_IO"),
    (0x2_0000_0000, "CLONE_INTO_CGROUP"),
];

const AT_FLAGS: FlagTable = &[
    (libc::AT_SYMLINK_NOFOLLOW as u64, "AT_SYMLINK_NOFOLLOW"),
    (libc::AT_REMOVEDIR as u64, "AT_REMOVEDIR"),
    (libc::AT_SYMLINK_FOLLOW as u64, "AT_SYMLINK_FOLLOW"),
    (libc::AT_EMPTY_PATH as u64, "AT_EMPTY_PATH"),
];

const RENAME_FLAGS: FlagTable = &[
    (1, "RENAME_NOREPLACE"),
    (2, "RENAME_EXCHANGE"),
    (4, "RENAME_WHITEOUT"),
];

const SOCK_FLAGS: FlagTable = &[
    (libc::SOCK_NONBLOCK as u64, "SOCK_NONBLOCK"),
    (libc::SOCK_CLOEXEC as u64, "SOCK_CLOEXEC"),
];

const MFD_FLAGS: FlagTable = &[
    (1, "MFD_CLOEXEC"),
    (2, "MFD_ALLOW_SEALING"),
    (4, "MFD_HUGETLB"),
    (8, "MFD_NOEXEC_SEAL"),
    (16, "MFD_EXEC"),
];

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

fn octal(v: u64) -> Value {
    Value::Str(format!("0{:o}", v & 0o7777))
}

fn int32(v: u64) -> Value {
    Value::Int(i64::from(v as u32 as i32))
}

fn id(v: u64) -> Value {
    // uid_t / gid_t; -1 means "unchanged"
    Value::Int(i64::from(v as u32 as i32))
}

pub fn signal_name(sig: i32) -> String {
    let n = match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGCHLD => "SIGCHLD",
        libc::SIGCONT => "SIGCONT",
        libc::SIGSTOP => "SIGSTOP",
        libc::SIGTSTP => "SIGTSTP",
        libc::SIGTTIN => "SIGTTIN",
        libc::SIGTTOU => "SIGTTOU",
        libc::SIGSYS => "SIGSYS",
        0 => "0",
        _ => return format!("SIG{sig}"),
    };
    n.to_string()
}

/// Decode a socket address of `len` bytes at `addr`.
pub fn sockaddr(pid: i32, addr: u64, len: u64) -> Value {
    if addr == 0 {
        return Value::Null;
    }
    let len = (len as usize).min(128);
    if len < 2 {
        return Value::Null;
    }
    let mut buf = [0u8; 128];
    if sys::read_mem(pid, addr, &mut buf[..len]).ok() != Some(len) {
        return Value::Null;
    }
    let b = &buf[..len];
    let family = u16::from_ne_bytes([b[0], b[1]]);
    match i32::from(family) {
        libc::AF_INET if len >= 8 => {
            let port = u16::from_be_bytes([b[2], b[3]]);
            let ip = std::net::Ipv4Addr::new(b[4], b[5], b[6], b[7]);
            Value::Obj(vec![
                ("family", Value::Str("inet".into())),
                ("address", Value::Str(ip.to_string())),
                ("port", Value::Int(i64::from(port))),
            ])
        }
        libc::AF_INET6 if len >= 24 => {
            let port = u16::from_be_bytes([b[2], b[3]]);
            let mut o = [0u8; 16];
            o.copy_from_slice(&b[8..24]);
            let ip = std::net::Ipv6Addr::from(o);
            Value::Obj(vec![
                ("family", Value::Str("inet6".into())),
                ("address", Value::Str(ip.to_string())),
                ("port", Value::Int(i64::from(port))),
            ])
        }
        libc::AF_UNIX => {
            let path = &b[2..];
            let (abstract_, p) = match path.first() {
                Some(0) if len > 2 => (true, &path[1..]),
                _ => (false, path),
            };
            let end = if abstract_ {
                p.len()
            } else {
                p.iter().position(|&c| c == 0).unwrap_or(p.len())
            };
            let mut s = if abstract_ {
                String::from("@")
            } else {
                String::new()
            };
            s.push_str(&String::from_utf8_lossy(&p[..end]));
            Value::Obj(vec![
                ("family", Value::Str("unix".into())),
                ("path", Value::Str(s)),
            ])
        }
        libc::AF_UNSPEC => Value::Obj(vec![("family", Value::Str("unspec".into()))]),
        f => Value::Obj(vec![("family", Value::Int(i64::from(f)))]),
    }
}

/// Sensitive-path patterns: `*` matches within one path component; a pattern
/// ending in `/**` matches everything below that directory.
#[derive(Clone, Debug, Default)]
pub struct PathList {
    pats: Vec<Vec<u8>>,
}

pub const DEFAULT_SENSITIVE: &[&str] = &[
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/shadow-",
    "/etc/gshadow-",
    "/etc/sudoers",
    "/etc/sudoers.d/**",
    "/root/.ssh/**",
    "/home/*/.ssh/**",
    "/etc/ssh/*_key",
    "/proc/*/environ",
    "/proc/*/mem",
    "/run/secrets/**",
    "/var/run/secrets/**",
    "/root/.aws/**",
    "/home/*/.aws/**",
];

impl PathList {
    pub fn new(pats: &[String]) -> PathList {
        PathList {
            pats: pats.iter().map(|p| p.as_bytes().to_vec()).collect(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.pats.is_empty()
    }
    pub fn matches(&self, path: &[u8]) -> bool {
        self.pats.iter().any(|p| glob(p, path))
    }
}

fn glob(pat: &[u8], s: &[u8]) -> bool {
    if let Some(prefix) = pat.strip_suffix(b"/**") {
        // the directory itself or anything below it
        if glob(prefix, s) {
            return true;
        }
        let comps = prefix.split(|&b| b == b'/').count();
        let mut it = s.split(|&b| b == b'/');
        let head: Vec<&[u8]> = it.by_ref().take(comps).collect();
        return head.len() == comps && it.next().is_some() && glob(prefix, &head.join(&b'/'));
    }
    match (pat.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            // * matches any run of non-'/' bytes
            let mut i = 0;
            loop {
                if glob(&pat[1..], &s[i..]) {
                    return true;
                }
                if i >= s.len() || s[i] == b'/' {
                    return false;
                }
                i += 1;
            }
        }
        (Some(a), Some(b)) if a == b => glob(&pat[1..], &s[1..]),
        _ => false,
    }
}

/// What the tracer does with a traced syscall at its entry stop.
pub struct Entry {
    pub args: Vec<(&'static str, Value)>,
    /// Emit an event (false for read-only opens of non-sensitive paths).
    pub report: bool,
    /// Stop again at syscall exit for the result.
    pub want_result: bool,
    /// Pointers needed at exit (accept: addr, addrlen).
    pub exit_ptrs: Option<(u64, u64)>,
}

pub struct Ctx<'a> {
    pub sensitive: &'a PathList,
    /// Full profile: report read-only opens of every path (and socket()).
    pub all_opens: bool,
}

fn write_intent(flags: u64) -> bool {
    flags & u64::from(crate::syscalls::WRITE_INTENT) != 0
}

/// Decode a traced syscall at its entry.
pub fn entry(ctx: &Ctx, tid: i32, abi: Abi, sys: Sys, a: &[u64; 6]) -> Entry {
    let mut v: Vec<(&'static str, Value)> = Vec::with_capacity(6);
    let mut report = true;
    let mut exit_ptrs = None;
    let mut sysv = sys;
    let mut a = *a;
    if sys == Sys::Socketcall {
        // i386: args[0] is the call, args[1] points to its u32 arguments
        let call = a[0];
        let mut raw = [0u8; 24];
        let mut argv = [0u64; 6];
        if read_exact(tid, a[1], &mut raw).is_some() {
            for (i, c) in raw.chunks_exact(4).enumerate() {
                argv[i] = u64::from(u32::from_ne_bytes([c[0], c[1], c[2], c[3]]));
            }
        }
        let (name, inner) = match call {
            2 => ("bind", Some(Sys::Bind)),
            3 => ("connect", Some(Sys::Connect)),
            4 => ("listen", Some(Sys::Listen)),
            5 => ("accept", Some(Sys::Accept)),
            18 => ("accept4", Some(Sys::Accept4)),
            1 => ("socket", None),
            _ => ("other", None),
        };
        v.push(("call", Value::Str(name.into())));
        match inner {
            Some(s) => {
                sysv = s;
                a = argv;
            }
            None => {
                // not a security-relevant socket call: no event
                return Entry {
                    args: v,
                    // socket() is reported in the full profile, like the
                    // native socket syscall
                    report: call == 1 && ctx.all_opens,
                    want_result: false,
                    exit_ptrs: None,
                };
            }
        }
    }
    let fd = |x: u64| x as u32 as i32;
    match sysv {
        Sys::Execve => {
            push_path(&mut v, "path", "abspath", tid, None, a[0]);
            v.push((
                "argv",
                read_argv(tid, abi, a[1])
                    .map(Value::Strs)
                    .unwrap_or(Value::Null),
            ));
        }
        Sys::Execveat => {
            v.push(("dirfd", dirfd_value(fd(a[0]))));
            push_path(&mut v, "path", "abspath", tid, Some(fd(a[0])), a[1]);
            v.push((
                "argv",
                read_argv(tid, abi, a[2])
                    .map(Value::Strs)
                    .unwrap_or(Value::Null),
            ));
            v.push(("flags", Value::Names(flag_names(a[4], AT_FLAGS))));
        }
        Sys::Open | Sys::Openat | Sys::Openat2 | Sys::Creat => {
            let (dirfd, paddr, flags, mode) = match sysv {
                Sys::Open => (None, a[0], a[1], a[2]),
                Sys::Creat => (
                    None,
                    a[0],
                    (libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC) as u64,
                    a[1],
                ),
                Sys::Openat => (Some(fd(a[0])), a[1], a[2], a[3]),
                _ => {
                    let mut how = [0u8; 16];
                    let (f, m) = match read_exact(tid, a[2], &mut how) {
                        Some(()) => (
                            u64::from_ne_bytes(how[0..8].try_into().unwrap_or([0; 8])),
                            u64::from_ne_bytes(how[8..16].try_into().unwrap_or([0; 8])),
                        ),
                        None => (0, 0),
                    };
                    (Some(fd(a[0])), a[1], f, m)
                }
            };
            if let Some(d) = dirfd {
                v.push(("dirfd", dirfd_value(d)));
            }
            let abs = push_path(&mut v, "path", "abspath", tid, dirfd, paddr);
            v.push(("flags", Value::Names(open_flags(flags))));
            if flags & (libc::O_CREAT as u64) != 0 || flags & (libc::O_TMPFILE as u64) != 0 {
                v.push(("mode", octal(mode)));
            }
            if !write_intent(flags) && !ctx.all_opens {
                report = match &abs {
                    Some(p) => ctx.sensitive.matches(p),
                    None => false,
                };
            }
        }
        Sys::Unlink | Sys::Rmdir | Sys::Chroot => {
            push_path(&mut v, "path", "abspath", tid, None, a[0]);
        }
        Sys::Unlinkat => {
            v.push(("dirfd", dirfd_value(fd(a[0]))));
            push_path(&mut v, "path", "abspath", tid, Some(fd(a[0])), a[1]);
            v.push(("flags", Value::Names(flag_names(a[2], AT_FLAGS))));
        }
        Sys::Rename | Sys::Link => {
            push_path(&mut v, "oldpath", "oldabspath", tid, None, a[0]);
            push_path(&mut v, "newpath", "newabspath", tid, None, a[1]);
        }
        Sys::Renameat | Sys::Renameat2 | Sys::Linkat => {
            v.push(("olddirfd", dirfd_value(fd(a[0]))));
            push_path(&mut v, "oldpath", "oldabspath", tid, Some(fd(a[0])), a[1]);
            v.push(("newdirfd", dirfd_value(fd(a[2]))));
            push_path(&mut v, "newpath", "newabspath", tid, Some(fd(a[2])), a[3]);
            match sysv {
                Sys::Renameat2 => v.push(("flags", Value::Names(flag_names(a[4], RENAME_FLAGS)))),
                Sys::Linkat => v.push(("flags", Value::Names(flag_names(a[4], AT_FLAGS)))),
                _ => {}
            }
        }
        Sys::Mkdir | Sys::Chmod => {
            push_path(&mut v, "path", "abspath", tid, None, a[0]);
            v.push(("mode", octal(a[1])));
        }
        Sys::Mkdirat | Sys::Fchmodat | Sys::Fchmodat2 => {
            v.push(("dirfd", dirfd_value(fd(a[0]))));
            push_path(&mut v, "path", "abspath", tid, Some(fd(a[0])), a[1]);
            v.push(("mode", octal(a[2])));
            if sysv == Sys::Fchmodat2 {
                v.push(("flags", Value::Names(flag_names(a[3], AT_FLAGS))));
            }
        }
        Sys::Fchmod => {
            v.push(("fd", int32(a[0])));
            v.push(("abspath", fd_path(tid, fd(a[0]))));
            v.push(("mode", octal(a[1])));
        }
        Sys::Chown | Sys::Lchown => {
            push_path(&mut v, "path", "abspath", tid, None, a[0]);
            v.push(("owner", id(a[1])));
            v.push(("group", id(a[2])));
        }
        Sys::Fchown => {
            v.push(("fd", int32(a[0])));
            v.push(("abspath", fd_path(tid, fd(a[0]))));
            v.push(("owner", id(a[1])));
            v.push(("group", id(a[2])));
        }
        Sys::Fchownat => {
            v.push(("dirfd", dirfd_value(fd(a[0]))));
            push_path(&mut v, "path", "abspath", tid, Some(fd(a[0])), a[1]);
            v.push(("owner", id(a[2])));
            v.push(("group", id(a[3])));
            v.push(("flags", Value::Names(flag_names(a[4], AT_FLAGS))));
        }
        Sys::Symlink => {
            let t = read_cstr(tid, a[0], PATH_MAX);
            v.push((
                "target",
                t.map(|t| Value::Str(lossy(&t))).unwrap_or(Value::Null),
            ));
            push_path(&mut v, "linkpath", "abspath", tid, None, a[1]);
        }
        Sys::Symlinkat => {
            let t = read_cstr(tid, a[0], PATH_MAX);
            v.push((
                "target",
                t.map(|t| Value::Str(lossy(&t))).unwrap_or(Value::Null),
            ));
            v.push(("newdirfd", dirfd_value(fd(a[1]))));
            push_path(&mut v, "linkpath", "abspath", tid, Some(fd(a[1])), a[2]);
        }
        Sys::Mount => {
            let s = read_cstr(tid, a[0], PATH_MAX);
            v.push((
                "source",
                s.map(|s| Value::Str(lossy(&s))).unwrap_or(Value::Null),
            ));
            push_path(&mut v, "target", "abspath", tid, None, a[1]);
            let t = read_cstr(tid, a[2], 256);
            v.push((
                "fstype",
                t.map(|s| Value::Str(lossy(&s))).unwrap_or(Value::Null),
            ));
            v.push(("flags", Value::Names(flag_names(a[3], MS_FLAGS))));
        }
        Sys::Umount2 => {
            push_path(&mut v, "target", "abspath", tid, None, a[0]);
            v.push(("flags", Value::Names(flag_names(a[1], UMOUNT_FLAGS))));
        }
        Sys::MoveMount => {
            v.push(("from_dirfd", dirfd_value(fd(a[0]))));
            push_path(
                &mut v,
                "from_path",
                "from_abspath",
                tid,
                Some(fd(a[0])),
                a[1],
            );
            v.push(("to_dirfd", dirfd_value(fd(a[2]))));
            push_path(&mut v, "to_path", "to_abspath", tid, Some(fd(a[2])), a[3]);
        }
        Sys::Connect | Sys::Bind => {
            v.push(("fd", int32(a[0])));
            v.push(("addr", sockaddr(tid, a[1], a[2])));
        }
        Sys::Listen => {
            v.push(("fd", int32(a[0])));
            v.push(("backlog", int32(a[1])));
        }
        Sys::Accept | Sys::Accept4 => {
            v.push(("fd", int32(a[0])));
            if sysv == Sys::Accept4 {
                v.push(("flags", Value::Names(flag_names(a[3], SOCK_FLAGS))));
            }
            exit_ptrs = Some((a[1], a[2]));
        }
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
        Sys::Capset => {
            let mut hdr = [0u8; 8];
            let mut data = [0u8; 24];
            if read_exact(tid, a[0], &mut hdr).is_some() {
                let pid = i32::from_ne_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]);
                v.push(("pid", Value::Int(i64::from(pid))));
            }
            if read_exact(tid, a[1], &mut data).is_some() {
                let w =
                    |i: usize| u32::from_ne_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
                let cap = |lo: usize| u64::from(w(lo)) | (u64::from(w(lo + 12)) << 32);
                v.push(("effective", Value::Str(format!("{:#x}", cap(0)))));
                v.push(("permitted", Value::Str(format!("{:#x}", cap(4)))));
                v.push(("inheritable", Value::Str(format!("{:#x}", cap(8)))));
            }
        }
        Sys::Ptrace => {
            let req = match a[0] as i64 {
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
                _ => "",
            };
            if req.is_empty() {
                v.push(("request", Value::Int(a[0] as i64)));
            } else {
                v.push(("request", Value::Str(req.into())));
            }
            v.push(("pid", int32(a[1])));
        }
        Sys::MemfdCreate => {
            let n = read_cstr(tid, a[0], 256);
            v.push((
                "name",
                n.map(|s| Value::Str(lossy(&s))).unwrap_or(Value::Null),
            ));
            v.push(("flags", Value::Names(flag_names(a[1], MFD_FLAGS))));
        }
        Sys::InitModule => {
            v.push(("len", Value::Int(a[1] as i64)));
            let p = read_cstr(tid, a[2], 1024);
            v.push((
                "params",
                p.map(|s| Value::Str(lossy(&s))).unwrap_or(Value::Null),
            ));
        }
        Sys::FinitModule => {
            v.push(("fd", int32(a[0])));
            v.push(("abspath", fd_path(tid, fd(a[0]))));
            let p = read_cstr(tid, a[1], 1024);
            v.push((
                "params",
                p.map(|s| Value::Str(lossy(&s))).unwrap_or(Value::Null),
            ));
        }
        Sys::DeleteModule => {
            let n = read_cstr(tid, a[0], 256);
            v.push((
                "name",
                n.map(|s| Value::Str(lossy(&s))).unwrap_or(Value::Null),
            ));
        }
        Sys::Truncate => {
            push_path(&mut v, "path", "abspath", tid, None, a[0]);
            v.push(("length", Value::Int(a[1] as i64)));
        }
        Sys::Socket => {
            let dom = match a[0] as i32 {
                libc::AF_UNIX => "AF_UNIX",
                libc::AF_INET => "AF_INET",
                libc::AF_INET6 => "AF_INET6",
                libc::AF_NETLINK => "AF_NETLINK",
                libc::AF_PACKET => "AF_PACKET",
                _ => "",
            };
            v.push((
                "domain",
                if dom.is_empty() {
                    int32(a[0])
                } else {
                    Value::Str(dom.into())
                },
            ));
            let ty = match (a[1] as i32) & 0xf {
                libc::SOCK_STREAM => "SOCK_STREAM",
                libc::SOCK_DGRAM => "SOCK_DGRAM",
                libc::SOCK_RAW => "SOCK_RAW",
                libc::SOCK_SEQPACKET => "SOCK_SEQPACKET",
                _ => "",
            };
            v.push((
                "type",
                if ty.is_empty() {
                    int32(a[1])
                } else {
                    Value::Str(ty.into())
                },
            ));
            v.push(("protocol", int32(a[2])));
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
            v.push(("abspath", fd_path(tid, fd(a[0]))));
            v.push(("nstype", Value::Names(flag_names(a[1], CLONE_FLAGS))));
        }
        Sys::PivotRoot => {
            push_path(&mut v, "new_root", "new_root_abspath", tid, None, a[0]);
            push_path(&mut v, "put_old", "put_old_abspath", tid, None, a[1]);
        }
        Sys::ProcessVmReadv | Sys::ProcessVmWritev => v.push(("pid", int32(a[0]))),
        Sys::Bpf => v.push(("cmd", int32(a[0]))),
        Sys::Socketcall => {}
    }
    let want_result = report && crate::syscalls::needs_result(sysv);
    Entry {
        args: v,
        report,
        want_result,
        exit_ptrs,
    }
}

/// At the exit of a successful accept: the peer address.
pub fn accept_peer(tid: i32, addr: u64, addrlen_ptr: u64) -> Value {
    if addr == 0 || addrlen_ptr == 0 {
        return Value::Null;
    }
    let mut l = [0u8; 4];
    if read_exact(tid, addrlen_ptr, &mut l).is_none() {
        return Value::Null;
    }
    sockaddr(tid, addr, u64::from(u32::from_ne_bytes(l)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_globs() {
        let l = PathList::new(
            &DEFAULT_SENSITIVE
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        );
        assert!(l.matches(b"/etc/shadow"));
        assert!(!l.matches(b"/etc/shadowx"));
        assert!(l.matches(b"/etc/sudoers.d/90-cloud"));
        assert!(l.matches(b"/home/alice/.ssh/id_rsa"));
        assert!(!l.matches(b"/home/alice/ssh/id_rsa"));
        assert!(l.matches(b"/proc/123/environ"));
        assert!(l.matches(b"/proc/self/environ"));
        assert!(!l.matches(b"/proc/1/2/environ"));
        assert!(!l.matches(b"/etc/passwd"));
    }

    #[test]
    fn normalisation() {
        assert_eq!(normalize(b"/a/./b//../c"), b"/a/c");
        assert_eq!(normalize(b"/.."), b"/");
    }

    #[test]
    fn open_flag_names() {
        let f = (libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC) as u64;
        assert_eq!(
            open_flags(f),
            vec!["O_WRONLY", "O_CREAT", "O_TRUNC", "O_CLOEXEC"]
        );
    }
}
