//! Decoding of syscall arguments from a stopped tracee, one small decoder per
//! syscall family (as strace's `open.c`/`decode_open`): `entry` matches the
//! syscall to its family's decoder, which names the arguments and reads what
//! they point to. Everything read from the tracee is untrusted: every read is
//! bounded and failures yield `null` values rather than errors.
//!
//! Families: `exec` (execve, execveat), `file` (opens, and creating, renaming,
//! linking, removing, chmod/chown, truncate, dup2/dup3 onto stdio), `mount`
//! (mount, umount2, move_mount, chroot, pivot_root), `net` (socket, connect, bind, listen,
//! accept, datagrams sent to an address, i386 socketcall), `creds` (set*id, capset), `process` (ptrace,
//! kill & co., unshare, setns, process_vm_*), `kernel` (modules, bpf,
//! memfd_create), `io_uring` (io_uring_setup, _enter, _register). Fork, clone and exit are process events, decoded by
//! `trace` from ptrace events rather than here.
//!
//! Shared helpers: `mem` (bounded reads of the tracee's memory), `fdinfo`
//! (what a descriptor is: socket family/type/l4proto, Falco's fd.type),
//! `path`
//! (paths resolved against the cwd or a dirfd), `values` (flags as names,
//! modes, ids, signals), `sensitive` (the sensitive-path globs).
use crate::arch::Abi;
use crate::event::Value;
use crate::syscalls::{self, Sys};

mod creds;
mod exec;
mod fdinfo;
mod file;
mod io_uring;
mod kernel;
mod mem;
mod mount;
mod net;
mod path;
mod process;
mod sensitive;
mod values;

pub use exec::{facts as exec_facts, Accounts};
pub use net::accept_peer;
pub use sensitive::{PathList, DEFAULT_SENSITIVE};
pub use values::{flag_names, signal_name, CLONE_FLAGS};

/// What the tracer does with a traced syscall at its entry stop.
pub struct Entry {
    pub args: Vec<(&'static str, Value)>,
    /// Emit an event (false for read-only opens of non-sensitive paths).
    pub report: bool,
    /// Stop again at syscall exit for the result (a decoder sets it where
    /// the syscall does not always need it, see `syscalls::needs_result`).
    pub want_result: bool,
    /// Pointers needed at exit (accept: addr, addrlen).
    pub exit_ptrs: Option<(u64, u64)>,
    /// Make the syscall fail with this errno instead of running it.
    pub deny: Option<i32>,
    /// The event's `alert` (a name a rule can key on).
    pub alert: Option<&'static str>,
}

pub struct Ctx<'a> {
    pub sensitive: &'a PathList,
    /// Full profile: report read-only opens of every path (and socket()).
    pub all_opens: bool,
    pub io_uring: crate::syscalls::IoUring,
}

/// One syscall at its entry stop, as a family decoder sees it.
struct Call<'a> {
    ctx: &'a Ctx<'a>,
    tid: i32,
    abi: Abi,
    sys: Sys,
    a: [u64; 6],
}

impl Call<'_> {
    /// Argument `i` as a file descriptor (an `int`).
    fn fd(&self, i: usize) -> i32 {
        self.a[i] as u32 as i32
    }
}

/// Decode a traced syscall at its entry.
pub fn entry(ctx: &Ctx, tid: i32, abi: Abi, sys: Sys, a: &[u64; 6]) -> Entry {
    let mut e = Entry {
        args: Vec::with_capacity(6),
        report: true,
        want_result: false,
        exit_ptrs: None,
        deny: None,
        alert: None,
    };
    let mut call = Call {
        ctx,
        tid,
        abi,
        sys,
        a: *a,
    };
    if sys == Sys::Socketcall {
        // i386 multiplexes the socket calls: decode the inner call, if it is
        // one the tracer reports
        match net::socketcall(&call, &mut e) {
            Some((inner, args)) => {
                call.sys = inner;
                call.a = args;
            }
            None => return e,
        }
    }
    dispatch(&call, &mut e);
    // a decoder may ask for the result where the syscall alone does not
    e.want_result =
        e.report && e.deny.is_none() && (e.want_result || syscalls::needs_result(call.sys));
    e
}

/// Hand the call to its family's decoder.
fn dispatch(call: &Call, e: &mut Entry) {
    use Sys::*;
    match call.sys {
        Execve | Execveat => exec::decode(call, e),
        Open | Openat | Openat2 | Creat => file::open(call, e),
        Unlink | Unlinkat | Rmdir | Mkdir | Mkdirat | Rename | Renameat | Renameat2 | Link
        | Linkat | Symlink | Symlinkat => file::names(call, e),
        Chmod | Fchmod | Fchmodat | Fchmodat2 | Chown | Fchown | Lchown | Fchownat | Truncate => {
            file::attrs(call, e)
        }
        Dup2 | Dup3 => file::dup(call, e),
        Mount | Umount2 | MoveMount | Chroot | PivotRoot => mount::decode(call, e),
        Socket | Connect | Bind | Listen | Accept | Accept4 => net::decode(call, e),
        Sendto | Sendmsg | Sendmmsg => net::datagram(call, e),
        IoUringSetup | IoUringEnter | IoUringRegister => io_uring::decode(call, e),
        Setuid | Setgid | Setfsuid | Setfsgid | Setreuid | Setregid | Setresuid | Setresgid
        | Capset => creds::decode(call, e),
        Ptrace | Kill | Tkill | Tgkill | Unshare | Setns | ProcessVmReadv | ProcessVmWritev => {
            process::decode(call, e)
        }
        InitModule | FinitModule | DeleteModule | Bpf | MemfdCreate => kernel::decode(call, e),
        // socketcall was replaced by its inner call above
        Socketcall => {}
    }
}
