//! `collect --http-output URL`: every alert is also POSTed to an HTTP
//! endpoint (falcosidekick's input, `http://127.0.0.1:2801/` in the task), one
//! request per alert, from a thread of its own behind a bounded queue, so that
//! a slow or absent endpoint never slows the collector: a full queue drops
//! alerts (counted), a failed request is retried with exponential backoff
//! (100 ms doubling to 5 s, 5 attempts), then dropped (counted). Plain HTTP
//! only (the endpoint runs in the same task); the connection is kept alive.
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Alerts waiting at most.
pub const QUEUE: usize = 10_000;
const ATTEMPTS: u32 = 5;

/// `http://HOST[:PORT][/PATH]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl Url {
    pub fn parse(s: &str) -> Result<Url, String> {
        if s.starts_with("https://") {
            return Err(format!(
                "{s}: https is not supported; run the receiver (falcosidekick) in the task and give its http:// address"
            ));
        }
        let rest = s
            .strip_prefix("http://")
            .ok_or_else(|| format!("{s}: expected http://HOST[:PORT][/PATH]"))?;
        let (hostport, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let port_of = |p: &str| p.parse::<u16>().map_err(|_| format!("{s}: bad port '{p}'"));
        let (host, port) = if let Some(r) = hostport.strip_prefix('[') {
            let (h, after) = r
                .split_once(']')
                .ok_or_else(|| format!("{s}: unclosed '['"))?;
            match after.strip_prefix(':') {
                Some(p) => (h, port_of(p)?),
                None => (h, 80),
            }
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, port_of(p)?),
                None => (hostport, 80),
            }
        };
        if host.is_empty() {
            return Err(format!("{s}: no host"));
        }
        Ok(Url {
            host: host.to_string(),
            port,
            path: path.to_string(),
        })
    }
}

#[derive(Default)]
pub struct Counters {
    pub sent: AtomicU64,
    pub retries: AtomicU64,
    pub dropped: AtomicU64,
}

struct Queue {
    q: VecDeque<Vec<u8>>,
    busy: bool,
}

pub struct HttpOut {
    queue: Mutex<Queue>,
    cv: Condvar,
    pub counters: Counters,
}

impl HttpOut {
    /// Start the sender thread.
    pub fn start(url: Url) -> Arc<HttpOut> {
        let h = Arc::new(HttpOut {
            queue: Mutex::new(Queue {
                q: VecDeque::new(),
                busy: false,
            }),
            cv: Condvar::new(),
            counters: Counters::default(),
        });
        let me = h.clone();
        std::thread::spawn(move || me.run(&url));
        h
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queue one alert (without its newline); dropped and counted when full.
    pub fn push(&self, alert: &[u8]) {
        let mut q = self.lock();
        if q.q.len() >= QUEUE {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        q.q.push_back(alert.to_vec());
        self.cv.notify_all();
    }

    /// Wait until everything queued has been sent (or given up), at most `max`.
    pub fn drain(&self, max: Duration) {
        let end = Instant::now() + max;
        let mut q = self.lock();
        while !q.q.is_empty() || q.busy {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let n = q.q.len() as u64 + u64::from(q.busy);
                self.counters.dropped.fetch_add(n, Ordering::Relaxed);
                q.q.clear();
                return;
            }
            q = self
                .cv
                .wait_timeout(q, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn run(&self, url: &Url) {
        let mut conn: Option<BufReader<TcpStream>> = None;
        loop {
            let body = {
                let mut q = self.lock();
                q.busy = false;
                self.cv.notify_all();
                loop {
                    if let Some(b) = q.q.pop_front() {
                        q.busy = true;
                        break b;
                    }
                    q = self.cv.wait(q).unwrap_or_else(|p| p.into_inner());
                }
            };
            let mut backoff = Duration::from_millis(100);
            let mut done = false;
            for attempt in 0..ATTEMPTS {
                if attempt > 0 {
                    self.counters.retries.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                match post(&mut conn, url, &body) {
                    Ok(status) if (200..300).contains(&status) => {
                        self.counters.sent.fetch_add(1, Ordering::Relaxed);
                        done = true;
                        break;
                    }
                    // the receiver refuses this alert: retrying will not help
                    Ok(status)
                        if (400..500).contains(&status) && status != 408 && status != 429 =>
                    {
                        break;
                    }
                    Ok(_) => {}
                    Err(_) => conn = None,
                }
            }
            if !done {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// One POST on the kept-alive connection (opened if needed): the status.
fn post(conn: &mut Option<BufReader<TcpStream>>, url: &Url, body: &[u8]) -> std::io::Result<u16> {
    if conn.is_none() {
        let addrs = crate::sink::resolve(&format!("{}:{}", url.host, url.port))?;
        let s = TcpStream::connect_timeout(&addrs[0], Duration::from_secs(2))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.set_write_timeout(Some(Duration::from_secs(5)))?;
        let _ = s.set_nodelay(true);
        *conn = Some(BufReader::new(s));
    }
    let c = conn.as_mut().expect("connected");
    let mut req = Vec::with_capacity(body.len() + 160);
    write!(
        req,
        "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n",
        url.path,
        url.host,
        url.port,
        body.len()
    )?;
    req.extend_from_slice(body);
    c.get_mut().write_all(&req)?;
    // the response: status line, headers, body (by length, chunks, or to the end)
    let mut line = String::new();
    if c.read_line(&mut line)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(std::io::ErrorKind::InvalidData)?;
    let (mut len, mut chunked, mut close) = (None, false, false);
    loop {
        line.clear();
        if c.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_ascii_lowercase());
            match k.as_str() {
                "content-length" => len = v.parse::<u64>().ok(),
                "transfer-encoding" => chunked = v.contains("chunked"),
                "connection" => close = v == "close",
                _ => {}
            }
        }
    }
    if chunked {
        loop {
            line.clear();
            c.read_line(&mut line)?;
            let n = u64::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| std::io::ErrorKind::InvalidData)?;
            std::io::copy(&mut c.by_ref().take(n + 2), &mut std::io::sink())?;
            if n == 0 {
                break;
            }
        }
    } else if let Some(n) = len {
        std::io::copy(&mut c.by_ref().take(n), &mut std::io::sink())?;
    } else {
        std::io::copy(c, &mut std::io::sink())?;
        close = true;
    }
    if close {
        *conn = None;
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            Url::parse("http://127.0.0.1:2801/").unwrap(),
            Url {
                host: "127.0.0.1".into(),
                port: 2801,
                path: "/".into()
            }
        );
        assert_eq!(Url::parse("http://sidekick").unwrap().port, 80);
        assert_eq!(Url::parse("http://[::1]:9/x").unwrap().host, "::1");
        assert!(Url::parse("https://x/")
            .unwrap_err()
            .contains("https is not supported"));
        assert!(Url::parse("ftp://x/").is_err());
    }
}
