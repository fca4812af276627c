//! Time and memory that grow in proportion to the input (issue #18): the measurement behind
//! every growth test (kilt-defs' documents, recipes and lint; kiltx-rules' rules files).
//!
//! A family of inputs of one shape is made at sizes n, 2n, 4n, 8n and run through a real entry
//! point. What is measured:
//! - bytes allocated (a counting global allocator: deterministic, catches anything that builds
//!   more than the input, like keys whose text doubles at every level), and the peak of live
//!   bytes;
//! - the thread's CPU time (`/proc/thread-self/schedstat`, best of three: catches rescans,
//!   which allocate nothing).
//!
//! From n to 8n a linear cost grows ~8x; a quadratic one ~64x, an exponential one far more.
//! The bounds allow 8x times a slack (allocation: 1.5; CPU time, noisier: 3), over a floor that
//! keeps tiny measurements (inputs refused at once) from being compared as noise.
//!
//! A test binary that uses [`grows_linearly`] installs the allocator:
//!
//! ```ignore
//! //! static GLOBAL: kiltx_testsupport::growth::Counting = kiltx_testsupport::growth::Counting;
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

/// The counting allocator (install it as the test binary's `#[global_allocator]`).
pub struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size(), Relaxed);
        let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(live, Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        System.dealloc(ptr, layout)
    }
}

/// Bytes live now (allocated through [`Counting`] and not yet freed).
pub fn live_bytes() -> usize {
    LIVE.load(Relaxed)
}

/// Start a peak measurement: the peak becomes what is live now; returns that.
pub fn reset_peak() -> usize {
    let live = LIVE.load(Relaxed);
    PEAK.store(live, Relaxed);
    live
}

/// The most bytes live at once since [`reset_peak`].
pub fn peak_bytes() -> usize {
    PEAK.load(Relaxed)
}

/// The tests share the counters: one measurement at a time.
static ONE: Mutex<()> = Mutex::new(());

fn cpu_ns() -> u64 {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat")
        .expect("/proc/thread-self/schedstat (Linux) is readable");
    s.split_whitespace()
        .next()
        .and_then(|t| t.parse().ok())
        .expect("schedstat starts with the CPU time in ns")
}

#[derive(Debug, Clone, Copy)]
struct Cost {
    allocated: usize,
    peak: usize,
    cpu_ns: u64,
}

fn measure(run: &dyn Fn()) -> Cost {
    let mut best = u64::MAX;
    let mut cost = Cost {
        allocated: 0,
        peak: 0,
        cpu_ns: 0,
    };
    for _ in 0..3 {
        let base_live = LIVE.load(Relaxed);
        PEAK.store(base_live, Relaxed);
        let a0 = ALLOCATED.load(Relaxed);
        let t0 = cpu_ns();
        run();
        let t = cpu_ns() - t0;
        cost.allocated = ALLOCATED.load(Relaxed) - a0;
        cost.peak = PEAK.load(Relaxed) - base_live;
        best = best.min(t);
    }
    cost.cpu_ns = best;
    cost
}

/// Run `make(n)` through `run` at n, 2n, 4n, 8n and check the growth; panics, with every
/// measurement, when allocation, peak memory or CPU time grow faster than the input.
pub fn grows_linearly(name: &str, n: usize, make: &dyn Fn(usize) -> String, run: &dyn Fn(&str)) {
    let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
    let sizes = [n, 2 * n, 4 * n, 8 * n];
    let inputs: Vec<String> = sizes.iter().map(|&k| make(k)).collect();
    run(&inputs[0]); // warm up (lazy statics)
    let before = ALLOCATED.load(Relaxed);
    drop(std::hint::black_box(vec![0u8; 64]));
    assert!(
        ALLOCATED.load(Relaxed) > before,
        "grows_linearly needs kiltx_testsupport::growth::Counting as the #[global_allocator]"
    );
    let costs: Vec<Cost> = inputs.iter().map(|t| measure(&|| run(t))).collect();
    let report: Vec<String> = sizes
        .iter()
        .zip(&inputs)
        .zip(&costs)
        .map(|((k, t), c)| {
            format!(
                "n={k} ({} bytes): {} bytes allocated, peak {}, {:.2} ms",
                t.len(),
                c.allocated,
                c.peak,
                c.cpu_ns as f64 / 1e6
            )
        })
        .collect();
    eprintln!("{name}:\n  {}", report.join("\n  "));
    let (first, last) = (costs[0], costs[3]);
    let input_growth = inputs[3].len() as f64 / inputs[0].len() as f64;
    let alloc_floor = 256 * 1024;
    let growth = |a: f64, b: f64, floor: f64| b.max(floor) / a.max(floor);
    let alloc = growth(
        first.allocated as f64,
        last.allocated as f64,
        alloc_floor as f64,
    );
    let peak = growth(first.peak as f64, last.peak as f64, alloc_floor as f64);
    let cpu = growth(first.cpu_ns as f64, last.cpu_ns as f64, 2e6);
    assert!(
        alloc <= input_growth * 1.5,
        "{name}: allocation grew {alloc:.1}x for {input_growth:.1}x the input\n  {}",
        report.join("\n  ")
    );
    assert!(
        peak <= input_growth * 1.5,
        "{name}: peak memory grew {peak:.1}x for {input_growth:.1}x the input\n  {}",
        report.join("\n  ")
    );
    assert!(
        cpu <= input_growth * 3.0,
        "{name}: CPU time grew {cpu:.1}x for {input_growth:.1}x the input\n  {}",
        report.join("\n  ")
    );
}
