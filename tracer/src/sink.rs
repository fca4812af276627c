//! Event sinks: a bounded queue filled by the tracing thread and drained by a
//! writer thread that encodes and writes JSON lines. A slow or dead sink never
//! blocks the traced application unless `--on-backpressure block` is chosen:
//! events that do not fit in the queue are dropped and counted.
use crate::error::Error;
use crate::event::{Event, Kind, Value};
use std::collections::VecDeque;
use std::io::Write;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SinkSpec {
    Stderr,
    File(PathBuf),
    Unix(PathBuf),
    Tcp(String),
}

impl SinkSpec {
    pub fn parse(s: &str) -> Option<SinkSpec> {
        if s == "stderr" {
            Some(SinkSpec::Stderr)
        } else if let Some(p) = s.strip_prefix("file:") {
            (!p.is_empty()).then(|| SinkSpec::File(PathBuf::from(p)))
        } else if let Some(p) = s.strip_prefix("unix:") {
            (!p.is_empty()).then(|| SinkSpec::Unix(PathBuf::from(p)))
        } else if let Some(a) = s.strip_prefix("tcp://") {
            let (host, port) = a.rsplit_once(':')?;
            (!host.is_empty() && port.parse::<u16>().is_ok()).then(|| SinkSpec::Tcp(a.to_string()))
        } else {
            None
        }
    }
}

/// Resolve `HOST:PORT`; IP literals and `localhost` never touch the resolver
/// (the binary is static, so NSS lookups are best avoided).
pub fn resolve(hostport: &str) -> std::io::Result<Vec<SocketAddr>> {
    if let Ok(a) = hostport.parse::<SocketAddr>() {
        return Ok(vec![a]);
    }
    if let Some((host, port)) = hostport.rsplit_once(':') {
        let port: u16 = port
            .parse()
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "bad port"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = host.parse::<std::net::IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        if host == "localhost" {
            return Ok(vec![SocketAddr::from(([127, 0, 0, 1], port))]);
        }
    }
    Ok(hostport.to_socket_addrs()?.collect())
}

const WAKE_BATCH: usize = 128;
const WRITER_TICK: Duration = Duration::from_millis(50);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backpressure {
    Drop,
    Block,
}

struct State {
    q: VecDeque<Event>,
    writer_waiting: bool,
    closing: bool,
    writer_done: bool,
    produced: u64,
    dropped: u64,
}

struct Shared {
    state: Mutex<State>,
    wake_writer: Condvar,
    not_full: Condvar,
    done: Condvar,
    cap: usize,
    mode: Backpressure,
    seq: Arc<AtomicU64>,
    /// ptrace stops handled by the tracer (reported in stats events).
    stops: AtomicU64,
}

/// Final figures of a sink.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub produced: u64,
    pub dropped: u64,
}

pub struct Sink {
    shared: Arc<Shared>,
}

