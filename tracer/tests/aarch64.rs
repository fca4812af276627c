//! The tracer on aarch64, under emulation (this x86_64 machine has no aarch64
//! CPU, and qemu's user mode cannot emulate ptrace or seccomp): the
//! aarch64 build of `kiltx-tracer` and the test programs, cross-compiled and
//! static, run in a real arm64 kernel (Debian's cloud-arm64) booted by
//! `qemu-system-aarch64 -M virt -cpu max` from a small initramfs (busybox as
//! `/init`'s shell, strace for the ground truth, an AArch32 program).
//!
//! The guest is booted once for all the tests of this module: its `/init`
//! runs every scenario, writing each one's status, stdout, stderr and events
//! under `/out`, then prints every file on the serial console between
//! markers and powers off. qemu exits 0 even when the guest panics, so what
//! passed is decided from what the guest printed: a missing file fails the
//! test that needs it, with the end of the console output.
//!
//! The expectations are the x86_64 tests' own (`ground_truth::compare`,
//! `process_tree::check_*`, `lifecycle::ORPHAN_SCRIPT`): the same runs,
//! checked by the same code.
//!
//! Needs what `tests/aarch64/setup.sh` installs and caches (the test command
//! runs it): the cache directory is `$KILTX_AARCH64_CACHE`, by default
//! `/var/cache/kiltx-aarch64`.
use crate::common::*;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The guest's whole run (TCG: about 0.7 ms per traced syscall).
const GUEST_TIMEOUT: Duration = Duration::from_secs(400);
/// Short-lived processes in the guest (1,000 on x86_64; each costs a few ms
/// under emulation).
const SHORT_LIVED: usize = 200;
const THREADS: usize = 40;

