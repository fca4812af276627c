//! Architecture-specific parts: audit architectures, syscall numbering,
//! register access. `x86_64.rs` and `aarch64.rs` provide the same items
//! (`NATIVE_AUDIT_ARCH`, `COMPAT_AUDIT_ARCH`, `X32_FILTER_BIT`, `abi_of`,
//! `table`, `pointer_size`, `deny_syscall`, `fork_event_regs`,
//! `syscall_from_regs`, `result_from_regs`); the one of the target is used.

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub use self::x86_64::*;

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub use self::aarch64::*;

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("kiltx-tracer supports x86_64 and aarch64 (see arch/mod.rs)");

/// The ABI a syscall was made with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abi {
    /// The native 64-bit ABI.
    Native,
    /// 32-bit compat: i386 on x86_64 (`int 0x80` or 32-bit binaries),
    /// AArch32 (`arm`) on aarch64.
    Compat,
    /// x32 (64-bit registers, 32-bit pointers), x86_64 only.
    X32,
}

impl Abi {
    pub fn name(self) -> &'static str {
        match self {
            Abi::Native => NATIVE_NAME,
            Abi::Compat => COMPAT_NAME,
            Abi::X32 => "x32",
        }
    }
}
