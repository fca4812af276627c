//! Detection in the sidecar: `kiltx-tracer rules validate|list`, and
//! `kiltx-tracer collect --rules` (replayed and live) with the unmodified
//! Falco stable rules (../shared/peer/falco/rules/falco_rules.yaml, read in
//! place) over real traced runs: each trigger of the event-generator table
//! that works here produces exactly its rule; everyday work produces nothing.
use crate::common::*;
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

fn falco_rules() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/peer/falco/rules/falco_rules.yaml");
    assert!(
        p.is_file(),
        "{}: the peer data must be beside the clone",
        p.display()
    );
    p
}

/// Trace `sh -c SCRIPT` (default profile, container `app`) into DIR/events.jsonl.
fn trace(dir: &Path, script: &str) -> PathBuf {
    let ev = dir.join("events.jsonl");
    let _ = std::fs::remove_file(&ev);
    let st = tracer_cmd()
        .env("KILTX_CONTAINER_NAME", "app")
        .args([
            "run",
            "--output",
            &format!("file:{}", ev.display()),
            "--",
            "/bin/sh",
            "-c",
            script,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.code().is_some(), "{script}");
    ev
}

/// `collect --replay EVENTS --rules falco_rules.yaml OPTS`: the alerts and the final stats line.
fn replay(events: &Path, opts: &[&str]) -> (Vec<Value>, Value) {
    collect_replay(&falco_rules(), events, opts)
}

fn rules_of(alerts: &[Value]) -> Vec<&str> {
    alerts.iter().filter_map(|a| a["rule"].as_str()).collect()
}

#[test]
fn validate_and_list_the_falco_rules() {
    let out = tracer_cmd()
        .args(["rules", "validate"])
        .arg(falco_rules())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("25 rules (25 enabled, 23 can fire under kiltx), 87 macros, 49 lists\n"),
        "{text}"
    );
    assert_eq!(text.matches("it can never fire").count(), 2, "{text}");
    let out = tracer_cmd()
        .args(["rules", "list"])
        .arg(falco_rules())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 25);
    assert!(text.contains("Debugfs Launched in Privileged Container\tWarning\tenabled\texecve,execveat\tnever: container.privileged\n"), "{text}");
}

