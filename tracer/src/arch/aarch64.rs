//! aarch64: audit architectures, syscall numbers (native asm-generic, AArch32
//! compat), registers.
//!
//! Registers come from `PTRACE_GETREGSET`/`NT_PRSTATUS`: the syscall number is
//! in x8 (r7 for AArch32), the arguments in x0–x5 (r0–r6), the result in x0
//! (r0), which overwrites the first argument: whatever an event needs from the
//! arguments is read at the entry (seccomp) stop. The size the kernel returns
//! for `NT_PRSTATUS` tells a 64-bit tracee (34 registers of 8 bytes) from an
//! AArch32 one (18 of 4). The syscall number is changed with
//! `NT_ARM_SYSTEM_CALL` (-1 skips the call).
use super::Abi;
use crate::syscalls::Sys;

pub const NATIVE_NAME: &str = "aarch64";
pub const COMPAT_NAME: &str = "arm";
/// `AUDIT_ARCH_AARCH64` (EM_AARCH64 | 64-bit | little-endian)
pub const NATIVE_AUDIT_ARCH: u32 = 0xC000_00B7;
/// `AUDIT_ARCH_ARM` (EM_ARM | little-endian): AArch32 user space.
pub const COMPAT_AUDIT_ARCH: u32 = 0x4000_0028;
/// The bit of the syscall number that marks an x32 syscall: aarch64 has no
/// such ABI, so the filter has no x32 section.
pub const X32_FILTER_BIT: Option<u32> = None;

/// Size of a user-space pointer (for reading argv arrays).
pub fn pointer_size(abi: Abi) -> usize {
    match abi {
        Abi::Native => 8,
        Abi::Compat | Abi::X32 => 4,
    }
}

/// Which ABI a (audit arch, syscall number) pair belongs to.
pub fn abi_of(audit_arch: u32, _nr: u64) -> Option<Abi> {
    match audit_arch {
        NATIVE_AUDIT_ARCH => Some(Abi::Native),
        COMPAT_AUDIT_ARCH => Some(Abi::Compat),
        _ => None,
    }
}

/// Native aarch64 numbers of the syscalls we know: the asm-generic table
/// (include/uapi/asm-generic/unistd.h, with arm64's `renameat`). There is no
/// `open`, `creat`, `unlink`, `rename`, `mkdir`, `rmdir`, `chmod`, `chown`,
/// `lchown`, `link`, `symlink`, `fork`, `vfork`: only their `*at` forms (and
/// `clone`), which C libraries use instead.
pub const NATIVE: &[(u32, Sys, &str)] = &[
    (221, Sys::Execve, "execve"),
    (281, Sys::Execveat, "execveat"),
    (56, Sys::Openat, "openat"),
    (437, Sys::Openat2, "openat2"),
    (35, Sys::Unlinkat, "unlinkat"),
    (38, Sys::Renameat, "renameat"),
    (276, Sys::Renameat2, "renameat2"),
    (34, Sys::Mkdirat, "mkdirat"),
    (52, Sys::Fchmod, "fchmod"),
    (53, Sys::Fchmodat, "fchmodat"),
    (452, Sys::Fchmodat2, "fchmodat2"),
    (55, Sys::Fchown, "fchown"),
    (54, Sys::Fchownat, "fchownat"),
    (37, Sys::Linkat, "linkat"),
    (36, Sys::Symlinkat, "symlinkat"),
    (40, Sys::Mount, "mount"),
    (39, Sys::Umount2, "umount2"),
    (429, Sys::MoveMount, "move_mount"),
    (203, Sys::Connect, "connect"),
    (200, Sys::Bind, "bind"),
    (201, Sys::Listen, "listen"),
    (202, Sys::Accept, "accept"),
    (242, Sys::Accept4, "accept4"),
    (146, Sys::Setuid, "setuid"),
    (144, Sys::Setgid, "setgid"),
    (145, Sys::Setreuid, "setreuid"),
    (143, Sys::Setregid, "setregid"),
    (147, Sys::Setresuid, "setresuid"),
    (149, Sys::Setresgid, "setresgid"),
    (151, Sys::Setfsuid, "setfsuid"),
    (152, Sys::Setfsgid, "setfsgid"),
    (91, Sys::Capset, "capset"),
    (117, Sys::Ptrace, "ptrace"),
    (279, Sys::MemfdCreate, "memfd_create"),
    (105, Sys::InitModule, "init_module"),
    (273, Sys::FinitModule, "finit_module"),
    (425, Sys::IoUringSetup, "io_uring_setup"),
    (206, Sys::Sendto, "sendto"),
    (211, Sys::Sendmsg, "sendmsg"),
    (269, Sys::Sendmmsg, "sendmmsg"),
    (45, Sys::Truncate, "truncate"),
    (198, Sys::Socket, "socket"),
    (129, Sys::Kill, "kill"),
    (130, Sys::Tkill, "tkill"),
    (131, Sys::Tgkill, "tgkill"),
    (97, Sys::Unshare, "unshare"),
    (268, Sys::Setns, "setns"),
    (51, Sys::Chroot, "chroot"),
    (41, Sys::PivotRoot, "pivot_root"),
    (270, Sys::ProcessVmReadv, "process_vm_readv"),
    (271, Sys::ProcessVmWritev, "process_vm_writev"),
    (280, Sys::Bpf, "bpf"),
    (106, Sys::DeleteModule, "delete_module"),
    (426, Sys::IoUringEnter, "io_uring_enter"),
    (427, Sys::IoUringRegister, "io_uring_register"),
];

