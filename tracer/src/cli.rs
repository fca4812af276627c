//! The command line: parsing, the usage text, and the exit status of each
//! command (`main`). Bad usage prints a message and the usage text on stderr
//! and exits 2.
use crate::arch;
use crate::collect;
use crate::error::Error;
use crate::seccomp::CompatPolicy;
use crate::sink::{Backpressure, SinkSpec};
use crate::syscalls::{self, IoUring, Profile};
use std::ffi::OsString;

pub const USAGE: &str = "\
usage: kiltx-tracer run [OPTIONS] -- CMD [ARG]...
       kiltx-tracer collect --listen tcp://HOST:PORT|unix:PATH
       kiltx-tracer syscalls [--profile P] [--no-default-sensitive-paths] [--io-uring MODE]

run: start CMD (PATH is searched) under ptrace + seccomp and report the
security-relevant syscalls of it and every process and thread it creates, as
one JSON object per line. Exits with CMD's exit status (128+N if killed by
signal N).

options for run:
  --output SINK              stderr (default), file:PATH, unix:PATH, tcp://HOST:PORT
  --profile P                minimal | default (default) | full
  --fail-open                if ptrace/seccomp are unavailable, run CMD untraced
                             (with a warning) instead of failing
  --on-backpressure MODE     drop (default: drop events and count them when the
                             sink is slow) | block (slow the application down)
  --compat MODE              trace (default: 32-bit and x32 syscalls are traced
                             with their own numbers) | deny (they fail: ENOSYS)
  --io-uring MODE            trace (default: setting up a ring is an event, with
                             \"alert\":\"io_uring\"; what the ring does is not
                             seen) | deny (io_uring fails with ENOSYS in every
                             profile; runtimes fall back to plain syscalls)
  --sensitive-path GLOB      also report read-only opens of paths matching GLOB
                             (repeatable; '*' matches within a path component,
                             a trailing '/**' matches a whole tree)
  --no-default-sensitive-paths
                             drop the built-in list (/etc/shadow, ~/.ssh, ...);
                             with no list, read-only opens never stop
  --queue-size N             event queue capacity (default 16384)
  --stats-interval SECS      periodic stats event (default 10; 0 = only at exit)

collect: accept events from any number of tracers and write them to stdout,
one line at a time, until SIGTERM.

environment: KILTX_CONTAINER_NAME is copied into every event as \"container\".
exit status: CMD's status; 1 if the tracer could not start CMD; 2 on bad usage.
";

/// The options of `kiltx-tracer run`.
pub struct RunOpts {
    pub output: SinkSpec,
    pub profile: Profile,
    pub fail_open: bool,
    pub backpressure: Backpressure,
    pub compat: CompatPolicy,
    pub io_uring: IoUring,
    pub sensitive: Vec<String>,
    pub default_sensitive: bool,
    pub queue: usize,
    pub stats: u64,
    pub cmd: Vec<OsString>,
}

impl Default for RunOpts {
    fn default() -> RunOpts {
        RunOpts {
            output: SinkSpec::Stderr,
            profile: Profile::Default,
            fail_open: false,
            backpressure: Backpressure::Drop,
            compat: CompatPolicy::Trace,
            io_uring: IoUring::Trace,
            sensitive: Vec::new(),
            default_sensitive: true,
            queue: 16384,
            stats: 10,
            cmd: Vec::new(),
        }
    }
}

/// A parsed command line.
pub enum Cmd {
    Run(RunOpts),
    Collect(collect::Listen),
    /// `syscalls`: the profile, whether read-only opens stop, io_uring.
    Syscalls(Profile, bool, IoUring),
    Help,
    Version,
}

