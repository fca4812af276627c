//! kiltx's default rules (rules/default/kiltx_rules.yaml): every rule has a
//! trigger that alerts with exactly that rule and a near miss that stays
//! quiet. Real traced runs (`kiltx-tracer run`, then `collect --replay`)
//! wherever they can work here; replayed event streams for what cannot
//! (connections to anything but loopback). Everyday work is quiet.
use crate::common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;

const PY: &str = "/usr/bin/python3";

fn default_rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/default/kiltx_rules.yaml")
}

/// Trace `/bin/sh DIR/entry.sh` (the script in a file, so that the
/// entrypoint's own command line does not carry the trigger's words), default
/// profile plus OPTS, container `app`, into DIR/events.jsonl.
fn trace(dir: &Path, opts: &[&str], script: &str) -> PathBuf {
    let ev = dir.join("events.jsonl");
    let _ = std::fs::remove_file(&ev);
    let entry = dir.join("entry.sh");
    std::fs::write(&entry, script).unwrap();
    let st = tracer_cmd()
        .env("KILTX_CONTAINER_NAME", "app")
        .args(["run", "--output", &format!("file:{}", ev.display())])
        .args(opts)
        .arg("--")
        .arg("/bin/sh")
        .arg(&entry)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.code().is_some(), "{script}");
    ev
}

/// A Python program in DIR/NAME.py; the command that runs it.
fn py(dir: &Path, name: &str, code: &str) -> String {
    assert!(
        Path::new(PY).exists(),
        "python3 is needed (apt-get install python3)"
    );
    let f = dir.join(format!("{name}.py"));
    std::fs::write(&f, code).unwrap();
    format!("{PY} {}", f.display())
}

/// `collect --replay EVENTS --rules kiltx_rules.yaml OPTS`: the alerts and the final stats.
fn replay(events: &Path, opts: &[&str]) -> (Vec<Value>, Value) {
    let (mut lines, stats) = collect_replay(&default_rules(), events, opts);
    // the alerts (a replayed stream that does not end with a tracer's final
    // stats is also followed by a cut-stream line)
    lines.retain(|l| l.get("rule").is_some());
    (lines, stats)
}

