//! Fixture tests for `kiltx patch`: every directory under tests/fixtures/patch is a case.
//!
//! - `input.json` or `input.yaml`: the document patched;
//! - `args` (optional): extra arguments, one per line (files are relative to the case);
//! - `expected.json` / `expected.yaml`: the expected standard output, for cases that succeed;
//! - `expected.stderr`: the expected standard error, for cases named `err-*` (exit status 2,
//!   nothing on standard output).
//!
//! Successful cases are also patched again from their own output, which must come back byte for
//! byte (idempotence), and twice from the input (determinism).
//! `KILTX_BLESS=1 cargo test -p kiltx --test tests patch_fixtures::` rewrites the expected files.
//! Fixtures run `--offline`: image configurations come from the case's own files (registry
//! lookups are tested in registry.rs).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{case_args, case_dirs, check_cases, diff, input_name, read_expected};
use kiltx_testsupport::hermetic::command as hermetic;

fn kiltx(dir: &Path, args: &[String]) -> Output {
    hermetic(env!("CARGO_BIN_EXE_kiltx"))
        .current_dir(dir)
        .arg("patch")
        .arg("--offline")
        .args(args)
        .output()
        .expect("run kiltx")
}

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/patch");
    let dirs = case_dirs(&root);
    assert!(
        dirs.len() >= 20,
        "expected the fixture cases under {}",
        root.display()
    );
    dirs
}

fn check_case(dir: &Path, bless: bool) -> Result<(), String> {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let input = input_name(dir);
    let mut args = case_args(dir);
    args.push(input.to_string());
    let out = kiltx(dir, &args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if name.starts_with("err-") {
        let expected = read_expected(dir, "expected.stderr", &stderr, bless)?;
        if out.status.code() != Some(2) {
            return Err(format!(
                "{name}: exit status {:?}, expected 2\n{stderr}",
                out.status.code()
            ));
        }
        if !stdout.is_empty() {
            return Err(format!("{name}: wrote to stdout on error:\n{stdout}"));
        }
        if stderr != expected {
            return Err(format!(
                "{name}: stderr differs\n{}",
                diff(&expected, &stderr)
            ));
        }
        if stderr.contains("panicked") {
            return Err(format!("{name}: panic\n{stderr}"));
        }
        return Ok(());
    }
    if !out.status.success() {
        return Err(format!(
            "{name}: exit status {:?}\n{stderr}",
            out.status.code()
        ));
    }
    let ext = if input.ends_with(".yaml") {
        "yaml"
    } else {
        "json"
    };
    let expected = read_expected(dir, &format!("expected.{ext}"), &stdout, bless)?;
    if stdout != expected {
        return Err(format!(
            "{name}: output differs\n{}",
            diff(&expected, &stdout)
        ));
    }
    // Determinism.
    let again = kiltx(dir, &args);
    if again.stdout != out.stdout {
        return Err(format!("{name}: a second run gave different output"));
    }
    // Idempotence: patch the output (next to the case's other files).
    let tmp = std::env::temp_dir().join(format!("kiltx-fixture-{}-{name}", std::process::id()));
    fs::create_dir_all(&tmp).unwrap();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        fs::copy(&p, tmp.join(p.file_name().unwrap())).unwrap();
    }
    fs::write(tmp.join(input), &stdout).unwrap();
    let twice = kiltx(&tmp, &args);
    let twice_out = String::from_utf8_lossy(&twice.stdout).into_owned();
    let _ = fs::remove_dir_all(&tmp);
    if !twice.status.success() {
        return Err(format!(
            "{name}: patching the output failed\n{}",
            String::from_utf8_lossy(&twice.stderr)
        ));
    }
    if twice_out != stdout {
        return Err(format!(
            "{name}: not idempotent\n{}",
            diff(&stdout, &twice_out)
        ));
    }
    Ok(())
}

#[test]
fn patch_fixtures() {
    check_cases(&cases(), "fixture", check_case);
}
