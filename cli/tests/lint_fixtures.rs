//! Fixture tests for `kiltx lint`: every directory under tests/fixtures/lint is a case.
//!
//! - `input.json` or `input.yaml`: the document linted, with `args` (optional, one per line);
//! - `expected.txt`: standard output in the human format, then a line `exit: N`.
//!
//! Cases named `KXnnn-fail` must report rule KXnnn and `KXnnn-pass` must not; every rule has
//! both. The cases are written by `make_fixtures.py` (see there);
//! `KILTX_BLESS=1 cargo test -p kiltx --test tests lint_fixtures::` rewrites the expected files.

use std::path::{Path, PathBuf};

use crate::common::{case_args, case_dirs, check_cases, diff, input_name, kiltx_in, read_expected};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint")
}

fn cases() -> Vec<PathBuf> {
    case_dirs(&root())
}

fn check_case(dir: &Path, bless: bool) -> Result<(), String> {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let mut args = vec!["lint".to_string()];
    args.extend(case_args(dir));
    args.push(input_name(dir).to_string());
    let out = kiltx_in(dir, &args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let actual = format!("{stdout}exit: {}\n", out.status.code().unwrap_or(-1));
    let expected = read_expected(dir, "expected.txt", &actual, bless)?;
    if actual != expected {
        return Err(format!(
            "{name}: output differs\n{}\nstderr:\n{stderr}",
            diff(&expected, &actual)
        ));
    }
    if stderr.contains("panicked") {
        return Err(format!("{name}: panic\n{stderr}"));
    }
    if let Some((id, kind)) = name.split_once('-') {
        if id.starts_with("KX") {
            let tag = format!("[{id}]");
            match kind {
                "fail" if !stdout.contains(&tag) => {
                    return Err(format!("{name}: {id} not reported:\n{stdout}"))
                }
                "pass" if stdout.contains(&tag) => {
                    return Err(format!("{name}: {id} reported:\n{stdout}"))
                }
                _ => {}
            }
        }
    }
    Ok(())
}

#[test]
fn lint_fixtures() {
    check_cases(&cases(), "lint fixture", check_case);
}

#[test]
fn every_rule_has_a_failing_and_a_passing_fixture() {
    let out = kiltx_in(&root(), &["lint", "--list-rules"]);
    assert!(out.status.success());
    let list = String::from_utf8_lossy(&out.stdout).into_owned();
    let ids: Vec<&str> = list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(ids.len() >= 20, "{list}");
    for id in ids {
        for kind in ["fail", "pass"] {
            let d = root().join(format!("{id}-{kind}"));
            assert!(d.is_dir(), "no fixture {}", d.display());
        }
    }
}
