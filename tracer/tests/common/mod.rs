//! Helpers for the tracer's integration tests: compile the C test programs,
//! run the real `kiltx-tracer` binary, read its events.
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

pub use kiltx_testsupport::hermetic::command as hermetic;

pub fn tracer() -> &'static str {
    env!("CARGO_BIN_EXE_kiltx-tracer")
}

/// The tracer with a fixed environment, descriptors, stdin and working directory (`/`), so
/// that what it and the program it traces do does not depend on the shell that started the
/// tests (see `kiltx_testsupport::hermetic`).
pub fn tracer_cmd() -> Command {
    let mut c = hermetic(tracer());
    c.current_dir("/");
    c
}

static COMPILE: Mutex<()> = Mutex::new(());
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Compile tests/progs/NAME.c (once) and return the binary's path. A missing
/// gcc fails the test.
pub fn prog(name: &str) -> PathBuf {
    let _g = COMPILE.lock().unwrap_or_else(|p| p.into_inner());
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/progs")
        .join(format!("{name}.c"));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("progs");
    std::fs::create_dir_all(&dir).expect("create progs dir");
    let out = dir.join(name);
    let fresh = match (std::fs::metadata(&src), std::fs::metadata(&out)) {
        (Ok(s), Ok(o)) => o.modified().ok() >= s.modified().ok(),
        _ => false,
    };
    if !fresh {
        let tmp = dir.join(format!("{name}.tmp{}", std::process::id()));
        let st = hermetic("gcc")
            .args(["-O2", "-pthread", "-o"])
            .arg(&tmp)
            .arg(&src)
            .status()
            .expect("gcc is required to build the test programs (apt-get install gcc)");
        assert!(st.success(), "compiling {name}.c failed");
        std::fs::rename(&tmp, &out).expect("rename test program");
    }
    out
}

/// A fresh, empty directory under the target's tmp dir.
pub fn tempdir(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let d =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create temp dir");
    d
}

pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub events: Vec<Value>,
}

/// `kiltx-tracer run --output file:DIR/events.jsonl OPTS -- CMD...`
pub fn run(dir: &Path, opts: &[&str], cmd: &[&str]) -> Run {
    let evfile = dir.join("events.jsonl");
    let _ = std::fs::remove_file(&evfile);
    let out: Output = tracer_cmd()
        .arg("run")
        .arg("--output")
        .arg(format!("file:{}", evfile.display()))
        .args(opts)
        .arg("--")
        .args(cmd)
        .stdin(Stdio::null())
        .output()
        .expect("run kiltx-tracer");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        events: read_events(&evfile),
    }
}

/// `kiltx-tracer run --profile minimal OPTS -- /bin/sh -c SCRIPT`, not yet started.
pub fn minimal_sh(opts: &[&str], script: &str) -> Command {
    let mut c = tracer_cmd();
    c.args(["run", "--profile", "minimal"])
        .args(opts)
        .args(["--", "/bin/sh", "-c", script]);
    c
}

pub fn read_events(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

pub fn of<'a>(events: &'a [Value], syscall: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["syscall"].as_str() == Some(syscall))
        .collect()
}

pub fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

pub fn i(v: &Value) -> i64 {
    v.as_i64().unwrap_or(i64::MIN)
}

/// Send a signal to a process.
pub fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) takes plain integers and has no memory effects.
    unsafe { libc::kill(pid, sig) };
}

/// Make a descriptor non-blocking.
pub fn set_nonblocking(fd: i32) {
    // SAFETY: fcntl on a descriptor we own, integer arguments only.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
}

/// `kiltx-tracer collect --replay EVENTS --rules RULES --hostname task-1 OPTS`: every line it
/// writes but the last, and the last, which must be the final stats line.
pub fn collect_replay(rules: &Path, events: &Path, opts: &[&str]) -> (Vec<Value>, Value) {
    let out = tracer_cmd()
        .args(["collect", "--replay"])
        .arg(events)
        .arg("--rules")
        .arg(rules)
        .args(["--hostname", "task-1"])
        .args(opts)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .collect();
    let stats = lines.pop().expect("a final stats line");
    assert_eq!(stats["args"]["final"], true);
    (lines, stats)
}