/// AArch32 EABI numbers (arch/arm/tools/syscall.tbl). Several syscalls have a
/// 16-bit-id and a 32-bit-id variant; both are traced. EABI has no
/// `socketcall`: the socket calls have numbers of their own.
pub const COMPAT: &[(u32, Sys, &str)] = &[
    (11, Sys::Execve, "execve"),
    (387, Sys::Execveat, "execveat"),
    (5, Sys::Open, "open"),
    (322, Sys::Openat, "openat"),
    (437, Sys::Openat2, "openat2"),
    (8, Sys::Creat, "creat"),
    (10, Sys::Unlink, "unlink"),
    (328, Sys::Unlinkat, "unlinkat"),
    (38, Sys::Rename, "rename"),
    (329, Sys::Renameat, "renameat"),
    (382, Sys::Renameat2, "renameat2"),
    (39, Sys::Mkdir, "mkdir"),
    (323, Sys::Mkdirat, "mkdirat"),
    (40, Sys::Rmdir, "rmdir"),
    (15, Sys::Chmod, "chmod"),
    (94, Sys::Fchmod, "fchmod"),
    (333, Sys::Fchmodat, "fchmodat"),
    (452, Sys::Fchmodat2, "fchmodat2"),
    (182, Sys::Chown, "chown"),
    (212, Sys::Chown, "chown32"),
    (95, Sys::Fchown, "fchown"),
    (207, Sys::Fchown, "fchown32"),
    (16, Sys::Lchown, "lchown"),
    (198, Sys::Lchown, "lchown32"),
    (325, Sys::Fchownat, "fchownat"),
    (9, Sys::Link, "link"),
    (330, Sys::Linkat, "linkat"),
    (83, Sys::Symlink, "symlink"),
    (331, Sys::Symlinkat, "symlinkat"),
    (21, Sys::Mount, "mount"),
    (52, Sys::Umount2, "umount2"),
    (429, Sys::MoveMount, "move_mount"),
    (283, Sys::Connect, "connect"),
    (282, Sys::Bind, "bind"),
    (284, Sys::Listen, "listen"),
    (285, Sys::Accept, "accept"),
    (366, Sys::Accept4, "accept4"),
    (23, Sys::Setuid, "setuid"),
    (213, Sys::Setuid, "setuid32"),
    (46, Sys::Setgid, "setgid"),
    (214, Sys::Setgid, "setgid32"),
    (70, Sys::Setreuid, "setreuid"),
    (203, Sys::Setreuid, "setreuid32"),
    (71, Sys::Setregid, "setregid"),
    (204, Sys::Setregid, "setregid32"),
    (164, Sys::Setresuid, "setresuid"),
    (208, Sys::Setresuid, "setresuid32"),
    (170, Sys::Setresgid, "setresgid"),
    (210, Sys::Setresgid, "setresgid32"),
    (138, Sys::Setfsuid, "setfsuid"),
    (215, Sys::Setfsuid, "setfsuid32"),
    (139, Sys::Setfsgid, "setfsgid"),
    (216, Sys::Setfsgid, "setfsgid32"),
    (185, Sys::Capset, "capset"),
    (26, Sys::Ptrace, "ptrace"),
    (385, Sys::MemfdCreate, "memfd_create"),
    (128, Sys::InitModule, "init_module"),
    (379, Sys::FinitModule, "finit_module"),
    (92, Sys::Truncate, "truncate"),
    (281, Sys::Socket, "socket"),
    (37, Sys::Kill, "kill"),
    (238, Sys::Tkill, "tkill"),
    (268, Sys::Tgkill, "tgkill"),
    (337, Sys::Unshare, "unshare"),
    (375, Sys::Setns, "setns"),
    (61, Sys::Chroot, "chroot"),
    (218, Sys::PivotRoot, "pivot_root"),
    (376, Sys::ProcessVmReadv, "process_vm_readv"),
    (377, Sys::ProcessVmWritev, "process_vm_writev"),
    (386, Sys::Bpf, "bpf"),
    (129, Sys::DeleteModule, "delete_module"),
    (425, Sys::IoUringSetup, "io_uring_setup"),
    (426, Sys::IoUringEnter, "io_uring_enter"),
    (427, Sys::IoUringRegister, "io_uring_register"),
    (290, Sys::Sendto, "sendto"),
    (296, Sys::Sendmsg, "sendmsg"),
    (374, Sys::Sendmmsg, "sendmmsg"),
];