/// The guest's `/init`. `run NAME OPTS -- CMD` runs the tracer with its
/// events in /out/NAME/events and its stdout, stderr and status beside them.
const INIT: &str = r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
ip link set lo up
echo "@@KX-BOOTED $(cut -d' ' -f1 /proc/uptime)"
export PATH=/bin:/usr/bin HOME=/ LC_ALL=C TZ=UTC
T=/bin/kiltx-tracer
KX_ENV=
# progress on the console, so that a guest that hangs shows where
step() { echo "@@KX-STEP $1 $(cut -d' ' -f1 /proc/uptime)"; }
# wait_for FILE: at most 20 s
wait_for() { i=0; while [ ! -e "$1" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; }
run() {
    n=$1; shift
    step $n
    mkdir -p /out/$n
    env $KX_ENV timeout -s KILL 120 $T run --output file:/out/$n/events "$@" \
        >/out/$n/stdout 2>/out/$n/stderr </dev/null
    echo $? >/out/$n/code
}

# ground truth: the x86_64 test's script and workload, under strace and under the tracer
export D=/tmp/gt W=/progs/workload PORT=4000 SOCK=/tmp/gt.sock
/progs/listen $PORT $SOCK /tmp/listening &
listener=$!
wait_for /tmp/listening
step gt-strace
mkdir -p /out/gt-strace
rm -rf $D; mkdir -p $D
timeout -s KILL 120 strace -f -qq -s 4096 -e trace=@STRACE_SET@ -o /out/gt-strace/strace /bin/sh /gt.sh \
    >/out/gt-strace/stdout 2>/out/gt-strace/stderr </dev/null
echo $? >/out/gt-strace/code
rm -rf $D; mkdir -p $D
run gt -- /bin/sh /gt.sh
rm -rf $D; mkdir -p $D
KX_ENV=KILTX_TRACER_REGS_ONLY=1
run gt-regs -- /bin/sh /gt.sh
KX_ENV=
kill $listener

# process tree
run short --profile minimal -- /bin/sh -c 'i=0; while [ $i -lt @SHORT@ ]; do /bin/true; i=$((i+1)); done'
mkdir -p /tmp/threads /tmp/clone3
run threads -- /progs/threads /tmp/threads @THREADS@
run thread-exec -- /progs/thread_exec /bin/sh -c 'exit 5'
run vfork -- /progs/vfork /bin/sh -c 'echo hi > /dev/null; exit 3'
run clone3 -- /progs/clone3 /tmp/clone3

# exit statuses
run exit42 -- /bin/sh -c 'exit 42'
run sigkill -- /bin/sh -c 'kill -9 $$'
run sigsegv -- /bin/sh -c 'kill -SEGV $$'
run notfound -- kiltx-no-such-command

# signals received by the tracer are forwarded to the application
for s in TERM:15:71 HUP:1:72 INT:2:73 QUIT:3:74 USR1:10:75 USR2:12:76; do
    sig=${s%%:*}; rest=${s#*:}; no=${rest%:*}; code=${rest#*:}
    step forward-$sig
    mkdir -p /out/forward-$sig
    $T run --profile minimal --output file:/dev/null -- /progs/trapexit $no $code /tmp/ready-$sig </dev/null &
    tp=$!
    wait_for /tmp/ready-$sig
    (sleep 30; kill -9 $tp) 2>/dev/null &
    watchdog=$!
    kill -$sig $tp
    wait $tp
    echo $? >/out/forward-$sig/code
    kill $watchdog 2>/dev/null
done

# PID 1 of a pid namespace: orphans reaped, the application's status kept
step pid1
mkdir -p /out/pid1 /tmp/pid1
D=/tmp/pid1 timeout -s KILL 120 unshare -p -f --mount-proc $T run --profile minimal --output file:/dev/null -- \
    /bin/sh -c "$(cat /orphan.sh); exit 9" >/out/pid1/stdout 2>/out/pid1/stderr </dev/null
echo $? >/out/pid1/code

# the tracer SIGKILLed: the application's tree dies with it
step dead
mkdir -p /out/dead
$T run --profile minimal --output file:/dev/null -- /bin/sh -c \
    'sleep 300 & echo $! >> /tmp/dead; sh -c "echo \$\$ >> /tmp/dead; exec sleep 300" & sleep 300 & echo $$ >> /tmp/dead; wait' </dev/null &
tp=$!
i=0
while [ "$(cat /tmp/dead 2>/dev/null | wc -l)" -lt 3 ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
sleep 0.3
alive() { [ -e /proc/$1/status ] && ! grep -q '^State:.*[ZX]' /proc/$1/status; }
for p in $(cat /tmp/dead); do alive $p && echo $p; done >/out/dead/before
kill -9 $tp
wait $tp
i=0
while [ $i -lt 50 ]; do
    left=$(for p in $(cat /tmp/dead); do alive $p && echo $p; done)
    [ -z "$left" ] && break
    sleep 0.1; i=$((i+1))
done
echo "$left" >/out/dead/after

# no ptrace, no seccomp: fail before starting the application, or --fail-open
for what in ptrace seccomp; do
    step no-$what
    mkdir -p /out/no-$what
    /progs/deny $what $T run -- /bin/sh -c ": > /tmp/started-$what; exit 5" \
        >/out/no-$what/stdout 2>/out/no-$what/stderr </dev/null
    echo $? >/out/no-$what/code
    [ -e /tmp/started-$what ] && echo yes >/out/no-$what/started
done
step fail-open
mkdir -p /out/fail-open
/progs/deny ptrace $T run --fail-open --output file:/out/fail-open/events -- /bin/sh -c 'echo app-ran; exit 5' \
    >/out/fail-open/stdout 2>/out/fail-open/stderr </dev/null
echo $? >/out/fail-open/code

# AArch32: traced with its own numbers, or denied
run arm32-trace -- /progs/arm32 /tmp/arm32-trace
[ -e /tmp/arm32-trace ] && echo yes >/out/arm32-trace/created
run arm32-deny --compat deny -- /progs/arm32 /tmp/arm32-deny
[ -e /tmp/arm32-deny ] && echo yes >/out/arm32-deny/created

# what the filter stops on
mkdir -p /out/syscalls
$T syscalls --profile default >/out/syscalls/stdout 2>&1

echo "@@KX-RAN $(cut -d' ' -f1 /proc/uptime)"
for f in $(find /out -type f | sort); do
    echo "@@KX-FILE ${f#/out/}"
    cat "$f"
    echo
    echo "@@KX-EOF"
done
echo "@@KX-DONE"
poweroff -f
"#;

/// What the guest printed.
struct Guest {
    files: HashMap<String, String>,
    console: String,
}

static GUEST: Mutex<Option<Result<&'static Guest, String>>> = Mutex::new(None);

/// Boot the guest once (for every test of this module) and return what it
/// printed; a failure to build or boot fails every test with the same cause.
fn guest() -> &'static Guest {
    let mut g = GUEST.lock().unwrap_or_else(|p| p.into_inner());
    if g.is_none() {
        let r = std::panic::catch_unwind(boot).map_err(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "the guest could not be booted".into())
        });
        *g = Some(r.map(|x| &*Box::leak(Box::new(x))));
    }
    match g.as_ref().unwrap() {
        Ok(x) => x,
        Err(e) => panic!("aarch64 guest: {e}"),
    }
}

