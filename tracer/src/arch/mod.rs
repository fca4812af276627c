//! Architecture-specific parts: audit architectures, syscall numbering,
//! register access. Only x86_64 exists today; an `aarch64.rs` providing the same
//! items (`NATIVE_AUDIT_ARCH`, `abi_of`, `table`, `deny_syscall`, `fork_event_regs`,
//! `POINTER_SIZE`) can be added behind `#[cfg(target_arch = "aarch64")]`.

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub use self::x86_64::*;

#[cfg(not(target_arch = "x86_64"))]
compile_error!("kiltx-tracer supports x86_64 only for now (see arch/mod.rs)");

/// The ABI a syscall was made with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abi {
    /// The native 64-bit ABI.
    Native,
    /// 32-bit compat (i386 on x86_64, `int 0x80` or 32-bit binaries).
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
