//! `lint-bench`: how fast and how lean `kiltx lint` is, next to `kiltx patch --check` on the
//! same file (the baseline, measured in the same run).
//!
//! Usage: `cargo run --release -p kiltx-bench --bin lint-bench [-- --tasks 200 --bytes 1000000 --runs 15]`
//!
//! For the JSON and the YAML form of the generated ~1 MB template (200 Fargate task
//! definitions, 3 containers each, mixed intrinsics; none instrumented, so every container is a
//! finding), prints the median time of what each command does between reading the file and
//! printing (lint: parse, lint, render the findings; patch --check: parse, patch, emit,
//! compare), their ratio, and the peak RSS of a fresh process doing each once (VmHWM, as in
//! patch-bench). Target: lint <= 1.5x patch --check.

use std::collections::BTreeSet;

use kilt_defs::definition::Definition;
use kilt_defs::image::ImageConfigs;
use kilt_defs::lint::Finding;
use kilt_defs::patch::Options;
use kiltx_bench::measure::{child_peak, median, serve_child, Inputs};

/// Parse and lint with the built-in definition, nothing suppressed.
fn findings(text: &str) -> Vec<Finding> {
    let doc = kilt_defs::parse_document(text).expect("parse");
    kilt_defs::lint::lint(
        &doc,
        None,
        &Definition::builtin(),
        &Options::default(),
        &ImageConfigs::new(),
        &BTreeSet::new(),
    )
    .expect("lint")
}

/// What `kiltx lint FILE` does between reading the file and printing: the number of findings
/// and the length of the human-format output.
fn lint_text(text: &str) -> usize {
    let findings = findings(text);
    let mut out = String::new();
    for f in &findings {
        out.push_str(&format!(
            "t.json:{}:{}: {}[{}] {}: {}\n",
            f.line,
            f.column,
            f.rule.severity.as_str(),
            f.rule.id,
            kilt_defs::source::render_path(&f.path),
            f.message
        ));
    }
    findings.len() + out.len()
}

/// What `kiltx patch --check FILE` does (cli/src/patch_cmd.rs): patch the document, compare.
fn patch_check_text(text: &str) -> usize {
    let out = kilt_defs::document::patch_document(
        text,
        None,
        &Definition::builtin(),
        &Options::default(),
        &ImageConfigs::new(),
    )
    .expect("patch");
    usize::from(out.text != text)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let child = |what: &str, text: &str| match what {
        "lint" => lint_text(text),
        "patch-check" => patch_check_text(text),
        other => panic!("unknown child mode {other}"),
    };
    if serve_child(&args, child) {
        return;
    }
    let inputs = Inputs::from_args("kiltx-lint-bench", &args);
    let runs = inputs.runs;
    inputs.heading("lint");
    println!(
        "{:<6} {:>9} {:>11} {:>15} {:>7} {:>10} {:>16} {:>9}",
        "format",
        "size",
        "lint",
        "patch --check",
        "ratio",
        "lint RSS",
        "patch --check RSS",
        "findings"
    );
    for (name, text, path) in [
        ("json", &inputs.json, &inputs.json_path),
        ("yaml", &inputs.yaml, &inputs.yaml_path),
    ] {
        let findings = findings(text).len();
        let lint_t = median(runs, || lint_text(text));
        let check_t = median(runs, || patch_check_text(text));
        let lint_rss = child_peak("lint", path);
        let check_rss = child_peak("patch-check", path);
        println!(
            "{:<6} {:>7.0}KB {:>9.2}ms {:>13.2}ms {:>6.2}x {:>8.1}MiB {:>14.1}MiB {:>9}",
            name,
            text.len() as f64 / 1000.0,
            lint_t.as_secs_f64() * 1e3,
            check_t.as_secs_f64() * 1e3,
            lint_t.as_secs_f64() / check_t.as_secs_f64(),
            lint_rss as f64 / 1024.0,
            check_rss as f64 / 1024.0,
            findings,
        );
    }
    println!("target: lint <= 1.5x patch --check");
}