#[test]
fn bad_rules_exit_2_with_file_line_column() {
    let d = tempdir("badrules");
    let f = d.join("bad.yaml");
    std::fs::write(&f, "- rule: r\n  desc: d\n  condition: evt.type = open and proc.nmae = x\n  output: o\n  priority: INFO\n").unwrap();
    for args in [
        vec!["rules", "validate"],
        vec!["collect", "--replay", "/dev/null", "--rules"],
    ] {
        let out = tracer_cmd().args(&args).arg(&f).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(
            err,
            format!(
                "kiltx-tracer: {}:3:34: rule 'r': nonexistent field proc.nmae\n",
                f.display()
            )
        );
        assert!(out.stdout.is_empty());
    }
    let out = tracer_cmd()
        .args(["rules", "validate", "/nonexistent.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn each_trigger_alerts_with_exactly_its_rule() {
    let d = tempdir("triggers");
    let t = d.display();
    let py = "/usr/bin/python3";
    assert!(
        Path::new(py).exists(),
        "python3 is needed (apt-get install python3)"
    );
    let ptrace = "import ctypes,os,time\nlibc=ctypes.CDLL(None,use_errno=True)\n";
    let cases: Vec<(String, &str, &str)> = vec![
        ("cat /etc/shadow > /dev/null".into(), "Read sensitive file untrusted", "Warning"),
        ("echo /etc/../etc/../etc/shadow | xargs cat > /dev/null".into(), "Directory traversal monitored file read", "Warning"),
        (format!("ln -s /etc {t}/etc_link"), "Create Symlink Over Sensitive Files", "Warning"),
        (format!("ln /etc/shadow {t}/shadow_link 2>/dev/null; true"), "Create Hardlink Over Sensitive Files", "Warning"),
        (format!(": > {t}/syslog"), "Clear Log Activities", "Warning"),
        (format!("echo x > {t}/data; shred -u {t}/data"), "Remove Bulk Data from Disk", "Warning"),
        (format!("find {t} -maxdepth 1 -iname id_rsa"), "Search Private Keys or Passwords", "Warning"),
        (format!("find {t} -maxdepth 1 -iname .aws/credentials"), "Find AWS Credentials", "Warning"),
        (format!("cp /bin/true {t}/nc; {t}/nc -e /bin/sh 127.0.0.1 9"), "Netcat Remote Code Execution in Container", "Warning"),
        (format!("cp /bin/true {t}/dropped && {t}/dropped"), "Drop and execute new binary in container", "Critical"),
        (
            format!("f=/dev/shm/kiltx-rules-{}.sh; printf '#!/bin/sh\\ntrue\\n' > $f; chmod +x $f; $f; rm -f $f", std::process::id()),
            "Execution from /dev/shm",
            "Warning",
        ),
        (
            format!("{py} -c 'import os;fd=os.memfd_create(\"x\");os.write(fd,open(\"/bin/true\",\"rb\").read());os.execv(f\"/proc/self/fd/{{fd}}\",[\"x\"])'"),
            "Fileless execution via memfd_create",
            "Critical",
        ),
        (
            format!("{py} -c '{ptrace}libc.ptrace(0,0,0,0)'"),
            "PTRACE anti-debug attempt",
            "Notice",
        ),
        (
            format!("{py} -c '{ptrace}p=os.fork()\nif p==0:\n  time.sleep(5);os._exit(0)\nlibc.ptrace(16,p,0,0);os.kill(p,9);os.wait()'"),
            "PTRACE attached to process",
            "Warning",
        ),
        (
            format!("ln -sf {py} {t}/httpd; {t}/httpd -c 'import subprocess;subprocess.run([\"sh\",\"-c\",\"true\"])'"),
            "Run shell untrusted",
            "Notice",
        ),
        (
            format!("{py} -c 'import socket;socket.socket(socket.AF_PACKET,socket.SOCK_RAW)'"),
            "Packet socket created in container",
            "Notice",
        ),
        (
            format!("{py} -c 'import os,socket\nl=socket.socket();l.bind((\"127.0.0.1\",0));l.listen()\nc=socket.create_connection(l.getsockname())\nos.dup2(c.fileno(),1)'"),
            "Redirect STDOUT/STDIN to Network Connection in Container",
            "Notice",
        ),
        (
            "setpriv --reuid=daemon --regid=daemon --clear-groups /bin/login < /dev/null > /dev/null 2>&1; true".into(),
            "System user interactive",
            "Informational",
        ),
    ];
    let mut failures = Vec::new();
    for (script, rule, prio) in &cases {
        let ev = trace(&d, script);
        let (alerts, stats) = replay(&ev, &[]);
        let got = rules_of(&alerts);
        if got != [*rule] || alerts[0]["priority"] != *prio || alerts[0]["source"] != "syscall" {
            failures.push(format!(
                "{script}: expected [{rule}] ({prio}), got {got:?} {alerts:?}"
            ));
        }
        assert_eq!(stats["args"]["alerts_by_rule"][rule], 1);
        // the process table is empty once every process has exited
        assert_eq!(stats["args"]["processes"], 0, "{script}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_shell_entrypoint_on_a_terminal() {
    // `script` gives the traced shell (the container's entrypoint) a pseudo-terminal
    let d = tempdir("tty");
    let ev = d.join("events.jsonl");
    let cmd = format!(
        "{} run --output file:{} -- /bin/sh -c true",
        tracer(),
        ev.display()
    );
    let st = hermetic("/usr/bin/script")
        .env("KILTX_CONTAINER_NAME", "app")
        .args(["-qec", &cmd, "/dev/null"])
        .stdout(Stdio::null())
        .status()
        .expect("script (util-linux) is needed");
    assert_eq!(st.code(), Some(0));
    let (alerts, _) = replay(&ev, &[]);
    assert_eq!(rules_of(&alerts), ["Terminal shell in container"]);
    assert_ne!(alerts[0]["output_fields"]["proc.tty"], 0);
}

#[test]
fn a_server_reading_a_sensitive_file_after_startup() {
    let d = tempdir("trusted");
    let t = d.display();
    let ev = trace(
        &d,
        &format!("ln -sf /usr/bin/python3 {t}/httpd; {t}/httpd -c 'import time;time.sleep(5.5);open(\"/etc/shadow\").read()'"),
    );
    let (alerts, _) = replay(&ev, &[]);
    assert_eq!(
        rules_of(&alerts),
        ["Read sensitive file trusted after startup"]
    );
    assert_eq!(alerts[0]["output_fields"]["proc.name"], "httpd");
}

#[test]
fn everyday_work_is_quiet() {
    let d = tempdir("quiet");
    let t = d.display();
    // a shell script doing everyday work
    let ev = trace(
        &d,
        &format!(
            "cd {t}; ls / > /dev/null; cat /etc/hostname /etc/passwd > list; grep root list > /dev/null; \
             sort list | head -1 > first; mkdir -p a/b; mv first a/b/; cp list a/; rm -r a; date > now; \
             id > /dev/null; uname -a > /dev/null; tar czf x.tgz list now; gzip -t x.tgz; sed -n 1p list > /dev/null; \
             awk -F: '{{print $1}}' list > /dev/null; find . -name '*.tgz' > /dev/null; sh -c 'echo sub' > /dev/null"
        ),
    );
    let (alerts, stats) = replay(&ev, &[]);
    assert!(alerts.is_empty(), "{alerts:?}");
    assert!(stats["args"]["events"].as_u64().unwrap() > 20);
    // a Python HTTP server answering local requests, and a program starting up
    let server = "import http.server,threading,urllib.request\n\
        s=http.server.ThreadingHTTPServer(('127.0.0.1',0),http.server.SimpleHTTPRequestHandler)\n\
        threading.Thread(target=s.serve_forever,daemon=True).start()\n\
        for i in range(3): urllib.request.urlopen('http://127.0.0.1:%d/' % s.server_address[1]).read()\n\
        s.shutdown()\n";
    std::fs::write(d.join("server.py"), server).unwrap();
    let ev = trace(&d, &format!("cd {t}; /usr/bin/python3 server.py 2>/dev/null; curl -s -o /dev/null http://127.0.0.1:9/ ; true"));
    let (alerts, _) = replay(&ev, &["--rule-matching", "all"]);
    assert!(alerts.is_empty(), "{alerts:?}");
    let conns = read_events(&ev)
        .iter()
        .filter(|e| e["syscall"] == "connect")
        .count();
    assert!(conns >= 3, "the workload connected {conns} times");
}

#[test]
fn live_collector_writes_alerts_and_stats() {
    let d = tempdir("livecollect");
    let sock = d.join("c.sock");
    let mut coll = tracer_cmd()
        .args(["collect", "--listen", &format!("unix:{}", sock.display())])
        .arg("--rules")
        .arg(falco_rules())
        .args(["--stats-interval", "1", "--hostname", "task-1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !sock.exists() {
        assert!(t0.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(10));
    }
    let st = tracer_cmd()
        .env("KILTX_CONTAINER_NAME", "app")
        .args([
            "run",
            "--output",
            &format!("unix:{}", sock.display()),
            "--",
            "/bin/sh",
            "-c",
            "cat /etc/shadow > /dev/null",
        ])
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(0));
    // the collector works asynchronously: read its stdout as it comes, and
    // stop it once the alert and a periodic stats line that counts it are out
    let mut out = coll.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut r = std::io::BufReader::new(&mut out);
        let mut line = String::new();
        while std::io::BufRead::read_line(&mut r, &mut line).unwrap_or(0) > 0 {
            let _ = tx.send(std::mem::take(&mut line));
        }
    });
    let mut text = String::new();
    let t0 = Instant::now();
    while !(text.contains("\"rule\":") && text.contains("\"alerts\":1,")) {
        assert!(t0.elapsed() < Duration::from_secs(20), "{text}");
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
            text.push_str(&l);
        }
    }
    signal(coll.id() as i32, libc::SIGTERM);
    assert_eq!(coll.wait().unwrap().code(), Some(0));
    reader.join().unwrap();
    text.extend(rx.try_iter());
    let mut err = String::new();
    coll.stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("23 can fire under kiltx"), "{err}");
    assert!(err.contains("'Contact K8S API Server From Container' uses fields kiltx cannot supply on Fargate (fd.sip.name, k8s.ns.name): it can never fire"), "{err}");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("whole JSON lines"))
        .collect();
    let alerts: Vec<&Value> = lines.iter().filter(|v| v.get("rule").is_some()).collect();
    assert_eq!(alerts.len(), 1, "{text}");
    assert_eq!(alerts[0]["rule"], "Read sensitive file untrusted");
    assert_eq!(alerts[0]["hostname"], "task-1");
    // no raw events without --raw-events
    assert!(!lines.iter().any(|v| v.get("syscall").is_some()), "{text}");
    let stats: Vec<&Value> = lines
        .iter()
        .filter(|v| v["args"]["stats"] == true)
        .collect();
    assert!(stats.len() >= 2, "periodic and final stats: {text}");
    let last = stats.last().unwrap();
    assert_eq!(last["args"]["final"], true);
    assert_eq!(
        last["args"]["alerts_by_rule"]["Read sensitive file untrusted"],
        1
    );
    assert_eq!(last["args"]["tracer_dropped"], 0);
}

