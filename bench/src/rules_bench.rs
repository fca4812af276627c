//! `rules-bench`: the sidecar's throughput with the Falco stable rules loaded,
//! next to the plain relay (the baseline), in one run.
//!
//! Usage: `cargo build --release -p kiltx-tracer && cargo run --release -p kiltx-bench --bin rules-bench [-- --events 400000 --runs 5]`
//!
//! Generates a stream of events in `kiltx-tracer`'s format, shaped like a busy
//! application (per cycle: a fork, an exec, file writes, a connection, a
//! rename, an unlink, an exit; one `cat /etc/shadow` every 1,000 cycles, which
//! alerts), writes it to a file in /dev/shm, and replays it through the real
//! release binary: `kiltx-tracer collect --replay FILE` (relay: every line
//! copied to stdout) and `... --rules falco_rules.yaml` (the unmodified stable
//! rules from ../shared/peer/falco), stdout a pipe drained by the bench (as a
//! log driver drains the sidecar's). Both are one thread; the figures are
//! events per second of wall time and per CPU-second of the collector process
//! (user + system, from wait4), the median of `--runs`, their ratio, and the
//! rules run's peak RSS and process-table size at the end (exited processes
//! leave it). Targets: >= 250,000 events/s on one core, and >= half the
//! relay's rate.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

fn tracer() -> PathBuf {
    let exe = std::env::current_exe().expect("exe");
    let p = exe.parent().expect("dir").join("kiltx-tracer");
    assert!(
        p.exists(),
        "{} is not built: run `cargo build --release -p kiltx-tracer` first",
        p.display()
    );
    p
}

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

/// The event stream: `n` lines (and how many alerts the rules should give).
fn generate(n: usize, out: &mut impl Write) -> usize {
    let mut seq = 0u64;
    let mut ns: u64 = 1_796_000_000_000_000_000;
    let mut written = 0;
    let mut alerts = 0;
    let mut cycle = 0u64;
    let mut line = |pid: u64,
                    ppid: u64,
                    comm: &str,
                    exe: &str,
                    kind: &str,
                    sys: &str,
                    args: &str,
                    result: &str,
                    out: &mut dyn Write| {
        seq += 1;
        ns += 7_919;
        let (s, n) = (ns / 1_000_000_000, ns % 1_000_000_000);
        let rem = s % 86_400;
        writeln!(
            out,
            "{{\"ts\":\"2026-11-30T{:02}:{:02}:{:02}.{n:09}Z\",\"seq\":{seq},\"type\":\"{kind}\",\"container\":\"app\",\"pid\":{pid},\"tid\":{pid},\"ppid\":{ppid},\"uid\":1000,\"gid\":1000,\"euid\":1000,\"egid\":1000,\"comm\":\"{comm}\",\"exe\":\"{exe}\",\"syscall\":\"{sys}\",\"abi\":\"x86_64\",\"args\":{args},{result}}}",
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        )
        .expect("write");
    };
    let ok = |r: i64| format!("\"result_captured\":true,\"result\":{r}");
    let nc = "\"result_captured\":false".to_string();
    // the application's main process
    let (app, app_comm, app_exe) = (100u64, "node", "/usr/local/bin/node");
    while written < n {
        cycle += 1;
        let child = 1000 + cycle % 30_000;
        let w = &mut *out;
        line(app, 1, app_comm, app_exe, "process", "clone", &format!("{{\"child_pid\":{child},\"child_tid\":{child},\"thread\":false,\"flags\":[\"CLONE_CHILD_CLEARTID\",\"CLONE_CHILD_SETTID\"]}}"), &ok(child as i64), w);
        let (comm, exe, argv) = if cycle % 1000 == 0 {
            alerts += 1;
            ("cat", "/usr/bin/cat", "[\"cat\",\"/etc/shadow\"]")
        } else if cycle % 2 == 0 {
            (
                "convert",
                "/usr/bin/convert",
                "[\"convert\",\"/tmp/in.png\",\"-resize\",\"50%\",\"/tmp/out.png\"]",
            )
        } else {
            (
                "git",
                "/usr/bin/git",
                "[\"git\",\"-C\",\"/srv/repo\",\"fetch\",\"--quiet\"]",
            )
        };
        line(
            child,
            app,
            comm,
            exe,
            "syscall",
            "execve",
            &format!("{{\"path\":\"{exe}\",\"abspath\":\"{exe}\",\"argv\":{argv}}}"),
            &ok(0),
            w,
        );
        if comm == "cat" {
            line(child, app, comm, exe, "syscall", "openat", "{\"dirfd\":\"AT_FDCWD\",\"path\":\"/etc/shadow\",\"abspath\":\"/etc/shadow\",\"flags\":[\"O_RDONLY\",\"O_CLOEXEC\"]}", &ok(3), w);
        } else {
            line(child, app, comm, exe, "syscall", "openat", &format!("{{\"dirfd\":\"AT_FDCWD\",\"path\":\"/tmp/out-{cycle}.tmp\",\"abspath\":\"/tmp/out-{cycle}.tmp\",\"flags\":[\"O_WRONLY\",\"O_CREAT\",\"O_TRUNC\",\"O_CLOEXEC\"],\"mode\":\"0644\"}}"), &ok(3), w);
            line(child, app, comm, exe, "syscall", "renameat", &format!("{{\"olddirfd\":\"AT_FDCWD\",\"oldpath\":\"/tmp/out-{cycle}.tmp\",\"oldabspath\":\"/tmp/out-{cycle}.tmp\",\"newdirfd\":\"AT_FDCWD\",\"newpath\":\"/tmp/out\",\"newabspath\":\"/tmp/out\"}}"), &nc, w);
        }
        line(
            child,
            app,
            comm,
            exe,
            "syscall",
            "connect",
            "{\"fd\":4,\"addr\":{\"family\":\"inet\",\"address\":\"10.0.3.7\",\"port\":5432}}",
            &ok(0),
            w,
        );
        line(child, app, comm, exe, "syscall", "openat", "{\"dirfd\":\"AT_FDCWD\",\"path\":\"/var/cache/app/state\",\"abspath\":\"/var/cache/app/state\",\"flags\":[\"O_RDWR\",\"O_CREAT\"],\"mode\":\"0600\"}", &ok(5), w);
        line(child, app, comm, exe, "syscall", "unlinkat", "{\"dirfd\":\"AT_FDCWD\",\"path\":\"/tmp/lock\",\"abspath\":\"/tmp/lock\",\"flags\":[]}", &nc, w);
        line(app, 1, app_comm, app_exe, "syscall", "sendto", "{\"fd\":9,\"addr\":{\"family\":\"inet\",\"address\":\"10.0.0.2\",\"port\":53},\"flags\":[],\"len\":40}", &nc, w);
        line(
            child,
            app,
            comm,
            exe,
            "process",
            "exit",
            "{\"thread\":false,\"code\":0}",
            &ok(0),
            w,
        );
        written += if comm == "cat" { 8 } else { 9 };
    }
    alerts
}