/// Run the command `args` (without the program name) asks for; returns the
/// exit status.
pub fn main(args: Vec<OsString>) -> i32 {
    match parse(args) {
        Ok(Cmd::Help) => {
            crate::outnl!("{USAGE}");
            0
        }
        Ok(Cmd::Version) => {
            crate::out!("kiltx-tracer {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Ok(Cmd::Syscalls(p, read_only, u)) => {
            print_syscalls(p, read_only, u);
            0
        }
        Ok(Cmd::Collect(l)) => match collect::run(l) {
            Ok(()) => 0,
            Err(e) => {
                crate::warn!("kiltx-tracer: {e}");
                1
            }
        },
        Ok(Cmd::Run(o)) => match crate::run::run(o) {
            Ok(status) => status,
            Err(Error::Usage(m)) => {
                crate::warn!("kiltx-tracer: {m}\n\n{USAGE}");
                2
            }
            Err(e) => {
                crate::warn!("kiltx-tracer: error: {e}");
                1
            }
        },
        Err(e) => {
            crate::warn!("kiltx-tracer: {e}\n\n{USAGE}");
            2
        }
    }
}

/// Leave with `code`, without running destructors (the sink has been drained
/// already); stdout (the help text) is flushed first.
pub fn exit(code: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    crate::sys::exit_now(code);
}

/// `kiltx-tracer syscalls`: the native syscalls a profile stops on, with the
/// filter's rule for each.
fn print_syscalls(p: Profile, read_only: bool, u: IoUring) {
    let rules = syscalls::rules(p, read_only || p == Profile::Full, u);
    for (nr, sys, name) in arch::table(arch::Abi::Native) {
        if let Some((_, rule)) = rules.iter().find(|(s, _)| *s == sys) {
            match rule {
                syscalls::Rule::Trace => crate::out!("{name}\t{nr}\talways"),
                syscalls::Rule::TraceIfWriteIntent(i) => {
                    crate::out!("{name}\t{nr}\tif args[{i}] & (O_WRONLY|O_RDWR|O_CREAT|O_TRUNC)")
                }
                syscalls::Rule::TraceIfNonZero(i) => crate::out!("{name}\t{nr}\tif args[{i}] != 0"),
                syscalls::Rule::TraceIfArgEq(i, v) => {
                    crate::out!("{name}\t{nr}\tif args[{i}] == {v}")
                }
                syscalls::Rule::TraceIfArgAtMost(i, v) => {
                    crate::out!("{name}\t{nr}\tif args[{i}] <= {v}")
                }
                syscalls::Rule::Errno(e) => {
                    crate::out!("{name}\t{nr}\tdenied: {}", crate::event::errno_name(*e))
                }
            }
        }
    }
}

type Args = std::vec::IntoIter<OsString>;

fn usage(m: String) -> Error {
    Error::Usage(m)
}

/// Parse the arguments after the program name.
pub fn parse(args: Vec<OsString>) -> Result<Cmd, Error> {
    let mut it = args.into_iter();
    let sub = it
        .next()
        .ok_or_else(|| usage("missing command (run or collect)".into()))?;
    match sub.to_string_lossy().as_ref() {
        "-h" | "--help" | "help" => Ok(Cmd::Help),
        "-V" | "--version" => Ok(Cmd::Version),
        "collect" => parse_collect(it),
        "syscalls" => parse_syscalls(it),
        "run" => parse_run(it),
        other => Err(usage(format!("unknown command '{other}'"))),
    }
}

/// `--key=value` as (`--key`, Some(`value`)); anything else as (arg, None).
fn split_inline(a: &str) -> (String, Option<String>) {
    match a.split_once('=') {
        Some((k, v)) if k.starts_with("--") => (k.to_string(), Some(v.to_string())),
        _ => (a.to_string(), None),
    }
}

/// The next argument, lossily as a string.
fn next_str(it: &mut Args) -> Option<String> {
    it.next().map(|v| v.to_string_lossy().into_owned())
}

fn parse_profile(v: &str) -> Result<Profile, Error> {
    Profile::parse(v)
        .ok_or_else(|| usage(format!("--profile {v}: expected minimal, default or full")))
}

fn parse_io_uring(v: &str) -> Result<IoUring, Error> {
    IoUring::parse(v).ok_or_else(|| usage(format!("--io-uring {v}: expected trace or deny")))
}

/// `kiltx-tracer collect --listen tcp://HOST:PORT|unix:PATH`
fn parse_collect(mut it: Args) -> Result<Cmd, Error> {
    let mut listen = None;
    while let Some(a) = it.next() {
        let a = a.to_string_lossy().into_owned();
        let (key, inline) = split_inline(&a);
        match key.as_str() {
            "--listen" => {
                let v = match inline {
                    Some(v) => v,
                    None => {
                        next_str(&mut it).ok_or_else(|| usage("--listen needs a value".into()))?
                    }
                };
                listen = Some(collect::Listen::parse(&v).ok_or_else(|| {
                    usage(format!(
                        "--listen {v}: expected tcp://HOST:PORT or unix:PATH"
                    ))
                })?);
            }
            "-h" | "--help" => return Ok(Cmd::Help),
            _ => return Err(usage(format!("collect: unexpected argument '{a}'"))),
        }
    }
    let listen = listen.ok_or_else(|| usage("collect: --listen is required".into()))?;
    Ok(Cmd::Collect(listen))
}

/// `kiltx-tracer syscalls [--profile P] [--no-default-sensitive-paths] [--io-uring MODE]`
fn parse_syscalls(mut it: Args) -> Result<Cmd, Error> {
    let mut profile = Profile::Default;
    let mut read_only = true;
    let mut io_uring = IoUring::Trace;
    while let Some(a) = it.next() {
        match a.to_string_lossy().as_ref() {
            "--profile" => profile = parse_profile(&next_str(&mut it).unwrap_or_default())?,
            "--no-default-sensitive-paths" => read_only = false,
            "--io-uring" => io_uring = parse_io_uring(&next_str(&mut it).unwrap_or_default())?,
            other => return Err(usage(format!("syscalls: unexpected argument '{other}'"))),
        }
    }
    Ok(Cmd::Syscalls(profile, read_only, io_uring))
}

/// `kiltx-tracer run [OPTIONS] [--] CMD [ARG]...`: options end at `--` or at
/// the first argument that does not start with `-`.
fn parse_run(mut it: Args) -> Result<Cmd, Error> {
    let mut o = RunOpts::default();
    while let Some(a) = it.next() {
        let s = a.to_string_lossy().into_owned();
        if s == "--" {
            o.cmd.extend(it.by_ref());
            break;
        }
        if !s.starts_with('-') {
            o.cmd.push(a);
            o.cmd.extend(it.by_ref());
            break;
        }
        let (key, inline) = split_inline(&s);
        if matches!(key.as_str(), "-h" | "--help") {
            return Ok(Cmd::Help);
        }
        let mut value = |name: &str| -> Result<String, Error> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => next_str(&mut it).ok_or_else(|| usage(format!("{name} needs a value"))),
            }
        };
        set_run_option(&mut o, &key, &s, &mut value)?;
    }
    if o.cmd.is_empty() {
        return Err(usage(
            "run: no command given (kiltx-tracer run [OPTIONS] -- CMD [ARG]...)".into(),
        ));
    }
    Ok(Cmd::Run(o))
}

