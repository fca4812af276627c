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
    /// Setting up an io_uring: the ring's operations (open, write, connect,
    /// ...) run in the kernel without syscalls the filter could see.
    IoUringSetup,
    /// Datagrams to an address (an unconnected UDP socket): sendto with a
    /// non-NULL address, sendmsg/sendmmsg with a `msg_name`.
    Sendto,
    Sendmsg,
    Sendmmsg,
    /// Only `AF_PACKET` sockets stop in the default profile (the filter
    /// checks the domain); every one in the full profile.
    Socket,
    /// Only a descriptor duplicated onto 0, 1 or 2 stops (the filter checks
    /// the new descriptor): a socket made stdin/stdout is a reverse shell.
    Dup2,
    Dup3,
    // full profile only
    Truncate,
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
    IoUringEnter,
    IoUringRegister,
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
    Sys::IoUringSetup,
    Sys::Sendto,
    Sys::Sendmsg,
    Sys::Sendmmsg,
    Sys::Socket,
    Sys::Dup2,
    Sys::Dup3,
];

pub const FULL_EXTRA: &[Sys] = &[
    Sys::Truncate,
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
    Sys::IoUringEnter,
    Sys::IoUringRegister,
];

/// What happens to io_uring (`--io-uring`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoUring {
    /// Setting up a ring is an event (every profile but minimal); the ring's
    /// operations are not seen.
    Trace,
    /// io_uring_setup fails with ENOSYS in every profile (an event, so that
    /// the attempt is seen); io_uring_enter and io_uring_register fail with
    /// ENOSYS in the filter (a ring fd received from elsewhere is unusable).
    Deny,
}

impl IoUring {
    pub fn parse(s: &str) -> Option<IoUring> {
        match s {
            "trace" => Some(IoUring::Trace),
            "deny" => Some(IoUring::Deny),
            _ => None,
        }
    }
}

/// The errno a denied io_uring syscall fails with: ENOSYS reads as "this
/// kernel has no io_uring", which libuv, liburing users and the JVM's
/// io_uring back-ends all answer by falling back to plain syscalls.
pub const IO_URING_DENIED: i32 = libc::ENOSYS;

/// How the filter treats one syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Always stop.
    Trace,
    /// Stop only when the flags argument (index) has one of `WRITE_INTENT`'s bits.
    TraceIfWriteIntent(usize),
    /// Stop only when argument (index) is not 0 (sendto's address).
    TraceIfNonZero(usize),
    /// Stop only when the low 32 bits of argument (index) equal the value
    /// (socket's domain: an `int`).
    TraceIfArgEq(usize, u32),
    /// Stop only when the low 32 bits of argument (index), unsigned, are at
    /// most the value (dup2/dup3's new descriptor: an `unsigned int`).
    TraceIfArgAtMost(usize, u32),
    /// Fail with this errno in the filter, without a stop.
    Errno(i32),
}

/// The syscalls a profile stops on (or denies), with their rule.
/// `read_only_opens`: stop on read-only opens too (full profile, or a non-empty
/// sensitive-path list in the default profile).
pub fn rules(profile: Profile, read_only_opens: bool, io_uring: IoUring) -> Vec<(Sys, Rule)> {
    let mut v: Vec<(Sys, Rule)> = MINIMAL.iter().map(|s| (*s, Rule::Trace)).collect();
    if io_uring == IoUring::Deny {
        // in every profile: the setup stops (the tracer fails it and reports
        // the attempt), the other two fail in the filter
        v.push((Sys::IoUringSetup, Rule::Trace));
        v.push((Sys::IoUringEnter, Rule::Errno(IO_URING_DENIED)));
        v.push((Sys::IoUringRegister, Rule::Errno(IO_URING_DENIED)));
    }
    if profile == Profile::Minimal {
        return v;
    }
    let all_opens = read_only_opens || profile == Profile::Full;
    for s in DEFAULT_EXTRA {
        if v.iter().any(|(d, _)| d == s) {
            continue;
        }
        let rule = match (open_flags_arg(*s), s) {
            (Some(i), _) if !all_opens => Rule::TraceIfWriteIntent(i),
            // send() is sendto(fd, buf, len, flags, NULL, 0): a connected
            // socket's sends never stop
            (_, Sys::Sendto) => Rule::TraceIfNonZero(4),
            (_, Sys::Socket) if profile != Profile::Full => {
                Rule::TraceIfArgEq(0, libc::AF_PACKET as u32)
            }
            // stdin, stdout, stderr
            (_, Sys::Dup2 | Sys::Dup3) => Rule::TraceIfArgAtMost(1, 2),
            _ => Rule::Trace,
        };
        v.push((*s, rule));
    }
    if profile == Profile::Full {
        for s in FULL_EXTRA {
            if !v.iter().any(|(d, _)| d == s) {
                v.push((*s, Rule::Trace));
            }
        }
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
                | Sys::IoUringSetup
        )
}