/// The syscalls of one ABI: (number, identity, name).
pub fn table(abi: Abi) -> Vec<(u32, Sys, &'static str)> {
    match abi {
        Abi::Native => NATIVE.to_vec(),
        Abi::Compat => COMPAT.to_vec(),
        Abi::X32 => Vec::new(),
    }
}

const NT_PRSTATUS: usize = 1;
const NT_ARM_SYSTEM_CALL: usize = 0x404;
/// `struct user_pt_regs`: x0–x30, sp, pc, pstate.
const NATIVE_REGS: usize = 34;
/// AArch32 `NT_PRSTATUS` as a 64-bit tracer sees it: r0–r15, cpsr, orig_r0.
const COMPAT_REGS: usize = 18;

/// The general registers of a stopped tracee, in the tracee's own layout.
enum Regs {
    Native([u64; NATIVE_REGS]),
    Compat([u32; COMPAT_REGS]),
}

impl Regs {
    fn nr(&self) -> u64 {
        match self {
            Regs::Native(r) => r[8],
            Regs::Compat(r) => u64::from(r[7]),
        }
    }
    fn arg(&self, i: usize) -> u64 {
        match self {
            Regs::Native(r) => r[i],
            Regs::Compat(r) => u64::from(r[i]),
        }
    }
}

