//! Thin safe wrappers over the raw ptrace / wait / memory-reading syscalls.
//! Every `unsafe` block of the tracer's kernel plumbing lives here or in
//! `arch`, `seccomp`, `launch` and `signals`.
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set when PTRACE_GET_SYSCALL_INFO is unavailable (kernels before 5.3), or
/// forced with KILTX_TRACER_REGS_ONLY=1: syscalls are then read from the
/// registers (`arch`).
static REGS_ONLY: AtomicBool = AtomicBool::new(false);

pub fn regs_only() -> bool {
    REGS_ONLY.load(Ordering::Relaxed)
}

pub fn set_regs_only() {
    REGS_ONLY.store(true, Ordering::Relaxed);
}

pub const PTRACE_GET_SYSCALL_INFO: libc::c_uint = 0x420e;
pub const OP_ENTRY: u8 = 1;
pub const OP_EXIT: u8 = 2;
pub const OP_SECCOMP: u8 = 3;

/// `struct ptrace_syscall_info`, flattened: for OP_SECCOMP/OP_ENTRY `nr` and
/// `args` are set; for OP_EXIT `rval` and `is_error`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SyscallInfo {
    pub op: u8,
    pub arch: u32,
    pub nr: u64,
    pub args: [u64; 6],
    pub ret_data: u32,
    pub rval: i64,
    pub is_error: bool,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct RawInfo {
    op: u8,
    pad: [u8; 3],
    arch: u32,
    ip: u64,
    sp: u64,
    // union: seccomp { nr, args[6], ret_data } is the largest member
    u: [u64; 8],
}

fn last() -> io::Error {
    io::Error::last_os_error()
}

fn ptrace_raw(req: libc::c_uint, pid: i32, addr: usize, data: usize) -> io::Result<libc::c_long> {
    // SAFETY: callers only pass requests whose `addr`/`data` are either
    // integers or pointers to live buffers of the size the request needs.
    let r = unsafe {
        libc::ptrace(
            req,
            pid,
            addr as *mut libc::c_void,
            data as *mut libc::c_void,
        )
    };
    if r < 0 {
        Err(last())
    } else {
        Ok(r)
    }
}

pub fn seize(pid: i32, options: libc::c_int) -> io::Result<()> {
    ptrace_raw(libc::PTRACE_SEIZE, pid, 0, options as usize).map(|_| ())
}

/// Resume; errors (the tracee died meanwhile: ESRCH) are not actionable.
pub fn cont(pid: i32, sig: i32) -> io::Result<()> {
    ptrace_raw(libc::PTRACE_CONT, pid, 0, sig as usize).map(|_| ())
}

/// Resume and stop again at syscall exit.
pub fn cont_to_exit(pid: i32, sig: i32) -> io::Result<()> {
    ptrace_raw(libc::PTRACE_SYSCALL, pid, 0, sig as usize).map(|_| ())
}

pub fn listen(pid: i32) -> io::Result<()> {
    ptrace_raw(libc::PTRACE_LISTEN, pid, 0, 0).map(|_| ())
}

pub fn event_msg(pid: i32) -> io::Result<u64> {
    let mut msg: libc::c_ulong = 0;
    ptrace_raw(
        libc::PTRACE_GETEVENTMSG,
        pid,
        0,
        &mut msg as *mut libc::c_ulong as usize,
    )?;
    Ok(msg)
}

pub fn syscall_info(pid: i32) -> io::Result<SyscallInfo> {
    let mut raw = RawInfo {
        op: 0,
        pad: [0; 3],
        arch: 0,
        ip: 0,
        sp: 0,
        u: [0; 8],
    };
    let size = std::mem::size_of::<RawInfo>();
    ptrace_raw(
        PTRACE_GET_SYSCALL_INFO,
        pid,
        size,
        &mut raw as *mut RawInfo as usize,
    )?;
    let mut info = SyscallInfo {
        op: raw.op,
        arch: raw.arch,
        ..Default::default()
    };
    match raw.op {
        OP_ENTRY | OP_SECCOMP => {
            info.nr = raw.u[0];
            info.args.copy_from_slice(&raw.u[1..7]);
            info.ret_data = (raw.u[7] & 0xffff_ffff) as u32;
        }
        OP_EXIT => {
            info.rval = raw.u[0] as i64;
            info.is_error = raw.u[1] & 0xff != 0;
        }
        _ => {}
    }
    Ok(info)
}

