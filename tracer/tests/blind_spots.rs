//! Ways a process could act without an event, closed: io_uring (a C program
//! with raw io_uring syscalls, node with UV_USE_IO_URING=1), datagrams sent to
//! an address, and signals that used to show as numbers.
use crate::common::*;
use std::net::{TcpListener, UdpSocket};
use std::time::Duration;

/// Events of one syscall whose `args.path` is `path`.
fn opens_of<'a>(events: &'a [serde_json::Value], path: &str) -> Vec<&'a serde_json::Value> {
    of(events, "openat")
        .into_iter()
        .filter(|e| s(&e["args"]["path"]) == path)
        .collect()
}

#[test]
fn io_uring_setup_is_an_alert_and_deny_makes_programs_fall_back() {
    let d = tempdir("uring");
    let p = prog("uring");
    let secret = d.join("secret");
    std::fs::write(&secret, "s").unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let out = d.join("uring-out");
    let args = [
        p.to_str().unwrap(),
        d.to_str().unwrap(),
        secret.to_str().unwrap(),
        &port,
    ];
    let sens = ["--sensitive-path", secret.to_str().unwrap()];

    // io_uring_setup is disabled by sysctl on some kernels: that must be
    // said, not mistaken for the tracer's doing
    let native = hermetic(&p).args(&args[1..]).output().unwrap();
    let how = String::from_utf8_lossy(&native.stdout).into_owned();
    assert_eq!(native.status.code(), Some(0), "{how}");
    assert_eq!(
        how.trim(),
        "ring",
        "io_uring_setup fails on this kernel (kernel.io_uring_disabled?)"
    );

    for profile in ["default", "full"] {
        let _ = std::fs::remove_file(&out);
        let r = run(&d, &["--profile", profile, sens[0], sens[1]], &args);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        assert_eq!(r.stdout.trim(), "ring");
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "written through io_uring\n"
        );
        let setup = of(&r.events, "io_uring_setup");
        assert_eq!(setup.len(), 1, "{profile}");
        assert_eq!(setup[0]["alert"], "io_uring");
        assert_eq!(setup[0]["args"]["entries"], 8);
        assert_eq!(setup[0]["args"]["denied"], false);
        assert!(i(&setup[0]["result"]) >= 0);
        // what the ring did is not seen: that is why the setup is an alert
        assert!(opens_of(&r.events, out.to_str().unwrap()).is_empty());
        let enters = of(&r.events, "io_uring_enter");
        if profile == "full" {
            assert_eq!(enters.len(), 4, "one per submission");
            assert!(enters.iter().all(|e| e["alert"] == "io_uring"));
        } else {
            assert!(enters.is_empty());
        }
    }
    let r = run(&d, &["--profile", "minimal"], &args);
    assert_eq!(r.code, Some(0));
    assert!(of(&r.events, "io_uring_setup").is_empty(), "minimal");

    // --io-uring deny, in every profile: setup fails with ENOSYS (an event),
    // the program falls back to plain syscalls, which are reported
    for profile in ["minimal", "default", "full"] {
        let _ = std::fs::remove_file(&out);
        let r = run(
            &d,
            &["--profile", profile, "--io-uring", "deny", sens[0], sens[1]],
            &args,
        );
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        assert_eq!(r.stdout.trim(), "fallback 38", "ENOSYS");
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "written through io_uring\n"
        );
        let setup = of(&r.events, "io_uring_setup");
        assert_eq!(setup.len(), 1);
        assert_eq!(setup[0]["alert"], "io_uring");
        assert_eq!(setup[0]["args"]["denied"], true);
        assert_eq!(setup[0]["errno"], "ENOSYS");
        if profile == "minimal" {
            continue;
        }
        let w = opens_of(&r.events, out.to_str().unwrap());
        assert_eq!(w.len(), 1);
        assert_eq!(w[0]["args"]["mode"], "0600");
        assert_eq!(opens_of(&r.events, secret.to_str().unwrap()).len(), 1);
        let c = of(&r.events, "connect");
        assert_eq!(c.len(), 1);
        assert_eq!(c[0]["args"]["addr"]["port"].to_string(), port);
        assert_eq!(c[0]["result"], 0);
    }
    drop(l);
}