/// Apply one `run` option (`key`, as written `arg`); `value` takes its value
/// (inline after `=`, or the next argument).
fn set_run_option(
    o: &mut RunOpts,
    key: &str,
    arg: &str,
    value: &mut dyn FnMut(&str) -> Result<String, Error>,
) -> Result<(), Error> {
    match key {
        "--output" | "-o" => {
            let v = value("--output")?;
            o.output = SinkSpec::parse(&v).ok_or_else(|| {
                usage(format!(
                    "--output {v}: expected stderr, file:PATH, unix:PATH or tcp://HOST:PORT"
                ))
            })?;
        }
        "--profile" => o.profile = parse_profile(&value("--profile")?)?,
        "--fail-open" => o.fail_open = true,
        "--on-backpressure" => {
            let v = value("--on-backpressure")?;
            o.backpressure = match v.as_str() {
                "drop" => Backpressure::Drop,
                "block" => Backpressure::Block,
                _ => {
                    return Err(usage(format!(
                        "--on-backpressure {v}: expected drop or block"
                    )))
                }
            };
        }
        "--compat" => {
            let v = value("--compat")?;
            o.compat = match v.as_str() {
                "trace" => CompatPolicy::Trace,
                "deny" => CompatPolicy::Deny,
                _ => return Err(usage(format!("--compat {v}: expected trace or deny"))),
            };
        }
        "--io-uring" => o.io_uring = parse_io_uring(&value("--io-uring")?)?,
        "--sensitive-path" => {
            let v = value("--sensitive-path")?;
            if !v.starts_with('/') {
                return Err(usage(format!(
                    "--sensitive-path {v}: expected an absolute path or glob"
                )));
            }
            o.sensitive.push(v);
        }
        "--no-default-sensitive-paths" => o.default_sensitive = false,
        "--queue-size" => {
            let v = value("--queue-size")?;
            o.queue =
                v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    usage(format!("--queue-size {v}: expected a positive integer"))
                })?;
        }
        "--stats-interval" => {
            let v = value("--stats-interval")?;
            o.stats = v
                .parse()
                .map_err(|_| usage(format!("--stats-interval {v}: expected seconds (integer)")))?;
        }
        _ => return Err(usage(format!("run: unknown option '{arg}'"))),
    }
    Ok(())
}
