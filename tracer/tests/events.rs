//! Event content, profiles, 32-bit syscalls, sinks, backpressure, collector.
use crate::common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixListener;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn event_schema_and_container_name() {
    let d = tempdir("schema");
    let f = d.join("out.txt");
    let ev = d.join("ev.jsonl");
    let out = tracer_cmd()
        .env("KILTX_CONTAINER_NAME", "web")
        .args(["run", "--output", &format!("file:{}", ev.display()), "--"])
        .args([
            "/bin/sh",
            "-c",
            &format!("cd {} && echo x > out.txt", d.display()),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let events = read_events(&ev);
    let mut seqs: Vec<i64> = events.iter().map(|e| i(&e["seq"])).collect();
    let sorted = {
        let mut s = seqs.clone();
        s.sort();
        s
    };
    assert_eq!(seqs, sorted, "seq increases");
    seqs.dedup();
    assert_eq!(seqs.len(), events.len(), "seq unique");
    for e in &events {
        assert_eq!(e["container"], "web");
        let ts = s(&e["ts"]);
        assert_eq!(ts.len(), "2024-01-01T00:00:00.000000000Z".len(), "{ts}");
        assert!(ts.ends_with('Z') && ts.as_bytes()[10] == b'T');
    }
    let open = of(&events, "openat")
        .into_iter()
        .find(|e| s(&e["args"]["path"]) == "out.txt")
        .expect("relative open");
    assert_eq!(s(&open["args"]["abspath"]), f.to_str().unwrap());
    assert_eq!(
        open["args"]["flags"],
        serde_json::json!(["O_WRONLY", "O_CREAT", "O_TRUNC"])
    );
    assert_eq!(open["args"]["mode"], "0666");
    assert_eq!(open["result_captured"], true);
    assert!(i(&open["result"]) >= 0);
    for k in ["pid", "tid", "ppid", "uid", "gid", "euid", "egid"] {
        assert!(open[k].is_i64(), "{k}");
    }
    assert_eq!(s(&open["comm"]), "sh");
    assert!(s(&open["exe"]).ends_with("dash") || s(&open["exe"]).ends_with("sh"));
    assert_eq!(open["abi"], "x86_64");
    let stats = events.last().unwrap();
    assert_eq!(stats["type"], "stats");
    assert_eq!(stats["args"]["final"], true);
    assert_eq!(stats["args"]["dropped"], 0);
}

#[test]
fn profiles_decide_what_stops() {
    let d = tempdir("profiles");
    let script = format!(
        "cat /etc/hostname > {0}/w; cat /etc/shadow > /dev/null; mkdir {0}/dir; rmdir {0}/dir",
        d.display()
    );
    let count = |events: &[serde_json::Value], path: &str| {
        of(events, "openat")
            .iter()
            .filter(|e| s(&e["args"]["path"]) == path)
            .count()
    };
    let r = run(&d, &["--profile", "minimal"], &["/bin/sh", "-c", &script]);
    assert!(!of(&r.events, "execve").is_empty());
    assert!(of(&r.events, "openat").is_empty());
    assert!(of(&r.events, "mkdir").is_empty());

    let r = run(&d, &["--profile", "default"], &["/bin/sh", "-c", &script]);
    assert_eq!(
        count(&r.events, "/etc/hostname"),
        0,
        "read-only, not sensitive"
    );
    assert_eq!(count(&r.events, "/etc/shadow"), 1, "read-only, sensitive");
    assert_eq!(of(&r.events, "mkdir").len(), 1);
    assert_eq!(of(&r.events, "rmdir").len(), 1);

    let r = run(
        &d,
        &[
            "--no-default-sensitive-paths",
            "--sensitive-path",
            "/etc/host*",
        ],
        &["/bin/sh", "-c", &script],
    );
    assert_eq!(count(&r.events, "/etc/hostname"), 1);
    assert_eq!(count(&r.events, "/etc/shadow"), 0);

    let r = run(&d, &["--profile", "full"], &["/bin/sh", "-c", &script]);
    assert_eq!(count(&r.events, "/etc/hostname"), 1);
    assert!(
        count(&r.events, "/etc/ld.so.cache") >= 1,
        "every open in full"
    );
}

#[test]
fn garbage_arguments_are_reported_not_fatal() {
    let d = tempdir("garbage");
    let p = prog("garbage");
    let r = run(&d, &["--profile", "full"], &[p.to_str().unwrap()]);
    assert_eq!(r.code, Some(7), "{}", r.stderr);
    let opens = of(&r.events, "openat");
    assert!(opens
        .iter()
        .any(|e| e["args"]["path"].is_null() && e["errno"] == "EFAULT"));
    assert!(opens
        .iter()
        .any(|e| e["args"]["dirfd"] == 12345 && e["args"]["abspath"].is_null()));
    let long = opens
        .iter()
        .find(|e| s(&e["args"]["path"]).starts_with("aaaa"))
        .expect("long path");
    assert_eq!(s(&long["args"]["path"]).len(), 4096, "paths are bounded");
    let conns = of(&r.events, "connect");
    assert_eq!(conns.len(), 2);
    assert!(conns[0]["args"]["addr"].is_null());
    let ex = of(&r.events, "execve");
    assert!(ex.iter().any(|e| e["errno"] == "EFAULT"));
    assert!(of(&r.events, "renameat2")[0]["args"]["oldpath"].is_null());
}

#[test]
fn what_need_not_stop_does_not() {
    let d = tempdir("quiet");
    let p = prog("quiet");
    let stops = |r: &Run| i(&r.events.last().unwrap()["args"]["stops"]);
    // no sensitive-path list: the filter's flag check lets read-only opens
    // (and getpid) run without stopping
    let r = run(
        &d,
        &["--no-default-sensitive-paths"],
        &[p.to_str().unwrap(), "5000"],
    );
    assert_eq!(r.code, Some(0));
    assert!(stops(&r) < 20, "stops: {}", stops(&r));
    // with the default list, each read-only open stops once (no event): 5000 stops more than
    // the same program making no open, whatever its start-up (the dynamic loader's own opens)
    // costs
    let base = run(&d, &[], &[p.to_str().unwrap(), "0"]);
    let r = run(&d, &[], &[p.to_str().unwrap(), "5000"]);
    assert_eq!(r.code, Some(0));
    assert_eq!(stops(&r) - stops(&base), 5000, "stops: {}", stops(&r));
    assert!(of(&r.events, "openat")
        .iter()
        .all(|e| s(&e["args"]["path"]) != "/etc/hostname"));
}

#[test]
fn int80_syscalls_are_traced_or_denied() {
    let d = tempdir("int80");
    let p = prog("int80");
    let f = d.join("f32");
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let r = run(&d, &[], &[p.to_str().unwrap(), f.to_str().unwrap(), &port]);
    assert_eq!(r.code, Some(0));
    let res: Vec<i64> = r
        .stdout
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    assert!(res[0] >= 0 && res[1] >= 0 && res[2] == 0, "{res:?}");
    assert!(f.exists());
    let sc = of(&r.events, "socketcall");
    assert_eq!(sc.len(), 1, "the i386 connect (socketcall) is captured");
    assert_eq!(sc[0]["abi"], "i386");
    assert_eq!(sc[0]["args"]["call"], "connect");
    assert_eq!(
        sc[0]["args"]["addr"],
        serde_json::json!({"family": "inet", "address": "127.0.0.1", "port": l.local_addr().unwrap().port()})
    );
    assert_eq!(sc[0]["result"], 0);
    let o = of(&r.events, "open");
    assert_eq!(o.len(), 1, "the i386 open is captured");
    assert_eq!(o[0]["abi"], "i386");
    assert_eq!(s(&o[0]["args"]["path"]), f.to_str().unwrap());
    assert_eq!(
        o[0]["args"]["flags"],
        serde_json::json!(["O_WRONLY", "O_CREAT", "O_TRUNC"])
    );

    // the same from the registers (fallback for kernels before 5.3)
    let h = d.join("h32");
    let out = tracer_cmd()
        .env("KILTX_TRACER_REGS_ONLY", "1")
        .args([
            "run",
            "--output",
            &format!("file:{}", d.join("regs.jsonl").display()),
        ])
        .args(["--", p.to_str().unwrap(), h.to_str().unwrap(), &port])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let ev = read_events(&d.join("regs.jsonl"));
    let o = of(&ev, "open");
    assert_eq!(s(&o[0]["args"]["path"]), h.to_str().unwrap());
    assert_eq!(o[0]["abi"], "i386");
    let sc = of(&ev, "socketcall");
    assert_eq!(sc[0]["args"]["call"], "connect");
    assert_eq!(sc[0]["result"], 0);

    let g = d.join("g32");
    let r = run(
        &d,
        &["--compat", "deny"],
        &[p.to_str().unwrap(), g.to_str().unwrap()],
    );
    assert_eq!(r.code, Some(0));
    assert_eq!(
        r.stdout.trim(),
        format!("-{}", libc::ENOSYS),
        "denied with ENOSYS"
    );
    assert!(!g.exists());
}

#[test]
fn x32_syscalls_do_not_slip_past() {
    let d = tempdir("x32");
    let p = prog("x32");
    let f = d.join("x32file");
    let r = run(&d, &[], &[p.to_str().unwrap(), f.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let x32: Vec<_> = r.events.iter().filter(|e| e["abi"] == "x32").collect();
    let open = x32
        .iter()
        .find(|e| e["syscall"] == "openat")
        .expect("x32 openat captured");
    assert_eq!(s(&open["args"]["path"]), f.to_str().unwrap());
    let exec = x32
        .iter()
        .find(|e| e["syscall"] == "execve")
        .expect("x32 execve captured");
    assert_eq!(s(&exec["args"]["path"]), "/bin/true");
    // this kernel has no x32 ABI: both fail, and the events say so
    assert!(open["errno"].is_string() && exec["errno"].is_string());

    let r = run(
        &d,
        &["--compat", "deny"],
        &[p.to_str().unwrap(), f.to_str().unwrap()],
    );
    assert_eq!(r.code, Some(0));
    assert_eq!(
        r.stdout.trim(),
        format!("-1 {0} -1 {0}", libc::ENOSYS),
        "denied with ENOSYS"
    );
    assert!(!r.events.iter().any(|e| e["abi"] == "x32"));
}

#[test]
fn network_addresses_are_decoded() {
    let d = tempdir("net");
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let sock = d.join("u.sock");
    let _ul = UnixListener::bind(&sock).unwrap();
    let w = prog("workload");
    let r = run(
        &d,
        &[],
        &[
            w.to_str().unwrap(),
            d.to_str().unwrap(),
            &port.to_string(),
            sock.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let c = of(&r.events, "connect");
    assert_eq!(c.len(), 2);
    assert_eq!(
        c[0]["args"]["addr"],
        serde_json::json!({"family": "inet", "address": "127.0.0.1", "port": port})
    );
    assert_eq!(c[0]["result"], 0);
    assert_eq!(
        c[1]["args"]["addr"],
        serde_json::json!({"family": "unix", "path": sock.to_str().unwrap()})
    );
}

#[test]
fn privilege_changes_are_reported_and_followed() {
    let d = tempdir("privdrop");
    std::fs::set_permissions(&d, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let p = prog("privdrop");
    let r = run(&d, &[], &[p.to_str().unwrap(), d.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let gid = of(&r.events, "setgid");
    assert_eq!(gid.len(), 1);
    assert_eq!(gid[0]["args"]["id"], 65534);
    assert_eq!(gid[0]["result"], 0);
    let uid = of(&r.events, "setuid");
    assert_eq!(uid.len(), 2);
    assert_eq!(uid[0]["args"]["id"], 65534);
    assert_eq!(uid[0]["result"], 0);
    assert_eq!(uid[0]["uid"], 0, "event shows the ids before the call");
    assert_eq!(uid[1]["args"]["id"], 0);
    assert_eq!(uid[1]["errno"], "EPERM");
    assert_eq!(uid[1]["uid"], 65534);
    let open = of(&r.events, "openat")
        .into_iter()
        .find(|e| s(&e["args"]["path"]).ends_with("/after"))
        .expect("open after the drop");
    for k in ["uid", "euid", "gid", "egid"] {
        assert_eq!(open[k], 65534, "{k}");
    }
}

#[test]
fn bind_listen_accept_are_decoded() {
    let d = tempdir("server");
    let p = prog("server");
    let r = run(&d, &[], &[p.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let ports: Vec<i64> = r
        .stdout
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    let (port, client) = (ports[0], ports[1]);
    let binds = of(&r.events, "bind");
    assert_eq!(binds.len(), 2);
    assert_eq!(
        binds[0]["args"]["addr"],
        serde_json::json!({"family": "inet", "address": "127.0.0.1", "port": 0})
    );
    assert_eq!(
        binds[1]["args"]["addr"],
        serde_json::json!({"family": "unix", "path": "@kiltx-test"})
    );
    assert_eq!(binds[0]["result"], 0);
    let l = of(&r.events, "listen");
    assert_eq!(l[0]["args"]["backlog"], 4);
    let c = of(&r.events, "connect");
    assert_eq!(c[0]["args"]["addr"]["port"], port);
    let a = of(&r.events, "accept4");
    assert_eq!(a.len(), 1);
    assert_eq!(a[0]["args"]["flags"], serde_json::json!(["SOCK_CLOEXEC"]));
    assert!(i(&a[0]["result"]) >= 0);
    assert_eq!(
        a[0]["args"]["peer"],
        serde_json::json!({"family": "inet", "address": "127.0.0.1", "port": client})
    );
}

#[test]
fn events_go_to_stderr_by_default() {
    let out = minimal_sh(&[], "/bin/true; echo out").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    let err = String::from_utf8_lossy(&out.stderr);
    let events: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert!(events.iter().any(|e| s(&e["args"]["path"]) == "/bin/true"));
    assert_eq!(events.last().unwrap()["type"], "stats");
}

#[test]
fn a_stalled_sink_does_not_stall_the_application() {
    let d = tempdir("backpressure");
    let sock = d.join("stall.sock");
    let l = UnixListener::bind(&sock).unwrap();
    // accept and never read
    let keeper = std::thread::spawn(move || {
        let c = l.accept();
        std::thread::sleep(Duration::from_secs(60));
        drop(c);
    });
    let p = prog("loop");
    let t0 = Instant::now();
    let out = tracer_cmd()
        .args([
            "run",
            "--output",
            &format!("unix:{}", sock.display()),
            "--queue-size",
            "1000",
            "--",
        ])
        .arg(&p)
        .arg(d.join("f"))
        .arg("30000")
        .output()
        .unwrap();
    let took = t0.elapsed();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    let dropped: u64 = err
        .lines()
        .find(|l| l.contains("events dropped"))
        .and_then(|l| l.strip_prefix("kiltx-tracer: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no drop count in stderr: {err}"));
    assert!(dropped > 1000, "dropped {dropped}");
    assert!(took < Duration::from_secs(30), "took {took:?}");
    drop(keeper);
}

#[test]
fn block_mode_delivers_everything() {
    let d = tempdir("block");
    let p = prog("loop");
    let r = run(
        &d,
        &["--on-backpressure", "block", "--queue-size", "8"],
        &[p.to_str().unwrap(), d.join("f").to_str().unwrap(), "2000"],
    );
    assert_eq!(r.code, Some(0));
    let n = of(&r.events, "openat")
        .iter()
        .filter(|e| s(&e["args"]["path"]).ends_with("/f"))
        .count();
    assert_eq!(n, 2000);
    assert_eq!(r.events.last().unwrap()["args"]["dropped"], 0);
}

#[test]
fn collector_relays_whole_lines_and_survives_disconnects() {
    let d = tempdir("collect");
    let sock = d.join("c.sock");
    let mut coll = tracer_cmd()
        .args(["collect", "--listen", &format!("unix:{}", sock.display())])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !sock.exists() {
        assert!(t0.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(10));
    }
    {
        let mut c = std::os::unix::net::UnixStream::connect(&sock).unwrap();
        c.write_all(b"{\"a\":1}\n{\"a\":2}\n{\"partial\":").unwrap();
    } // disconnect mid-line
      // two tracers at once
    let mut runs = Vec::new();
    for k in 0..2 {
        runs.push(
            minimal_sh(
                &["--output", &format!("unix:{}", sock.display())],
                &format!("exit {k}"),
            )
            .spawn()
            .unwrap(),
        );
    }
    for (k, mut r) in runs.into_iter().enumerate() {
        assert_eq!(r.wait().unwrap().code(), Some(k as i32));
    }
    std::thread::sleep(Duration::from_millis(1000));
    signal(coll.id() as i32, libc::SIGTERM);
    let st = coll.wait().unwrap();
    assert_eq!(st.code(), Some(0));
    let mut text = String::new();
    coll.stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.contains(&"{\"a\":1}") && lines.contains(&"{\"a\":2}"));
    assert!(!text.contains("partial"));
    let mut execs = 0;
    let mut finals = 0;
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l).expect("whole JSON lines only");
        if v["syscall"] == "execve" {
            execs += 1;
        }
        if v["type"] == "stats" && v["args"]["final"] == true {
            finals += 1;
        }
    }
    assert_eq!(execs, 2);
    assert_eq!(finals, 2);
    // the raw client's stream was cut (no final stats event, a partial line);
    // the two tracers' streams ended cleanly
    let cuts: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "collector")
        .collect();
    assert_eq!(cuts.len(), 1, "{text}");
    assert_eq!(cuts[0]["args"]["stream"], "cut");
    assert_eq!(cuts[0]["args"]["lines"], 2);
    assert_eq!(cuts[0]["args"]["cut_bytes"], "{\"partial\":".len());
}

#[test]
fn a_slow_collector_gets_whole_lines_and_exact_counts() {
    let d = tempdir("slowsink");
    let sock = d.join("slow.sock");
    let l = UnixListener::bind(&sock).unwrap();
    // a slow reader: 4 KiB, then a pause, until the tracer hangs up
    let reader = std::thread::spawn(move || {
        let (mut c, _) = l.accept().unwrap();
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match c.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        all
    });
    let p = prog("loop");
    let t0 = Instant::now();
    let out = tracer_cmd()
        .args(["run", "--output", &format!("unix:{}", sock.display()), "--"])
        .arg(&p)
        .arg(d.join("f"))
        .arg("50000")
        .output()
        .unwrap();
    let took = t0.elapsed();
    assert_eq!(out.status.code(), Some(0));
    let got = reader.join().unwrap();
    assert_eq!(
        got.last(),
        Some(&b'\n'),
        "the stream ends with a whole line: {:?} {}",
        String::from_utf8_lossy(&got[got.len().saturating_sub(300)..]),
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = got
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("whole JSON lines only"))
        .collect();
    let fin = lines.last().unwrap();
    assert_eq!(fin["type"], "stats", "the final stats event comes last");
    assert_eq!(fin["args"]["final"], true);
    let events = i(&fin["args"]["events"]);
    let dropped = i(&fin["args"]["dropped"]);
    let received = lines.iter().filter(|e| e["type"] != "stats").count() as i64;
    assert!(events > 50_000, "{events}");
    assert!(
        dropped > 0,
        "the collector is slow: some events are dropped"
    );
    assert_eq!(received + dropped, events, "delivered + dropped = produced");
    assert_eq!(i(&fin["args"]["delivered"]), received);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{dropped} of {events} events dropped")),
        "{err}"
    );
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

#[test]
fn tcp_sink_reconnects() {
    // reserve a port, start the tracer before anything listens on it
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let t = minimal_sh(
        &[
            "--stats-interval",
            "1",
            "--output",
            &format!("tcp://127.0.0.1:{port}"),
        ],
        "sleep 1.5; /bin/true; sleep 1.5",
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let l = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let (c, _) = l.accept().unwrap();
    let mut r = BufReader::new(c);
    let mut got = Vec::new();
    let mut line = String::new();
    while r.read_line(&mut line).unwrap_or(0) > 0 {
        got.push(serde_json::from_str::<serde_json::Value>(&line).unwrap());
        line.clear();
    }
    let out = t.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(got.iter().any(|e| s(&e["args"]["path"]) == "/bin/true"));
    let fin = got
        .iter()
        .find(|e| e["type"] == "stats" && e["args"]["final"] == true)
        .expect("final stats");
    // The outage is counted in the stats and said on stderr, once each way.
    assert!(i(&fin["args"]["sink_failures"]) >= 1, "{fin}");
    assert!(i(&fin["args"]["sink_down_ms"]) >= 300, "{fin}");
    let err = String::from_utf8_lossy(&out.stderr);
    let sink = format!("event sink tcp://127.0.0.1:{port}");
    assert_eq!(
        err.matches(&format!("cannot reach the {sink}")).count(),
        1,
        "{err}"
    );
    assert_eq!(
        err.matches(&format!("{sink} reached after")).count(),
        1,
        "{err}"
    );
    assert!(!err.contains("never reached"), "{err}");
    assert!(
        got.iter()
            .any(|e| e["type"] == "stats" && e["args"]["final"] == false),
        "periodic stats event"
    );
}

#[test]
fn collector_over_tcp() {
    let mut coll = tracer_cmd()
        .args(["collect", "--listen", "tcp://127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(coll.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .rsplit(' ')
        .next()
        .expect("listening on tcp://ADDR")
        .to_string();
    assert!(addr.starts_with("tcp://127.0.0.1:"), "{line}");
    let st = tracer_cmd()
        .args([
            "run",
            "--profile",
            "minimal",
            "--output",
            &addr,
            "--",
            "/bin/true",
        ])
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(0));
    std::thread::sleep(Duration::from_millis(1000));
    signal(coll.id() as i32, libc::SIGTERM);
    assert_eq!(coll.wait().unwrap().code(), Some(0));
    let mut text = String::new();
    coll.stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(events.iter().any(|e| s(&e["args"]["path"]) == "/bin/true"));
}

#[test]
fn an_unreachable_sink_is_said_on_stderr_and_never_stalls() {
    let d = tempdir("nosink");
    let sock = d.join("absent/events.sock");
    let t0 = Instant::now();
    let out = minimal_sh(
        &[
            "--stats-interval",
            "1",
            "--output",
            &format!("unix:{}", sock.display()),
        ],
        "/bin/true; sleep 3.5; /bin/true",
    )
    .stderr(Stdio::piped())
    .output()
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "the application's status is kept"
    );
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "no stall: {:?}",
        t0.elapsed()
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let sink = format!("event sink unix:{}", sock.display());
    // Once at the first failure, then after 1 s and 3 s (doubling gaps), then at exit.
    assert_eq!(
        err.matches(&format!("cannot reach the {sink}")).count(),
        1,
        "{err}"
    );
    let again = err
        .matches(&format!("the {sink} is still unreachable after"))
        .count();
    assert!((1..=3).contains(&again), "{again} repeats: {err}");
    let last = err
        .lines()
        .find(|l| l.contains("was never reached"))
        .unwrap_or_else(|| panic!("no final word: {err}"));
    let lost: u64 = last
        .split("all ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{last}"));
    assert!(lost >= 2, "both execs were events: {last}");
}

#[test]
fn the_collector_socket_is_open_to_every_user_in_a_fresh_directory() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let d = tempdir("collect-perm");
    // A directory that does not exist yet, as in a fresh shared volume.
    let sock = d.join("run/events.sock");
    let coll = tracer_cmd()
        .args(["collect", "--listen", &format!("unix:{}", sock.display())])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !sock.exists() {
        assert!(t0.elapsed() < Duration::from_secs(5), "no socket");
        std::thread::sleep(Duration::from_millis(10));
    }
    let m = std::fs::metadata(&sock).unwrap();
    assert!(m.file_type().is_socket());
    assert_eq!(m.permissions().mode() & 0o777, 0o666);
    // A tracer running as another user (the traced application may run as any user)
    // delivers its events.
    let out = kiltx_testsupport::hermetic::command("/usr/bin/setpriv")
        .args([
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
            "--",
        ])
        .arg(tracer())
        .args([
            "run",
            "--output",
            &format!("unix:{}", sock.display()),
            "--",
            "/bin/true",
        ])
        .current_dir("/")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("cannot reach"), "{err}");
    // Read what the collector relays until the tracer's final stats event arrives (the
    // collector relays asynchronously), then stop it.
    let mut coll = coll;
    let stdout = coll.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let mut events: Vec<serde_json::Value> = Vec::new();
    while !events
        .iter()
        .any(|e| e["type"] == "stats" && e["args"]["final"] == true)
    {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(l) => events.push(serde_json::from_str(&l).unwrap()),
            Err(_) => panic!("no final stats relayed within 20 s: {events:?}"),
        }
    }
    signal(coll.id() as i32, libc::SIGTERM);
    assert_eq!(coll.wait().unwrap().code(), Some(0));
    assert!(
        events
            .iter()
            .any(|e| e["uid"] == 65534 && s(&e["args"]["path"]) == "/bin/true"),
        "{events:?}"
    );
}