/// Result of `waitpid(-1, __WALL)`.
#[derive(Clone, Copy, Debug)]
pub struct Wait {
    pub pid: i32,
    pub status: i32,
}

pub fn wait_any() -> io::Result<Wait> {
    let mut status = 0;
    loop {
        // SAFETY: status is a valid out pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::__WALL) };
        if pid < 0 {
            let e = last();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(e);
        }
        return Ok(Wait { pid, status });
    }
}

/// Read tracee memory; returns how many bytes were read (short at an
/// unmapped page).
pub fn read_mem(pid: i32, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
    if buf.is_empty() {
        return Ok(0);
    }
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as usize as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: the local iovec describes `buf`, which we own mutably; the remote
    // one is only read by the kernel from the other process.
    let r = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
    if r < 0 {
        Err(last())
    } else {
        Ok(r as usize)
    }
}

pub fn kill(pid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: plain syscall with integer arguments.
    if unsafe { libc::kill(pid, sig) } < 0 {
        Err(last())
    } else {
        Ok(())
    }
}

pub fn getpid() -> i32 {
    // SAFETY: no arguments, cannot fail.
    unsafe { libc::getpid() }
}

pub fn set_child_subreaper() -> io::Result<()> {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } < 0 {
        Err(last())
    } else {
        Ok(())
    }
}

/// Wall-clock time (seconds, nanoseconds).
pub fn now() -> (i64, u32) {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid out pointer; CLOCK_REALTIME always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    (ts.tv_sec, ts.tv_nsec as u32)
}

pub fn exit_now(code: i32) -> ! {
    // SAFETY: terminates the process without running destructors or atexit
    // handlers, which is what we want once events are flushed.
    unsafe { libc::_exit(code) }
}

/// The protocol name the kernel gives the socket behind `/proc/TID/fd/FD`
/// (the `system.sockprotoname` attribute of sockfs: "TCP", "UDPv6",
/// "UNIX-STREAM", "PACKET", ...); `None` when it is not a socket.
pub fn sock_proto_name(tid: i32, fd: i32) -> Option<String> {
    let path = std::ffi::CString::new(format!("/proc/{tid}/fd/{fd}")).ok()?;
    let mut buf = [0u8; 64];
    // SAFETY: both names are NUL-terminated strings that outlive the call;
    // the kernel writes at most buf.len() bytes into buf.
    let n = unsafe {
        libc::getxattr(
            path.as_ptr(),
            c"system.sockprotoname".as_ptr(),
            buf.as_mut_ptr() as *mut libc::c_void,
            buf.len(),
        )
    };
    if n <= 0 {
        return None;
    }
    let s = &buf[..n as usize];
    let s = s.strip_suffix(&[0]).unwrap_or(s);
    Some(String::from_utf8_lossy(s).into_owned())
}

/// The socket type (`SO_TYPE`) of descriptor `fd` of process `pid` (a
/// thread-group leader), through a copy of the descriptor
/// (`pidfd_getfd`, Linux 5.6; the tracer may, being its tracer). `None`
/// when that is not possible.
pub fn sock_type_of(pid: i32, fd: i32) -> Option<i32> {
    // SAFETY: pidfd_open takes integers and returns a new descriptor we own.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if pidfd < 0 {
        return None;
    }
    // SAFETY: integers only; the result is a new (close-on-exec) descriptor.
    let local = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd as i32, fd, 0) };
    // SAFETY: closing the pidfd we opened.
    unsafe { libc::close(pidfd as i32) };
    if local < 0 {
        return None;
    }
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: v and len are valid out pointers of the sizes given.
    let r = unsafe {
        libc::getsockopt(
            local as i32,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            &mut v as *mut libc::c_int as *mut libc::c_void,
            &mut len,
        )
    };
    // SAFETY: closing our copy; the tracee's descriptor is untouched.
    unsafe { libc::close(local as i32) };
    (r == 0).then_some(v)
}