#[test]
fn raw_events_when_asked() {
    let d = tempdir("rawevents");
    let ev = trace(&d, "cat /etc/shadow > /dev/null");
    let n = read_events(&ev).len();
    let out = tracer_cmd()
        .args(["collect", "--replay"])
        .arg(&ev)
        .arg("--rules")
        .arg(falco_rules())
        .args(["--raw-events", "--stats-interval", "0"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    // every event, the alert, the final stats
    assert_eq!(text.lines().count(), n + 2, "{text}");
    let out = tracer_cmd()
        .args(["collect", "--replay"])
        .arg(&ev)
        .args(["--raw-events"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "--raw-events needs --rules");
    // without rules, replay relays every line unchanged
    let out = tracer_cmd()
        .args(["collect", "--replay"])
        .arg(&ev)
        .output()
        .unwrap();
    assert_eq!(out.stdout, std::fs::read(&ev).unwrap());
}

/// A local HTTP receiver: answers 503 to the first request, 200 after;
/// returns every request body it received.
fn receiver() -> (u16, std::sync::mpsc::Receiver<(u16, String)>) {
    use std::io::{BufRead, BufReader, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut n = 0;
        for s in l.incoming() {
            let Ok(s) = s else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut w = s;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let mut len = 0;
                loop {
                    let mut h = String::new();
                    r.read_line(&mut h).unwrap();
                    if h.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0u8; len];
                std::io::Read::read_exact(&mut r, &mut body).unwrap();
                n += 1;
                let status = if n == 1 { 503 } else { 200 };
                tx.send((status, String::from_utf8(body).unwrap())).unwrap();
                let _ = write!(w, "HTTP/1.1 {status} X\r\nContent-Length: 2\r\n\r\nok");
            }
        }
    });
    (port, rx)
}

#[test]
fn alerts_are_posted_to_an_http_endpoint_with_retries() {
    let d = tempdir("httpout");
    let ev = trace(&d, "cat /etc/shadow > /dev/null");
    let (port, rx) = receiver();
    let (alerts, stats) = replay(
        &ev,
        &["--http-output", &format!("http://127.0.0.1:{port}/")],
    );
    assert_eq!(rules_of(&alerts), ["Read sensitive file untrusted"]);
    let got: Vec<(u16, String)> = rx.try_iter().collect();
    assert_eq!(got.len(), 2, "one refused (503), then retried: {got:?}");
    assert_eq!(got[0].1, got[1].1);
    let posted: Value = serde_json::from_str(&got[1].1).unwrap();
    assert_eq!(posted, alerts[0]);
    assert_eq!(stats["args"]["http_sent"], 1);
    assert_eq!(stats["args"]["http_retries"], 1);
    assert_eq!(stats["args"]["http_dropped"], 0);
    // nothing listening: the alert is given up after its retries, and counted
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = l.local_addr().unwrap().port();
    drop(l);
    let (alerts, stats) = replay(
        &ev,
        &["--http-output", &format!("http://127.0.0.1:{dead}/")],
    );
    assert_eq!(alerts.len(), 1);
    assert_eq!(stats["args"]["http_dropped"], 1);
    let out = tracer_cmd()
        .args([
            "collect",
            "--replay",
            "/dev/null",
            "--http-output",
            "https://x/",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