#[test]
fn node_with_io_uring_is_seen_and_falls_back_when_denied() {
    let node = kiltx_testsupport::require(
        "node",
        "apt-get install nodejs (version 20 or later, e.g. from deb.nodesource.com)",
    );
    let v = hermetic(&node).arg("--version").output().unwrap();
    let v = String::from_utf8_lossy(&v.stdout).into_owned();
    let major: u32 = v
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    assert!(
        major >= 20,
        "node {v} has no io_uring (libuv < 1.45): install nodejs 20 or later (deb.nodesource.com)"
    );
    let d = tempdir("node");
    let script = "const fs = require('fs'); let n = 0;\
        for (let i = 0; i < 5; i++) fs.writeFile(`${process.argv[1]}/node-${i}.txt`, `file ${i}\\n`,\
        (e) => { if (e) throw e; if (++n === 5) console.log('wrote 5'); });";
    let files = |d: &std::path::Path| -> Vec<std::path::PathBuf> {
        (0..5).map(|i| d.join(format!("node-{i}.txt"))).collect()
    };
    for mode in ["trace", "deny"] {
        for f in files(&d) {
            let _ = std::fs::remove_file(f);
        }
        let evfile = d.join("events.jsonl");
        let _ = std::fs::remove_file(&evfile);
        let out = tracer_cmd()
            .env("UV_USE_IO_URING", "1")
            .args(["run", "--io-uring", mode, "--output"])
            .arg(format!("file:{}", evfile.display()))
            .arg("--")
            .arg(&node)
            .args(["-e", script])
            .arg(&d)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{mode}: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "wrote 5\n");
        for (i, f) in files(&d).into_iter().enumerate() {
            assert_eq!(std::fs::read_to_string(f).unwrap(), format!("file {i}\n"));
        }
        let events = read_events(&evfile);
        let setups = of(&events, "io_uring_setup");
        assert!(!setups.is_empty(), "{mode}: libuv sets up its rings");
        assert!(setups.iter().all(|e| e["alert"] == "io_uring"));
        let written = files(&d)
            .into_iter()
            .filter(|f| !opens_of(&events, f.to_str().unwrap()).is_empty())
            .count();
        if mode == "trace" {
            assert!(setups.iter().all(|e| i(&e["result"]) >= 0));
            // the writes went through the ring: no open events for them
            assert_eq!(written, 0);
        } else {
            assert!(setups.iter().all(|e| e["errno"] == "ENOSYS"));
            // libuv fell back to its thread pool: ordinary openat events
            assert_eq!(written, 5);
        }
    }
}

#[test]
fn datagrams_to_an_address_are_reported_connected_sends_are_not() {
    let d = tempdir("udp");
    let p = prog("udp");
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let port = rx.local_addr().unwrap().port();
    let run_udp = |nsend: &str, nmsg: &str| {
        run(
            &d,
            &[],
            &[p.to_str().unwrap(), &port.to_string(), nsend, nmsg],
        )
    };
    let r = run_udp("3", "3");
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let mut buf = [0u8; 16];
    let mut got = Vec::new();
    for _ in 0..10 {
        let n = rx.recv(&mut buf).unwrap();
        got.push(buf[..n].to_vec());
    }
    assert_eq!(
        got,
        [
            &b"a"[..],
            b"b",
            b"b",
            b"b",
            b"c",
            b"c",
            b"c",
            b"b",
            b"b",
            b"b"
        ]
    );
    let addr = serde_json::json!({"family": "inet", "address": "127.0.0.1", "port": port});
    let st = of(&r.events, "sendto");
    assert_eq!(st.len(), 1, "connected sends are not reported");
    assert_eq!(st[0]["args"]["addr"], addr);
    assert_eq!(st[0]["args"]["len"], 1);
    let sm = of(&r.events, "sendmsg");
    assert_eq!(sm.len(), 1);
    assert_eq!(sm[0]["args"]["addr"], addr);
    let smm = of(&r.events, "sendmmsg");
    assert_eq!(smm.len(), 1);
    assert_eq!(smm[0]["args"]["addrs"], serde_json::json!([addr]));
    assert_eq!(smm[0]["args"]["vlen"], 2);

    // what each send costs: send() on a connected socket never stops (the
    // filter sees its NULL address); sendmsg stops once (msg_name is in memory).
    // The receiver does not read these: the kernel drops what overflows.
    let stops = |r: &Run| i(&r.events.last().unwrap()["args"]["stops"]);
    let base = run_udp("0", "0");
    let sends = run_udp("2000", "0");
    let msgs = run_udp("0", "2000");
    assert_eq!(stops(&sends) - stops(&base), 0);
    assert_eq!(stops(&msgs) - stops(&base), 2000);
    assert_eq!(of(&msgs.events, "sendmsg").len(), 1);
    assert_eq!(of(&sends.events, "sendto").len(), 1);
}

#[test]
fn every_signal_has_its_name() {
    let d = tempdir("signals");
    let p = prog("signals");
    let r = run(&d, &["--profile", "full"], &[p.to_str().unwrap()]);
    assert_eq!(r.code, Some(128 + libc::SIGPROF), "{}", r.stderr);
    let sig = |name: &str| -> Vec<String> {
        of(&r.events, name)
            .iter()
            .map(|e| s(&e["args"]["signal"]).to_string())
            .collect()
    };
    assert_eq!(sig("kill"), ["SIGURG", "SIGPROF"]);
    assert_eq!(sig("tgkill"), ["SIGWINCH"]);
    let exit = r
        .events
        .iter()
        .find(|e| e["type"] == "process" && e["syscall"] == "exit")
        .unwrap();
    assert_eq!(exit["args"]["signal"], "SIGPROF");
    assert!(!r.events.iter().any(|e| e.to_string().contains("\"SIG2")));
}

#[test]
fn read_only_directory_opens_have_no_mode() {
    let d = tempdir("dirmode");
    let r = run(
        &d,
        &["--profile", "full"],
        &["/bin/ls", d.to_str().unwrap()],
    );
    assert_eq!(r.code, Some(0));
    let dir = opens_of(&r.events, d.to_str().unwrap());
    assert_eq!(dir.len(), 1);
    assert!(dir[0]["args"]["flags"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("O_DIRECTORY")));
    assert!(dir[0]["args"].get("mode").is_none(), "{}", dir[0]);
}
