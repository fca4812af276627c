//! The seccomp BPF filter: `SECCOMP_RET_TRACE` for the profile's syscalls (per
//! ABI, with each ABI's own numbering), `SECCOMP_RET_ALLOW` for everything else.
//! Unknown audit architectures kill the process; the compat ABIs (i386 and x32
//! on x86_64, AArch32 on aarch64) are either traced like the native one or
//! denied outright (`--compat deny`).
//!
//! The filter only looks at the architecture and the syscall number, except
//! for write-intent checks on open flags, sendto's address argument,
//! socket's domain (`AF_PACKET`) and dup2/dup3's new descriptor (0-2). The kernel's seccomp action cache
//! therefore recognises every untraced syscall as "always allow" and skips the
//! filter for it entirely.
use crate::arch::{self, Abi};
use crate::syscalls::{Rule, Sys, WRITE_INTENT};

const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
const SECCOMP_RET_TRACE: u32 = 0x7ff0_0000;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;

const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const BPF_JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const BPF_JSET_K: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
const BPF_JGT_K: u16 = 0x25; // BPF_JMP | BPF_JGT | BPF_K
const BPF_JA: u16 = 0x05; // BPF_JMP | BPF_JA
const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K

const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
fn off_arg_low(i: usize) -> u32 {
    16 + 8 * i as u32
}

/// What the tracer needs to know about a traced syscall; its index in
/// `Filter::entries` travels in SECCOMP_RET_DATA.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    pub abi: Abi,
    pub sys: Sys,
    pub name: &'static str,
}

/// How compat syscalls (i386 and x32 on x86_64, AArch32 on aarch64) are handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompatPolicy {
    /// Traced with their own numbering, like native ones.
    Trace,
    /// Every compat syscall fails with ENOSYS, without a stop.
    Deny,
}

pub struct Filter {
    pub prog: Vec<libc::sock_filter>,
    pub entries: Vec<Entry>,
}

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}
fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

impl Filter {
    pub fn build(rules: &[(Sys, Rule)], compat: CompatPolicy) -> Filter {
        let mut entries = Vec::new();
        let section = |abi: Abi, entries: &mut Vec<Entry>| -> Vec<libc::sock_filter> {
            let mut p = Vec::new();
            if abi != Abi::Native && compat == CompatPolicy::Deny {
                p.push(stmt(BPF_RET_K, SECCOMP_RET_ERRNO | libc::ENOSYS as u32));
                return p;
            }
            for (nr, sys, name) in arch::table(abi) {
                let Some((_, rule)) = rules.iter().find(|(s, _)| *s == sys) else {
                    continue;
                };
                let idx = entries.len() as u32;
                entries.push(Entry { abi, sys, name });
                let ret_trace = stmt(BPF_RET_K, SECCOMP_RET_TRACE | (idx & 0xffff));
                match rule {
                    Rule::Trace => {
                        p.push(jump(BPF_JEQ_K, nr, 0, 1));
                        p.push(ret_trace);
                    }
                    Rule::TraceIfWriteIntent(i) => {
                        p.push(jump(BPF_JEQ_K, nr, 0, 4));
                        p.push(stmt(BPF_LD_W_ABS, off_arg_low(*i)));
                        p.push(jump(BPF_JSET_K, WRITE_INTENT, 0, 1));
                        p.push(ret_trace);
                        p.push(stmt(BPF_RET_K, SECCOMP_RET_ALLOW));
                        // reload the number for the next comparisons
                        p.push(stmt(BPF_LD_W_ABS, OFF_NR));
                    }
                    Rule::TraceIfNonZero(i) => {
                        // a pointer: both halves must be 0 for ALLOW
                        p.push(jump(BPF_JEQ_K, nr, 0, 6));
                        p.push(stmt(BPF_LD_W_ABS, off_arg_low(*i)));
                        p.push(jump(BPF_JEQ_K, 0, 0, 3));
                        p.push(stmt(BPF_LD_W_ABS, off_arg_low(*i) + 4));
                        p.push(jump(BPF_JEQ_K, 0, 0, 1));
                        p.push(stmt(BPF_RET_K, SECCOMP_RET_ALLOW));
                        p.push(ret_trace);
                        p.push(stmt(BPF_LD_W_ABS, OFF_NR));
                    }
                    Rule::TraceIfArgEq(i, v) | Rule::TraceIfArgAtMost(i, v) => {
                        // the argument's low 32 bits: the kernel reads an int
                        p.push(jump(BPF_JEQ_K, nr, 0, 4));
                        p.push(stmt(BPF_LD_W_ABS, off_arg_low(*i)));
                        p.push(match rule {
                            Rule::TraceIfArgEq(..) => jump(BPF_JEQ_K, *v, 0, 1),
                            _ => jump(BPF_JGT_K, *v, 1, 0),
                        });
                        p.push(ret_trace);
                        p.push(stmt(BPF_RET_K, SECCOMP_RET_ALLOW));
                        p.push(stmt(BPF_LD_W_ABS, OFF_NR));
                    }
                    Rule::Errno(e) => {
                        p.push(jump(BPF_JEQ_K, nr, 0, 1));
                        p.push(stmt(BPF_RET_K, SECCOMP_RET_ERRNO | (*e as u32 & 0xffff)));
                    }
                }
            }
            p.push(stmt(BPF_RET_K, SECCOMP_RET_ALLOW));
            p
        };
        let native = section(Abi::Native, &mut entries);
        let compat_sec = section(Abi::Compat, &mut entries);
        let x32 = if arch::X32_FILTER_BIT.is_some() {
            section(Abi::X32, &mut entries)
        } else {
            Vec::new()
        };

        let mut prog = vec![
            stmt(BPF_LD_W_ABS, OFF_ARCH),
            jump(BPF_JEQ_K, arch::NATIVE_AUDIT_ARCH, 0, 1),
            stmt(BPF_JA, 3), // -> native header (index 6)
            jump(BPF_JEQ_K, arch::COMPAT_AUDIT_ARCH, 0, 1),
            stmt(BPF_JA, 0), // patched below -> compat section
            stmt(BPF_RET_K, SECCOMP_RET_KILL_PROCESS),
            // native header
            stmt(BPF_LD_W_ABS, OFF_NR),
        ];
        // x86_64: numbers with the x32 bit go to the x32 section
        let x32_jump = arch::X32_FILTER_BIT.map(|bit| {
            prog.push(jump(BPF_JSET_K, bit, 0, 1));
            prog.push(stmt(BPF_JA, 0)); // patched below -> x32 section
            prog.len() - 1
        });
        prog.extend(native);
        let compat_start = prog.len();
        prog.push(stmt(BPF_LD_W_ABS, OFF_NR));
        prog.extend(compat_sec);
        let x32_start = prog.len();
        prog.extend(x32);
        // ja k: next pc = pc + 1 + k
        prog[4].k = (compat_start - 5) as u32;
        if let Some(at) = x32_jump {
            prog[at].k = (x32_start - at - 1) as u32;
        }
        Filter { prog, entries }
    }

