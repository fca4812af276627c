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
       kiltx-tracer collect --listen tcp://HOST:PORT|unix:PATH [RULE OPTIONS]
       kiltx-tracer collect --replay FILE|- [RULE OPTIONS]
       kiltx-tracer rules validate FILE...
       kiltx-tracer rules list FILE...
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
  --compat MODE              trace (default: 32-bit (i386, AArch32) and x32
                             syscalls are traced with their own numbers) | deny
                             (they fail: ENOSYS)
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
one line at a time, until SIGTERM (--replay: read events from a file, or
stdin, to its end). With --rules, evaluate Falco rules over them and write
alerts (Falco's JSON) instead.

rule options for collect:
  --rules SOURCE             a Falco rules file (repeatable; loaded in order):
                             a path; `default` for kiltx's default rules (built
                             in); or env:NAME for the text of variable NAME (how
                             a task definition gives the sidecar its own rules,
                             e.g. from an SSM parameter through `secrets`)
  --raw-events               also write every event (default with rules: alerts only)
  --min-priority P           evaluate only rules at least this severe (emergency,
                             alert, critical, error, warning, notice,
                             informational, debug; default debug)
  --rule-matching MODE       first (default: the first matching rule in file
                             order alerts) | all
  --stats-interval SECS      periodic stats line with rules (default 60; 0 = only
                             at exit)
  --hostname NAME            the alerts' hostname (default: the one the tracer's
                             meta event names, else this host's name)
  --http-output URL          also POST each alert to http://HOST:PORT/PATH
                             (falcosidekick's input), from a bounded queue, with
                             retries and backoff

rules validate: load the files (exit 0, or 2 with file:line:column), and say
which rules use fields kiltx cannot supply. rules list: one line per rule:
name, priority, enabled, event types, fields kiltx cannot supply.

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
    Collect(collect::Opts),
    /// `rules validate|list FILE...`
    Rules(bool, Vec<std::path::PathBuf>),
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
        Ok(Cmd::Collect(o)) => match collect::run(o) {
            Ok(()) => 0,
            Err(e @ Error::Rules(_)) => {
                for l in e.to_string().lines() {
                    crate::warn!("kiltx-tracer: {l}");
                }
                2
            }
            Err(e) => {
                crate::warn!("kiltx-tracer: {e}");
                1
            }
        },
        Ok(Cmd::Rules(list, files)) => rules(list, &files),
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

/// `kiltx-tracer rules validate|list FILE...`
fn rules(list: bool, files: &[std::path::PathBuf]) -> i32 {
    let rs = match collect::load_rules(files) {
        Ok(rs) => rs,
        Err(e) => {
            for l in e.to_string().lines() {
                crate::warn!("kiltx-tracer: {l}");
            }
            return 2;
        }
    };
    if list {
        for r in &rs.rules {
            let types = match &r.evttypes {
                Some(t) => {
                    let mut v: Vec<&str> = t.iter().map(String::as_str).collect();
                    v.sort_unstable();
                    v.join(",")
                }
                None => "*".into(),
            };
            let status = match (r.missing.is_empty(), r.possible) {
                (true, _) => "ok".to_string(),
                (false, true) => format!("partial: {}", r.missing.join(",")),
                (false, false) => format!("never: {}", r.missing.join(",")),
            };
            crate::out!(
                "{}\t{}\t{}\t{}\t{}",
                r.name,
                r.priority.word(),
                if r.enabled { "enabled" } else { "disabled" },
                types,
                status
            );
        }
    } else {
        for l in collect::report(&rs) {
            crate::out!("{l}");
        }
    }
    0
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
        "rules" => parse_rules(it),
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

/// `kiltx-tracer collect --listen tcp://HOST:PORT|unix:PATH | --replay FILE [rule options]`
fn parse_collect(mut it: Args) -> Result<Cmd, Error> {
    let mut input = None;
    let mut rules = Vec::new();
    let mut raw_events = false;
    let mut min_priority = kiltx_rules::Priority::Debug;
    let mut matching = kiltx_rules::Matching::First;
    let mut stats_interval = 60;
    let mut hostname = None;
    let mut http_output = None;
    while let Some(a) = it.next() {
        let a = a.to_string_lossy().into_owned();
        let (key, inline) = split_inline(&a);
        let mut value = |name: &str| -> Result<String, Error> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => next_str(&mut it).ok_or_else(|| usage(format!("{name} needs a value"))),
            }
        };
        match key.as_str() {
            "--listen" | "--replay" if input.is_some() => {
                return Err(usage("collect: give one of --listen and --replay".into()))
            }
            "--listen" => {
                let v = value("--listen")?;
                input = Some(collect::Input::Listen(
                    collect::Listen::parse(&v).ok_or_else(|| {
                        usage(format!(
                            "--listen {v}: expected tcp://HOST:PORT or unix:PATH"
                        ))
                    })?,
                ));
            }
            "--replay" => input = Some(collect::Input::Replay(value("--replay")?.into())),
            "--rules" => rules.push(value("--rules")?.into()),
            "--raw-events" => raw_events = true,
            "--min-priority" => {
                let v = value("--min-priority")?;
                min_priority = kiltx_rules::Priority::parse(&v).ok_or_else(|| {
                    usage(format!("--min-priority {v}: expected emergency, alert, critical, error, warning, notice, informational or debug"))
                })?;
            }
            "--rule-matching" => {
                let v = value("--rule-matching")?;
                matching = match v.as_str() {
                    "first" => kiltx_rules::Matching::First,
                    "all" => kiltx_rules::Matching::All,
                    _ => return Err(usage(format!("--rule-matching {v}: expected first or all"))),
                };
            }
            "--stats-interval" => {
                let v = value("--stats-interval")?;
                stats_interval = v.parse().map_err(|_| {
                    usage(format!("--stats-interval {v}: expected seconds (integer)"))
                })?;
            }
            "--hostname" => hostname = Some(value("--hostname")?),
            "--http-output" => {
                let v = value("--http-output")?;
                http_output = Some(
                    crate::http_out::Url::parse(&v)
                        .map_err(|m| usage(format!("--http-output {m}")))?,
                );
            }
            "-h" | "--help" => return Ok(Cmd::Help),
            _ => return Err(usage(format!("collect: unexpected argument '{a}'"))),
        }
    }
    let input = input.ok_or_else(|| usage("collect: --listen (or --replay) is required".into()))?;
    if rules.is_empty() && http_output.is_some() {
        return Err(usage("collect: --http-output needs --rules".into()));
    }
    if rules.is_empty() && raw_events {
        return Err(usage(
            "collect: --raw-events needs --rules (without rules every event is written)".into(),
        ));
    }
    Ok(Cmd::Collect(collect::Opts {
        input,
        rules,
        raw_events,
        min_priority,
        matching,
        stats_interval,
        hostname,
        http_output,
    }))
}

/// `kiltx-tracer rules validate|list FILE...`
fn parse_rules(mut it: Args) -> Result<Cmd, Error> {
    let list = match next_str(&mut it).as_deref() {
        Some("validate") => false,
        Some("list") => true,
        Some("-h" | "--help") => return Ok(Cmd::Help),
        Some(other) => {
            return Err(usage(format!(
                "rules: unknown command '{other}' (validate or list)"
            )))
        }
        None => return Err(usage("rules: validate or list?".into())),
    };
    let files: Vec<std::path::PathBuf> = it.map(std::path::PathBuf::from).collect();
    if files.is_empty() {
        return Err(usage("rules: no rules file given".into()));
    }
    Ok(Cmd::Rules(list, files))
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
