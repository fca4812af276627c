//! Architecture-independent syscall identities and the profiles built on them.

/// A syscall the tracer knows how to decode. Numbers live in `arch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sys {
    Execve,
    Execveat,
    Open,
    Openat,
    Openat2,
    Creat,
    Unlink,
    Unlinkat,
    Rename,
    Renameat,
    Renameat2,
    Mkdir,
    Mkdirat,
    Rmdir,
    Chmod,
    Fchmod,
    Fchmodat,
    Fchmodat2,
    Chown,
    Fchown,
    Lchown,
    Fchownat,
    Link,
    Linkat,
    Symlink,
    Symlinkat,
    Mount,
    Umount2,
    MoveMount,
    Connect,
    Bind,
    Listen,
    Accept,
    Accept4,
    Setuid,
    Setgid,
    Setreuid,
    Setregid,
    Setresuid,
    Setresgid,
    Setfsuid,
    Setfsgid,
    Capset,
    Ptrace,
    MemfdCreate,
    InitModule,
    FinitModule,
    // full profile only
    Truncate,
    Socket,
    Kill,
    Tkill,
    Tgkill,
    Unshare,
    Setns,
    Chroot,
    PivotRoot,
    ProcessVmReadv,
    ProcessVmWritev,
    Bpf,
    DeleteModule,
    /// i386 multiplexed socket call (connect/bind/... on 32-bit).
    Socketcall,
}

/// Which argument of an open-like syscall holds the flags, if BPF can see it.
pub fn open_flags_arg(sys: Sys) -> Option<usize> {
    match sys {
        Sys::Open => Some(1),
        Sys::Openat => Some(2),
        _ => None,
    }
}

/// Bits of `open` flags that mean "write intent" (checked in the BPF filter).
pub const WRITE_INTENT: u32 =
    (libc::O_WRONLY | libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC) as u32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    Minimal,
    Default,
    Full,
}

impl Profile {
    pub fn parse(s: &str) -> Option<Profile> {
        match s {
            "minimal" => Some(Profile::Minimal),
            "default" => Some(Profile::Default),
            "full" => Some(Profile::Full),
            _ => None,
        }
    }
}

pub const MINIMAL: &[Sys] = &[Sys::Execve, Sys::Execveat];

pub const DEFAULT_EXTRA: &[Sys] = &[
    Sys::Open,
    Sys::Openat,
    Sys::Openat2,
    Sys::Creat,
    Sys::Unlink,
    Sys::Unlinkat,
    Sys::Rename,
    Sys::Renameat,
    Sys::Renameat2,
    Sys::Mkdir,
    Sys::Mkdirat,
    Sys::Rmdir,
    Sys::Chmod,
    Sys::Fchmod,
    Sys::Fchmodat,
    Sys::Fchmodat2,
    Sys::Chown,
    Sys::Fchown,
    Sys::Lchown,
    Sys::Fchownat,
    Sys::Link,
    Sys::Linkat,
    Sys::Symlink,
    Sys::Symlinkat,
    Sys::Mount,
    Sys::Umount2,
    Sys::MoveMount,
    Sys::Connect,
    Sys::Bind,
    Sys::Listen,
    Sys::Accept,
    Sys::Accept4,
    Sys::Setuid,
    Sys::Setgid,
    Sys::Setreuid,
    Sys::Setregid,
    Sys::Setresuid,
    Sys::Setresgid,
    Sys::Setfsuid,
    Sys::Setfsgid,
    Sys::Capset,
    Sys::Ptrace,
    Sys::MemfdCreate,
    Sys::InitModule,
    Sys::FinitModule,
    Sys::Socketcall,
];

pub const FULL_EXTRA: &[Sys] = &[
    Sys::Truncate,
    Sys::Socket,
    Sys::Kill,
    Sys::Tkill,
    Sys::Tgkill,
    Sys::Unshare,
    Sys::Setns,
    Sys::Chroot,
    Sys::PivotRoot,
    Sys::ProcessVmReadv,
    Sys::ProcessVmWritev,
    Sys::Bpf,
    Sys::DeleteModule,
];

/// How the filter treats one syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Always stop.
    Trace,
    /// Stop only when the flags argument (index) has one of `WRITE_INTENT`'s bits.
    TraceIfWriteIntent(usize),
}

/// The syscalls a profile stops on, with their rule.
/// `read_only_opens`: stop on read-only opens too (full profile, or a non-empty
/// sensitive-path list in the default profile).
pub fn rules(profile: Profile, read_only_opens: bool) -> Vec<(Sys, Rule)> {
    let mut v: Vec<(Sys, Rule)> = MINIMAL.iter().map(|s| (*s, Rule::Trace)).collect();
    if profile == Profile::Minimal {
        return v;
    }
    let all_opens = read_only_opens || profile == Profile::Full;
    for s in DEFAULT_EXTRA {
        let rule = match open_flags_arg(*s) {
            Some(i) if !all_opens => Rule::TraceIfWriteIntent(i),
            _ => Rule::Trace,
        };
        v.push((*s, rule));
    }
    if profile == Profile::Full {
        v.extend(FULL_EXTRA.iter().map(|s| (*s, Rule::Trace)));
    }
    v
}

/// Does this syscall, when it succeeds, change the caller's user or group ids?
pub fn changes_ids(sys: Sys) -> bool {
    matches!(
        sys,
        Sys::Setuid
            | Sys::Setgid
            | Sys::Setreuid
            | Sys::Setregid
            | Sys::Setresuid
            | Sys::Setresgid
            | Sys::Setfsuid
            | Sys::Setfsgid
    )
}

/// Does the event for this syscall need its result (a second, exit stop)?
pub fn needs_result(sys: Sys) -> bool {
    changes_ids(sys)
        || matches!(
            sys,
            Sys::Execve
                | Sys::Execveat
                | Sys::Open
                | Sys::Openat
                | Sys::Openat2
                | Sys::Creat
                | Sys::Connect
                | Sys::Bind
                | Sys::Listen
                | Sys::Accept
                | Sys::Accept4
                | Sys::Capset
                | Sys::Ptrace
                | Sys::MemfdCreate
                | Sys::InitModule
                | Sys::FinitModule
                | Sys::Socketcall
        )
}
