//! The real `bootstrap` binary against a Lambda Runtime API served here on 127.0.0.1:
//! `GET /2018-06-01/runtime/invocation/next` hands out queued macro events with the
//! Lambda-Runtime-* headers; `POST .../{id}/response` and `.../{id}/error` are recorded.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

#[derive(Default)]
struct State {
    events: VecDeque<(String, String)>,
    /// request id → (kind: "response" | "error", body)
    answers: BTreeMap<String, (String, String)>,
    init_errors: Vec<String>,
}

struct RuntimeApi {
    addr: String,
    state: Arc<(Mutex<State>, Condvar)>,
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
            lock.lock()
                .unwrap()
                .answers
                .insert(id.to_string(), (kind.to_string(), body));
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
    fn start() -> RuntimeApi {
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

    fn push(&self, id: &str, event: &Value) {
        let (lock, cvar) = &*self.state;
        lock.lock()
            .unwrap()
            .events
            .push_back((id.to_string(), event.to_string()));
        cvar.notify_all();
    }

    /// Wait for answers to `ids`; `(kind, parsed body)` each.
    fn answers(&self, ids: &[&str], timeout: Duration) -> Vec<(String, Value)> {
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

struct Bootstrap(Child);
impl Drop for Bootstrap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn bootstrap(api: &RuntimeApi, extra_env: &[(&str, &str)]) -> Bootstrap {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bootstrap"));
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &api.addr)
        .env("AWS_LAMBDA_FUNCTION_NAME", "kiltx")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    Bootstrap(cmd.spawn().expect("start bootstrap"))
}

fn event(id: &str, fragment: Value, params: Value) -> Value {
    json!({"region": "eu-west-1", "accountId": "123456789012", "transformId": "123456789012::Kiltx",
           "requestId": id, "fragment": fragment, "params": params, "templateParameterValues": {}})
}

fn small_template() -> Value {
    json!({"Resources": {"Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
        "RequiresCompatibilities": ["FARGATE"],
        "ContainerDefinitions": [{"Name": "app", "Image": "app", "EntryPoint": ["/app"]}]}}}})
}

#[test]
fn bootstrap_answers_macro_events() {
    let api = RuntimeApi::start();
    // ~1 MB of compact JSON, as CloudFormation sends it.
    let big = kiltx_bench::cloudformation_template(200, 2_400_000);
    let big_len = big.to_string().len();
    assert!(
        (900_000..1_300_000).contains(&big_len),
        "large fragment is {big_len} bytes"
    );
    api.push(
        "r-template",
        &event("r-template", small_template(), Value::Null),
    );
    api.push(
        "r-snippet",
        &event("r-snippet", json!({"ContainerDefinitions": [{"Name": "app", "Image": "app", "EntryPoint": ["/app"]}]}), json!({"TracerImage": "reg.example/t:1"})),
    );
    api.push("r-bad", &event("r-bad", json!({"Resources": {"Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
        "RequiresCompatibilities": ["FARGATE"], "ContainerDefinitions": [{"Name": "app", "Image": "mystery:1"}]}}}}), Value::Null));
    api.push("r-big", &event("r-big", big.clone(), Value::Null));
    api.push(
        "r-garbage",
        &json!({"hello": "world", "requestId": "r-garbage"}),
    );
    let _b = bootstrap(&api, &[]);
    let answers = api.answers(
        &["r-template", "r-snippet", "r-bad", "r-big", "r-garbage"],
        Duration::from_secs(60),
    );

    let (kind, t) = &answers[0];
    assert_eq!(kind, "response");
    assert_eq!(
        (t["requestId"].as_str(), t["status"].as_str()),
        (Some("r-template"), Some("success"))
    );
    assert_eq!(
        t["fragment"]["Resources"]["Task"]["Properties"]["ContainerDefinitions"][1]["Name"],
        "kiltx-tracer"
    );

    let (_, s) = &answers[1];
    assert_eq!(s["status"], "success");
    assert_eq!(
        s["fragment"]["ContainerDefinitions"][1]["Image"],
        "reg.example/t:1"
    );

    let (kind, b) = &answers[2];
    assert_eq!(
        kind, "response",
        "a failure is an answer, not a function error"
    );
    assert_eq!(b["status"], "failure");
    assert!(
        b["errorMessage"]
            .as_str()
            .unwrap()
            .contains("cannot patch container \"app\" in Task"),
        "{b}"
    );
    assert_eq!(
        b["fragment"]["Resources"]["Task"]["Properties"]["ContainerDefinitions"][0]["Image"],
        "mystery:1"
    );

    let (_, big_answer) = &answers[3];
    assert_eq!(
        big_answer["status"],
        "success",
        "{:?}",
        big_answer.get("errorMessage")
    );
    let tasks = big_answer["fragment"]["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::ECS::TaskDefinition");
    let mut n = 0;
    for t in tasks {
        let c = t["Properties"]["ContainerDefinitions"].as_array().unwrap();
        assert_eq!(c.len(), 4);
        assert!(c[..3]
            .iter()
            .all(|c| c["EntryPoint"][0] == "/kiltx/bin/kiltx-tracer"));
        n += 1;
    }
    assert_eq!(n, 200);

    let (_, g) = &answers[4];
    assert_eq!(
        (g["requestId"].as_str(), g["status"].as_str()),
        (Some("r-garbage"), Some("failure"))
    );
}

#[test]
fn broken_configuration_fails_each_invocation_without_crashing() {
    let api = RuntimeApi::start();
    let mut b = bootstrap(
        &api,
        &[("KILTX_DEFINITION", "version: 7\ncontainers: {}\n")],
    );
    for id in ["c1", "c2"] {
        api.push(id, &event(id, small_template(), Value::Null));
        let answers = api.answers(&[id], Duration::from_secs(30));
        let (kind, a) = &answers[0];
        assert_eq!(kind, "response");
        assert_eq!(a["status"], "failure");
        assert!(
            a["errorMessage"]
                .as_str()
                .unwrap()
                .starts_with("kiltx macro configuration is invalid: definition KILTX_DEFINITION"),
            "{a}"
        );
        assert_eq!(a["fragment"], small_template());
    }
    assert!(
        b.0.try_wait().unwrap().is_none(),
        "the runtime must keep running"
    );
}
