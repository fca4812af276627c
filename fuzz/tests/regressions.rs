//! Replays every saved input under `fuzz/regressions/` through the fuzz target's checks.
//! Run: `cargo test --manifest-path fuzz/Cargo.toml` (no fuzzing toolchain needed).

use std::path::Path;

#[test]
fn regressions() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fuzz/regressions exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
        .collect();
    files.sort();
    let mut failed = Vec::new();
    for f in &files {
        let data = std::fs::read(f).expect("readable regression input");
        eprintln!("--- {}", f.display());
        if std::panic::catch_unwind(|| kilt_defs_fuzz::check(&data)).is_err() {
            failed.push(
                f.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    println!("{} regression inputs, {} failed", files.len(), failed.len());
    assert!(failed.is_empty(), "failing regression inputs: {failed:?}");
}
