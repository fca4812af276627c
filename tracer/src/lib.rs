//! `kiltx-tracer`: runs an application under ptrace + seccomp and ships the
//! security-relevant syscalls it makes as JSON events (`run`), or collects the
//! events of many tracers (`collect`). What it reports, and why, is in
//! tracer/README.md; this is the map of the code.
//!
//! # How a traced run flows
//!
//! 1. **Command line** (`cli`): `kiltx-tracer run [OPTIONS] -- CMD` is parsed
//!    into options; `run::run` then drives the rest.
//! 2. **Seccomp filter** (`syscalls`, `seccomp`): the profile names the
//!    syscalls to stop on (`syscalls::rules`), and `seccomp::Filter` compiles
//!    them into a BPF program that returns `SECCOMP_RET_TRACE` for those and
//!    `SECCOMP_RET_ALLOW` for every other syscall, per ABI.
//! 3. **Launch** (`launch`): the tracer forks; the child installs the filter
//!    and waits until the tracer has attached with `PTRACE_SEIZE`, then execs
//!    CMD. `signals` forwards SIGTERM & co. to it from then on.
//! 4. **Ptrace loop** (`trace`): one thread waits for the stops of every task
//!    of the tree (seccomp stops, syscall exits, fork/exec events, exits) and
//!    keeps the per-process state (ids, comm, exe).
//! 5. **Decode** (`decode`): at a seccomp stop, the syscall's arguments are
//!    read from the stopped task by the decoder of its family (`decode::file`,
//!    `decode::net`, ...), and the tracer learns whether it needs a second
//!    stop for the result.
//! 6. **Event** (`event`): the decoded syscall, or a process event, becomes an
//!    `Event`, queued after the task has been resumed.
//! 7. **Sink** (`sink`): a writer thread encodes queued events as JSON lines
//!    and writes them to stderr, a file, a Unix socket or TCP; a slow sink
//!    drops and counts events rather than stalling the application.
//!
//! `kiltx-tracer collect` (`collect`) is the other end of a `unix:`/`tcp://`
//! sink: it copies the lines of any number of tracers to stdout, or, with
//! `--rules`, hands them to the detection engine (the `kiltx-rules` crate)
//! and writes its alerts.
//!
//! # Modules
//!
//! Command line and commands:
//! - `cli`: argument parsing, usage text, exit statuses; the binary's entry.
//! - `run`: one traced run, from the filter to the sink's final stats.
//! - `collect`: the `collect` command (the sidecar's line collector, with
//!   Falco rules when asked) and `rules validate|list`.
//! - `error`: the one error type, and which exit status each kind gives.
//!
//! What to trace:
//! - `syscalls`: the architecture-independent syscall list and the profiles.
//! - `seccomp`: the BPF filter built from a profile.
//! - `arch`: audit architectures, syscall numbers, registers (x86_64).
//!
//! Tracing:
//! - `launch`: fork, install the filter, exec CMD with a PATH search.
//! - `trace`: the ptrace loop and per-task state.
//! - `decode`: syscall arguments into named values, one decoder per syscall
//!   family (exec, file, mount, net, creds, process, kernel).
//! - `signals`: PID-1 signal forwarding, blocking and waiting for signals.
//! - `sys`: thin safe wrappers over ptrace, wait and memory reads.
//!
//! Output:
//! - `event`: events and their JSON encoding.
//! - `meta`: the stream's first event (host name; ECS task and container
//!   from the task metadata endpoint v4).
//! - `sink`: the bounded queue, the writer thread, the sinks and backpressure.

/// Write a line to stderr; never panics (a closed or broken stderr is ignored).
#[macro_export]
macro_rules! warn {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

/// Write a line to stdout; never panics.
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

/// Write to stdout without a newline; never panics.
#[macro_export]
macro_rules! outnl {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($t)*);
    }};
}

// command line and commands
pub mod cli;
mod collect;
mod error;
mod http_out;
mod run;

// what to trace
mod arch;
mod seccomp;
mod syscalls;

// tracing
mod decode;
mod launch;
mod signals;
mod sys;
mod trace;

// output
mod event;
mod meta;
mod sink;
