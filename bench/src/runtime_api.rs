//! A Lambda Runtime API served on 127.0.0.1, for tests and benchmarks of the macro's
//! `bootstrap`: `GET /2018-06-01/runtime/invocation/next` hands out queued events with the
//! Lambda-Runtime-* headers (deadline 30 s ahead); `POST .../{id}/response` and `.../{id}/error`
//! and `/runtime/init/error` are recorded.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

#[derive(Default)]
pub struct State {
    pub events: VecDeque<(String, String)>,
    /// request id → (kind: "response" | "error", body)
    pub answers: BTreeMap<String, (String, String)>,
    pub init_errors: Vec<String>,
    /// When each event was handed out, and when its answer arrived.
    pub handed_at: BTreeMap<String, Instant>,
    pub answered_at: BTreeMap<String, Instant>,
}

pub struct RuntimeApi {
    pub addr: String,
    pub state: Arc<(Mutex<State>, Condvar)>,
}

fn read_request(r: &mut BufReader<TcpStream>) -> Option<(String, String, String)> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some((method, path, String::from_utf8_lossy(&body).into_owned()))
}

fn respond(
    w: &mut TcpStream,
    status: &str,
    headers: &[(&str, String)],
    body: &str,
) -> std::io::Result<()> {
    let mut out = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    w.write_all(out.as_bytes())?;
    w.write_all(body.as_bytes())?;
    w.flush()
}

fn serve(conn: TcpStream, state: Arc<(Mutex<State>, Condvar)>) {
    let mut w = conn.try_clone().expect("clone");
    let mut r = BufReader::new(conn);
    while let Some((method, path, body)) = read_request(&mut r) {
        let (lock, cvar) = &*state;
        let res = if method == "GET" && path == "/2018-06-01/runtime/invocation/next" {
            let mut st = lock.lock().unwrap();
            loop {
                if let Some((id, event)) = st.events.pop_front() {
                    st.handed_at.insert(id.clone(), Instant::now());
                    drop(st);
                    let deadline = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .unwrap()
                        .as_millis()
                        + 30_000;
                    break respond(
                        &mut w,
                        "200 OK",
                        &[
                            ("Content-Type", "application/json".into()),
                            ("Lambda-Runtime-Aws-Request-Id", id),
                            ("Lambda-Runtime-Deadline-Ms", deadline.to_string()),
                            (
                                "Lambda-Runtime-Invoked-Function-Arn",
                                "arn:aws:lambda:eu-west-1:123456789012:function:kiltx".into(),
                            ),
                            (
                                "Lambda-Runtime-Trace-Id",
                                "Root=1-00000000-000000000000000000000000;Sampled=0".into(),
                            ),
                        ],
                        &event,
                    );
                }
                st = cvar.wait(st).unwrap();
            }
        } else if method == "POST" && path.starts_with("/2018-06-01/runtime/invocation/") {
            let rest = &path["/2018-06-01/runtime/invocation/".len()..];
            let (id, kind) = rest.split_once('/').unwrap_or((rest, ""));
            let mut st = lock.lock().unwrap();
            st.answered_at.insert(id.to_string(), Instant::now());
            st.answers.insert(id.to_string(), (kind.to_string(), body));
            drop(st);
            cvar.notify_all();
            respond(&mut w, "202 Accepted", &[], "{\"status\":\"OK\"}")
        } else if method == "POST" && path == "/2018-06-01/runtime/init/error" {
            lock.lock().unwrap().init_errors.push(body);
            cvar.notify_all();
            respond(&mut w, "202 Accepted", &[], "{\"status\":\"OK\"}")
        } else {
            respond(&mut w, "404 Not Found", &[], "")
        };
        if res.is_err() {
            return;
        }
    }
}

impl RuntimeApi {
    /// Serve on a free port of 127.0.0.1.
    pub fn start() -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().unwrap().to_string();
        let state: Arc<(Mutex<State>, Condvar)> = Arc::default();
        let st = Arc::clone(&state);
        thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let st = Arc::clone(&st);
                thread::spawn(move || serve(conn, st));
            }
        });
        RuntimeApi { addr, state }
    }

    /// Queue an event for `GET .../next`.
    pub fn push(&self, id: &str, event: &Value) {
        self.push_text(id, &event.to_string());
    }

    /// Queue an event body as it is, JSON or not.
    pub fn push_text(&self, id: &str, body: &str) {
        let (lock, cvar) = &*self.state;
        lock.lock()
            .unwrap()
            .events
            .push_back((id.to_string(), body.to_string()));
        cvar.notify_all();
    }

    /// Wait for answers to `ids`; `(kind, parsed body)` each.
    /// How long the function took for `id`: from handing the event out to its answer.
    pub fn service_time(&self, id: &str) -> Option<Duration> {
        let st = self.state.0.lock().unwrap();
        Some(
            st.answered_at
                .get(id)?
                .duration_since(*st.handed_at.get(id)?),
        )
    }

    /// When the answer to `id` arrived.
    pub fn answered_at(&self, id: &str) -> Option<Instant> {
        self.state.0.lock().unwrap().answered_at.get(id).copied()
    }

    /// Wait for answers to `ids`; `(kind, parsed body)` each.
    pub fn answers(&self, ids: &[&str], timeout: Duration) -> Vec<(String, Value)> {
        let (lock, cvar) = &*self.state;
        let end = Instant::now() + timeout;
        let mut st = lock.lock().unwrap();
        while !ids.iter().all(|id| st.answers.contains_key(*id)) {
            let left = end.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no answer in time; have {:?}, init errors {:?}",
                st.answers.keys(),
                st.init_errors
            );
            st = cvar.wait_timeout(st, left).unwrap().0;
        }
        ids.iter()
            .map(|id| {
                let (k, b) = &st.answers[*id];
                (
                    k.clone(),
                    serde_json::from_str(b).unwrap_or(Value::String(b.clone())),
                )
            })
            .collect()
    }
}