struct Run {
    wall: f64,
    cpu: f64,
    maxrss_kib: i64,
    stdout: Vec<u8>,
}

// the child is reaped with wait4 (for its rusage), which clippy does not see
#[allow(clippy::zombie_processes)]
fn replay(file: &Path, rules: bool) -> Run {
    let mut c = kiltx_testsupport::hermetic::command(tracer());
    c.args(["collect", "--replay"]).arg(file);
    if rules {
        c.arg("--rules")
            .arg(falco_rules())
            .args(["--stats-interval", "0"]);
    }
    // stdout is a pipe drained by this process, as a container runtime's log
    // driver drains the sidecar's
    c.stdout(Stdio::piped()).stderr(Stdio::null());
    let t0 = Instant::now();
    let mut child = c.spawn().expect("start kiltx-tracer");
    let mut pipe = child.stdout.take().expect("stdout");
    let keep = rules;
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut kept = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if keep {
                        kept.extend_from_slice(&buf[..n]);
                    }
                }
            }
        }
        kept
    });
    let pid = child.id() as i32;
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: plain integers and pointers to our own locals.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    let stdout = reader.join().expect("reader");
    let wall = t0.elapsed().as_secs_f64();
    assert_eq!(r, pid, "wait4");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "collector failed"
    );
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Run {
        wall,
        cpu: tv(ru.ru_utime) + tv(ru.ru_stime),
        maxrss_kib: ru.ru_maxrss,
        stdout,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let opt = |name: &str, default: usize| -> usize {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(|v| v.parse().expect("a number"))
            .unwrap_or(default)
    };
    let n = opt("--events", 400_000);
    let runs = opt("--runs", 5).max(1);
    let file = PathBuf::from(format!(
        "/dev/shm/kiltx-rules-bench-{}.jsonl",
        std::process::id()
    ));
    let mut w =
        std::io::BufWriter::new(std::fs::File::create(&file).expect("create the event file"));
    let alerts = generate(n, &mut w);
    w.flush().expect("flush");
    drop(w);
    let lines = std::fs::read(&file)
        .expect("read back")
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    let bytes = std::fs::metadata(&file).expect("stat").len();
    println!(
        "rules-bench: {lines} events ({:.0} bytes each), {runs} runs each, the Falco stable rules (25)",
        bytes as f64 / lines as f64
    );
    // warm the page cache and check the alerts once
    let check = replay(&file, true);
    let text = String::from_utf8(check.stdout).expect("utf-8");
    let got = text.lines().filter(|l| l.contains("\"rule\":")).count();
    assert_eq!(got, alerts, "alerts expected from the stream");
    let stats = text.lines().last().unwrap_or_default().to_string();
    let processes: serde_json::Value = serde_json::from_str(&stats).expect("final stats line");
    let mut rows = Vec::new();
    for (name, rules) in [("relay (no rules)", false), ("falco_rules.yaml", true)] {
        let mut wall = Vec::new();
        let mut cpu = Vec::new();
        let mut rss = 0;
        for _ in 0..runs {
            let r = replay(&file, rules);
            wall.push(lines as f64 / r.wall);
            cpu.push(lines as f64 / r.cpu.max(1e-9));
            rss = rss.max(r.maxrss_kib);
        }
        rows.push((name, median(wall), median(cpu), rss));
    }
    println!(
        "{:<20} {:>14} {:>16} {:>10}",
        "collector", "events/s wall", "events/CPU-s", "peak RSS"
    );
    for (name, wall, cpu, rss) in &rows {
        println!("{name:<20} {wall:>14.0} {cpu:>16.0} {:>7} MiB", rss / 1024);
    }
    let (relay, rules) = (&rows[0], &rows[1]);
    println!(
        "rules / relay: {:.2} (wall), {:.2} (CPU); {alerts} alerts; process table at the end: {} (exited processes left it)",
        rules.1 / relay.1,
        rules.2 / relay.2,
        processes["args"]["processes"]
    );
    println!(
        "targets: >= 250000 events/s on one core: {}; >= half the relay's rate: {}",
        if rules.2 >= 250_000.0 {
            "met"
        } else {
            "NOT met"
        },
        if rules.2 >= relay.2 / 2.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    if std::env::var_os("KEEP").is_none() {
        let _ = std::fs::remove_file(&file);
    } else {
        println!("kept {}", file.display());
    }
}