fn regset(req: libc::c_uint, pid: i32, note: usize, iov: &mut libc::iovec) -> std::io::Result<()> {
    // SAFETY: PTRACE_GETREGSET/SETREGSET read or write at most iov_len bytes
    // at iov_base, a live buffer of that size, and update iov_len.
    let rc = unsafe { libc::ptrace(req, pid, note as *mut libc::c_void, iov as *mut libc::iovec) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Read the registers of a stopped tracee.
fn get_regs(pid: i32) -> std::io::Result<Regs> {
    let mut buf = [0u64; NATIVE_REGS];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: std::mem::size_of_val(&buf),
    };
    regset(libc::PTRACE_GETREGSET, pid, NT_PRSTATUS, &mut iov)?;
    if iov.iov_len == COMPAT_REGS * 4 {
        let mut r = [0u32; COMPAT_REGS];
        for (i, v) in r.iter_mut().enumerate() {
            let w = buf[i / 2];
            *v = if i % 2 == 0 {
                w as u32
            } else {
                (w >> 32) as u32
            };
        }
        return Ok(Regs::Compat(r));
    }
    Ok(Regs::Native(buf))
}

/// Make the syscall a tracee is stopped in (at its seccomp stop) fail with
/// `errno` without running: the result register gets `-errno`, then the
/// number becomes -1 (skipped) through `NT_ARM_SYSTEM_CALL`.
pub fn deny_syscall(pid: i32, errno: i32) -> std::io::Result<()> {
    let ret = -i64::from(errno);
    match get_regs(pid)? {
        Regs::Native(mut r) => {
            r[0] = ret as u64;
            let mut iov = libc::iovec {
                iov_base: r.as_mut_ptr().cast(),
                iov_len: std::mem::size_of_val(&r),
            };
            regset(libc::PTRACE_SETREGSET, pid, NT_PRSTATUS, &mut iov)?;
        }
        Regs::Compat(mut r) => {
            r[0] = ret as u32;
            let mut iov = libc::iovec {
                iov_base: r.as_mut_ptr().cast(),
                iov_len: std::mem::size_of_val(&r),
            };
            regset(libc::PTRACE_SETREGSET, pid, NT_PRSTATUS, &mut iov)?;
        }
    }
    let mut nr: i32 = -1;
    let mut iov = libc::iovec {
        iov_base: (&mut nr as *mut i32).cast(),
        iov_len: std::mem::size_of::<i32>(),
    };
    regset(libc::PTRACE_SETREGSET, pid, NT_ARM_SYSTEM_CALL, &mut iov)
}

/// Registers of interest at a fork/clone event stop: the syscall number and
/// its first argument (clone flags, or the `clone_args` pointer for clone3).
pub struct ForkRegs {
    pub nr: u64,
    pub arg0: u64,
    pub compat: bool,
}

/// Name of a process-creating syscall from its number.
pub fn fork_syscall_name(regs: &ForkRegs) -> &'static str {
    if regs.compat {
        return match regs.nr {
            2 => "fork",
            120 => "clone",
            190 => "vfork",
            435 => "clone3",
            _ => "clone",
        };
    }
    // asm-generic has no fork or vfork: glibc makes both with clone
    match regs.nr {
        220 => "clone",
        435 => "clone3",
        _ => "clone",
    }
}

pub fn is_clone3(regs: &ForkRegs) -> bool {
    regs.nr == 435
}

/// Syscall number and arguments from the registers, for kernels without
/// PTRACE_GET_SYSCALL_INFO (before 5.3). `abi` is known from the filter; at
/// the seccomp stop x0 still holds the first argument.
pub fn syscall_from_regs(pid: i32, _abi: Abi) -> std::io::Result<(u64, [u64; 6])> {
    let r = get_regs(pid)?;
    Ok((r.nr(), std::array::from_fn(|i| r.arg(i))))
}

/// Return value of a syscall at its exit stop, from the registers:
/// (value, is_error).
pub fn result_from_regs(pid: i32) -> std::io::Result<(i64, bool)> {
    let v = match get_regs(pid)? {
        Regs::Native(r) => r[0] as i64,
        Regs::Compat(r) => i64::from(r[0] as i32),
    };
    Ok((v, (-4095..0).contains(&v)))
}

/// Registers of interest at a fork/clone event stop (inside the syscall, so
/// x0 still holds the first argument).
pub fn fork_event_regs(pid: i32) -> std::io::Result<ForkRegs> {
    let r = get_regs(pid)?;
    Ok(ForkRegs {
        nr: r.nr(),
        arg0: r.arg(0),
        compat: matches!(r, Regs::Compat(_)),
    })
}
