//! PID-1 duties and failure behaviour: exit status, signals, job control,
//! tracer death, missing ptrace/seccomp, bad usage.
use crate::common::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Stdio};
use std::time::{Duration, Instant};

#[test]
fn exit_status_is_the_applications() {
    let d = tempdir("status");
    let r = run(&d, &[], &["/bin/sh", "-c", "exit 42"]);
    assert_eq!(r.code, Some(42));
    let r = run(&d, &[], &["true"]); // PATH search
    assert_eq!(r.code, Some(0));
    let execs = of(&r.events, "execve");
    assert_eq!(execs.last().unwrap()["result"], 0);
}

#[test]
fn killed_by_signal_gives_128_plus_n() {
    let d = tempdir("killed");
    let r = run(&d, &[], &["/bin/sh", "-c", "kill -9 $$"]);
    assert_eq!(r.code, Some(137));
    let exits = of(&r.events, "exit");
    assert_eq!(s(&exits.last().unwrap()["args"]["signal"]), "SIGKILL");
    let r = run(&d, &[], &["/bin/sh", "-c", "kill -SEGV $$"]);
    assert_eq!(r.code, Some(128 + 11));
}

#[test]
fn command_not_found_is_127() {
    let d = tempdir("notfound");
    let r = run(&d, &[], &["kiltx-no-such-command"]);
    assert_eq!(r.code, Some(127));
    assert!(r.stderr.contains("command not found"), "{}", r.stderr);
}

fn wait_line(r: &mut impl BufRead) -> String {
    let mut l = String::new();
    r.read_line(&mut l).expect("read");
    l
}

/// Start `minimal_sh(&[], script)` (its events go to the discarded stderr) and
/// read its stdout line by line.
fn spawn_sh(script: &str) -> (Child, BufReader<ChildStdout>) {
    let mut child = minimal_sh(&[], script)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    (child, out)
}

#[test]
fn signals_are_forwarded_to_the_application() {
    for (sig, name, code) in [
        (libc::SIGTERM, "TERM", 71),
        (libc::SIGHUP, "HUP", 72),
        (libc::SIGINT, "INT", 73),
        (libc::SIGQUIT, "QUIT", 74),
        (libc::SIGUSR1, "USR1", 75),
        (libc::SIGUSR2, "USR2", 76),
    ] {
        let script = format!("trap 'exit {code}' {name}; echo ready; while :; do sleep 0.05; done");
        let (mut child, mut out) = spawn_sh(&script);
        assert_eq!(wait_line(&mut out).trim(), "ready");
        signal(child.id() as i32, sig);
        let st = child.wait().unwrap();
        assert_eq!(st.code(), Some(code), "signal {name}");
    }
}

#[test]
fn job_control_inside_the_tree_behaves_as_untraced() {
    let d = tempdir("stopcont");
    let p = prog("stopcont");
    let r = run(&d, &[], &[p.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "stdout: {} stderr: {}", r.stdout, r.stderr);
    // /proc shows 't' (stopped under ptrace, via PTRACE_LISTEN) instead of 'T';
    // what the parent observes through waitpid is identical.
    assert!(
        r.stdout.starts_with("OK state=T") || r.stdout.starts_with("OK state=t"),
        "{}",
        r.stdout
    );
}

fn state_of(pid: i32) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = s.rsplit_once(')')?.1;
    after.trim_start().chars().next()
}

