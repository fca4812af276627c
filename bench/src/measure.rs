//! Measuring helpers shared by the benchmarks.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The median wall time of `runs` calls of `f` (its result is kept from being optimised away).
pub fn median(runs: usize, f: impl Fn() -> usize) -> Duration {
    let mut times: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// This process's peak resident set size so far, in KiB (VmHWM).
pub fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// Peak RSS (KiB) of a fresh process: this benchmark re-run as `--child WHAT FILE`, which does
/// the work once and prints its [`vm_hwm_kib`].
pub fn child_peak(what: &str, file: &Path) -> u64 {
    let out = Command::new(std::env::current_exe().expect("exe"))
        .args(["--child", what])
        .arg(file)
        .output()
        .expect("child");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

/// The generated template both as JSON and as YAML, in files of a temporary directory (removed on
/// drop), sized by the command line: `--tasks N` (200), `--bytes N` (1,000,000), `--runs N` (15).
pub struct Inputs {
    pub tasks: usize,
    pub runs: usize,
    pub json: String,
    pub yaml: String,
    pub json_path: PathBuf,
    pub yaml_path: PathBuf,
    dir: PathBuf,
}

impl Inputs {
    /// `name` names the temporary directory.
    pub fn from_args(name: &str, args: &[String]) -> Inputs {
        let flag = |flag: &str, default: usize| {
            args.iter()
                .position(|a| a == flag)
                .and_then(|i| args.get(i + 1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        let tasks = flag("--tasks", 200);
        let bytes = flag("--bytes", 1_000_000);
        let runs = flag("--runs", 15);
        let template = crate::cloudformation_template(tasks, bytes);
        let json = serde_json::to_string_pretty(&template).expect("json");
        let yaml = crate::to_yaml_short_form(&template);
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp");
        let json_path = dir.join("template.json");
        let yaml_path = dir.join("template.yaml");
        std::fs::write(&json_path, &json).expect("write");
        std::fs::write(&yaml_path, &yaml).expect("write");
        Inputs {
            tasks,
            runs,
            json,
            yaml,
            json_path,
            yaml_path,
            dir,
        }
    }
}

impl Drop for Inputs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