impl Guest {
    fn file(&self, path: &str) -> &str {
        self.files.get(path).map(|s| s.as_str()).unwrap_or_else(|| {
            let tail: Vec<&str> = self.console.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            panic!(
                "the guest did not write /out/{path}; end of its console:\n{}",
                tail.join("\n")
            )
        })
    }
    fn code(&self, name: &str) -> Option<i32> {
        self.file(&format!("{name}/code")).trim().parse().ok()
    }
    /// A `run NAME ...` of the guest, as `common::run` returns it on the host.
    fn run(&self, name: &str) -> Run {
        let ev = self.file(&format!("{name}/events"));
        Run {
            code: self.code(name),
            stdout: self.file(&format!("{name}/stdout")).to_string(),
            stderr: self.file(&format!("{name}/stderr")).to_string(),
            events: parse_events(ev),
        }
    }
}

fn parse_events(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

fn cache() -> PathBuf {
    let c = std::env::var_os("KILTX_AARCH64_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/kiltx-aarch64"));
    assert!(
        c.join("cargo-config.toml").exists() && c.join("kernel/boot/vmlinuz").exists(),
        "{} is not ready: run tests/aarch64/setup.sh (tests/run.sh does)",
        c.display()
    );
    c
}

/// `kiltx-tracer` for aarch64, static: `tests/aarch64/cargo.sh` (Debian's cargo
/// and rustc with Debian's aarch64 standard library).
fn build_tracer() -> PathBuf {
    kiltx_testsupport::aarch64::build("kiltx-tracer", "kiltx-tracer")
}

/// The test programs of tests/progs, static for aarch64; `arm32` assembled for AArch32.
fn build_progs(dir: &Path) -> Vec<(String, PathBuf)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/progs");
    std::fs::create_dir_all(dir).unwrap();
    let mut out = Vec::new();
    for name in [
        "workload",
        "listen",
        "threads",
        "thread_exec",
        "vfork",
        "clone3",
        "deny",
        "trapexit",
    ] {
        let bin = dir.join(name);
        let st = hermetic("aarch64-linux-gnu-gcc")
            .args(["-O2", "-static", "-pthread", "-o"])
            .arg(&bin)
            .arg(src.join(format!("{name}.c")))
            .status()
            .expect("aarch64-linux-gnu-gcc is required: run tests/aarch64/setup.sh");
        assert!(st.success(), "compiling {name}.c for aarch64 failed");
        out.push((name.to_string(), bin));
    }
    let obj = dir.join("arm32.o");
    let st = hermetic("arm-linux-gnueabihf-as")
        .arg("-o")
        .arg(&obj)
        .arg(src.join("arm32.S"))
        .status()
        .expect("arm-linux-gnueabihf-as is required: run tests/aarch64/setup.sh");
    assert!(st.success(), "assembling arm32.S failed");
    let bin = dir.join("arm32");
    let st = hermetic("arm-linux-gnueabihf-ld")
        .args(["-static", "-o"])
        .arg(&bin)
        .arg(&obj)
        .status()
        .expect("arm-linux-gnueabihf-ld is required: run tests/aarch64/setup.sh");
    assert!(st.success(), "linking arm32 failed");
    out.push(("arm32".to_string(), bin));
    out
}

/// A newc cpio archive (the initramfs format), uncompressed.
#[derive(Default)]
struct Cpio {
    data: Vec<u8>,
    ino: u32,
}

impl Cpio {
    fn entry(&mut self, name: &str, mode: u32, rdev: (u32, u32), body: &[u8]) {
        self.ino += 1;
        let header = format!(
            "070701{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}",
            self.ino,
            mode,
            0,
            0,
            1,
            0,
            body.len(),
            0,
            0,
            rdev.0,
            rdev.1,
            name.len() + 1,
            0
        );
        self.data.extend_from_slice(header.as_bytes());
        self.data.extend_from_slice(name.as_bytes());
        self.data.push(0);
        self.pad();
        self.data.extend_from_slice(body);
        self.pad();
    }
    fn pad(&mut self) {
        while self.data.len() % 4 != 0 {
            self.data.push(0);
        }
    }
    fn dir(&mut self, name: &str) {
        self.entry(name, 0o040755, (0, 0), b"");
    }
    fn file(&mut self, name: &str, mode: u32, body: &[u8]) {
        self.entry(name, 0o100000 | mode, (0, 0), body);
    }
    fn copy(&mut self, name: &str, mode: u32, from: &Path) {
        let body = std::fs::read(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display()));
        self.file(name, mode, &body);
    }
    fn symlink(&mut self, name: &str, target: &str) {
        self.entry(name, 0o120777, (0, 0), target.as_bytes());
    }
    fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, (0, 0), b"");
        self.data
    }
}

