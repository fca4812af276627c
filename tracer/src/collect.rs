//! `kiltx-tracer collect`: the sidecar's entrypoint. Accepts any number of
//! tracers on a TCP or Unix socket (or replays a file of events) and writes
//! what they send to stdout, one whole line at a time. A client that
//! disconnects mid-line loses that partial line only; a stream that does not
//! end with the tracer's final stats event is followed by a
//! `{"type":"collector","args":{"stream":"cut",..}}` line. Runs until SIGTERM
//! or SIGINT (exit 0), or to the end of the replayed file.
//!
//! Without rules every line is relayed. With `--rules` the lines go through
//! the detection engine (`kiltx_rules`): alerts in Falco's JSON format are
//! written instead (the raw lines too with `--raw-events`), with periodic
//! stats lines.
use crate::error::Error;
use crate::signals;
use kiltx_rules::{Engine, Matching, Priority};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

const MAX_LINE: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Tcp(String),
    Unix(std::path::PathBuf),
}

impl Listen {
    pub fn parse(s: &str) -> Option<Listen> {
        if let Some(a) = s.strip_prefix("tcp://") {
            let (h, p) = a.rsplit_once(':')?;
            (!h.is_empty() && p.parse::<u16>().is_ok()).then(|| Listen::Tcp(a.to_string()))
        } else if let Some(p) = s.strip_prefix("unix:") {
            (!p.is_empty()).then(|| Listen::Unix(p.into()))
        } else {
            None
        }
    }
}

/// Where lines come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Listen(Listen),
    /// A file of events (`-`: stdin), read to its end.
    Replay(PathBuf),
}

/// The options of `kiltx-tracer collect`.
#[derive(Debug, Clone)]
pub struct Opts {
    pub input: Input,
    pub rules: Vec<PathBuf>,
    pub raw_events: bool,
    pub min_priority: Priority,
    pub matching: Matching,
    /// Seconds between stats lines (rules only; 0: only the final one).
    pub stats_interval: u64,
    pub hostname: Option<String>,
    /// POST every alert there too.
    pub http_output: Option<crate::http_out::Url>,
}

/// Is this line a tracer's final stats event (`kiltx-tracer run` ends every
/// stream it can with one; see sink.rs)?
fn is_final_stats(line: &[u8]) -> bool {
    const STATS: &[u8] = b"\"type\":\"stats\"";
    line.ends_with(b"\"final\":true}}\n")
        && line.starts_with(b"{\"ts\":")
        && line.windows(STATS.len()).any(|w| w == STATS)
}

/// Write `bytes` (whole lines) to stdout.
fn emit(bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let out = std::io::stdout();
    let mut lock = out.lock();
    if lock.write_all(bytes).and_then(|_| lock.flush()).is_err() {
        // stdout is gone: nothing sensible left to do
        crate::sys::exit_now(1);
    }
}

/// What every connection shares: the output not yet written, and the engine.
/// Lines are appended whole under the lock, so lines of different clients
/// never interleave.
struct Shared {
    out: Vec<u8>,
    engine: Option<Engine>,
    raw_events: bool,
    http: Option<Arc<crate::http_out::HttpOut>>,
}

type Hub = Arc<Mutex<Shared>>;

fn lock(h: &Hub) -> std::sync::MutexGuard<'_, Shared> {
    h.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn line(&mut self, line: &[u8]) {
        match &mut self.engine {
            None => self.out.extend_from_slice(line),
            Some(e) => {
                if self.raw_events {
                    self.out.extend_from_slice(line);
                }
                let before = self.out.len();
                if e.process(line, &mut self.out) > 0 {
                    if let Some(h) = &self.http {
                        for a in self.out[before..]
                            .split(|b| *b == b'\n')
                            .filter(|a| !a.is_empty())
                        {
                            h.push(a);
                        }
                    }
                }
            }
        }
    }

    fn flush(&mut self) {
        emit(&self.out);
        self.out.clear();
    }

    fn stats(&mut self, final_: bool) {
        if let Some(e) = &self.engine {
            let mut ts = Vec::with_capacity(32);
            crate::event::rfc3339(crate::sys::now(), &mut ts);
            let mut extra = Vec::new();
            if let Some(h) = &self.http {
                use std::sync::atomic::Ordering::Relaxed;
                let c = &h.counters;
                extra.push(("http_sent", c.sent.load(Relaxed)));
                extra.push(("http_retries", c.retries.load(Relaxed)));
                extra.push(("http_dropped", c.dropped.load(Relaxed)));
            }
            e.stats_line(&String::from_utf8_lossy(&ts), final_, &extra, &mut self.out);
        }
    }
}

