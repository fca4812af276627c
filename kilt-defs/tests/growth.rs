//! Time and memory grow in proportion to the input, for every layer (issue #18).
//!
//! Each family below makes inputs of one shape at sizes n, 2n, 4n, 8n and runs them through the
//! real entry points (document patching, lint, the Kilt recipe reader). What is measured:
//! - bytes allocated (a counting global allocator: deterministic, catches anything that builds
//!   more than the input, like keys whose text doubles at every level), and the peak of live
//!   bytes;
//! - the thread's CPU time (`/proc/thread-self/schedstat`, best of three: catches rescans,
//!   which allocate nothing).
//!
//! From n to 8n a linear cost grows ~8x; a quadratic one ~64x, an exponential one far more.
//! The bounds allow 8x times a slack (allocation: 1.5; CPU time, noisier: 3), over a floor that
//! keeps tiny measurements (inputs refused at once) from being compared as noise.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

use kilt_defs::definition::Definition;
use kilt_defs::image::ImageConfigs;
use kilt_defs::kilt::{KiltRecipe, Knobs};
use kilt_defs::patch::Options;

struct Counting;

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

#[global_allocator]
static GLOBAL: Counting = Counting;

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

/// Run `make(n)` through `run` at n, 2n, 4n, 8n and check the growth.
fn grows_linearly(name: &str, n: usize, make: &dyn Fn(usize) -> String, run: &dyn Fn(&str)) {
    let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
    let sizes = [n, 2 * n, 4 * n, 8 * n];
    let inputs: Vec<String> = sizes.iter().map(|&k| make(k)).collect();
    run(&inputs[0]); // warm up (lazy statics)
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

fn patch(text: &str) {
    let def = Definition::builtin();
    let _ = kilt_defs::document::patch_document(
        text,
        None,
        &def,
        &Options::default(),
        &ImageConfigs::new(),
    );
}

fn lint(text: &str) {
    let def = Definition::builtin();
    if let Ok(doc) = kilt_defs::parse_document(text) {
        let _ = kilt_defs::lint::lint(
            &doc,
            None,
            &def,
            &Options::default(),
            &ImageConfigs::new(),
            &Default::default(),
        );
    }
}

fn recipe(text: &str) {
    if let Ok(r) = KiltRecipe::parse(text, "growth.kilt.cfg", None) {
        let _ = r.definition(&Knobs::default());
    }
}

const TASK: &str = "{Type: AWS::ECS::TaskDefinition, Properties: {RequiresCompatibilities: [FARGATE], ContainerDefinitions: [{Name: app, Image: busybox, EntryPoint: [sh]}]}}";

#[test]
fn yaml_nested_flow_mappings_as_keys() {
    // The input: `: {{{...}}}`. Its key text doubled at every level.
    grows_linearly(
        "yaml {{{..}}}: keys",
        6,
        &|n| format!(": {}{}\n", "{".repeat(n), "}".repeat(n)),
        &patch,
    );
    grows_linearly(
        "yaml [[..]]: keys",
        6,
        &|n| format!("? {}{}\n: x\n", "[".repeat(n), "]".repeat(n)),
        &patch,
    );
}

#[test]
fn yaml_deep_nesting() {
    for (open, close) in [("[", "]"), ("{a: ", "}"), ("!Sub ", ""), ("- ", "")] {
        grows_linearly(
            &format!("yaml nesting {open:?}"),
            16,
            &|n| format!("x: {}1{}\n", open.repeat(n), close.repeat(n)),
            &patch,
        );
    }
    grows_linearly(
        "yaml nesting past the limit",
        200,
        &|n| format!("x: {}{}\n", "[".repeat(n), "]".repeat(n)),
        &patch,
    );
}

#[test]
fn yaml_wide_one_line_mapping_patched() {
    grows_linearly(
        "yaml one-line flow mapping, patched",
        500,
        &|n| {
            let extra: String = (0..n).map(|i| format!(", k{i}: v{i}")).collect();
            format!("{{Resources: {{T: {{Type: AWS::ECS::TaskDefinition, Properties: {{RequiresCompatibilities: [FARGATE], ContainerDefinitions: [{{Name: app, Image: busybox, EntryPoint: [sh]}}]{extra}}}}}}}}}\n")
        },
        &patch,
    );
}

#[test]
fn yaml_many_resources_patched() {
    grows_linearly(
        "yaml many resources, one task definition",
        500,
        &|n| {
            let mut s = String::from("Resources:\n");
            for i in 0..n {
                s.push_str(&format!("  B{i}:\n    Type: AWS::S3::Bucket # é\n"));
            }
            s.push_str(&format!("  T: {TASK}\n"));
            s
        },
        &patch,
    );
}

#[test]
fn many_errors_are_located_in_linear_time() {
    // Every task definition fails (no entry point, image unknown offline); each error is
    // located. One line (minified JSON) and many lines (YAML).
    grows_linearly(
        "json one line, an error per task definition",
        200,
        &|n| {
            let res: Vec<String> = (0..n)
                .map(|i| format!("\"T{i}\":{{\"Type\":\"AWS::ECS::TaskDefinition\",\"Properties\":{{\"ContainerDefinitions\":[{{\"Name\":\"a\",\"Image\":\"unknown{i}\"}}]}}}}"))
                .collect();
            format!("{{\"Resources\":{{{}}}}}", res.join(","))
        },
        &patch,
    );
    grows_linearly(
        "yaml, an error per task definition",
        200,
        &|n| {
            let mut s = String::from("Resources:\n");
            for i in 0..n {
                s.push_str(&format!("  T{i}: {{Type: AWS::ECS::TaskDefinition, Properties: {{ContainerDefinitions: [{{Name: a, Image: unknown{i}}}]}}}}\n"));
            }
            s
        },
        &patch,
    );
}

#[test]
fn lint_findings_are_located_in_linear_time() {
    grows_linearly(
        "lint, json one line, findings per container",
        200,
        &|n| {
            let cs: Vec<String> = (0..n)
                .map(|i| format!("{{\"name\":\"c{i}\",\"image\":\"img{i}\",\"privileged\":true,\"environment\":[{{\"name\":\"PASSWORD\",\"value\":\"hunter2{i}\"}}]}}"))
                .collect();
            format!(
                "{{\"family\":\"f\",\"containerDefinitions\":[{}]}}",
                cs.join(",")
            )
        },
        &lint,
    );
}

#[test]
fn long_keys_and_values() {
    grows_linearly(
        "yaml long key",
        20_000,
        &|n| format!("Resources:\n  {}: {TASK}\n", "k".repeat(n)),
        &patch,
    );
    grows_linearly(
        "json long key",
        20_000,
        &|n| format!("{{\"Resources\":{{\"{}\":{{}}}}}}", "k".repeat(n)),
        &patch,
    );
}

#[test]
fn json_deep_nesting() {
    grows_linearly(
        "json nesting",
        16,
        &|n| format!("{{\"Resources\":{}1{}}}", "[".repeat(n), "]".repeat(n)),
        &patch,
    );
}

#[test]
fn kilt_recipes() {
    grows_linearly(
        "recipe, many fields",
        500,
        &|n| {
            let mut s = String::from("build {\n  entry_point: [\"/kilt/run\"]\n  command: []\n");
            for i in 0..n {
                s.push_str(&format!("  environment.K{i}: \"v{i}\"\n"));
            }
            s.push_str("}\n");
            s
        },
        &recipe,
    );
    grows_linearly(
        "recipe, substitutions that double",
        4,
        &|n| {
            let mut s = String::from("a0: \"xxxxxxxxxxxxxxxx\"\n");
            for i in 1..=n {
                s.push_str(&format!("a{i}: ${{a{}}}${{a{}}}\n", i - 1, i - 1));
            }
            s.push_str(&format!("build.environment.X: ${{a{n}}}\n"));
            s
        },
        &recipe,
    );
    grows_linearly(
        "recipe, deep nesting",
        8,
        &|n| {
            format!("build {}{}\n", "{ a ".repeat(n), "}".repeat(n + 1)).replacen(
                "build {",
                "build { x: 1, ",
                1,
            )
        },
        &recipe,
    );
}