fn initramfs(cache: &Path, tracer: &Path, progs: &[(String, PathBuf)]) -> Vec<u8> {
    let strace_set: Vec<String> = crate::ground_truth::SYSCALLS
        .iter()
        // syscalls aarch64 does not have (open, creat, rename) must not be an error
        .map(|s| format!("?{s}"))
        .collect();
    let init = INIT
        .replace("@STRACE_SET@", &strace_set.join(","))
        .replace("@SHORT@", &SHORT_LIVED.to_string())
        .replace("@THREADS@", &THREADS.to_string());
    let mut c = Cpio::default();
    for d in [
        "bin",
        "dev",
        "proc",
        "sys",
        "tmp",
        "etc",
        "out",
        "progs",
        "usr",
        "usr/bin",
        "lib",
        "lib/aarch64-linux-gnu",
    ] {
        c.dir(d);
    }
    c.entry("dev/console", 0o020600, (5, 1), b"");
    c.file("init", 0o755, init.as_bytes());
    c.file("gt.sh", 0o644, crate::ground_truth::SCRIPT.as_bytes());
    c.file(
        "orphan.sh",
        0o644,
        crate::lifecycle::ORPHAN_SCRIPT.as_bytes(),
    );
    c.file("etc/hostname", 0o644, b"kiltx-aarch64\n");
    c.file("etc/shadow", 0o600, b"root:*:20000:0:99999:7:::\n");
    c.file("etc/passwd", 0o644, b"root:x:0:0:root:/:/bin/sh\n");
    c.copy("bin/busybox", 0o755, &cache.join("busybox/bin/busybox"));
    c.copy("bin/kiltx-tracer", 0o755, tracer);
    c.copy(
        "usr/bin/strace",
        0o755,
        &cache.join("strace/usr/bin/strace"),
    );
    let libdir = cache.join("libc6/lib/aarch64-linux-gnu");
    for lib in ["ld-linux-aarch64.so.1", "libc.so.6"] {
        c.copy(
            &format!("lib/aarch64-linux-gnu/{lib}"),
            0o755,
            &libdir.join(lib),
        );
    }
    c.symlink(
        "lib/ld-linux-aarch64.so.1",
        "aarch64-linux-gnu/ld-linux-aarch64.so.1",
    );
    for (name, path) in progs {
        c.copy(&format!("progs/{name}"), 0o755, path);
    }
    c.finish()
}

fn boot() -> Guest {
    let cache = cache();
    let t0 = Instant::now();
    let tracer = build_tracer();
    let dir = tempdir("aarch64");
    let progs = build_progs(&dir.join("progs"));
    let initrd = dir.join("initramfs.cpio");
    std::fs::write(&initrd, initramfs(&cache, &tracer, &progs)).unwrap();
    let built = t0.elapsed();

    let t1 = Instant::now();
    let mut child = kiltx_testsupport::hermetic::tool(
        "qemu-system-aarch64",
        "run tests/aarch64/setup.sh (qemu-system-arm from bookworm-backports)",
    )
    .args(["-M", "virt", "-cpu", "max", "-m", "1024", "-smp", "2"])
    .args(["-nographic", "-no-reboot", "-nic", "none"])
    .arg("-kernel")
    .arg(cache.join("kernel/boot/vmlinuz"))
    .arg("-initrd")
    .arg(&initrd)
    .args([
        "-append",
        "console=ttyAMA0 quiet loglevel=1 panic=-1 rdinit=/init",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("qemu-system-aarch64");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stdout.read_to_end(&mut b);
        b
    });
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if t1.elapsed() > GUEST_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let console = String::from_utf8_lossy(&reader.join().unwrap()).replace("\r\n", "\n");
    let ran = t1.elapsed();
    let tail = || {
        let l: Vec<&str> = console.lines().collect();
        l[l.len().saturating_sub(60)..].join("\n")
    };
    assert!(
        status.is_some(),
        "the guest did not finish within {GUEST_TIMEOUT:?}; end of its console:\n{}",
        tail()
    );
    assert!(
        console.contains("@@KX-DONE"),
        "the guest did not run to its end (qemu: {status:?}, {err}); end of its console:\n{}",
        tail()
    );
    let mut files = HashMap::new();
    let mut cur: Option<(String, Vec<&str>)> = None;
    for line in console.lines() {
        if let Some(name) = line.strip_prefix("@@KX-FILE ") {
            cur = Some((name.to_string(), Vec::new()));
        } else if line == "@@KX-EOF" {
            if let Some((name, mut body)) = cur.take() {
                body.pop(); // the newline the guest added after the file
                let mut text = body.join("\n");
                if !body.is_empty() {
                    text.push('\n');
                }
                files.insert(name, text);
            }
        } else if let Some((_, body)) = cur.as_mut() {
            body.push(line);
        }
    }
    let uptime = |marker: &str| {
        console
            .lines()
            .find_map(|l| l.strip_prefix(marker))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    eprintln!(
        "aarch64 guest: built in {:.1} s; booted to /init in {:.2} s (guest uptime), \
         scenarios done at {:.1} s, qemu ran {:.1} s; {} files",
        built.as_secs_f64(),
        uptime("@@KX-BOOTED "),
        uptime("@@KX-RAN "),
        ran.as_secs_f64(),
        files.len()
    );
    Guest { files, console }
}

/// A file's content, with the guest's trailing newline handling: lines as
/// printed (a file without a final newline reads as if it had one).
fn lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.is_empty()).collect()
}

