//! `kiltx-tracer`: runs an application under ptrace + seccomp and ships the
//! security-relevant syscalls it makes as JSON events (`run`), or collects the
//! events of many tracers (`collect`). See tracer/README.md.
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

mod arch;
mod collect;
mod decode;
mod error;
mod event;
mod launch;
mod seccomp;
mod signals;
mod sink;
mod sys;
mod syscalls;
mod trace;

use error::Error;
use event::{Event, Kind, Value};
use seccomp::{CompatPolicy, Filter};
use sink::{Backpressure, Sink, SinkSpec};
use std::ffi::OsString;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;
use syscalls::Profile;

const USAGE: &str = "\
usage: kiltx-tracer run [OPTIONS] -- CMD [ARG]...
       kiltx-tracer collect --listen tcp://HOST:PORT|unix:PATH
       kiltx-tracer syscalls [--profile P] [--no-default-sensitive-paths]

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

struct RunOpts {
    output: SinkSpec,
    profile: Profile,
    fail_open: bool,
    backpressure: Backpressure,
    compat: CompatPolicy,
    sensitive: Vec<String>,
    default_sensitive: bool,
    queue: usize,
    stats: u64,
    cmd: Vec<OsString>,
}

enum Cmd {
    Run(RunOpts),
    Collect(collect::Listen),
    Syscalls(Profile, bool),
    Help,
    Version,
}