/// Handle complete lines from `r`. Relayed lines are written one at a
/// time; with rules, output is written when the client has nothing more
/// buffered (a burst in one go, a lone line at once). A stream that does not end with a final stats event (the
/// tracer was killed, its connection broke, or its exit deadline passed
/// mid-line) is followed by a `collector` line saying so.
fn pump<R: Read>(r: R, hub: &Hub) {
    let mut r = BufReader::with_capacity(64 * 1024, r);
    let mut line = Vec::with_capacity(1024);
    let mut skipping = false;
    let mut lines: u64 = 0;
    let mut clean = false;
    let cut_bytes = loop {
        line.clear();
        let n = match (&mut r).take(MAX_LINE as u64).read_until(b'\n', &mut line) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break line.len(),
        };
        if n == 0 {
            break 0; // EOF at a line boundary
        }
        if line.last() != Some(&b'\n') {
            if n >= MAX_LINE {
                // over-long line: drop it up to its newline
                skipping = true;
                continue;
            }
            break n; // EOF mid-line: drop the partial line
        }
        if skipping {
            skipping = false;
            continue;
        }
        lines += 1;
        clean = is_final_stats(&line);
        let mut h = lock(hub);
        h.line(&line);
        // without rules every line is written as it comes (the relay as it
        // always was); with rules, output (alerts, rarer) waits until the
        // client has nothing more buffered
        if h.engine.is_none() || r.buffer().is_empty() || h.out.len() >= 64 * 1024 {
            h.flush();
        }
    };
    let mut h = lock(hub);
    if !(clean && cut_bytes == 0) {
        let mut l = Vec::with_capacity(160);
        l.extend_from_slice(b"{\"ts\":\"");
        crate::event::rfc3339(crate::sys::now(), &mut l);
        l.extend_from_slice(b"\",\"type\":\"collector\",\"args\":{\"stream\":\"cut\",\"lines\":");
        crate::event::push_u64(&mut l, lines);
        l.extend_from_slice(b",\"cut_bytes\":");
        crate::event::push_u64(&mut l, cut_bytes as u64);
        l.extend_from_slice(b"}}\n");
        if let Some(e) = &mut h.engine {
            let mut sink = Vec::new();
            e.process(&l, &mut sink);
        }
        h.out.extend_from_slice(&l);
    }
    h.flush();
}

