//! How raw argument values are shown: flags as arrays of names (unknown bits
//! as a hex string), modes in octal, `int` arguments, ids, signal names. The
//! flag tables shared by several families live here; the others with their
//! family.
use crate::event::Value;
use std::borrow::Cow;

pub type FlagTable = &'static [(u64, &'static str)];

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

pub const AT_FLAGS: FlagTable = &[
    (libc::AT_SYMLINK_NOFOLLOW as u64, "AT_SYMLINK_NOFOLLOW"),
    (libc::AT_REMOVEDIR as u64, "AT_REMOVEDIR"),
    (libc::AT_SYMLINK_FOLLOW as u64, "AT_SYMLINK_FOLLOW"),
    (libc::AT_EMPTY_PATH as u64, "AT_EMPTY_PATH"),
];

/// A mode in octal, as strace prints it (`%#03o`): a leading 0 and at least
/// three characters, so "000", "0644", "04755".
pub fn octal(v: u64) -> Value {
    Value::Str(format!("{:0>3}", format!("0{:o}", v & 0o7777)))
}

pub fn int32(v: u64) -> Value {
    Value::Int(i64::from(v as u32 as i32))
}

pub fn id(v: u64) -> Value {
    // uid_t / gid_t; -1 means "unchanged"
    Value::Int(i64::from(v as u32 as i32))
}

/// A signal's name; every standard signal (1-31) by name, real-time ones as
/// `SIGRTMIN`, `SIGRT_1` ... `SIGRT_32`, anything else as `SIG<n>`.
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
        libc::SIGSTKFLT => "SIGSTKFLT",
        libc::SIGURG => "SIGURG",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGVTALRM => "SIGVTALRM",
        libc::SIGPROF => "SIGPROF",
        libc::SIGWINCH => "SIGWINCH",
        libc::SIGIO => "SIGIO",
        libc::SIGPWR => "SIGPWR",
        libc::SIGSYS => "SIGSYS",
        0 => "0",
        // real-time signals with the kernel's numbering, as strace names them
        32 => "SIGRTMIN",
        33..=64 => return format!("SIGRT_{}", sig - 32),
        _ => return format!("SIG{sig}"),
    };
    n.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_standard_signal_has_its_name() {
        for sig in 1..=31 {
            let n = signal_name(sig);
            assert!(
                n.starts_with("SIG") && n[3..].parse::<i32>().is_err(),
                "{sig}: {n}"
            );
        }
        assert_eq!(signal_name(16), "SIGSTKFLT");
        assert_eq!(signal_name(23), "SIGURG");
        assert_eq!(signal_name(30), "SIGPWR");
        assert_eq!(signal_name(32), "SIGRTMIN");
        assert_eq!(signal_name(34), "SIGRT_2");
        assert_eq!(signal_name(65), "SIG65");
    }

    #[test]
    fn modes_have_one_format() {
        let m = |v| match octal(v) {
            Value::Str(s) => s,
            _ => String::new(),
        };
        assert_eq!(m(0), "000");
        assert_eq!(m(0o5), "005");
        assert_eq!(m(0o644), "0644");
        assert_eq!(m(0o4755), "04755");
        assert_eq!(m(0o100644), "0644");
    }
}
