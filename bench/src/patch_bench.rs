//! `patch-bench`: how fast `kiltx patch` is, next to the floor of a plain serde_json
//! parse + serialize of the same file, and how much memory it takes.
//!
//! Usage: `cargo run --release -p kiltx-bench --bin patch-bench [-- --tasks 200 --bytes 1000000 --runs 15]`
//!
//! Prints, for the JSON and the YAML form of a generated ~1 MB template with 200 Fargate task
//! definitions (3 containers each, mixed intrinsics): the median time to patch (parse, patch,
//! emit — what the CLI does between reading and writing), the median time of the floor, their
//! ratio, and the peak RSS of a process doing each, as a multiple of the file size. Peak RSS is
//! measured in a fresh child process (this binary re-run with `--child`) from /proc's VmHWM.

use kilt_defs::definition::Definition;
use kilt_defs::document::patch_document;
use kilt_defs::image::ImageConfigs;
use kilt_defs::patch::Options;
use kiltx_bench::measure::{child_peak, median, serve_child, Inputs};
use serde_json::Value;

/// What `kiltx patch` does between reading the file and writing the result.
fn patch_text(text: &str) -> String {
    patch_document(
        text,
        None,
        &Definition::builtin(),
        &Options::default(),
        &ImageConfigs::new(),
    )
    .expect("patch")
    .text
}

fn json_floor(text: &str) -> String {
    let v: Value = serde_json::from_str(text).expect("json");
    serde_json::to_string_pretty(&v).expect("serialize")
}

fn yaml_floor(text: &str) -> String {
    let v: serde_yaml::Value = serde_yaml::from_str(text).expect("yaml");
    serde_yaml::to_string(&v).expect("serialize")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let child = |what: &str, text: &str| match what {
        "patch" => patch_text(text).len(),
        "json-floor" => json_floor(text).len(),
        "yaml-floor" => yaml_floor(text).len(),
        other => panic!("unknown child mode {other}"),
    };
    if serve_child(&args, child) {
        return;
    }
    let inputs = Inputs::from_args("kiltx-patch-bench", &args);
    let runs = inputs.runs;
    let baseline = inputs.heading("patch");
    println!(
        "{:<6} {:>10} {:>12} {:>19} {:>8} {:>12} {:>10} {:>14} {:>12}",
        "format",
        "size",
        "patch",
        "floor",
        "ratio",
        "patch RSS",
        "RSS/size",
        "(above base)",
        "floor RSS"
    );
    let json_floor_t = median(runs, || json_floor(&inputs.json).len());
    for (name, text, path, floor_mode) in [
        ("json", &inputs.json, &inputs.json_path, "json-floor"),
        ("yaml", &inputs.yaml, &inputs.yaml_path, "yaml-floor"),
    ] {
        let patch_t = median(runs, || patch_text(text).len());
        let floor_t = if name == "json" {
            json_floor_t
        } else {
            median(runs, || yaml_floor(text).len())
        };
        let patch_rss = child_peak("patch", path);
        let floor_rss = child_peak(floor_mode, path);
        let size = text.len() as f64;
        println!(
            "{:<6} {:>8.0}KB {:>10.2}ms {:>10.2}ms {}  {:>6.2}x {:>10.1}MiB {:>9.2}x {:>13.2}x {:>10.1}MiB",
            name,
            size / 1000.0,
            patch_t.as_secs_f64() * 1e3,
            floor_t.as_secs_f64() * 1e3,
            if name == "json" { "(json)" } else { "(yaml)" },
            patch_t.as_secs_f64() / floor_t.as_secs_f64(),
            patch_rss as f64 / 1024.0,
            patch_rss as f64 * 1024.0 / size,
            patch_rss.saturating_sub(baseline) as f64 * 1024.0 / size,
            floor_rss as f64 / 1024.0,
        );
        if name == "yaml" {
            println!(
                "yaml   patch vs the JSON floor of the same template: {:.2}x",
                patch_t.as_secs_f64() / json_floor_t.as_secs_f64()
            );
        }
    }
    println!("targets: patch <= 2x the JSON floor; peak RSS <= 5x the file size");
}
