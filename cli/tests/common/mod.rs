//! Helpers shared by the tests. The fixture-driven ones: a fixture case is a directory holding
//! `input.json` or `input.yaml` and an optional `args` file (one argument a line). The peer
//! corpora (../shared/peer): other projects' fixtures.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Output};

use kiltx_testsupport::hermetic::command as hermetic;
use serde_json::{json, Value};

/// The entryPoint the built-in definition gives a wrapped container (its argv follows).
pub const LAUNCHER: [&str; 5] = [
    "/kiltx/bin/kiltx-tracer",
    "run",
    "--output",
    "unix:/kiltx/run/events.sock",
    "--",
];

/// Run `kiltx ARGS` in `dir`, offline: these tests use --image-config and no registry.
pub fn kiltx_in(dir: &Path, args: &[impl AsRef<OsStr>]) -> Output {
    hermetic(env!("CARGO_BIN_EXE_kiltx"))
        .env("KILTX_OFFLINE", "1")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run kiltx")
}

/// The paths in `dir`, sorted.
pub fn sorted_paths(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
}

/// The case directories under `root`, sorted.
pub fn case_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(root)
        .unwrap_or_else(|e| panic!("fixtures directory {}: {e}", root.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// The case's input file name.
pub fn input_name(dir: &Path) -> &'static str {
    if dir.join("input.yaml").exists() {
        "input.yaml"
    } else {
        "input.json"
    }
}

/// The case's extra arguments (none without an `args` file).
pub fn case_args(dir: &Path) -> Vec<String> {
    fs::read_to_string(dir.join("args"))
        .map(|s| {
            s.lines()
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// The expected contents of `file` in the case directory `dir`; with `bless`, `actual` is
/// written there first.
pub fn read_expected(dir: &Path, file: &str, actual: &str, bless: bool) -> Result<String, String> {
    let path = dir.join(file);
    if bless {
        fs::write(&path, actual).unwrap();
    }
    fs::read_to_string(&path).map_err(|_| {
        let name = dir.file_name().unwrap().to_string_lossy();
        format!("{name}: no {file}")
    })
}

/// Check every case (`KILTX_BLESS` set: rewriting the expected files) and fail with all the
/// failures at once, as "N {what} case(s) failed".
pub fn check_cases(
    cases: &[PathBuf],
    what: &str,
    check: impl Fn(&Path, bool) -> Result<(), String>,
) {
    let bless = std::env::var_os("KILTX_BLESS").is_some();
    let failures: Vec<String> = cases.iter().filter_map(|d| check(d, bless).err()).collect();
    assert!(
        failures.is_empty(),
        "{} {what} case(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// A readable unified diff, for failure messages.
pub fn diff(expected: &str, actual: &str) -> String {
    similar::TextDiff::from_lines(expected, actual)
        .unified_diff()
        .header("expected", "actual")
        .to_string()
}

/// The peer corpora (../shared/peer; see its README).
pub fn peer() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/peer");
    assert!(p.is_dir(), "the peer corpus is missing at {}", p.display());
    p
}

/// agent-kilt's fixture inputs (its `*.patched.json` outputs left out), sorted.
pub fn agent_kilt_inputs() -> Vec<PathBuf> {
    let mut inputs: Vec<PathBuf> = Vec::new();
    for group in fs::read_dir(peer().join("agent-kilt/fixtures")).unwrap() {
        for f in fs::read_dir(group.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            if n.ends_with(".json") && !n.ends_with(".patched.json") {
                inputs.push(p);
            }
        }
    }
    inputs.sort();
    assert_eq!(inputs.len(), 32, "the peer README promises 32 inputs");
    inputs
}

/// The image configurations the peer README gives (nginx), and busybox's real one.
pub fn peer_images() -> Value {
    json!({
        "nginx": {"entrypoint": ["/docker-entrypoint.sh"], "cmd": ["nginx", "-g", "daemon off;"]},
        "busybox": {"entrypoint": null, "cmd": ["sh"]}
    })
}

/// Write `peer_images()` to `path`, for --image-config; returns `path`.
pub fn write_peer_images(path: PathBuf) -> PathBuf {
    fs::write(&path, peer_images().to_string()).unwrap();
    path
}

/// Run the real validators (tests/validate.py: cfn-lint, botocore) over `pairs` of inputs and
/// outputs, written to `pairs_file`: their exit status and report (standard output, then error).
pub fn validate(pairs: &[Value], pairs_file: &Path) -> (ExitStatus, String) {
    fs::write(pairs_file, serde_json::to_string(pairs).unwrap()).unwrap();
    let run = kiltx_testsupport::hermetic::tool("python3", "apt-get install python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/validate.py"))
        .arg(pairs_file)
        .output()
        .expect("python3 must be installed");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    (run.status, report)
}
