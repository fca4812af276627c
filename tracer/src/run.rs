//! `kiltx-tracer run`: one traced run, in order: the sink and its first event
//! (`meta`: host, ECS task and container), the seccomp filter
//! for the profile, the application launched under it, the ptrace loop until
//! the application's main process exits, and the sink drained. With
//! `--fail-open`, a tracer that cannot trace runs the application untraced.
use crate::cli::RunOpts;
use crate::decode;
use crate::error::Error;
use crate::event::{Event, Kind, Value};
use crate::launch;
use crate::meta;
use crate::seccomp::Filter;
use crate::signals;
use crate::sink::{Backpressure, Sink};
use crate::sys;
use crate::syscalls::{self, Profile};
use crate::trace;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

/// Run `o.cmd` traced; the application's exit status (128+N if killed by N).
pub fn run(o: RunOpts) -> Result<i32, Error> {
    // the task metadata is fetched while the launch is prepared
    let meta = meta::start();
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
    // the stream's first event, before any of the application's
    sink.push(meta.event(sink.next_seq()));
    let mut sensitive: Vec<String> = o.sensitive.clone();
    if o.default_sensitive {
        sensitive.extend(decode::DEFAULT_SENSITIVE.iter().map(|s| s.to_string()));
    }
    let sensitive = decode::PathList::new(&sensitive);
    // In the default profile, read-only opens stop only when there are
    // sensitive paths to look for (BPF cannot read the path).
    let read_only_opens = o.profile == Profile::Full || !sensitive.is_empty();
    let filter = Filter::build(
        &syscalls::rules(o.profile, read_only_opens, o.io_uring),
        o.compat,
    );
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
            let mut t = trace::Tracer::new(
                &filter,
                &sink,
                sensitive,
                o.profile == Profile::Full,
                o.io_uring,
                pid,
            );
            t.run().status()
        }
        Err(e @ (Error::Ptrace(_) | Error::Seccomp(_))) if o.fail_open => {
            run_untraced(&prepared, &sink, &e)?
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

/// `--fail-open` after `e` (ptrace or seccomp unavailable): warn loudly, say so
/// in a `tracer` event, and run the application untraced.
fn run_untraced(prepared: &launch::Prepared, sink: &Sink, e: &Error) -> Result<i32, Error> {
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
    let pid = launch::spawn_untraced(prepared)?;
    signals::forward_to(pid);
    let st = launch::reap_until(pid);
    Ok(if libc::WIFSIGNALED(st) {
        128 + libc::WTERMSIG(st)
    } else {
        libc::WEXITSTATUS(st)
    })
}