enum Conn {
    Stderr(std::io::Stderr),
    File(std::fs::File),
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Conn {
    fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        match self {
            Conn::Stderr(s) => s.write_all(b),
            Conn::File(f) => f.write_all(b),
            Conn::Unix(u) => u.write_all(b),
            Conn::Tcp(t) => t.write_all(b),
        }
    }
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Sink {
    /// Open the sink (files are opened now, so that errors are reported before
    /// the application starts; sockets are connected by the writer thread,
    /// with retries) and start the writer thread.
    pub fn start(
        spec: SinkSpec,
        mode: Backpressure,
        cap: usize,
        container: Option<String>,
        stats_every: Option<Duration>,
        seq: Arc<AtomicU64>,
    ) -> Result<Sink, Error> {
        let initial = match &spec {
            SinkSpec::Stderr => Some(Conn::Stderr(std::io::stderr())),
            SinkSpec::File(p) => Some(Conn::File(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| Error::Sink(format!("{}: {e}", p.display())))?,
            )),
            // sockets (and name resolution) are retried by the writer thread:
            // a sidecar that is not up yet must not keep the application down
            SinkSpec::Tcp(_) | SinkSpec::Unix(_) => None,
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                q: VecDeque::with_capacity(cap.min(4096)),
                writer_waiting: false,
                closing: false,
                writer_done: false,
                produced: 0,
                dropped: 0,
            }),
            wake_writer: Condvar::new(),
            not_full: Condvar::new(),
            done: Condvar::new(),
            cap: cap.max(1),
            mode,
            seq,
            stops: AtomicU64::new(0),
        });
        let s2 = shared.clone();
        std::thread::Builder::new()
            .name("kiltx-writer".into())
            .spawn(move || writer(s2, spec, initial, container, stats_every))
            .map_err(|e| Error::Sink(format!("cannot start writer thread: {e}")))?;
        Ok(Sink { shared })
    }

    /// Count one ptrace stop (for the stats events).
    pub fn count_stop(&self) {
        self.shared.stops.fetch_add(1, Ordering::Relaxed);
    }

    pub fn next_seq(&self) -> u64 {
        self.shared.seq.fetch_add(1, Ordering::Relaxed)
    }

    /// Queue an event; drops it (counted) when the queue is full, unless the
    /// sink is in blocking mode.
    pub fn push(&self, ev: Event) {
        let sh = &*self.shared;
        let mut st = lock(&sh.state);
        st.produced += 1;
        if st.q.len() >= sh.cap {
            match sh.mode {
                Backpressure::Drop => {
                    st.dropped += 1;
                    return;
                }
                Backpressure::Block => {
                    while st.q.len() >= sh.cap && !st.writer_done {
                        if st.writer_waiting {
                            st.writer_waiting = false;
                            sh.wake_writer.notify_one();
                        }
                        st = sh.not_full.wait(st).unwrap_or_else(|p| p.into_inner());
                    }
                    if st.writer_done {
                        st.dropped += 1;
                        return;
                    }
                }
            }
        }
        st.q.push_back(ev);
        // Wake the writer only for a batch: it also wakes up by itself every
        // WRITER_TICK, so single events are written with that latency at most.
        if st.writer_waiting && st.q.len() >= WAKE_BATCH.min(sh.cap / 2).max(1) {
            st.writer_waiting = false;
            sh.wake_writer.notify_one();
        }
    }

    /// Flush and stop the writer, waiting at most `timeout` for a slow sink.
    /// Events still queued after that are counted as dropped.
    pub fn finish(&self, timeout: Duration) -> Stats {
        let sh = &*self.shared;
        let deadline = Instant::now() + timeout;
        let mut st = lock(&sh.state);
        st.closing = true;
        st.writer_waiting = false;
        sh.wake_writer.notify_one();
        while !st.writer_done {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            st = sh
                .done
                .wait_timeout(st, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        Stats {
            produced: st.produced,
            dropped: st.dropped + if st.writer_done { 0 } else { st.q.len() as u64 },
        }
    }
}

fn connect(spec: &SinkSpec) -> std::io::Result<Conn> {
    match spec {
        SinkSpec::Unix(p) => UnixStream::connect(p).map(Conn::Unix),
        SinkSpec::Tcp(hp) => {
            let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
            for a in resolve(hp)? {
                match TcpStream::connect_timeout(&a, Duration::from_secs(2)) {
                    Ok(s) => {
                        let _ = s.set_nodelay(true);
                        return Ok(Conn::Tcp(s));
                    }
                    Err(e) => last = e,
                }
            }
            Err(last)
        }
        SinkSpec::Stderr => Ok(Conn::Stderr(std::io::stderr())),
        SinkSpec::File(p) => std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .map(Conn::File),
    }
}

fn stats_event(seq: u64, st: &State, stops: u64, final_: bool) -> Event {
    let mut ev = Event::new(Kind::Stats, seq, "");
    ev.args = vec![
        ("events", Value::Int(st.produced as i64)),
        ("dropped", Value::Int(st.dropped as i64)),
        ("queued", Value::Int(st.q.len() as i64)),
        ("stops", Value::Int(stops as i64)),
        ("final", Value::Bool(final_)),
    ];
    ev
}

/// The writer thread's connection to the sink: files and stderr are opened
/// before the thread starts; sockets are (re)connected with exponential
/// backoff.
struct Link {
    spec: SinkSpec,
    conn: Option<Conn>,
    backoff: Duration,
    next_try: Instant,
    reported_conn_error: bool,
}

impl Link {
    /// (Re)connect sockets, with exponential backoff; while disconnected the
    /// queue fills up and the tracer drops (and counts) events.
    fn reconnect(&mut self) {
        if self.conn.is_some() {
            return;
        }
        let now = Instant::now();
        if now < self.next_try {
            return;
        }
        match connect(&self.spec) {
            Ok(c) => {
                self.conn = Some(c);
                self.backoff = Duration::from_millis(50);
                self.reported_conn_error = false;
            }
            Err(e) => {
                if !self.reported_conn_error {
                    crate::warn!("kiltx-tracer: event sink unavailable ({e}); retrying");
                    self.reported_conn_error = true;
                }
                self.next_try = now + self.backoff;
                self.backoff = (self.backoff * 2).min(Duration::from_secs(5));
            }
        }
    }

    /// Write the encoded events (`n` of them) in `buf`; on failure the
    /// connection is dropped (to be retried at once) and the whole batch is
    /// counted as lost.
    fn write(&mut self, sh: &Shared, buf: &[u8], n: u64) {
        if buf.is_empty() {
            return;
        }
        if let Some(c) = self.conn.as_mut() {
            if c.write_all(buf).is_err() {
                // the line(s) may have been cut: the collector drops
                // partial lines; count the whole batch as lost.
                self.conn = None;
                self.next_try = Instant::now();
                lock(&sh.state).dropped += n;
            }
        }
    }
}

/// The writer thread: waits for events (or the time of a stats event, or of
/// a reconnection), encodes them as JSON lines and writes them in batches,
/// until the sink is closed and drained.
fn writer(
    sh: Arc<Shared>,
    spec: SinkSpec,
    conn: Option<Conn>,
    container: Option<String>,
    stats_every: Option<Duration>,
) {
    let container = container.as_deref();
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    let mut batch: VecDeque<Event> = VecDeque::new();
    let mut link = Link {
        spec,
        conn,
        backoff: Duration::from_millis(50),
        next_try: Instant::now(),
        reported_conn_error: false,
    };
    let mut next_stats = stats_every.map(|d| Instant::now() + d);
    loop {
        link.reconnect();
        let st = lock(&sh.state);
        let (mut st, periodic_stats) = wait_for_work(&sh, st, &link, &mut next_stats, stats_every);
        let closing = st.closing;
        if link.conn.is_some() {
            std::mem::swap(&mut batch, &mut st.q);
        }
        if closing && link.conn.is_some() {
            let seq = sh.seq.fetch_add(1, Ordering::Relaxed);
            let mut fin = stats_event(seq, &st, sh.stops.load(Ordering::Relaxed), true);
            if let Some(Value::Int(q)) = fin.args.get_mut(2).map(|a| &mut a.1) {
                *q = 0;
            }
            batch.push_back(fin);
        }
        drop(st);
        if sh.mode == Backpressure::Block {
            sh.not_full.notify_all();
        }
        buf.clear();
        if let Some(ev) = periodic_stats {
            ev.encode(container, &mut buf);
        }
        let n = batch.len() as u64;
        for ev in batch.drain(..) {
            ev.encode(container, &mut buf);
        }
        link.write(&sh, &buf, n);
        if closing && (link.conn.is_some() || lock(&sh.state).q.is_empty()) {
            let mut st = lock(&sh.state);
            if link.conn.is_none() {
                st.dropped += st.q.len() as u64;
                st.q.clear();
            }
            st.writer_done = true;
            sh.done.notify_all();
            sh.not_full.notify_all();
            return;
        }
    }
}

/// Wait (holding `st` between waits) until there is something to do: events
/// to write, a periodic stats event due (returned), the sink closing, or the
/// time to retry a connection.
fn wait_for_work<'a>(
    sh: &'a Shared,
    mut st: MutexGuard<'a, State>,
    link: &Link,
    next_stats: &mut Option<Instant>,
    stats_every: Option<Duration>,
) -> (MutexGuard<'a, State>, Option<Event>) {
    let connected = link.conn.is_some();
    loop {
        let now = Instant::now();
        if let Some(t) = *next_stats {
            if now >= t && connected {
                let seq = sh.seq.fetch_add(1, Ordering::Relaxed);
                let stats = stats_event(seq, &st, sh.stops.load(Ordering::Relaxed), false);
                *next_stats = stats_every.map(|d| now + d);
                return (st, Some(stats));
            }
        }
        if connected && !st.q.is_empty() {
            break;
        }
        if st.closing && (connected || st.q.is_empty()) {
            break;
        }
        if st.closing && !connected && now >= link.next_try {
            break;
        }
        let mut wait = WRITER_TICK;
        if let Some(t) = *next_stats {
            wait = wait.min(t.saturating_duration_since(now));
        }
        if !connected {
            wait = wait.min(link.next_try.saturating_duration_since(now));
            if wait.is_zero() {
                break;
            }
        }
        st.writer_waiting = true;
        st = sh
            .wake_writer
            .wait_timeout(st, wait.max(Duration::from_millis(1)))
            .map(|(g, _)| g)
            .unwrap_or_else(|p| p.into_inner().0);
        st.writer_waiting = false;
    }
    (st, None)
}