    pub fn entry(&self, ret_data: u32) -> Option<&Entry> {
        self.entries.get(ret_data as usize)
    }
}

/// Install the filter in the calling process. Async-signal-safe (used between
/// fork and exec): no allocation.
pub fn install(prog: &[libc::sock_filter]) -> Result<(), i32> {
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(errno());
    }
    const SECCOMP_SET_MODE_FILTER: libc::c_long = 1;
    const SECCOMP_FILTER_FLAG_SPEC_ALLOW: libc::c_long = 1 << 2;
    for flags in [SECCOMP_FILTER_FLAG_SPEC_ALLOW, 0] {
        // SAFETY: fprog points to a valid sock_fprog whose filter array outlives
        // the call; the kernel copies the program.
        let r = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                SECCOMP_SET_MODE_FILTER,
                flags,
                &fprog as *const libc::sock_fprog,
            )
        };
        if r == 0 {
            return Ok(());
        }
        if errno() != libc::EINVAL {
            break;
        }
    }
    Err(errno())
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscalls::{rules, IoUring, Profile};

    #[test]
    fn filter_jumps_stay_in_range() {
        for p in [Profile::Minimal, Profile::Default, Profile::Full] {
            for (c, u) in [
                (CompatPolicy::Trace, IoUring::Trace),
                (CompatPolicy::Deny, IoUring::Deny),
            ] {
                let f = Filter::build(&rules(p, false, u), c);
                assert!(f.prog.len() < 4096);
                for (i, ins) in f.prog.iter().enumerate() {
                    if ins.code == BPF_JA {
                        assert!(i + 1 + (ins.k as usize) < f.prog.len());
                    }
                    if ins.code & 0x07 == 0x05 && ins.code != BPF_JA {
                        assert!(i + 1 + (ins.jt as usize) < f.prog.len());
                        assert!(i + 1 + (ins.jf as usize) < f.prog.len());
                    }
                }
                assert_eq!(f.prog.last().map(|i| i.code), Some(BPF_RET_K));
            }
        }
    }
}
