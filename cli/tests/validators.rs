//! Outputs of `kiltx patch` through the real validators: cfn-lint for CloudFormation templates,
//! botocore's ParamValidator (RegisterTaskDefinition) for task definitions. Every fixture and
//! peer input is patched; an output may not have a problem its input did not have. The
//! validators must be installed (the test command installs them); missing ones fail the test.

use std::fs;
use std::path::{Path, PathBuf};

use kiltx_testsupport::hermetic::command as hermetic;
use serde_json::{json, Value};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct Case {
    input: PathBuf,
    args: Vec<String>,
    cwd: PathBuf,
}

fn kind_of(text: &str) -> &'static str {
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => return "cloudformation", // YAML inputs here are all templates
    };
    match &v {
        Value::Array(_) => "containers",
        Value::Object(m) if m.contains_key("Resources") => "cloudformation",
        Value::Object(m) if m.contains_key("taskDefinition") => "describe",
        _ => "taskdef",
    }
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let fixtures = repo().join("cli/tests/fixtures/patch");
    for d in crate::common::case_dirs(&fixtures) {
        let name = d.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("err-") {
            continue;
        }
        let input = d.join(crate::common::input_name(&d));
        let args = crate::common::case_args(&d);
        out.push(Case {
            input,
            args,
            cwd: d,
        });
    }
    let peer = repo().join("../shared/peer");
    let images = crate::common::write_peer_images(
        std::env::temp_dir().join(format!("kiltx-validate-images-{}.json", std::process::id())),
    );
    for group in [
        "patching",
        "respect_ignores",
        "sidecar_env",
        "task_pid_mode",
    ] {
        let dir = peer.join("agent-kilt/fixtures").join(group);
        for f in crate::common::sorted_paths(&dir) {
            let n = f.file_name().unwrap().to_string_lossy().into_owned();
            if n.ends_with(".patched.json") || n.starts_with("panic_") {
                continue;
            }
            let mut args = vec![
                "--image-config".to_string(),
                images.to_string_lossy().into_owned(),
                "--parameter".into(),
                "Parameter=busybox".into(),
            ];
            if n.starts_with("opt_in_") {
                args.push("--opt-in".into());
            }
            out.push(Case {
                input: f,
                args,
                cwd: dir.clone(),
            });
        }
    }
    let tf = peer.join("sysdig-terraform/testfiles");
    for f in crate::common::sorted_paths(&tf) {
        let n = f.file_name().unwrap().to_string_lossy().into_owned();
        if n.contains("expected") || n.contains("Instrumented") {
            continue;
        }
        out.push(Case {
            input: f,
            args: vec![],
            cwd: tf.clone(),
        });
    }
    out
}

#[test]
fn outputs_pass_cfn_lint_and_botocore() {
    let tmp = std::env::temp_dir().join(format!("kiltx-validate-{}", std::process::id()));
    fs::create_dir_all(&tmp).unwrap();
    let mut pairs = Vec::new();
    for (i, c) in cases().iter().enumerate() {
        let ext = c.input.extension().unwrap().to_string_lossy().into_owned();
        let output = tmp.join(format!("{i}.{ext}"));
        let st = hermetic(env!("CARGO_BIN_EXE_kiltx"))
            .current_dir(&c.cwd)
            .arg("patch")
            .arg("--quiet")
            .args(&c.args)
            .arg(&c.input)
            .arg("-o")
            .arg(&output)
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{}: {}",
            c.input.display(),
            String::from_utf8_lossy(&st.stderr)
        );
        let kind = kind_of(&fs::read_to_string(&c.input).unwrap());
        pairs.push(json!({"input": c.input, "output": output, "kind": kind}));
    }
    assert!(
        pairs.len() >= 45,
        "expected fixture and peer inputs, found {}",
        pairs.len()
    );
    let (status, report) = crate::common::validate(&pairs, &tmp.join("pairs.json"));
    let _ = fs::remove_dir_all(&tmp);
    assert!(status.success(), "validators found problems:\n{report}");
    assert!(
        report.contains("new problem(s)"),
        "unexpected validator output:\n{report}"
    );
    eprintln!("{report}");
}
