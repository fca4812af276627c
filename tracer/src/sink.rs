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
/// A socket write waits at most this long (SO_SNDTIMEO), so that a stalled
/// collector never keeps the writer from seeing the exit deadline.
const WRITE_TIMEOUT: Duration = Duration::from_millis(100);
/// After the exit deadline: time to finish the line being written and to
/// send the final stats event, so that the collector receives whole lines
/// ending with it.
const GRACE: Duration = Duration::from_secs(1);
/// The most one write(2) is given: SO_SNDTIMEO bounds each wait for room in
/// the socket, not the call, so a large write to a slow but moving reader
/// would run on past the deadline.
const WRITE_CHUNK: usize = 64 * 1024;

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
    /// Events written whole to the sink.
    delivered: u64,
    /// Set by `finish`: stop writing events at this time.
    deadline: Option<Instant>,
    /// The figures of the final stats event, once the writer has finished.
    fin: Option<Stats>,
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

/// Final figures of a sink: every event produced was either delivered or
/// counted in `dropped` (queue full, failed write, or the exit deadline).
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
    /// One write(2): sockets time out after WRITE_TIMEOUT (WouldBlock).
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Stderr(s) => s.write(b),
            Conn::File(f) => f.write(b),
            Conn::Unix(u) => u.write(b),
            Conn::Tcp(t) => t.write(b),
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
                delivered: 0,
                deadline: None,
                fin: None,
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

    /// Flush and stop the writer: events are written until `timeout`, then
    /// the ones left are counted as dropped and the final stats event is sent
    /// (within GRACE). The figures are those of the final stats event; if the
    /// writer is stuck in a write that cannot time out (a stderr pipe nobody
    /// reads), every event not yet delivered is counted as dropped.
    pub fn finish(&self, timeout: Duration) -> Stats {
        let sh = &*self.shared;
        let deadline = Instant::now() + timeout;
        // the writer's last write ends at deadline + GRACE (send_final)
        let give_up = deadline + GRACE + WRITE_TIMEOUT * 3;
        let mut st = lock(&sh.state);
        st.closing = true;
        st.deadline = Some(deadline);
        st.writer_waiting = false;
        sh.wake_writer.notify_one();
        while !st.writer_done {
            let now = Instant::now();
            if now >= give_up {
                break;
            }
            st = sh
                .done
                .wait_timeout(st, give_up - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        st.fin.unwrap_or(Stats {
            produced: st.produced,
            dropped: st.produced - st.delivered,
        })
    }
}

fn connect(spec: &SinkSpec) -> std::io::Result<Conn> {
    match spec {
        SinkSpec::Unix(p) => {
            let u = UnixStream::connect(p)?;
            u.set_write_timeout(Some(WRITE_TIMEOUT))?;
            Ok(Conn::Unix(u))
        }
        SinkSpec::Tcp(hp) => {
            let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
            for a in resolve(hp)? {
                match TcpStream::connect_timeout(&a, Duration::from_secs(2)) {
                    Ok(s) => {
                        let _ = s.set_nodelay(true);
                        s.set_write_timeout(Some(WRITE_TIMEOUT))?;
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

fn stats_event(seq: u64, st: &State, stops: u64, link: &Link, final_: bool) -> Event {
    let mut ev = Event::new(Kind::Stats, seq, "");
    ev.args = vec![
        ("events", Value::Int(st.produced as i64)),
        ("dropped", Value::Int(st.dropped as i64)),
        ("delivered", Value::Int(st.delivered as i64)),
        ("queued", Value::Int(st.q.len() as i64)),
        ("stops", Value::Int(stops as i64)),
        ("sink_failures", Value::Int(link.failures as i64)),
        ("sink_down_ms", Value::Int(link.down_ms() as i64)),
        ("final", Value::Bool(final_)),
    ];
    ev
}

/// The longest gap between two reports of a sink that stays unreachable.
const REPORT_MAX_GAP: Duration = Duration::from_secs(300);

/// The writer thread's connection to the sink: files and stderr are opened
/// before the thread starts; sockets are (re)connected with exponential
/// backoff.
struct Link {
    spec: SinkSpec,
    conn: Option<Conn>,
    backoff: Duration,
    next_try: Instant,
    /// Failed connection attempts, in all.
    failures: u64,
    /// Since when the sink is unreachable (the first failure of this outage).
    down_since: Option<Instant>,
    /// Time without a connection in earlier outages.
    down_before: Duration,
    /// When to say again that the sink is still unreachable, and the gap after that.
    next_report: Instant,
    report_gap: Duration,
    /// The first report's gap (the stats interval).
    first_gap: Duration,
    /// Whether the sink was ever reached.
    ever_connected: bool,
}

impl Link {
    fn new(spec: SinkSpec, conn: Option<Conn>, first_gap: Duration) -> Link {
        Link {
            ever_connected: conn.is_some(),
            spec,
            conn,
            backoff: Duration::from_millis(50),
            next_try: Instant::now(),
            failures: 0,
            down_since: None,
            down_before: Duration::ZERO,
            next_report: Instant::now(),
            report_gap: first_gap,
            first_gap,
        }
    }

    /// Time spent without a connection, in milliseconds (after at least one failure).
    fn down_ms(&self) -> u128 {
        (self.down_before + self.down_since.map_or(Duration::ZERO, |t| t.elapsed())).as_millis()
    }

    fn spec_text(&self) -> String {
        match &self.spec {
            SinkSpec::Unix(p) => format!("unix:{}", p.display()),
            SinkSpec::Tcp(a) => format!("tcp://{a}"),
            SinkSpec::File(p) => format!("file:{}", p.display()),
            SinkSpec::Stderr => "stderr".into(),
        }
    }
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
                self.ever_connected = true;
                self.backoff = Duration::from_millis(50);
                if let Some(t) = self.down_since.take() {
                    let down = t.elapsed();
                    self.down_before += down;
                    crate::warn!(
                        "kiltx-tracer: event sink {} reached after {:.1} s without it",
                        self.spec_text(),
                        down.as_secs_f64()
                    );
                }
            }
            Err(e) => {
                self.failures += 1;
                let since = *self.down_since.get_or_insert(now);
                if since == now {
                    crate::warn!(
                        "kiltx-tracer: cannot reach the event sink {} ({e}); events are queued, then dropped and counted, until it can be reached; retrying",
                        self.spec_text()
                    );
                    self.report_gap = self.first_gap;
                    self.next_report = now + self.report_gap;
                } else if now >= self.next_report {
                    crate::warn!(
                        "kiltx-tracer: the event sink {} is still unreachable after {} s ({e}); {} connection attempts failed",
                        self.spec_text(),
                        (now - since).as_secs(),
                        self.failures
                    );
                    self.report_gap = (self.report_gap * 2).min(REPORT_MAX_GAP);
                    self.next_report = now + self.report_gap;
                }
                self.next_try = now + self.backoff;
                self.backoff = (self.backoff * 2).min(Duration::from_secs(5));
            }
        }
    }

    /// Write `buf`, whose lines end at `ends`; the number of bytes written.
    /// Keeps trying while the sink is slow, until the exit deadline (`soft`,
    /// or the one `finish` sets meanwhile): then it stops at the end of a
    /// line, finishing the current one within GRACE. On an error, or when
    /// even that fails, the connection is dropped (to be retried at once):
    /// the collector discards the cut line. `hard` (default: `soft` + GRACE)
    /// bounds the finishing of a line.
    fn write(
        &mut self,
        sh: &Shared,
        buf: &[u8],
        ends: &[usize],
        soft: Option<Instant>,
        hard: Option<Instant>,
    ) -> usize {
        let Some(c) = self.conn.as_mut() else {
            return 0;
        };
        let mut w = 0;
        let mut limit = buf.len();
        let mut soft = soft;
        let mut failed = false;
        while w < limit {
            soft = soft.or_else(|| lock(&sh.state).deadline);
            if let Some(d) = soft {
                let now = Instant::now();
                if now >= d {
                    if w == 0 || ends.binary_search(&w).is_ok() {
                        // at a line boundary: stop here; the connection
                        // stays usable (for the final stats event)
                        return w;
                    }
                    if now >= hard.unwrap_or(d + GRACE) {
                        failed = true; // the line is cut
                        break;
                    }
                    // finish the current line only
                    limit = ends[ends.partition_point(|e| *e <= w)];
                }
            }
            match c.write(&buf[w..limit.min(w + WRITE_CHUNK)]) {
                Ok(0) => {
                    failed = true;
                    break;
                }
                Ok(n) => w += n,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::Interrupted
                            | std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            self.conn = None;
            self.next_try = Instant::now();
        }
        w
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
    let mut link = Link::new(spec, conn, stats_every.unwrap_or(Duration::from_secs(10)));
    let mut next_stats = stats_every.map(|d| Instant::now() + d);
    let mut ends: Vec<usize> = Vec::new();
    loop {
        link.reconnect();
        let st = lock(&sh.state);
        let (mut st, periodic_stats) = wait_for_work(&sh, st, &link, &mut next_stats, stats_every);
        let (closing, deadline) = (st.closing, st.deadline);
        if link.conn.is_some() {
            std::mem::swap(&mut batch, &mut st.q);
        }
        drop(st);
        if sh.mode == Backpressure::Block {
            sh.not_full.notify_all();
        }
        buf.clear();
        ends.clear();
        if let Some(ev) = periodic_stats {
            ev.encode(container, &mut buf);
        }
        for ev in batch.drain(..) {
            ev.encode(container, &mut buf);
            ends.push(buf.len());
        }
        let written = if buf.is_empty() {
            0
        } else {
            link.write(&sh, &buf, &ends, deadline, None)
        };
        // events whose whole line was written are delivered; the others
        // (a failed write, or the deadline) are lost
        let delivered = ends.partition_point(|e| *e <= written) as u64;
        let lost = ends.len() as u64 - delivered;
        let mut st = lock(&sh.state);
        st.delivered += delivered;
        st.dropped += lost;
        if !closing {
            continue;
        }
        let past = deadline.is_some_and(|d| Instant::now() >= d);
        if !st.q.is_empty() && !past {
            continue;
        }
        // the end: what is left is lost, then the final stats event
        st.dropped += st.q.len() as u64;
        st.q.clear();
        let seq = sh.seq.fetch_add(1, Ordering::Relaxed);
        let fin = stats_event(seq, &st, sh.stops.load(Ordering::Relaxed), &link, true);
        st.fin = Some(Stats {
            produced: st.produced,
            dropped: st.dropped,
        });
        drop(st);
        send_final(&mut link, &sh, fin, container, deadline);
        if !link.ever_connected {
            crate::warn!(
                "kiltx-tracer: the event sink {} was never reached: all {} events were lost",
                link.spec_text(),
                st_produced(&sh)
            );
        }
        let mut st = lock(&sh.state);
        st.writer_done = true;
        sh.done.notify_all();
        sh.not_full.notify_all();
        return;
    }
}

fn st_produced(sh: &Shared) -> u64 {
    lock(&sh.state).produced
}

/// Send the final stats event, the last line the collector receives: on a
/// connection that was lost, one more connection attempt is made for it.
/// It is given GRACE after the deadline.
fn send_final(
    link: &mut Link,
    sh: &Shared,
    fin: Event,
    container: Option<&str>,
    deadline: Option<Instant>,
) {
    let limit = deadline.unwrap_or_else(Instant::now) + GRACE;
    if link.conn.is_none() && Instant::now() < limit {
        link.next_try = Instant::now();
        link.reconnect();
    }
    let mut buf = Vec::with_capacity(256);
    fin.encode(container, &mut buf);
    let ends = [buf.len()];
    // until `limit`: gives up cleanly (nothing written) or cuts the line
    link.write(sh, &buf, &ends, Some(limit), Some(limit));
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
                let stats = stats_event(seq, &st, sh.stops.load(Ordering::Relaxed), link, false);
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
        if st.closing && st.deadline.is_some_and(|d| now >= d) {
            break;
        }
        let mut wait = WRITER_TICK;
        if let Some(t) = *next_stats {
            wait = wait.min(t.saturating_duration_since(now));
        }
        if !connected {
            wait = wait.min(link.next_try.saturating_duration_since(now));
            if let Some(d) = st.deadline {
                wait = wait.min(d.saturating_duration_since(now));
            }
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
