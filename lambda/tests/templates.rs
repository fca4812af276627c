//! templates/: the macro's installation stack passes cfn-lint and checkov (a skipped check only
//! with its reason next to it); the example application passes cfn-lint. The tools must be
//! installed (the test command installs them).

use std::path::{Path, PathBuf};

use kiltx_testsupport::hermetic;

fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates")
}

#[test]
fn templates_pass_cfn_lint() {
    let out = hermetic::tool("cfn-lint", "pip install 'cfn-lint>=1,<2'")
        .arg("--")
        .arg(templates().join("macro.yaml"))
        .arg(templates().join("example-app.yaml"))
        .output()
        .expect("cfn-lint must be installed (bash tests/run.sh installs it)");
    assert!(
        out.status.success(),
        "cfn-lint found problems:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn macro_template_passes_checkov() {
    let out = hermetic::tool("checkov", "pip install 'checkov>=3,<4'")
        .args([
            "--framework",
            "cloudformation",
            "--skip-download",
            "--compact",
            "-f",
        ])
        .arg(templates().join("macro.yaml"))
        .output()
        .expect("checkov must be installed (bash tests/run.sh installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "checkov failed:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Failed checks: 0"), "{stdout}");
    assert!(
        !stdout.contains("Passed checks: 0,"),
        "checkov checked nothing:\n{stdout}"
    );
}

#[test]
fn every_checkov_suppression_has_a_reason() {
    let text = std::fs::read_to_string(templates().join("macro.yaml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let mut skips = 0;
    for (_, r) in doc["Resources"].as_mapping().unwrap() {
        if let Some(list) = r["Metadata"]["checkov"]["skip"].as_sequence() {
            for s in list {
                skips += 1;
                let reason = s["comment"].as_str().unwrap_or("");
                assert!(
                    reason.len() > 30,
                    "checkov skip {:?} has no real reason",
                    s["id"]
                );
            }
        }
    }
    assert!(skips > 0);
}
