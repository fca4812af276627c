//! Replays every saved input under `fuzz/regressions/` through the fuzz targets' checks, each
//! within a time and memory bound (a timeout or an out-of-memory is a finding like a crash):
//! files directly in `fuzz/regressions/` are `parse_patch` inputs, files in
//! `fuzz/regressions/TARGET/` inputs of that target.
//! Run: `cargo test --manifest-path fuzz/Cargo.toml` (no fuzzing toolchain needed).

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Live heap bytes; allocations past [`HARD_CAP`] fail (the process aborts, the test fails)
/// instead of taking the machine's memory.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
const HARD_CAP: usize = 2 << 30;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        if live > HARD_CAP {
            LIVE.fetch_sub(layout.size(), Relaxed);
            return std::ptr::null_mut();
        }
        PEAK.fetch_max(live, Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// What one input may cost (an unoptimised test build): this long...
const TIME_LIMIT: Duration = Duration::from_secs(5);

/// ...and this much memory at its peak: a fixed allowance plus a multiple of its size.
fn memory_limit(len: usize) -> usize {
    (32 << 20) + 1024 * len
}

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("fuzz/regressions exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
        .collect();
    files.sort();
    files
}

fn replay(target: &str, check: fn(&[u8]), files: &[PathBuf]) -> Vec<String> {
    let mut failed = Vec::new();
    for f in files {
        let data = std::fs::read(f).expect("readable regression input");
        let name = format!(
            "{target}/{}",
            f.file_name().unwrap_or_default().to_string_lossy()
        );
        eprintln!("--- {name}");
        let base = LIVE.load(Relaxed);
        PEAK.store(base, Relaxed);
        let start = Instant::now();
        let ok = std::panic::catch_unwind(|| check(&data)).is_ok();
        let took = start.elapsed();
        let peak = PEAK.load(Relaxed).saturating_sub(base);
        eprintln!("    {took:?}, peak {peak} bytes");
        if !ok {
            failed.push(format!("{name}: failed its checks"));
        } else if took > TIME_LIMIT {
            failed.push(format!("{name}: took {took:?} (limit {TIME_LIMIT:?})"));
        } else if peak > memory_limit(data.len()) {
            failed.push(format!(
                "{name}: peaked at {peak} bytes (limit {})",
                memory_limit(data.len())
            ));
        }
    }
    failed
}

#[test]
fn regressions() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let mut failed = Vec::new();
    let mut count = 0;
    type Check = fn(&[u8]);
    let targets: [(&str, Check); 5] = [
        ("parse_patch", kilt_defs_fuzz::check),
        ("lint", kilt_defs_fuzz::lint::check),
        ("hocon", kilt_defs_fuzz::hocon::check),
        ("rules", kilt_defs_fuzz::rules::check),
        ("macro_request", kilt_defs_fuzz::macro_request::check),
    ];
    for (target, check) in targets {
        let sub = if target == "parse_patch" {
            dir.clone()
        } else {
            dir.join(target)
        };
        if !sub.is_dir() {
            continue;
        }
        let files = inputs(&sub);
        count += files.len();
        failed.extend(replay(target, check, &files));
        if target == "parse_patch" {
            // Every document input is also a lint input.
            failed.extend(replay("lint", kilt_defs_fuzz::lint::check, &files));
        }
    }
    println!("{count} regression inputs, {} failed", failed.len());
    assert!(
        failed.is_empty(),
        "failing regression inputs:\n{}",
        failed.join("\n")
    );
}

/// The `rules` target's checks hold for Falco's own rules file (its seed): it loads, and its
/// evaluation over the target's events is deterministic.
#[test]
fn the_rules_target_runs_falcos_rules() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/peer/falco/rules/falco_rules.yaml");
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    kilt_defs_fuzz::rules::check(&text);
    let summary = kilt_defs_fuzz::rules::summary(&text);
    assert!(summary.starts_with("loaded"), "{summary}");
}
