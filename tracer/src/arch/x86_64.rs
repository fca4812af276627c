//! x86_64: audit architectures, syscall numbers (native, i386 compat, x32),
//! registers.
use super::Abi;
use crate::syscalls::Sys;

pub const NATIVE_NAME: &str = "x86_64";
pub const COMPAT_NAME: &str = "i386";
/// `AUDIT_ARCH_X86_64`
pub const NATIVE_AUDIT_ARCH: u32 = 0xC000_003E;
/// `AUDIT_ARCH_I386`
pub const COMPAT_AUDIT_ARCH: u32 = 0x4000_0003;
/// x32 syscalls are native-arch syscalls with this bit set in the number.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;
/// The bit the filter tests to send a syscall to its x32 section.
pub const X32_FILTER_BIT: Option<u32> = Some(X32_SYSCALL_BIT);

/// Size of a user-space pointer (for reading argv arrays).
pub fn pointer_size(abi: Abi) -> usize {
    match abi {
        Abi::Native => 8,
        Abi::Compat | Abi::X32 => 4,
    }
}

/// Which ABI a (audit arch, syscall number) pair belongs to.
pub fn abi_of(audit_arch: u32, nr: u64) -> Option<Abi> {
    match audit_arch {
        NATIVE_AUDIT_ARCH if nr & u64::from(X32_SYSCALL_BIT) != 0 => Some(Abi::X32),
        NATIVE_AUDIT_ARCH => Some(Abi::Native),
        COMPAT_AUDIT_ARCH => Some(Abi::Compat),
        _ => None,
    }
}

macro_rules! nr {
    ($s:ident) => {
        libc::$s as u32
    };
}

/// Native x86_64 numbers of the syscalls we know.
pub const NATIVE: &[(u32, Sys, &str)] = &[
    (nr!(SYS_execve), Sys::Execve, "execve"),
    (nr!(SYS_execveat), Sys::Execveat, "execveat"),
    (nr!(SYS_open), Sys::Open, "open"),
    (nr!(SYS_openat), Sys::Openat, "openat"),
    (nr!(SYS_openat2), Sys::Openat2, "openat2"),
    (nr!(SYS_creat), Sys::Creat, "creat"),
    (nr!(SYS_unlink), Sys::Unlink, "unlink"),
    (nr!(SYS_unlinkat), Sys::Unlinkat, "unlinkat"),
    (nr!(SYS_rename), Sys::Rename, "rename"),
    (nr!(SYS_renameat), Sys::Renameat, "renameat"),
    (nr!(SYS_renameat2), Sys::Renameat2, "renameat2"),
    (nr!(SYS_mkdir), Sys::Mkdir, "mkdir"),
    (nr!(SYS_mkdirat), Sys::Mkdirat, "mkdirat"),
    (nr!(SYS_rmdir), Sys::Rmdir, "rmdir"),
    (nr!(SYS_chmod), Sys::Chmod, "chmod"),
    (nr!(SYS_fchmod), Sys::Fchmod, "fchmod"),
    (nr!(SYS_fchmodat), Sys::Fchmodat, "fchmodat"),
    (452, Sys::Fchmodat2, "fchmodat2"),
    (nr!(SYS_chown), Sys::Chown, "chown"),
    (nr!(SYS_fchown), Sys::Fchown, "fchown"),
    (nr!(SYS_lchown), Sys::Lchown, "lchown"),
    (nr!(SYS_fchownat), Sys::Fchownat, "fchownat"),
    (nr!(SYS_link), Sys::Link, "link"),
    (nr!(SYS_linkat), Sys::Linkat, "linkat"),
    (nr!(SYS_symlink), Sys::Symlink, "symlink"),
    (nr!(SYS_symlinkat), Sys::Symlinkat, "symlinkat"),
    (nr!(SYS_mount), Sys::Mount, "mount"),
    (nr!(SYS_umount2), Sys::Umount2, "umount2"),
    (429, Sys::MoveMount, "move_mount"),
    (nr!(SYS_connect), Sys::Connect, "connect"),
    (nr!(SYS_bind), Sys::Bind, "bind"),
    (nr!(SYS_listen), Sys::Listen, "listen"),
    (nr!(SYS_accept), Sys::Accept, "accept"),
    (nr!(SYS_accept4), Sys::Accept4, "accept4"),
    (nr!(SYS_setuid), Sys::Setuid, "setuid"),
    (nr!(SYS_setgid), Sys::Setgid, "setgid"),
    (nr!(SYS_setreuid), Sys::Setreuid, "setreuid"),
    (nr!(SYS_setregid), Sys::Setregid, "setregid"),
    (nr!(SYS_setresuid), Sys::Setresuid, "setresuid"),
    (nr!(SYS_setresgid), Sys::Setresgid, "setresgid"),
    (nr!(SYS_setfsuid), Sys::Setfsuid, "setfsuid"),
    (nr!(SYS_setfsgid), Sys::Setfsgid, "setfsgid"),
    (nr!(SYS_capset), Sys::Capset, "capset"),
    (nr!(SYS_ptrace), Sys::Ptrace, "ptrace"),
    (nr!(SYS_memfd_create), Sys::MemfdCreate, "memfd_create"),
    (nr!(SYS_init_module), Sys::InitModule, "init_module"),
    (nr!(SYS_finit_module), Sys::FinitModule, "finit_module"),
    (nr!(SYS_io_uring_setup), Sys::IoUringSetup, "io_uring_setup"),
    (nr!(SYS_sendto), Sys::Sendto, "sendto"),
    (nr!(SYS_sendmsg), Sys::Sendmsg, "sendmsg"),
    (nr!(SYS_sendmmsg), Sys::Sendmmsg, "sendmmsg"),
    (nr!(SYS_dup2), Sys::Dup2, "dup2"),
    (nr!(SYS_dup3), Sys::Dup3, "dup3"),
    (nr!(SYS_truncate), Sys::Truncate, "truncate"),
    (nr!(SYS_socket), Sys::Socket, "socket"),
    (nr!(SYS_kill), Sys::Kill, "kill"),
    (nr!(SYS_tkill), Sys::Tkill, "tkill"),
    (nr!(SYS_tgkill), Sys::Tgkill, "tgkill"),
    (nr!(SYS_unshare), Sys::Unshare, "unshare"),
    (nr!(SYS_setns), Sys::Setns, "setns"),
    (nr!(SYS_chroot), Sys::Chroot, "chroot"),
    (nr!(SYS_pivot_root), Sys::PivotRoot, "pivot_root"),
    (
        nr!(SYS_process_vm_readv),
        Sys::ProcessVmReadv,
        "process_vm_readv",
    ),
    (
        nr!(SYS_process_vm_writev),
        Sys::ProcessVmWritev,
        "process_vm_writev",
    ),
    (nr!(SYS_bpf), Sys::Bpf, "bpf"),
    (nr!(SYS_delete_module), Sys::DeleteModule, "delete_module"),
    (nr!(SYS_io_uring_enter), Sys::IoUringEnter, "io_uring_enter"),
    (
        nr!(SYS_io_uring_register),
        Sys::IoUringRegister,
        "io_uring_register",
    ),
];

