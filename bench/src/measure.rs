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

/// The child side of [`child_peak`]: if this process was started as `--child WHAT FILE`, do
/// `work(WHAT, FILE's text)` once (nothing for WHAT = `baseline`), print the peak RSS in KiB
/// and return true; otherwise return false.
pub fn serve_child(args: &[String], work: impl FnOnce(&str, &str) -> usize) -> bool {
    if args.get(1).map(String::as_str) != Some("--child") {
        return false;
    }
    let (what, file) = (&args[2], &args[3]);
    let text = std::fs::read_to_string(file).expect("read");
    let n = if what == "baseline" {
        0
    } else {
        work(what, &text)
    };
    std::hint::black_box(n);
    println!("{}", vm_hwm_kib());
    true
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

impl Inputs {
    /// Print the benchmark's heading (`kiltx BENCH benchmark: …` and the peak RSS of a child
    /// process doing no work); that baseline, in KiB.
    pub fn heading(&self, bench: &str) -> u64 {
        let baseline = child_peak("baseline", &self.json_path);
        println!(
            "kiltx {bench} benchmark: {} task definitions x 3 containers, median of {} runs",
            self.tasks, self.runs
        );
        println!(
            "process baseline peak RSS (no work): {:.1} MiB",
            baseline as f64 / 1024.0
        );
        baseline
    }
}

impl Drop for Inputs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