#[test]
fn ground_truth_matches_the_guests_strace() {
    let g = guest();
    assert_eq!(
        g.code("gt-strace"),
        Some(0),
        "{}",
        g.file("gt-strace/stderr")
    );
    let r = g.run("gt");
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout, g.file("gt-strace/stdout"), "same program output");
    crate::ground_truth::compare(g.file("gt-strace/strace"), &r.events);
    crate::ground_truth::check_tree(&r.events);
}

#[test]
fn ground_truth_from_registers() {
    let g = guest();
    let r = g.run("gt-regs");
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    crate::ground_truth::compare(g.file("gt-strace/strace"), &r.events);
    crate::ground_truth::check_tree(&r.events);
}

#[test]
fn events_have_the_schema_and_the_aarch64_abi() {
    let r = guest().run("gt");
    let last = r.events.last().expect("events");
    assert_eq!(last["type"], "stats");
    assert_eq!(last["args"]["final"], true);
    let mut seen = 0;
    for e in &r.events {
        assert!(e["ts"].is_string() && e["seq"].is_u64(), "{e}");
        if e["type"] == "syscall" {
            seen += 1;
            assert_eq!(s(&e["abi"]), "aarch64", "{e}");
            for k in ["pid", "tid", "ppid", "uid", "gid", "euid", "egid"] {
                assert!(e[k].is_i64(), "{k} in {e}");
            }
            assert!(e["comm"].is_string() && e["exe"].is_string(), "{e}");
            assert!(e["result_captured"].is_boolean(), "{e}");
        }
    }
    assert!(seen > 10, "{seen} syscall events");
    // the asm-generic table: no open/creat/rename, their *at forms instead
    for e in &r.events {
        assert!(
            !matches!(
                s(&e["syscall"]),
                "open" | "creat" | "rename" | "fork" | "vfork"
            ),
            "{e}"
        );
    }
}

#[test]
fn the_filter_uses_the_asm_generic_numbers() {
    let g = guest();
    let t = g.file("syscalls/stdout");
    let has = |name: &str, nr: u32| {
        t.lines()
            .any(|l| l.split('\t').take(2).eq([name, nr.to_string().as_str()]))
    };
    assert!(has("execve", 221), "{t}");
    assert!(has("openat", 56), "{t}");
    assert!(has("connect", 203), "{t}");
    assert!(has("renameat2", 276), "{t}");
    assert!(!t.lines().any(|l| l.starts_with("open\t")), "{t}");
}

#[test]
fn short_lived_processes_are_all_seen() {
    crate::process_tree::check_short_lived(&guest().run("short"), SHORT_LIVED);
}

#[test]
fn every_thread_is_followed() {
    crate::process_tree::check_threads(&guest().run("threads"), THREADS);
}

#[test]
fn exec_from_a_non_leader_thread() {
    crate::process_tree::check_thread_exec(&guest().run("thread-exec"));
}

#[test]
fn vfork_is_a_clone_and_its_child_is_followed() {
    // asm-generic has no vfork: glibc calls clone(CLONE_VM|CLONE_VFORK)
    crate::process_tree::check_vfork(&guest().run("vfork"), "clone");
}