/// i386 numbers (from arch/x86/entry/syscalls/syscall_32.tbl). Several
/// syscalls have a 16-bit-id and a 32-bit-id variant; both are traced.
pub const COMPAT: &[(u32, Sys, &str)] = &[
    (11, Sys::Execve, "execve"),
    (358, Sys::Execveat, "execveat"),
    (5, Sys::Open, "open"),
    (295, Sys::Openat, "openat"),
    (437, Sys::Openat2, "openat2"),
    (8, Sys::Creat, "creat"),
    (10, Sys::Unlink, "unlink"),
    (301, Sys::Unlinkat, "unlinkat"),
    (38, Sys::Rename, "rename"),
    (302, Sys::Renameat, "renameat"),
    (353, Sys::Renameat2, "renameat2"),
    (39, Sys::Mkdir, "mkdir"),
    (296, Sys::Mkdirat, "mkdirat"),
    (40, Sys::Rmdir, "rmdir"),
    (15, Sys::Chmod, "chmod"),
    (94, Sys::Fchmod, "fchmod"),
    (306, Sys::Fchmodat, "fchmodat"),
    (452, Sys::Fchmodat2, "fchmodat2"),
    (182, Sys::Chown, "chown"),
    (212, Sys::Chown, "chown32"),
    (95, Sys::Fchown, "fchown"),
    (207, Sys::Fchown, "fchown32"),
    (16, Sys::Lchown, "lchown"),
    (198, Sys::Lchown, "lchown32"),
    (298, Sys::Fchownat, "fchownat"),
    (9, Sys::Link, "link"),
    (303, Sys::Linkat, "linkat"),
    (83, Sys::Symlink, "symlink"),
    (304, Sys::Symlinkat, "symlinkat"),
    (21, Sys::Mount, "mount"),
    (52, Sys::Umount2, "umount2"),
    (429, Sys::MoveMount, "move_mount"),
    (102, Sys::Socketcall, "socketcall"),
    (362, Sys::Connect, "connect"),
    (361, Sys::Bind, "bind"),
    (363, Sys::Listen, "listen"),
    (364, Sys::Accept4, "accept4"),
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
    (356, Sys::MemfdCreate, "memfd_create"),
    (128, Sys::InitModule, "init_module"),
    (350, Sys::FinitModule, "finit_module"),
    (92, Sys::Truncate, "truncate"),
    (359, Sys::Socket, "socket"),
    (37, Sys::Kill, "kill"),
    (238, Sys::Tkill, "tkill"),
    (270, Sys::Tgkill, "tgkill"),
    (310, Sys::Unshare, "unshare"),
    (346, Sys::Setns, "setns"),
    (61, Sys::Chroot, "chroot"),
    (217, Sys::PivotRoot, "pivot_root"),
    (347, Sys::ProcessVmReadv, "process_vm_readv"),
    (348, Sys::ProcessVmWritev, "process_vm_writev"),
    (357, Sys::Bpf, "bpf"),
    (129, Sys::DeleteModule, "delete_module"),
    (425, Sys::IoUringSetup, "io_uring_setup"),
    (426, Sys::IoUringEnter, "io_uring_enter"),
    (427, Sys::IoUringRegister, "io_uring_register"),
    (369, Sys::Sendto, "sendto"),
    (370, Sys::Sendmsg, "sendmsg"),
    (345, Sys::Sendmmsg, "sendmmsg"),
    (63, Sys::Dup2, "dup2"),
    (330, Sys::Dup3, "dup3"),
];