fn parse(args: Vec<OsString>) -> Result<Cmd, Error> {
    let mut it = args.into_iter();
    let sub = it
        .next()
        .ok_or_else(|| Error::Usage("missing command (run or collect)".into()))?;
    let sub = sub.to_string_lossy().into_owned();
    let usage = |m: String| Error::Usage(m);
    match sub.as_str() {
        "-h" | "--help" | "help" => return Ok(Cmd::Help),
        "-V" | "--version" => return Ok(Cmd::Version),
        "collect" => {
            let mut listen = None;
            while let Some(a) = it.next() {
                let a = a.to_string_lossy().into_owned();
                let (key, inline) = match a.split_once('=') {
                    Some((k, v)) if k.starts_with("--") => (k.to_string(), Some(v.to_string())),
                    _ => (a.clone(), None),
                };
                match key.as_str() {
                    "--listen" => {
                        let v = match inline {
                            Some(v) => v,
                            None => it
                                .next()
                                .map(|v| v.to_string_lossy().into_owned())
                                .ok_or_else(|| usage("--listen needs a value".into()))?,
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
            return Ok(Cmd::Collect(listen));
        }
        "syscalls" => {
            // kiltx-tracer syscalls [--profile P] [--no-default-sensitive-paths]
            let mut profile = Profile::Default;
            let mut read_only = true;
            while let Some(a) = it.next() {
                match a.to_string_lossy().as_ref() {
                    "--profile" => {
                        let v = it
                            .next()
                            .map(|v| v.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        profile = Profile::parse(&v).ok_or_else(|| {
                            usage(format!("--profile {v}: expected minimal, default or full"))
                        })?;
                    }
                    "--no-default-sensitive-paths" => read_only = false,
                    other => return Err(usage(format!("syscalls: unexpected argument '{other}'"))),
                }
            }
            return Ok(Cmd::Syscalls(profile, read_only));
        }
        "run" => {}
        other => return Err(usage(format!("unknown command '{other}'"))),
    }
    let mut o = RunOpts {
        output: SinkSpec::Stderr,
        profile: Profile::Default,
        fail_open: false,
        backpressure: Backpressure::Drop,
        compat: CompatPolicy::Trace,
        sensitive: Vec::new(),
        default_sensitive: true,
        queue: 16384,
        stats: 10,
        cmd: Vec::new(),
    };
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
        let (key, inline) = match s.split_once('=') {
            Some((k, v)) if k.starts_with("--") => (k.to_string(), Some(v.to_string())),
            _ => (s.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, Error> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => it
                    .next()
                    .map(|v| v.to_string_lossy().into_owned())
                    .ok_or_else(|| Error::Usage(format!("{name} needs a value"))),
            }
        };
        match key.as_str() {
            "--output" | "-o" => {
                let v = value("--output")?;
                o.output = SinkSpec::parse(&v).ok_or_else(|| {
                    usage(format!(
                        "--output {v}: expected stderr, file:PATH, unix:PATH or tcp://HOST:PORT"
                    ))
                })?;
            }
            "--profile" => {
                let v = value("--profile")?;
                o.profile = Profile::parse(&v).ok_or_else(|| {
                    usage(format!("--profile {v}: expected minimal, default or full"))
                })?;
            }
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
                o.queue = v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    usage(format!("--queue-size {v}: expected a positive integer"))
                })?;
            }
            "--stats-interval" => {
                let v = value("--stats-interval")?;
                o.stats = v.parse().map_err(|_| {
                    usage(format!("--stats-interval {v}: expected seconds (integer)"))
                })?;
            }
            "-h" | "--help" => return Ok(Cmd::Help),
            _ => return Err(usage(format!("run: unknown option '{s}'"))),
        }
    }
    if o.cmd.is_empty() {
        return Err(usage(
            "run: no command given (kiltx-tracer run [OPTIONS] -- CMD [ARG]...)".into(),
        ));
    }
    Ok(Cmd::Run(o))
}

fn run(o: RunOpts) -> Result<i32, Error> {
    let container = std::env::var("KILTX_CONTAINER_NAME")
        .ok()
        .filter(|s| !s.is_empty());
    let seq = Arc::new(AtomicU64::new(1));
    let prepared = launch::Prepared::new(&o.cmd)?;
    let sink = Sink::start(
        o.output.clone(),
        o.backpressure,
        o.queue,
        container,
        (o.stats > 0).then(|| Duration::from_secs(o.stats)),
        seq,
    )?;
    let mut sensitive: Vec<String> = o.sensitive.clone();
    if o.default_sensitive {
        sensitive.extend(decode::DEFAULT_SENSITIVE.iter().map(|s| s.to_string()));
    }
    let sensitive = decode::PathList::new(&sensitive);
    // In the default profile, read-only opens stop only when there are
    // sensitive paths to look for (BPF cannot read the path).
    let read_only_opens = o.profile == Profile::Full || !sensitive.is_empty();
    let filter = Filter::build(&syscalls::rules(o.profile, read_only_opens), o.compat);
    if std::env::var_os("KILTX_TRACER_REGS_ONLY").is_some_and(|v| v == "1") {
        sys::set_regs_only();
    }
    if sys::getpid() != 1 {
        // orphans of the application are reparented to us, not to init
        let _ = sys::set_child_subreaper();
    }
    let status = match launch::spawn_traced(&prepared, &filter.prog, trace::PTRACE_OPTIONS) {
        Ok(pid) => {
            signals::forward_to(pid);
            let mut t =
                trace::Tracer::new(&filter, &sink, sensitive, o.profile == Profile::Full, pid);
            t.run().status()
        }
        Err(e @ (Error::Ptrace(_) | Error::Seccomp(_))) if o.fail_open => {
            let cause = e.cause();
            crate::warn!("kiltx-tracer: WARNING: {cause}");
            crate::warn!(
                "kiltx-tracer: WARNING: --fail-open: running the application UNTRACED; no syscall events will be reported"
            );
            let mut ev = Event::new(Kind::Tracer, sink.next_seq(), "");
            ev.args = vec![
                ("traced", Value::Bool(false)),
                (
                    "message",
                    Value::Str(format!("running untraced (--fail-open): {cause}")),
                ),
            ];
            sink.push(ev);
            let pid = launch::spawn_untraced(&prepared)?;
            signals::forward_to(pid);
            let st = launch::reap_until(pid);
            if libc::WIFSIGNALED(st) {
                128 + libc::WTERMSIG(st)
            } else {
                libc::WEXITSTATUS(st)
            }
        }
        Err(e) => return Err(e),
    };
    let timeout = match o.backpressure {
        Backpressure::Drop => Duration::from_secs(2),
        Backpressure::Block => Duration::from_secs(10),
    };
    let stats = sink.finish(timeout);
    if stats.dropped > 0 {
        crate::warn!(
            "kiltx-tracer: {} of {} events dropped (event sink too slow or unavailable)",
            stats.dropped,
            stats.produced
        );
    }
    Ok(status)
}

fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let code = match parse(args) {
        Ok(Cmd::Help) => {
            crate::outnl!("{USAGE}");
            0
        }
        Ok(Cmd::Version) => {
            crate::out!("kiltx-tracer {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Ok(Cmd::Syscalls(p, read_only)) => {
            // the native syscalls the profile stops on, with the rule
            let rules = syscalls::rules(p, read_only || p == Profile::Full);
            for (nr, sys, name) in arch::table(arch::Abi::Native) {
                if let Some((_, rule)) = rules.iter().find(|(s, _)| *s == sys) {
                    match rule {
                        syscalls::Rule::Trace => crate::out!("{name}\t{nr}\talways"),
                        syscalls::Rule::TraceIfWriteIntent(i) => crate::out!(
                            "{name}\t{nr}\tif args[{i}] & (O_WRONLY|O_RDWR|O_CREAT|O_TRUNC)"
                        ),
                    }
                }
            }
            0
        }
        Ok(Cmd::Collect(l)) => match collect::run(l) {
            Ok(()) => 0,
            Err(e) => {
                crate::warn!("kiltx-tracer: {e}");
                1
            }
        },
        Ok(Cmd::Run(o)) => match run(o) {
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
    };
    // flush stdout (help text) before leaving without destructors
    use std::io::Write;
    let _ = std::io::stdout().flush();
    sys::exit_now(code);
}
