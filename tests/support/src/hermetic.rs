//! A fixed, minimal starting state for every program a test runs.
//!
//! A program under test must not see what the shell that started `cargo test` happened to
//! carry. Figures and events depend on it: the dynamic loader opens one file per
//! `LD_LIBRARY_PATH` directory (each a tracer stop under the default sensitive-path list), the
//! locale decides which locale files are opened, `KILTX_TRACER_IMAGE`, `DOCKER_CONFIG`, `HOME`
//! and the `AWS_*` variables change what `kiltx` writes or asks for, `HTTP(S)_PROXY` reroutes a
//! registry lookup, an inherited descriptor shifts every descriptor number an event reports,
//! and an inherited terminal on stdin changes what a shell does, and a signal the parent ignored stays
//! ignored across exec. `command` starts from nothing
//! and sets only:
//!
//! | input | value |
//! |---|---|
//! | environment | `PATH` = [`PATH`], `LC_ALL=C`, `TZ=UTC`, `HOME=/nonexistent`; nothing else |
//! | descriptors | 0, 1, 2 only: every other inherited descriptor is closed at exec |
//! | signals | every disposition the default (an ignored `SIGINT` from a background job would otherwise stay ignored, and `sh` cannot even `trap` it); no signal blocked (std does that) |
//! | stdin | `/dev/null` (a test that feeds input sets its own) |
//!
//! The working directory is the caller's to choose (`current_dir`); cargo starts integration
//! tests in the package's root, which is fixed relative to the repository.
//!
//! A test adds what it needs with `.env(…)`: the variables that are its subject, never what it
//! inherited.

use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// The search path programs under test get: the system's directories only.
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// `Command::new(program)` with the fixed environment, descriptors and stdin of this module.
pub fn command(program: impl AsRef<OsStr>) -> Command {
    let mut c = Command::new(program);
    c.env_clear()
        .env("PATH", PATH)
        .env("LC_ALL", "C")
        .env("TZ", "UTC")
        .env("HOME", "/nonexistent")
        .stdin(Stdio::null());
    // SAFETY: the closure runs in the forked child before exec and calls only
    // async-signal-safe system calls (close_range, fcntl), allocating nothing.
    unsafe {
        c.pre_exec(|| {
            cloexec_from(3);
            default_signals();
            Ok(())
        });
    }
    c
}

/// An installed tool (a validator, a test server, podman), with the fixed starting state of
/// [`command`]. The inherited `PATH` is read for one thing only, where the tool is installed
/// (tests/run.sh installs into the `python3` on that `PATH`): the tool runs by its full path,
/// and its own directory leads its `PATH`, so the programs it runs in turn (`validate.py`
/// runs `cfn-lint`) are the ones installed beside it. A missing tool fails the test with how to
/// install it.
pub fn tool(name: &str, install: &str) -> Command {
    let path = crate::require(name, install);
    let dir = path.parent().expect("a tool's directory").to_owned();
    let mut c = command(&path);
    c.env("PATH", format!("{}:{PATH}", dir.display()));
    c
}

/// Mark every descriptor from `first` on close-on-exec. Marking rather than closing keeps
/// std's own exec-error pipe working (it is close-on-exec already), so a failed exec is still
/// reported to the parent.
fn cloexec_from(first: u32) {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only changes descriptor flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r == 0 {
        return;
    }
    // Kernels before 5.11: set the flag one descriptor at a time, up to the soft limit.
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    let max = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
        lim.rlim_cur.min(1 << 16) as i32
    } else {
        1024
    };
    for fd in first as i32..max {
        // SAFETY: fcntl on an integer descriptor; an unused one fails with EBADF, harmlessly.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
}

/// Every signal's disposition back to the default (those the parent caught are reset by exec
/// anyway; those it ignored are not). The raw system call, because glibc's `sigaction` refuses
/// the real-time signals it keeps for itself (32, 33), which can arrive ignored too.
fn default_signals() {
    // The kernel's `struct sigaction` (x86_64 and aarch64 alike): handler, flags, restorer, mask.
    let dfl: [libc::c_ulong; 4] = [libc::SIG_DFL as libc::c_ulong, 0, 0, 0];
    for sig in 1..=64 {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            // SAFETY: rt_sigaction reads the struct above and writes nothing (old action NULL);
            // it is async-signal-safe.
            unsafe {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    dfl.as_ptr(),
                    std::ptr::null_mut::<libc::c_void>(),
                    8usize,
                )
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn only_the_fixed_environment_reaches_the_program() {
        let out = command("/usr/bin/env").output().expect("run env");
        let mut got: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                "HOME=/nonexistent",
                "LC_ALL=C",
                &format!("PATH={PATH}"),
                "TZ=UTC"
            ]
        );
    }

    #[test]
    fn inherited_descriptors_are_closed_and_exec_errors_still_reported() {
        // A descriptor without close-on-exec, as a careless parent would leak it.
        let f = std::fs::File::open("/dev/null").unwrap();
        let fd = f.as_raw_fd();
        // SAFETY: clearing FD_CLOEXEC on a descriptor we own.
        unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
        let out = command("/bin/sh")
            .args(["-c", "ls /proc/self/fd"])
            .output()
            .unwrap();
        let fds = String::from_utf8(out.stdout).unwrap();
        let fds: Vec<&str> = fds.lines().collect();
        // 0, 1, 2 and the one ls itself opened on /proc/self/fd; without the marking, the
        // leaked descriptor (at least 3) would be listed as well
        assert_eq!(fds, ["0", "1", "2", "3"], "leaked descriptor: {fd}");
        let err = command("/nonexistent/program").spawn().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn signals_ignored_by_the_parent_are_not_inherited() {
        let ignored = |o: &[u8]| {
            let t = String::from_utf8_lossy(o);
            let hex = t.trim().trim_start_matches("SigIgn:").trim().to_string();
            u64::from_str_radix(&hex, 16).expect("SigIgn mask")
        };
        let usr2 = 1u64 << (libc::SIGUSR2 - 1);
        // SAFETY: only this test touches SIGUSR2's disposition; it is restored below.
        let old = unsafe { libc::signal(libc::SIGUSR2, libc::SIG_IGN) };
        let plain = Command::new("/bin/grep")
            .args(["SigIgn", "/proc/self/status"])
            .output()
            .unwrap();
        let fixed = command("/bin/grep")
            .args(["SigIgn", "/proc/self/status"])
            .output()
            .unwrap();
        // SAFETY: as above.
        unsafe { libc::signal(libc::SIGUSR2, old) };
        assert_ne!(
            ignored(&plain.stdout) & usr2,
            0,
            "the leak this guards against"
        );
        assert_eq!(ignored(&fixed.stdout), 0);
    }

    #[test]
    fn stdin_is_empty() {
        let out = command("/bin/cat").output().unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(
            out.stdout.is_empty(),
            "cat read {:?} from its stdin (stderr: {:?})",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
