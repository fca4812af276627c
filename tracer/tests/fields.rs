//! What Falco's rules need from the events (issue 14), each seen on a real
//! traced program (`progs/fields.c`): explicit O_RDONLY, sequence numbers
//! from 1, failed attempts, raw symlink targets, ptrace requests by name;
//! exec events' cwd, exe, user and group names and tty; the socket behind
//! connect/bind/listen/accept and datagrams; socket() only for AF_PACKET and
//! dup2/dup3 only onto stdio, with what is duplicated.
use crate::common::*;
use serde_json::json;
use std::path::Path;

fn fields() -> String {
    prog("fields").to_str().unwrap().to_string()
}

fn stops(r: &Run) -> i64 {
    i(&r.events.last().unwrap()["args"]["stops"])
}

/// The name of `id` in /etc/passwd or /etc/group (`file`) of this machine.
fn name_of(file: &str, id: u32) -> String {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2] == id.to_string()).then(|| f[0].to_string())
        })
        .unwrap_or_else(|| panic!("{file} names no {id}"))
}

/// This process's audit login uid, as the tracer reports it (-1: unset).
fn own_loginuid() -> i64 {
    let v: u32 = std::fs::read_to_string("/proc/self/loginuid")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    i64::from(v as i32)
}

/// This process's effective capabilities by name (as `capsh --decode`).
fn own_caps() -> Vec<String> {
    const NAMES: [&str; 41] = [
        "chown",
        "dac_override",
        "dac_read_search",
        "fowner",
        "fsetid",
        "kill",
        "setgid",
        "setuid",
        "setpcap",
        "linux_immutable",
        "net_bind_service",
        "net_broadcast",
        "net_admin",
        "net_raw",
        "ipc_lock",
        "ipc_owner",
        "sys_module",
        "sys_rawio",
        "sys_chroot",
        "sys_ptrace",
        "sys_pacct",
        "sys_admin",
        "sys_boot",
        "sys_nice",
        "sys_resource",
        "sys_time",
        "sys_tty_config",
        "mknod",
        "lease",
        "audit_write",
        "audit_control",
        "setfcap",
        "mac_override",
        "mac_admin",
        "syslog",
        "wake_alarm",
        "block_suspend",
        "audit_read",
        "perfmon",
        "bpf",
        "checkpoint_restore",
    ];
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .unwrap();
    let mask = u64::from_str_radix(hex.trim(), 16).unwrap();
    (0..64)
        .filter(|b| mask & (1u64 << b) != 0)
        .map(|b| match NAMES.get(b) {
            Some(n) => format!("CAP_{}", n.to_uppercase()),
            None => format!("CAP_{b}"),
        })
        .collect()
}

fn execs_of<'a>(events: &'a [serde_json::Value], path: &str) -> Vec<&'a serde_json::Value> {
    of(events, "execve")
        .into_iter()
        .filter(|e| s(&e["args"]["path"]) == path)
        .collect()
}

