//! Measuring helpers shared by the benchmarks.

use std::path::Path;
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