#[test]
fn clone3_child_is_followed() {
    crate::process_tree::check_clone3(&guest().run("clone3"));
}

#[test]
fn exit_statuses_are_the_applications() {
    let g = guest();
    assert_eq!(g.code("exit42"), Some(42));
    let r = g.run("sigkill");
    assert_eq!(r.code, Some(137));
    let exits = of(&r.events, "exit");
    assert_eq!(s(&exits.last().unwrap()["args"]["signal"]), "SIGKILL");
    assert_eq!(g.code("sigsegv"), Some(128 + 11));
    let r = g.run("notfound");
    assert_eq!(r.code, Some(127));
    assert!(r.stderr.contains("command not found"), "{}", r.stderr);
}

#[test]
fn signals_are_forwarded_to_the_application() {
    let g = guest();
    for (sig, code) in [
        ("TERM", 71),
        ("HUP", 72),
        ("INT", 73),
        ("QUIT", 74),
        ("USR1", 75),
        ("USR2", 76),
    ] {
        assert_eq!(g.code(&format!("forward-{sig}")), Some(code), "SIG{sig}");
    }
}

#[test]
fn as_pid_1_orphans_are_reaped_and_the_status_kept() {
    let g = guest();
    let so = g.file("pid1/stdout");
    assert_eq!(g.code("pid1"), Some(9), "{so} {}", g.file("pid1/stderr"));
    assert!(so.starts_with("reaped"), "{so}");
    assert!(so.contains("parent 1"), "the tracer is PID 1: {so}");
}

#[test]
fn tracer_killed_takes_the_tree_with_it() {
    let g = guest();
    assert_eq!(
        lines(g.file("dead/before")).len(),
        3,
        "three processes alive before"
    );
    assert!(
        lines(g.file("dead/after")).is_empty(),
        "still alive after the tracer died: {}",
        g.file("dead/after")
    );
}

#[test]
fn without_ptrace_or_seccomp_it_fails_before_starting_the_app() {
    let g = guest();
    for (what, says) in [("ptrace", "cannot trace"), ("seccomp", "seccomp")] {
        let name = format!("no-{what}");
        assert_eq!(g.code(&name), Some(1), "{what}");
        let err = g.file(&format!("{name}/stderr"));
        assert!(err.contains(says), "{err}");
        assert!(
            !g.files.contains_key(&format!("{name}/started")),
            "the application must not have started"
        );
    }
}

#[test]
fn fail_open_runs_untraced_and_says_so() {
    let r = guest().run("fail-open");
    assert_eq!(r.code, Some(5));
    assert_eq!(r.stdout, "app-ran\n");
    assert!(r.stderr.contains("UNTRACED"), "{}", r.stderr);
    assert!(r
        .events
        .iter()
        .any(|e| e["type"] == "tracer" && e["args"]["traced"] == false));
    assert!(of(&r.events, "execve").is_empty());
}

#[test]
fn aarch32_syscalls_are_traced_with_their_own_numbers() {
    let g = guest();
    let r = g.run("arm32-trace");
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let opens = of(&r.events, "openat");
    assert_eq!(opens.len(), 1, "{:?}", r.events);
    let o = opens[0];
    assert_eq!(s(&o["abi"]), "arm");
    assert_eq!(s(&o["args"]["path"]), "/tmp/arm32-trace");
    assert_eq!(
        o["args"]["flags"],
        serde_json::json!(["O_WRONLY", "O_CREAT", "O_TRUNC"])
    );
    assert_eq!(s(&o["args"]["mode"]), "0644");
    assert!(i(&o["result"]) >= 0, "{o}");
    // the exec that started it was a 64-bit one
    let ex = of(&r.events, "execve");
    assert_eq!(s(&ex.last().unwrap()["abi"]), "aarch64");
    assert!(g.files.contains_key("arm32-trace/created"));
}

#[test]
fn aarch32_syscalls_are_denied_with_compat_deny() {
    let g = guest();
    let r = g.run("arm32-deny");
    // every AArch32 syscall fails with ENOSYS, exit too: the program reaches
    // its `udf` and dies of SIGILL
    assert_eq!(r.code, Some(128 + libc::SIGILL), "{}", r.stderr);
    assert!(of(&r.events, "openat").is_empty(), "{:?}", r.events);
    assert!(!g.files.contains_key("arm32-deny/created"));
    let exits = of(&r.events, "exit");
    assert_eq!(s(&exits.last().unwrap()["args"]["signal"]), "SIGILL");
}