/// Pump every accepted connection in a thread of its own; a failed accept is
/// retried after a short pause.
fn serve<S: Read + Send + 'static>(incoming: impl Iterator<Item = std::io::Result<S>>, hub: Hub) {
    for s in incoming {
        match s {
            Ok(s) => {
                let hub = hub.clone();
                let _ = std::thread::Builder::new().spawn(move || pump(s, &hub));
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
}

/// Load the rules files named (exit status 2 on any error, with
/// file:line:column).
/// kiltx's default rules (`--rules default`), built into the binary.
pub const DEFAULT_RULES: &str = include_str!("../../rules/default/kiltx_rules.yaml");

/// The name and text of one `--rules` source: `default` (the built-in rules), `env:NAME` (the
/// text of environment variable NAME: how a task definition hands the sidecar rules, from its
/// `environment` or, through `secrets`, an SSM parameter or a secret), or a file.
fn rules_text(source: &std::path::Path) -> Result<(String, String), Error> {
    let s = source.to_string_lossy();
    if s == "default" {
        return Ok(("kiltx:default".into(), DEFAULT_RULES.into()));
    }
    if let Some(name) = s.strip_prefix("env:") {
        return match std::env::var(name) {
            Ok(t) if !t.trim().is_empty() => Ok((format!("env:{name}"), t)),
            Ok(_) => Err(Error::Rules(format!(
                "--rules env:{name}: the variable is empty; set it to the rules file's text (the task definition's environment or secrets)"
            ))),
            Err(_) => Err(Error::Rules(format!(
                "--rules env:{name}: no such variable in the sidecar's environment; set it to the rules file's text (the task definition's environment or secrets), or drop this --rules"
            ))),
        };
    }
    let t = std::fs::read_to_string(source)
        .map_err(|e| Error::Rules(format!("cannot read {}: {e}", source.display())))?;
    Ok((source.display().to_string(), t))
}

pub fn load_rules(files: &[PathBuf]) -> Result<kiltx_rules::Ruleset, Error> {
    let mut texts = Vec::new();
    for f in files {
        texts.push(rules_text(f)?);
    }
    kiltx_rules::load(&texts).map_err(|errs| {
        Error::Rules(
            errs.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })
}

/// What a rule set can and cannot do under kiltx, for stderr.
pub fn report(rs: &kiltx_rules::Ruleset) -> Vec<String> {
    let mut out = Vec::new();
    let can = rs.rules.iter().filter(|r| r.possible).count();
    out.push(format!(
        "{} rules ({} enabled, {} can fire under kiltx), {} macros, {} lists",
        rs.rules.len(),
        rs.rules.iter().filter(|r| r.enabled).count(),
        can,
        rs.macros,
        rs.lists
    ));
    for r in rs.rules.iter().filter(|r| !r.missing.is_empty()) {
        out.push(format!(
            "rule '{}' uses fields kiltx cannot supply on Fargate ({}): {}",
            r.name,
            r.missing.join(", "),
            if r.possible {
                "those comparisons are false"
            } else {
                "it can never fire"
            }
        ));
    }
    for n in &rs.other_source {
        out.push(format!(
            "rule '{n}' is for another source than syscall: not evaluated"
        ));
    }
    out.extend(rs.warnings.iter().cloned());
    out
}

fn hostname() -> String {
    let mut b = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that.
    let r = unsafe { libc::gethostname(b.as_mut_ptr().cast(), b.len()) };
    if r != 0 {
        return String::new();
    }
    let n = b.iter().position(|c| *c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..n]).into_owned()
}

pub fn run(o: Opts) -> Result<(), Error> {
    let engine = if o.rules.is_empty() {
        None
    } else {
        let rs = load_rules(&o.rules)?;
        for l in report(&rs) {
            crate::warn!("kiltx-tracer collect: {l}");
        }
        Some(Engine::new(
            rs,
            kiltx_rules::Options {
                matching: o.matching,
                min_priority: o.min_priority,
                hostname: o.hostname.clone().unwrap_or_else(hostname),
                hostname_fixed: o.hostname.is_some(),
            },
        ))
    };
    let detecting = engine.is_some();
    let http = o.http_output.clone().map(crate::http_out::HttpOut::start);
    let hub: Hub = Arc::new(Mutex::new(Shared {
        out: Vec::with_capacity(64 * 1024),
        engine,
        raw_events: o.raw_events,
        http: http.clone(),
    }));
    let listen = match o.input {
        Input::Replay(p) => {
            let r: Box<dyn Read> = if p.as_os_str() == "-" {
                Box::new(std::io::stdin())
            } else {
                Box::new(
                    std::fs::File::open(&p)
                        .map_err(|e| Error::Rules(format!("cannot read {}: {e}", p.display())))?,
                )
            };
            pump(r, &hub);
            if let Some(h) = &http {
                h.drain(std::time::Duration::from_secs(10));
            }
            let mut h = lock(&hub);
            h.stats(true);
            h.flush();
            return Ok(());
        }
        Input::Listen(l) => l,
    };
    // Block the termination signals in every thread; the main thread waits
    // for them with sigwait and exits between two lines.
    let stop = [libc::SIGTERM, libc::SIGINT];
    signals::block(&stop);
    if detecting && o.stats_interval > 0 {
        let hub = hub.clone();
        let every = std::time::Duration::from_secs(o.stats_interval);
        std::thread::spawn(move || loop {
            std::thread::sleep(every);
            let mut h = lock(&hub);
            h.stats(false);
            h.flush();
        });
    }
    match listen {
        Listen::Tcp(a) => {
            let addrs =
                crate::sink::resolve(&a).map_err(|e| Error::Collect(format!("{a}: {e}")))?;
            let l = TcpListener::bind(&addrs[..])
                .map_err(|e| Error::Collect(format!("cannot listen on tcp://{a}: {e}")))?;
            crate::warn!(
                "kiltx-tracer collect: listening on tcp://{}",
                l.local_addr().map(|a| a.to_string()).unwrap_or(a)
            );
            let hub = hub.clone();
            std::thread::spawn(move || serve(l.incoming(), hub));
        }
        Listen::Unix(p) => {
            use std::os::unix::fs::FileTypeExt;
            if let Ok(m) = std::fs::symlink_metadata(&p) {
                if m.file_type().is_socket() {
                    let _ = std::fs::remove_file(&p);
                }
            }
            // The socket's directory may be a fresh one in the sidecar's shared volume.
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Error::Collect(format!("cannot create {}: {e}", dir.display())))?;
            }
            let l = UnixListener::bind(&p).map_err(|e| {
                Error::Collect(format!("cannot listen on unix:{}: {e}", p.display()))
            })?;
            // Connecting needs write permission on the socket, and traced applications run as
            // any user: every process that can see the socket (the task's containers, through
            // the shared volume) may send events.
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o666)).map_err(
                    |e| {
                        Error::Collect(format!(
                            "cannot open unix:{} to every user: {e}",
                            p.display()
                        ))
                    },
                )?;
            }
            crate::warn!("kiltx-tracer collect: listening on unix:{}", p.display());
            let hub = hub.clone();
            std::thread::spawn(move || serve(l.incoming(), hub));
        }
    }
    signals::wait_for(&stop);
    // take the lock so that no line is cut (and no alert is added), give the
    // HTTP output 2 s to send what it holds, write what is pending and the
    // final stats, then leave
    let mut h = lock(&hub);
    if let Some(x) = &http {
        x.drain(std::time::Duration::from_secs(2));
    }
    h.stats(true);
    h.flush();
    crate::sys::exit_now(0)
}