#[test]
fn read_only_opens_say_o_rdonly_and_seq_starts_at_1() {
    let d = tempdir("rdonly");
    let r = run(&d, &[], &["/bin/sh", "-c", "cat /etc/shadow > /dev/null"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let o = of(&r.events, "openat")
        .into_iter()
        .find(|e| s(&e["args"]["path"]) == "/etc/shadow")
        .expect("sensitive read-only open");
    assert_eq!(o["args"]["flags"], json!(["O_RDONLY"]));
    assert!(i(&o["result"]) >= 0);
    // evt.num: never 0 (Falco's `never_true` macro is `evt.num=0`)
    let seqs: Vec<i64> = r.events.iter().map(|e| i(&e["seq"])).collect();
    assert_eq!(seqs.iter().min(), Some(&1), "{seqs:?}");
    assert_eq!(seqs[0], 1);
}

#[test]
fn failed_attempts_raw_targets_and_ptrace_requests() {
    let d = tempdir("links");
    let f = fields();
    let r = run(&d, &[], &[&f, "links", d.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    // a link that fails is reported all the same (one stop, no result)
    let l = of(&r.events, "link");
    assert_eq!(l.len(), 1);
    assert_eq!(l[0]["args"]["oldpath"], "/nonexistent-kiltx/shadow");
    assert_eq!(l[0]["result_captured"], false);
    // symlink targets as given, never resolved or normalised
    let sl = of(&r.events, "symlink");
    assert_eq!(sl[0]["args"]["target"], "/etc");
    assert_eq!(
        s(&sl[0]["args"]["abspath"]),
        d.join("etc_link").to_str().unwrap()
    );
    let sla = of(&r.events, "symlinkat");
    assert_eq!(sla[0]["args"]["target"], "../etc//shadow");
    assert_eq!(sla[0]["args"]["linkpath"], "shadow_link");
    // a sensitive open that fails
    let o = of(&r.events, "openat")
        .into_iter()
        .find(|e| s(&e["args"]["path"]) == "/root/.ssh/kiltx-no-such-key")
        .expect("failed sensitive open reported");
    assert_eq!(o["errno"], "ENOENT");
    assert_eq!(o["args"]["flags"], json!(["O_RDONLY"]));

    // ptrace under kiltx always fails (the process is traced already); the
    // attempts are events, requests by name
    let r = run(&d, &[], &[&f, "ptrace"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let eperm = libc::EPERM.to_string();
    assert_eq!(
        r.stdout.split_whitespace().collect::<Vec<_>>(),
        ["-1", &eperm, "-1", &eperm]
    );
    let p = of(&r.events, "ptrace");
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(p[0]["args"]["request"], "PTRACE_TRACEME");
    assert_eq!(p[0]["errno"], "EPERM");
    assert_eq!(p[1]["args"]["request"], "PTRACE_ATTACH");
    assert_eq!(p[1]["errno"], "EPERM");
    let child = of(&r.events, "fork")
        .into_iter()
        .chain(of(&r.events, "clone"))
        .map(|e| i(&e["args"]["child_pid"]))
        .next()
        .expect("the attached child's fork");
    assert_eq!(i(&p[1]["args"]["pid"]), child);
}

#[test]
fn exec_events_carry_cwd_user_group_and_tty() {
    let d = tempdir("execfacts");
    let dir = d.to_str().unwrap();
    let root = name_of("/etc/passwd", 0);
    let root_grp = name_of("/etc/group", 0);
    let r = run(
        &d,
        &[],
        &[
            "/bin/sh",
            "-c",
            &format!("cd {dir} && /nonexistent-kiltx; exec /bin/true"),
        ],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let t = execs_of(&r.events, "/bin/true");
    assert_eq!(t.len(), 1);
    let a = &t[0]["args"];
    assert_eq!(s(&a["cwd"]), dir);
    assert_eq!(a["user"], root.as_str());
    assert_eq!(a["group"], root_grp.as_str());
    assert_eq!(a["tty"], 0, "no controlling terminal");
    // inherited from this test process (root: every capability it has)
    assert_eq!(a["loginuid"], own_loginuid());
    assert_eq!(a["cap_effective"], json!(own_caps()));
    assert!(own_caps().contains(&"CAP_SYS_PTRACE".to_string()));
    // exe: what the kernel runs after the exec (/bin may be a link to /usr/bin)
    let true_exe = std::fs::canonicalize("/bin/true").unwrap();
    assert_eq!(s(&t[0]["exe"]), true_exe.to_str().unwrap());
    assert_eq!(t[0]["comm"], "true");
    // a failed exec is the caller's: same facts, the shell's exe
    let failed = execs_of(&r.events, "/nonexistent-kiltx");
    assert_eq!(failed[0]["errno"], "ENOENT");
    assert_eq!(s(&failed[0]["args"]["cwd"]), dir);
    assert_eq!(failed[0]["args"]["user"], root.as_str());
    assert_eq!(failed[0]["comm"], "sh");

    // another user: names of the effective ids
    let f = fields();
    let r = run(&d, &[], &[&f, "as", "65534", "65534", "/bin/true"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let t = execs_of(&r.events, "/bin/true");
    assert_eq!(t[0]["euid"], 65534);
    assert_eq!(t[0]["args"]["user"], name_of("/etc/passwd", 65534).as_str());
    assert_eq!(t[0]["args"]["group"], name_of("/etc/group", 65534).as_str());
    assert_eq!(
        t[0]["args"]["cap_effective"],
        json!([]),
        "no capability left"
    );

    // a controlling terminal: its number, as Falco's proc.tty
    let r = run(&d, &[], &[&f, "pty", "/bin/true"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let tty: i64 = r.stdout.trim().parse().unwrap();
    assert!(tty > 0);
    let t = execs_of(&r.events, "/bin/true");
    assert_eq!(t[0]["args"]["tty"], tty);
}

#[test]
fn exec_names_come_from_the_traced_containers_files() {
    // a root of its own, whose /etc/passwd names uid 0 differently
    let d = tempdir("chroot");
    let root = d.join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/passwd"), "kiltxapp:x:0:0::/:/prog\n").unwrap();
    std::fs::write(root.join("etc/group"), "kiltxgrp:x:0:\n").unwrap();
    let src = d.join("nothing.c");
    std::fs::write(&src, "int main(void) { return 0; }\n").unwrap();
    let st = hermetic("gcc")
        .args(["-static", "-O2", "-o"])
        .arg(root.join("prog"))
        .arg(&src)
        .status()
        .expect("gcc is required (apt-get install gcc libc6-dev)");
    assert!(st.success(), "static build (needs libc6-dev's libc.a)");
    let r = run(&d, &[], &[&fields(), "chroot", root.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let t = execs_of(&r.events, "/prog");
    assert_eq!(t.len(), 1, "{:?}", r.events);
    assert_eq!(t[0]["result"], 0);
    assert_eq!(t[0]["args"]["user"], "kiltxapp");
    assert_eq!(t[0]["args"]["group"], "kiltxgrp");
    // the tracer reads /proc from outside the chroot
    assert_eq!(s(&t[0]["args"]["cwd"]), root.to_str().unwrap());
}

#[test]
fn fileless_exec_shows_the_memfd() {
    let d = tempdir("memfd");
    let r = run(
        &d,
        &[],
        &[&fields(), "memfd", "kiltx-fileless", "/bin/true"],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let m = of(&r.events, "memfd_create");
    assert_eq!(m[0]["args"]["name"], "kiltx-fileless");
    let e = of(&r.events, "execve")
        .into_iter()
        .find(|e| s(&e["args"]["path"]).starts_with("/proc/self/fd/"))
        .expect("the exec of the memfd");
    assert_eq!(e["result"], 0);
    assert_eq!(e["exe"], "/memfd:kiltx-fileless (deleted)");
    assert_eq!(e["args"]["argv"], json!(["kiltx-fileless"]));
}

fn sock_of(e: &serde_json::Value) -> &serde_json::Value {
    &e["args"]["sock"]
}

#[test]
fn socket_events_carry_the_socket_type() {
    let d = tempdir("socks");
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let r = run(&d, &[], &[&fields(), "sockets", d.to_str().unwrap(), &port]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let tcp = json!({"family": "inet", "type": "SOCK_STREAM", "l4proto": "tcp"});
    let udp = json!({"family": "inet", "type": "SOCK_DGRAM", "l4proto": "udp"});
    let ustream = json!({"family": "unix", "type": "SOCK_STREAM", "l4proto": null});
    let udgram = json!({"family": "unix", "type": "SOCK_DGRAM", "l4proto": null});
    let c = of(&r.events, "connect");
    assert_eq!(c.len(), 4, "{c:?}");
    assert_eq!(*sock_of(c[0]), tcp);
    assert_eq!(*sock_of(c[1]), udp);
    assert_eq!(*sock_of(c[2]), ustream);
    assert_eq!(*sock_of(c[3]), udgram);
    let b = of(&r.events, "bind");
    assert_eq!(*sock_of(b[0]), ustream);
    assert_eq!(*sock_of(b[1]), udgram);
    assert_eq!(*sock_of(of(&r.events, "listen")[0]), ustream);
    let a = of(&r.events, "accept4");
    assert_eq!(*sock_of(a[0]), ustream);
    assert!(i(&a[0]["result"]) >= 0);
    let st = of(&r.events, "sendto");
    assert_eq!(
        *sock_of(st[0]),
        json!({"family": "inet6", "type": "SOCK_DGRAM", "l4proto": "udp"})
    );
    // socket() stops only for AF_PACKET in the default profile
    let so = of(&r.events, "socket");
    assert_eq!(so.len(), 1, "{so:?}");
    assert_eq!(so[0]["args"]["domain"], "AF_PACKET");
    assert_eq!(so[0]["args"]["type"], "SOCK_RAW");
    assert_eq!(so[0]["result_captured"], false);
    // from a thread that is not its group's leader
    let d2 = tempdir("socks-thread");
    let r = run(&d2, &[], &[&fields(), "thread-dgram", d2.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let c = of(&r.events, "connect");
    assert_ne!(c[0]["tid"], c[0]["pid"]);
    assert_eq!(*sock_of(c[0]), udgram);
    // every one in the full profile
    let d = tempdir("socks-full");
    let r = run(
        &d,
        &["--profile", "full"],
        &[&fields(), "sockets", d.to_str().unwrap(), &port],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(of(&r.events, "socket").len(), 8);
}

#[test]
fn dup_onto_stdio_says_what_is_duplicated() {
    let d = tempdir("dup");
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let r = run(&d, &[], &[&fields(), "dup", d.to_str().unwrap(), &port]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let tcp = json!({"family": "inet", "type": "SOCK_STREAM", "l4proto": "tcp"});
    let d2 = of(&r.events, "dup2");
    let newfds: Vec<i64> = d2.iter().map(|e| i(&e["args"]["newfd"])).collect();
    // onto 0, 1, 0, and the restore onto 1; never onto 10
    assert_eq!(newfds, [0, 1, 0, 1], "{d2:?}");
    for (e, fd) in d2[..2].iter().zip([0, 1]) {
        assert_eq!(e["args"]["fdtype"], "ipv4");
        assert_eq!(*sock_of(e), tcp);
        assert!(s(&e["args"]["abspath"]).starts_with("socket:["));
        // a socket onto stdio: the result too
        assert_eq!(e["result_captured"], true);
        assert_eq!(e["result"], fd);
    }
    assert_eq!(d2[2]["args"]["fdtype"], "pipe");
    assert_eq!(d2[2]["result_captured"], false);
    let d3 = of(&r.events, "dup3");
    assert_eq!(d3.len(), 1);
    assert_eq!(d3[0]["args"]["newfd"], 2);
    assert_eq!(d3[0]["args"]["flags"], json!(["O_CLOEXEC"]));
    assert_eq!(d3[0]["args"]["fdtype"], "file");
    assert_eq!(
        s(&d3[0]["args"]["abspath"]),
        Path::new(&d).join("dup.txt").to_str().unwrap()
    );
    assert!(of(&r.events, "dup").is_empty());
}

#[test]
fn other_sockets_and_dups_never_stop() {
    let d = tempdir("quietnet");
    let f = fields();
    let base = run(&d, &[], &[&f, "quiet", "0"]);
    let r = run(&d, &[], &[&f, "quiet", "2000"]);
    assert_eq!((base.code, r.code), (Some(0), Some(0)), "{}", r.stderr);
    assert_eq!(
        stops(&r),
        stops(&base),
        "no stop for socket(AF_INET) or dup2 onto 10"
    );
    // the filter's rules, as `kiltx-tracer syscalls` shows them
    let out = tracer_cmd().arg("syscalls").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let rule = |name: &str| {
        text.lines()
            .find(|l| l.split('\t').next() == Some(name))
            .map(|l| l.split('\t').nth(2).unwrap_or("").to_string())
    };
    assert_eq!(
        rule("socket").as_deref(),
        Some(format!("if args[0] == {}", libc::AF_PACKET).as_str())
    );
    assert_eq!(rule("dup2").as_deref(), Some("if args[1] <= 2"));
    assert_eq!(rule("dup3").as_deref(), Some("if args[1] <= 2"));
    assert_eq!(rule("dup"), None);
}

/// A loopback stand-in for the ECS task metadata endpoint v4: answers
/// `/v4/ID` (the container, with a Content-Length) and `/v4/ID/task` (the
/// task, chunked), or, with `hang`, reads the request and never answers.
/// Returns its base URI.
fn metadata_server(hang: bool) -> String {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}/v4/0123abcd-task", l.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            let mut req = Vec::new();
            let mut b = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut b) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&b[..n]),
                }
            }
            if hang {
                held.push(c);
                continue;
            }
            let req = String::from_utf8_lossy(&req);
            let path = req.split_whitespace().nth(1).unwrap_or("");
            let resp = if path.ends_with("/task") {
                let body = json!({
                    "Cluster": "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
                    "TaskARN": "arn:aws:ecs:eu-west-1:123456789012:task/prod/0123abcd",
                    "Family": "web", "Revision": "7", "DesiredStatus": "RUNNING",
                    "AvailabilityZone": "eu-west-1a", "LaunchType": "FARGATE",
                    "Containers": []
                })
                .to_string();
                let (a, b) = body.split_at(body.len() / 2);
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
                    a.len(),
                    b.len()
                )
            } else {
                let body = json!({
                    "DockerId": "0123abcd-1234567890",
                    "Name": "app", "DockerName": "app",
                    "Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/web:1.4",
                    "ImageID": "sha256:5f1e8e2fa7d9c47b2d4c0f1d5c5a7e2c0b1a2b3c4d5e6f708192a3b4c5d6e7f8",
                    "Labels": {"com.amazonaws.ecs.cluster": "arn:aws:ecs:eu-west-1:123456789012:cluster/prod"},
                    "StartedAt": "2026-11-30T01:00:00.123456789Z",
                    "ContainerARN": "arn:aws:ecs:eu-west-1:123456789012:container/prod/0123abcd/1"
                })
                .to_string();
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
            };
            let _ = c.write_all(resp.as_bytes());
        }
    });
    uri
}

fn run_with_metadata(d: &Path, uri: Option<&str>) -> (Run, std::time::Duration) {
    let evfile = d.join("events.jsonl");
    let mut c = tracer_cmd();
    if let Some(u) = uri {
        c.env("ECS_CONTAINER_METADATA_URI_V4", u);
    }
    let t0 = std::time::Instant::now();
    let out = c
        .args(["run", "--output", &format!("file:{}", evfile.display())])
        .args(["--", "/bin/true"])
        .output()
        .unwrap();
    let took = t0.elapsed();
    let r = Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        events: read_events(&evfile),
    };
    (r, took)
}

#[test]
fn the_stream_starts_with_the_task_metadata() {
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    // outside ECS: the host name only
    let d = tempdir("meta-none");
    let (r, _) = run_with_metadata(&d, None);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let m = &r.events[0];
    assert_eq!((&m["type"], &m["seq"]), (&json!("meta"), &json!(1)));
    assert_eq!(
        m["args"],
        json!({"hostname": hostname.trim_end(), "ecs": null})
    );
    assert_eq!(
        of(&r.events, "execve")[0]["seq"],
        2,
        "before the application's"
    );

    // the ECS task metadata endpoint v4
    let d = tempdir("meta-ecs");
    let uri = metadata_server(false);
    let (r, _) = run_with_metadata(&d, Some(&uri));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let m = &r.events[0];
    assert_eq!(m["type"], "meta");
    assert_eq!(
        m["args"]["ecs"],
        json!({
            "task_arn": "arn:aws:ecs:eu-west-1:123456789012:task/prod/0123abcd",
            "cluster": "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
            "family": "web",
            "revision": "7",
            "availability_zone": "eu-west-1a",
            "launch_type": "FARGATE",
            "container_id": "0123abcd-1234567890",
            "container_name": "app",
            "container_arn": "arn:aws:ecs:eu-west-1:123456789012:container/prod/0123abcd/1",
            "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/web:1.4",
            "image_repository": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/web",
            "image_tag": "1.4",
            "image_digest": "sha256:5f1e8e2fa7d9c47b2d4c0f1d5c5a7e2c0b1a2b3c4d5e6f708192a3b4c5d6e7f8",
            "started_at": "2026-11-30T01:00:00.123456789Z"
        })
    );
    assert!(m["args"].get("error").is_none());
    assert_eq!(m["args"]["hostname"], hostname.trim_end());
}

#[test]
fn a_silent_metadata_endpoint_delays_the_application_a_second_at_most() {
    let d = tempdir("meta-hang");
    let uri = metadata_server(true);
    let (r, took) = run_with_metadata(&d, Some(&uri));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let m = &r.events[0];
    assert_eq!(m["type"], "meta");
    assert_eq!(m["args"]["ecs"], json!(null));
    let err = s(&m["args"]["error"]);
    assert!(
        err.contains("no answer within 1000 ms") || err.contains("timed out"),
        "{err}"
    );
    assert_eq!(of(&r.events, "execve")[0]["result"], 0);
    assert!(took < std::time::Duration::from_secs(4), "took {took:?}");

    // nothing listening: the same, at once
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (r, _) = run_with_metadata(&d, Some(&format!("http://127.0.0.1:{port}/v4/x")));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(s(&r.events[0]["args"]["error"]).contains("task metadata"));
}