fn rules_of(alerts: &[Value]) -> Vec<String> {
    alerts
        .iter()
        .map(|a| a["rule"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Every rule of the file, from `rules list`.
fn rule_names() -> Vec<String> {
    let out = tracer_cmd()
        .args(["rules", "list"])
        .arg(default_rules())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect()
}

#[test]
fn the_default_rules_validate() {
    let out = tracer_cmd()
        .args(["rules", "validate"])
        .arg(default_rules())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let n = rule_names().len();
    assert!(
        text.starts_with(&format!(
            "{n} rules ({n} enabled, {n} can fire under kiltx)"
        )),
        "every rule uses only fields kiltx supplies: {text}"
    );
    // every rule has a description, an output with the container, a priority and MITRE tags
    let yaml = std::fs::read_to_string(default_rules()).unwrap();
    for block in yaml.split("\n- rule: ").skip(1) {
        let name = block.lines().next().unwrap();
        for key in [
            "\n  desc:",
            "\n  condition:",
            "\n  output:",
            "\n  priority:",
        ] {
            assert!(block.contains(key), "{name}: {key}");
        }
        assert!(block.contains("container=%container.name"), "{name}");
        let tags = block
            .lines()
            .find(|l| l.starts_with("  tags:"))
            .unwrap_or_else(|| panic!("{name}: tags"));
        assert!(tags.contains("mitre_"), "{name}: {tags}");
    }
}

/// One real traced run per (rule, trigger, near miss): the trigger alerts
/// with exactly that rule, once; the near miss alerts with nothing.
type Case = (&'static str, String, String);

fn check(cases: &[Case], opts: &[&str], seen: &mut BTreeSet<String>) {
    let mut failures = Vec::new();
    for (i, (rule, trigger, quiet)) in cases.iter().enumerate() {
        // the one overlap by design: a traversal read is also a sensitive read
        // (the more specific rule comes first, so it alone alerts by default)
        let mut also = vec![rule.to_string()];
        if *rule == "Sensitive file read via path traversal" {
            also.push("Sensitive file read".into());
        }
        for (script, want) in [(trigger, also), (quiet, vec![])] {
            let d = tempdir(&format!("defrules-{i}"));
            let ev = trace(&d, opts, script);
            let (alerts, stats) = replay(&ev, &[]);
            let mut got = rules_of(&alerts);
            if !want.is_empty() && got == want[..1] {
                // `all`: no other rule matches any of its events either
                got = rules_of(&replay(&ev, &["--rule-matching", "all"]).0);
            }
            if got != want {
                failures.push(format!(
                    "{rule}: {script:?}: expected {want:?}, got {got:?} {alerts:?}"
                ));
            } else if !want.is_empty() {
                seen.insert(rule.to_string());
                assert_eq!(alerts[0]["source"], "syscall");
                assert_eq!(alerts[0]["hostname"], "task-1");
                assert_eq!(alerts[0]["output_fields"]["container.name"], "app");
            }
            assert_eq!(stats["args"]["processes"], 0, "{script}");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn each_rule_fires_on_its_trigger_and_not_on_its_near_miss() {
    let d = tempdir("defrules-progs");
    let t = d.display();
    let ptrace = "import ctypes,os,time\nlibc=ctypes.CDLL(None,use_errno=True)\n";
    let shm = format!("/dev/shm/kiltx-defrules-{}.sh", std::process::id());
    let cases: Vec<Case> = vec![
        (
            "Fileless execution from a memfd",
            py(&d, "memfd", "import os\nfd=os.memfd_create('x')\nos.write(fd,open('/bin/true','rb').read())\nos.execv(f'/proc/self/fd/{fd}',['x'])\n"),
            py(&d, "memfd_quiet", "import os\nfd=os.memfd_create('x')\nos.write(fd,open('/bin/true','rb').read())\nos.execv('/bin/true',['true'])\n"),
        ),
        (
            "Execution of a binary the task wrote",
            format!("cp /bin/true {t}/dropped && {t}/dropped"),
            format!("cp /bin/true {t}/copied && /bin/true"),
        ),
        (
            "Execution from a temporary directory",
            format!("printf '#!/bin/sh\\ntrue\\n' > {shm}; chmod +x {shm}; {shm}; rm -f {shm}"),
            format!("printf '#!/bin/sh\\ntrue\\n' > {t}/s.sh; chmod +x {t}/s.sh; {t}/s.sh"),
        ),
        (
            "Crypto miner started",
            format!("ln -sf /bin/true {t}/worker; {t}/worker -o stratum+tcp://pool.example:3333 -u wallet"),
            format!("ln -sf /bin/true {t}/worker; {t}/worker -o https://pool.example:3333 -u wallet"),
        ),
        (
            "Netcat or socat with command execution",
            format!("ln -sf /bin/true {t}/nc; {t}/nc -e /bin/sh 127.0.0.1 9"),
            format!("ln -sf /bin/true {t}/nc; {t}/nc -z 127.0.0.1 9"),
        ),
        (
            "Task role credentials requested by a tool",
            format!("ln -sf /bin/true {t}/curl; {t}/curl -s http://169.254.170.2/v2/credentials/0c1f-example"),
            format!("ln -sf /bin/true {t}/curl; {t}/curl -s http://127.0.0.1:9/health"),
        ),
        (
            "Package manager run in the task",
            "apt-get --version > /dev/null".into(),
            "dpkg-query --version > /dev/null".into(),
        ),
        (
            "Search for private keys or credentials",
            format!("grep -r 'BEGIN RSA PRIVATE KEY' {t}; true"),
            format!("grep -r 'BEGIN CERTIFICATE' {t}; true"),
        ),
        (
            "User or privilege tool run in the task",
            "su --version > /dev/null".into(),
            "id -un > /dev/null".into(),
        ),
        (
            "Shell started by the application",
            py(&d, "shell", "import subprocess\nsubprocess.run(['/bin/sh','-c','true'])\n"),
            py(&d, "noshell", "import subprocess\nsubprocess.run(['/bin/true'])\n"),
        ),
        (
            "Process environment read",
            "cat /proc/self/environ > /dev/null".into(),
            "cat /proc/self/status > /dev/null".into(),
        ),
        (
            "Sensitive file read via path traversal",
            "echo /etc/../etc/../etc/shadow | xargs cat > /dev/null".into(),
            "cat /etc/../etc/hostname > /dev/null".into(),
        ),
        (
            "Sensitive file read",
            "cat /etc/shadow > /dev/null".into(),
            "cat /etc/passwd > /dev/null".into(),
        ),
        (
            // a failed attempt (no such directory): nothing is written on this machine
            "Write below a binary directory",
            ": > /usr/bin/kiltx-defrules-nonexistent/x 2>/dev/null; true".into(),
            format!("mkdir -p {t}/usr/bin && : > {t}/usr/bin/x"),
        ),
        (
            "Link to a sensitive file",
            format!("ln -sf /etc/shadow {t}/shadow_link"),
            format!("ln -sf /etc/hostname {t}/hostname_link"),
        ),
        (
            "Container escape through a cgroup release_agent",
            format!("echo /x > {t}/release_agent"),
            format!("echo /x > {t}/release_notes"),
        ),
        (
            "Shell history or log file cleared",
            format!("echo ls >> {t}/.bash_history; : > {t}/.bash_history"),
            format!("echo ls >> {t}/.bash_history"),
        ),
        (
            "Data destruction tool run in the task",
            format!("echo x > {t}/data; shred -u {t}/data"),
            format!("echo x > {t}/data; rm {t}/data"),
        ),
        (
            // finit_module(-1, "", 0): fails (EBADF, or EPERM without CAP_SYS_MODULE); the attempt alerts
            "Kernel module load attempt",
            py(&d, "module", "import ctypes\nlibc=ctypes.CDLL(None,use_errno=True)\nprint(libc.syscall(313,-1,b'',0))\n"),
            py(&d, "lsmod", "print(len(open('/proc/modules').read()))\n"),
        ),
        (
            "Ptrace anti-debugging attempt",
            py(&d, "traceme", &format!("{ptrace}libc.ptrace(0,0,0,0)\n")),
            // the other anti-debugging check, TracerPid in /proc/self/status, is no event
            py(&d, "tracerpid", "print(open('/proc/self/status').read().count('TracerPid'))\n"),
        ),
        (
            "Ptrace on another process",
            py(&d, "attach", &format!("{ptrace}p=os.fork()\nif p==0:\n  time.sleep(5);os._exit(0)\nlibc.ptrace(16,p,0,0);os.kill(p,9);os.wait()\n")),
            py(&d, "noattach", &format!("{ptrace}p=os.fork()\nif p==0:\n  time.sleep(5);os._exit(0)\nos.kill(p,9);os.wait()\n")),
        ),
        (
            "Reverse shell (socket on standard input or output)",
            py(&d, "revshell", "import os,socket\nl=socket.socket();l.bind(('127.0.0.1',0));l.listen()\nc=socket.create_connection(l.getsockname())\nos.dup2(c.fileno(),1)\n"),
            // a Unix socket onto stdout (socket activation, a supervisor's log pipe)
            py(&d, "unixdup", "import os,socket\na,b=socket.socketpair()\nos.dup2(a.fileno(),1)\n"),
        ),
        (
            "Packet socket created",
            py(&d, "packet", "import socket\ntry:\n  socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\nexcept OSError:\n  pass\n"),
            py(&d, "udp", "import socket\nsocket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"),
        ),
        (
            // a connection to a pool port on loopback is quiet (the trigger is replayed below)
            "Connection to a mining pool port",
            String::new(),
            py(&d, "localpool", "import socket\nl=socket.socket();l.bind(('127.0.0.1',0));l.listen()\nsocket.create_connection(l.getsockname())\n"),
        ),
    ];
    let mut seen = BTreeSet::new();
    let real: Vec<Case> = cases.iter().filter(|c| !c.1.is_empty()).cloned().collect();
    check(&real, &[], &mut seen);
    // near misses without a real trigger
    for (rule, _, quiet) in cases.iter().filter(|c| c.1.is_empty()) {
        let dd = tempdir("defrules-quiet");
        let (alerts, _) = replay(&trace(&dd, &[], quiet), &[]);
        assert!(alerts.is_empty(), "{rule}: {quiet}: {alerts:?}");
    }
    assert_eq!(seen.len(), real.len(), "{seen:?}");
}

#[test]
fn io_uring_setup_alerts_unless_denied() {
    let d = tempdir("defrules-uring");
    // io_uring_setup(8, params): 120 zeroed bytes of struct io_uring_params
    let cmd = py(
        &d,
        "uring",
        "import ctypes\nlibc=ctypes.CDLL(None,use_errno=True)\np=ctypes.create_string_buffer(120)\nprint(libc.syscall(425,8,p))\n",
    );
    let (alerts, _) = replay(&trace(&d, &[], &cmd), &[]);
    assert_eq!(
        rules_of(&alerts),
        ["io_uring set up (invisible to the tracer)"]
    );
    // with --io-uring deny the setup fails with ENOSYS: nothing to fear
    let (alerts, _) = replay(&trace(&d, &["--io-uring", "deny"], &cmd), &[]);
    assert!(alerts.is_empty(), "{alerts:?}");
}

#[test]
fn a_shell_on_a_terminal_and_without_one() {
    // `script` gives the traced shell a pseudo-terminal
    let d = tempdir("defrules-tty");
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
    assert_eq!(rules_of(&alerts), ["Terminal shell in the task"]);
    assert_ne!(alerts[0]["output_fields"]["proc.tty"], 0);
    let (alerts, _) = replay(&trace(&d, &[], "true"), &[]);
    assert!(alerts.is_empty(), "{alerts:?}");
}

#[test]
fn the_tracer_running_fail_open_alerts() {
    let d = tempdir("defrules-failopen");
    let ev = d.join("events.jsonl");
    // ptrace fails with EPERM, as in a task without SYS_PTRACE
    let st = hermetic(prog("deny"))
        .env("KILTX_CONTAINER_NAME", "app")
        .args(["ptrace", tracer(), "run", "--fail-open", "--output"])
        .arg(format!("file:{}", ev.display()))
        .args(["--", "/bin/sh", "-c", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(0));
    let (alerts, _) = replay(&ev, &[]);
    assert_eq!(
        rules_of(&alerts),
        ["kiltx tracer running untraced (fail-open)"]
    );
    assert_eq!(alerts[0]["priority"], "Error");
    assert!(alerts[0]["output"]
        .as_str()
        .unwrap()
        .contains("running untraced (--fail-open)"));
    // traced: no such event
    let (alerts, _) = replay(&trace(&d, &[], "true"), &[]);
    assert!(alerts.is_empty(), "{alerts:?}");
}

/// A syscall event of process PID (`comm`) in container `app`.
fn event(seq: u32, pid: u32, comm: &str, syscall: &str, args: Value, result: i64) -> String {
    serde_json::json!({
        "ts": format!("2026-11-30T01:00:{:02}.000000001Z", seq % 60),
        "seq": seq, "type": "syscall", "container": "app",
        "pid": pid, "tid": pid, "ppid": 1, "uid": 1000, "gid": 1000, "euid": 1000, "egid": 1000,
        "comm": comm, "exe": format!("/usr/bin/{comm}"), "syscall": syscall, "abi": "x86_64",
        "args": args, "result_captured": true, "result": result,
    })
    .to_string()
}

fn connect(seq: u32, comm: &str, family: &str, ip: &str, port: u16) -> String {
    event(
        seq,
        100 + seq,
        comm,
        "connect",
        serde_json::json!({
            "fd": 3,
            "addr": {"family": family, "address": ip, "port": port},
            "sock": {"family": family, "type": "SOCK_STREAM", "l4proto": "tcp"},
        }),
        0,
    )
}

/// Replay LINES (after a `meta` event) with the default rules: the rules that alerted.
fn replay_lines(lines: &[String]) -> Vec<String> {
    replay_lines_with(lines, &[])
}

fn replay_lines_with(lines: &[String], opts: &[&str]) -> Vec<String> {
    let d = tempdir("defrules-replay");
    let f = d.join("events.jsonl");
    let meta = r#"{"ts":"2026-11-30T01:00:00Z","seq":1,"type":"meta","container":"app","args":{"hostname":"ip-10-0-1-23","ecs":null}}"#;
    let mut text = format!("{meta}\n");
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    std::fs::write(&f, text).unwrap();
    rules_of(&replay(&f, opts).0)
}

#[test]
fn replayed_connections_sockets_and_renames() {
    // (rule, trigger, near miss): only loopback may be contacted here
    let cases = [
        (
            "Task role credentials requested by a tool",
            connect(2, "curl", "inet", "169.254.170.2", 80),
            // the application's own SDK fetching its credentials
            connect(2, "java", "inet", "169.254.170.2", 80),
        ),
        (
            "Connection to a mining pool port",
            connect(2, "kworker", "inet", "203.0.113.7", 3333),
            // the same port inside the VPC
            connect(2, "kworker", "inet", "10.0.3.7", 3333),
        ),
        (
            "Connection to a mining pool port",
            connect(2, "node", "inet6", "2001:db8::7", 14444),
            // a public address on HTTPS
            connect(2, "node", "inet6", "2001:db8::7", 443),
        ),
        (
            "EC2 instance metadata contacted from the task",
            connect(2, "python3", "inet", "169.254.169.254", 80),
            // the VPC's DNS resolver, also link-local
            connect(2, "python3", "inet", "169.254.169.253", 53),
        ),
        (
            "Packet socket created",
            event(
                2,
                7,
                "tcpdump",
                "socket",
                serde_json::json!({"domain": "AF_PACKET", "type": ["SOCK_RAW"], "protocol": 768}),
                3,
            ),
            // another domain (reported by the full profile)
            event(
                2,
                7,
                "tcpdump",
                "socket",
                serde_json::json!({"domain": "AF_INET", "type": ["SOCK_RAW"], "protocol": 1}),
                3,
            ),
        ),
        (
            "Write below a binary directory",
            event(
                2,
                8,
                "mv",
                "renameat2",
                serde_json::json!({"olddirfd": "AT_FDCWD", "oldpath": "/tmp/x", "oldabspath": "/tmp/x",
                    "newdirfd": "AT_FDCWD", "newpath": "/usr/local/bin/node", "newabspath": "/usr/local/bin/node", "flags": []}),
                0,
            ),
            event(
                2,
                8,
                "mv",
                "renameat2",
                serde_json::json!({"olddirfd": "AT_FDCWD", "oldpath": "/tmp/x", "oldabspath": "/tmp/x",
                    "newdirfd": "AT_FDCWD", "newpath": "/usr/local/binaries/node", "newabspath": "/usr/local/binaries/node", "flags": []}),
                0,
            ),
        ),
    ];
    // Python caching the bytecode of a module below /usr/lib (running as root)
    let pyc = "/usr/lib/python3/dist-packages/__pycache__/six.cpython-311.pyc";
    assert!(replay_lines(&[
        event(
            2,
            9,
            "python3",
            "openat",
            serde_json::json!({"dirfd": "AT_FDCWD", "path": format!("{pyc}.140"), "abspath": format!("{pyc}.140"),
                "flags": ["O_WRONLY", "O_CREAT", "O_EXCL", "O_CLOEXEC"], "mode": "0644"}),
            3,
        ),
        event(
            3,
            9,
            "python3",
            "rename",
            serde_json::json!({"oldpath": format!("{pyc}.140"), "oldabspath": format!("{pyc}.140"),
                "newpath": pyc, "newabspath": pyc}),
            0,
        ),
    ])
    .is_empty());
    for (rule, trigger, quiet) in &cases {
        assert_eq!(
            replay_lines(std::slice::from_ref(trigger)),
            [*rule],
            "{trigger}"
        );
        // no other rule matches it either
        assert_eq!(
            replay_lines_with(std::slice::from_ref(trigger), &["--rule-matching", "all"]),
            [*rule],
            "{trigger}"
        );
        assert_eq!(
            replay_lines(std::slice::from_ref(quiet)),
            Vec::<String>::new(),
            "{quiet}"
        );
    }
}

#[test]
fn every_rule_has_a_test() {
    let me = std::fs::read_to_string(file!())
        .or_else(|_| {
            std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/default_rules.rs"),
            )
        })
        .unwrap();
    for name in rule_names() {
        assert!(
            me.contains(&format!("\"{name}\"")),
            "no test names the rule {name:?}"
        );
    }
}

#[test]
fn everyday_work_is_quiet() {
    let d = tempdir("defrules-everyday");
    let t = d.display();
    // a shell script doing everyday work
    let ev = trace(
        &d,
        &[],
        &format!(
            "cd {t}; ls / > /dev/null; cat /etc/hostname /etc/passwd > list; grep root list > /dev/null; \
             sort list | head -1 > first; mkdir -p a/b; mv first a/b/; cp list a/; rm -r a; date > now; \
             id > /dev/null; uname -a > /dev/null; tar czf x.tgz list now; gzip -t x.tgz; sed -n 1p list > /dev/null; \
             awk -F: '{{print $1}}' list > /dev/null; find . -name '*.tgz' > /dev/null; sh -c 'echo sub' > /dev/null; \
             env > /dev/null; ps > /dev/null 2>&1; xargs -n1 echo < list > /dev/null; exec 3> log; echo x >&3"
        ),
    );
    let (alerts, stats) = replay(&ev, &["--rule-matching", "all"]);
    assert!(alerts.is_empty(), "{alerts:?}");
    assert!(stats["args"]["events"].as_u64().unwrap() > 20);
    // a program starting up: a Python HTTP server answering local requests
    let server = "import http.server,threading,urllib.request\n\
        s=http.server.ThreadingHTTPServer(('127.0.0.1',0),http.server.SimpleHTTPRequestHandler)\n\
        threading.Thread(target=s.serve_forever,daemon=True).start()\n\
        for i in range(3): urllib.request.urlopen('http://127.0.0.1:%d/' % s.server_address[1]).read()\n\
        s.shutdown()\n";
    let cmd = py(&d, "server", server);
    let ev = trace(
        &d,
        &[],
        &format!("cd {t}; {cmd} 2>/dev/null; curl -s -o /dev/null http://127.0.0.1:9/ ; true"),
    );
    let (alerts, _) = replay(&ev, &["--rule-matching", "all"]);
    assert!(alerts.is_empty(), "{alerts:?}");
    let conns = read_events(&ev)
        .iter()
        .filter(|e| e["syscall"] == "connect")
        .count();
    assert!(conns >= 3, "the workload connected {conns} times");
}

#[test]
fn a_second_rules_file_tunes_the_defaults() {
    let d = tempdir("defrules-tuning");
    let cmd = py(
        &d,
        "shell",
        "import subprocess\nsubprocess.run(['/bin/sh','-c','true'])\n",
    );
    let ev = trace(&d, &[], &cmd);
    let (alerts, _) = replay(&ev, &[]);
    assert_eq!(rules_of(&alerts), ["Shell started by the application"]);
    // the application's own launcher appended to the list (as the YAML's header shows)
    let mine = d.join("my_rules.yaml");
    std::fs::write(
        &mine,
        "- list: kiltx_known_shell_spawners\n  items: [python3]\n  append: true\n",
    )
    .unwrap();
    let mine = mine.display().to_string();
    let (alerts, _) = replay(&ev, &["--rules", &mine]);
    assert!(alerts.is_empty(), "{alerts:?}");
    // and a rule turned off
    std::fs::write(
        &mine,
        "- rule: Shell started by the application\n  enabled: false\n",
    )
    .unwrap();
    let (alerts, _) = replay(&ev, &["--rules", &mine]);
    assert!(alerts.is_empty(), "{alerts:?}");
}

/// `--rules default` is the file, built into the binary; `--rules env:NAME` reads the rules from
/// a variable (how a task definition gives the sidecar its own rules, e.g. from an SSM
/// parameter through `secrets`), and a missing or empty one is a clear error, exit 2.
#[test]
fn rules_sources_default_and_env() {
    let from_file = tracer_cmd()
        .args(["rules", "list"])
        .arg(default_rules())
        .output()
        .unwrap();
    let built_in = tracer_cmd()
        .args(["rules", "list", "default"])
        .output()
        .unwrap();
    assert_eq!(built_in.status.code(), Some(0));
    assert_eq!(
        built_in.stdout, from_file.stdout,
        "the built-in rules are the file's"
    );
    let mine = "- rule: my rule\n  desc: d\n  condition: evt.type = execve and proc.name = my-tool\n  output: ran %proc.cmdline\n  priority: NOTICE\n- list: kiltx_known_shell_spawners\n  items: [my-launcher]\n  append: true\n";
    let both = tracer_cmd()
        .env("KILTX_RULES", mine)
        .args(["rules", "list", "default", "env:KILTX_RULES"])
        .output()
        .unwrap();
    assert_eq!(
        both.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&both.stderr)
    );
    let text = String::from_utf8_lossy(&both.stdout);
    assert_eq!(
        text.lines().count(),
        String::from_utf8_lossy(&from_file.stdout).lines().count() + 1
    );
    assert!(text.contains("my rule"), "{text}");
    for (env, says) in [
        (None, "no such variable"),
        (Some("  \n"), "the variable is empty"),
    ] {
        let mut c = tracer_cmd();
        if let Some(v) = env {
            c.env("KILTX_RULES", v);
        }
        let out = c
            .args([
                "collect",
                "--replay",
                "-",
                "--rules",
                "default",
                "--rules",
                "env:KILTX_RULES",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--rules env:KILTX_RULES") && err.contains(says),
            "{err}"
        );
    }
}