#[test]
fn sigstop_and_sigcont_from_outside() {
    let (mut child, mut out) = spawn_sh("echo $$; while :; do echo tick; sleep 0.02; done");
    let app: i32 = wait_line(&mut out).trim().parse().unwrap();
    assert_eq!(wait_line(&mut out).trim(), "tick");
    signal(app, libc::SIGSTOP);
    // The stop passes through a signal-delivery stop ('t'), a moment running while the tracer
    // re-injects SIGSTOP, then the group stop ('t'): wait until it has stayed stopped.
    let t0 = Instant::now();
    let mut stopped_for = 0;
    while stopped_for < 5 && t0.elapsed() < Duration::from_secs(10) {
        stopped_for = if state_of(app) == Some('t') {
            stopped_for + 1
        } else {
            0
        };
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        state_of(app),
        Some('t'),
        "stopped (group-stop under ptrace)"
    );
    std::thread::sleep(Duration::from_millis(100));
    // drain what was printed before the stop, then nothing more may come
    let fd = {
        use std::os::unix::io::AsRawFd;
        out.get_ref().as_raw_fd()
    };
    set_nonblocking(fd);
    let mut junk = String::new();
    while out.read_line(&mut junk).map(|n| n > 0).unwrap_or(false) {}
    std::thread::sleep(Duration::from_millis(300));
    junk.clear();
    let got = out.read_line(&mut junk).unwrap_or(0);
    assert_eq!(
        got, 0,
        "the application kept running while stopped: {junk:?}"
    );
    signal(app, libc::SIGCONT);
    let t0 = Instant::now();
    let mut resumed = false;
    while t0.elapsed() < Duration::from_secs(5) {
        junk.clear();
        if out.read_line(&mut junk).unwrap_or(0) > 0 {
            resumed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(resumed, "no output after SIGCONT");
    signal(child.id() as i32, libc::SIGTERM);
    let st = child.wait().unwrap();
    assert_eq!(st.code(), Some(128 + libc::SIGTERM));
}

#[test]
fn tracer_killed_takes_the_tree_with_it() {
    let (mut child, mut out) = spawn_sh(
        "sleep 300 & echo $!; sh -c 'echo $$; exec sleep 300' & sleep 300 & echo $$; wait",
    );
    let mut pids = Vec::new();
    for _ in 0..3 {
        pids.push(wait_line(&mut out).trim().parse::<i32>().unwrap());
    }
    std::thread::sleep(Duration::from_millis(100));
    for p in &pids {
        // alive (possibly in a ptrace stop at this very moment)
        assert!(
            !matches!(state_of(*p), None | Some('Z') | Some('X')),
            "{p} alive"
        );
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let t0 = Instant::now();
    loop {
        let alive: Vec<_> = pids
            .iter()
            .filter(|p| !matches!(state_of(**p), None | Some('Z') | Some('X')))
            .collect();
        if alive.is_empty() {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "still alive after the tracer died: {alive:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn without_ptrace_it_fails_before_starting_the_app() {
    let d = tempdir("noptrace");
    let deny = prog("deny");
    let marker = d.join("started");
    let script = format!("touch {}; exit 5", marker.display());
    for what in ["ptrace", "seccomp"] {
        let out = hermetic(&deny)
            .args([what, tracer(), "run", "--", "/bin/sh", "-c", &script])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{what}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(if what == "ptrace" {
                "cannot trace"
            } else {
                "seccomp"
            }),
            "{err}"
        );
        assert!(!marker.exists(), "the application must not have started");
    }
}

#[test]
fn fail_open_runs_untraced_and_says_so() {
    let d = tempdir("failopen");
    let deny = prog("deny");
    let ev = d.join("ev.jsonl");
    let out = hermetic(&deny)
        .args([
            "ptrace",
            tracer(),
            "run",
            "--fail-open",
            "--output",
            &format!("file:{}", ev.display()),
            "--",
            "/bin/sh",
            "-c",
            "echo app-ran; exit 5",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "app-ran\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("UNTRACED"), "{err}");
    assert!(
        err.contains("cannot trace the application"),
        "the cause: {err}"
    );
    assert!(
        !err.contains("pass --fail-open"),
        "no advice to do what was done: {err}"
    );
    let events = read_events(&ev);
    assert!(events
        .iter()
        .any(|e| e["type"] == "tracer" && e["args"]["traced"] == false));
    assert!(of(&events, "execve").is_empty());
}

#[test]
fn bad_arguments_exit_2_with_usage() {
    for args in [
        vec!["run"],
        vec!["run", "--profile", "huge", "--", "true"],
        vec!["run", "--output", "ftp://x", "--", "true"],
        vec!["run", "--bogus", "--", "true"],
        vec!["collect"],
        vec!["collect", "--listen", "nowhere"],
        vec!["frobnicate"],
        vec![],
    ] {
        let out = tracer_cmd().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("usage:"),
            "{args:?}"
        );
    }
}

#[test]
fn stdio_is_left_to_the_application() {
    let out = tracer_cmd()
        .args([
            "run",
            "--output",
            "file:/dev/null",
            "--",
            "/bin/sh",
            "-c",
            "cat; echo err >&2",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"from stdin\n")?;
            c.wait_with_output()
        })
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from stdin\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
}

/// The application orphans a process; once it has exited it must be reaped
/// (no zombie), both as a subreaper and as PID 1 of a pid namespace.
pub(crate) const ORPHAN_SCRIPT: &str = r#"sh -c 'sleep 0.2 & echo $! > "$D/orphan"'
pid=$(cat "$D/orphan")
i=0; while [ -e /proc/$pid ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
if [ -e /proc/$pid ]; then echo "not reaped: $(cat /proc/$pid/stat)"; exit 1; fi
echo "reaped $pid; parent $PPID"
"#;

#[test]
fn orphans_are_reaped_as_subreaper() {
    let d = tempdir("orphans");
    let out = minimal_sh(&["--output", "file:/dev/null"], ORPHAN_SCRIPT)
        .env("D", &d)
        .output()
        .unwrap();
    let so = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{so}");
    assert!(so.starts_with("reaped"), "{so}");
}

#[test]
fn orphans_are_reaped_and_status_kept_as_pid_1() {
    let d = tempdir("pid1");
    let out = hermetic("unshare")
        .args(["--pid", "--fork", "--mount-proc", tracer()])
        .args([
            "run",
            "--profile",
            "minimal",
            "--output",
            "file:/dev/null",
            "--",
        ])
        .args(["/bin/sh", "-c", &format!("{ORPHAN_SCRIPT}exit 9")])
        .env("D", &d)
        .output()
        .expect("unshare (util-linux) is required for this test");
    let so = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(9),
        "{so} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // the tracer is PID 1 and the application's parent
    assert!(so.contains("parent 1"), "{so}");
}

#[test]
fn the_application_gets_default_signal_dispositions() {
    // Rust ignores SIGPIPE in the tracer; the application must not inherit
    // that: `yes` has to die of SIGPIPE, not report EPIPE.
    let out = minimal_sh(
        &["--output", "file:/dev/null"],
        "yes | head -n 1 > /dev/null; grep SigIgn /proc/self/status",
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("Broken pipe"), "{err}");
    // ignored standard signals (1-31): exactly those the application gets
    // without the tracer (32 and 33 are glibc-internal and glibc's own
    // handlers in the tracer replace an inherited SIG_IGN for them)
    let native = hermetic("/bin/sh")
        .args(["-c", "grep SigIgn /proc/self/status"])
        .output()
        .unwrap();
    let std_sigs = |o: &[u8]| {
        let t = String::from_utf8_lossy(o);
        let hex = t.trim().trim_start_matches("SigIgn:").trim().to_string();
        u64::from_str_radix(&hex, 16).expect("SigIgn mask") & 0x7fff_ffff
    };
    assert_eq!(std_sigs(&out.stdout), std_sigs(&native.stdout));
}