/// x32 numbers: `X32_SYSCALL_BIT | native number`, except for the syscalls
/// whose native entry is 64-bit only (they have x32 entries from 512 up).
pub fn x32_number(native_nr: u32, sys: Sys) -> u32 {
    let nr = match sys {
        Sys::Execve => 520,
        Sys::Ptrace => 521,
        Sys::ProcessVmReadv => 539,
        Sys::ProcessVmWritev => 540,
        Sys::Execveat => 545,
        // their msghdr has 32-bit pointers: compat entries
        Sys::Sendmsg => 518,
        Sys::Sendmmsg => 538,
        _ => native_nr,
    };
    X32_SYSCALL_BIT | nr
}

/// The syscalls of one ABI: (number, identity, name).
pub fn table(abi: Abi) -> Vec<(u32, Sys, &'static str)> {
    match abi {
        Abi::Native => NATIVE.to_vec(),
        Abi::Compat => COMPAT.to_vec(),
        Abi::X32 => NATIVE
            .iter()
            .map(|(nr, sys, name)| (x32_number(*nr, *sys), *sys, *name))
            .collect(),
    }
}

/// Make the syscall a tracee is stopped in (at its seccomp stop) fail with
/// `errno` without running: the number becomes -1 (skipped) and the return
/// register already holds the result.
pub fn deny_syscall(pid: i32, errno: i32) -> std::io::Result<()> {
    let mut r = get_regs(pid)?;
    r.orig_rax = u64::MAX;
    r.rax = (-i64::from(errno)) as u64;
    // SAFETY: PTRACE_SETREGS reads a user_regs_struct from the pointer we
    // pass; it lives for the call.
    let rc = unsafe {
        libc::ptrace(
            libc::PTRACE_SETREGS,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            &r as *const libc::user_regs_struct,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
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
    match regs.nr as i64 {
        libc::SYS_fork => "fork",
        libc::SYS_vfork => "vfork",
        libc::SYS_clone => "clone",
        libc::SYS_clone3 => "clone3",
        _ => "clone",
    }
}

pub fn is_clone3(regs: &ForkRegs) -> bool {
    regs.nr == 435
}

/// Syscall number and arguments from the registers, for kernels without
/// PTRACE_GET_SYSCALL_INFO (before 5.3). `abi` is known from the filter.
pub fn syscall_from_regs(pid: i32, abi: Abi) -> std::io::Result<(u64, [u64; 6])> {
    let r = get_regs(pid)?;
    let args = match abi {
        Abi::Compat => [r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp].map(|v| v & 0xffff_ffff),
        Abi::Native | Abi::X32 => [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9],
    };
    Ok((r.orig_rax, args))
}

/// Return value of a syscall at its exit stop, from the registers:
/// (value, is_error).
pub fn result_from_regs(pid: i32) -> std::io::Result<(i64, bool)> {
    let r = get_regs(pid)?;
    let v = r.rax as i64;
    Ok((v, (-4095..0).contains(&v)))
}

/// Registers of interest at a fork/clone event stop.
pub fn fork_event_regs(pid: i32) -> std::io::Result<ForkRegs> {
    let regs = get_regs(pid)?;
    // 0x23 is the 32-bit user code segment.
    let compat = regs.cs == 0x23;
    let arg0 = if compat {
        regs.rbx & 0xffff_ffff
    } else {
        regs.rdi
    };
    Ok(ForkRegs {
        nr: regs.orig_rax,
        arg0,
        compat,
    })
}

/// Read the registers of a stopped tracee.
fn get_regs(pid: i32) -> std::io::Result<libc::user_regs_struct> {
    let mut regs = std::mem::MaybeUninit::<libc::user_regs_struct>::zeroed();
    // SAFETY: PTRACE_GETREGS writes a user_regs_struct into the buffer we pass;
    // the buffer is large enough and lives for the call.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_GETREGS,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            regs.as_mut_ptr(),
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: zero-initialised and filled by the kernel; all-integer struct.
    Ok(unsafe { regs.assume_init() })
}
