//! The peer corpora (../shared/peer): other projects' fixtures, patched by the real binary with
//! the built-in definition, and the result checked against invariants computed here,
//! independently of the engine.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{agent_kilt_inputs, peer, peer_images, write_peer_images, LAUNCHER};
use kiltx_testsupport::hermetic::command as hermetic;
use serde_json::{json, Value};

const SIDECAR: &str = "kiltx-tracer";

fn kiltx(args: &[&str]) -> Output {
    hermetic(env!("CARGO_BIN_EXE_kiltx"))
        .arg("patch")
        .args(args)
        .output()
        .expect("run kiltx")
}

fn image_config_file() -> PathBuf {
    write_peer_images(
        std::env::temp_dir().join(format!("kiltx-peer-images-{}.json", std::process::id())),
    )
}

/// Case-insensitive field access (the corpora mix `Name` and `name`).
fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn name_of(c: &Value) -> String {
    field(c, "name")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string()
}

fn list(c: &Value, name: &str) -> Vec<Value> {
    field(c, name)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The original argv by Docker's rules, computed here independently of the engine.
fn original_argv(c: &Value) -> Vec<Value> {
    let ep = list(c, "entryPoint");
    let cmd = list(c, "command");
    if !ep.is_empty() {
        return [ep, cmd].concat();
    }
    // The templates' `{"Ref": "Parameter"}` images are given `busybox` with --parameter.
    let image = match field(c, "image") {
        Some(Value::String(s)) => s.as_str(),
        Some(v) if v == &json!({"Ref": "Parameter"}) => "busybox",
        _ => "",
    };
    let short = image
        .trim_start_matches("docker.io/library/")
        .trim_end_matches(":latest");
    let cfg = peer_images()[short].clone();
    let img_ep: Vec<Value> = cfg["entrypoint"].as_array().cloned().unwrap_or_default();
    let img_cmd: Vec<Value> = cfg["cmd"].as_array().cloned().unwrap_or_default();
    [img_ep, if cmd.is_empty() { img_cmd } else { cmd }].concat()
}

fn is_wrapped(c: &Value) -> bool {
    list(c, "entryPoint") == LAUNCHER.iter().map(|s| json!(s)).collect::<Vec<_>>()
}

/// Check one patched container against its original.
fn check_wrapped(before: &Value, after: &Value, ctx: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let name = name_of(before);
    if !is_wrapped(after) {
        errs.push(format!("{ctx}: container {name} is not wrapped"));
        return errs;
    }
    if list(after, "command") != original_argv(before) {
        errs.push(format!(
            "{ctx}: container {name}: command {:?} is not the original argv {:?}",
            list(after, "command"),
            original_argv(before)
        ));
    }
    let caps = field(after, "linuxParameters")
        .and_then(|l| field(l, "capabilities"))
        .map(|c| list(c, "add"))
        .unwrap_or_default();
    if caps
        .iter()
        .filter(|c| c.as_str() == Some("SYS_PTRACE"))
        .count()
        != 1
    {
        errs.push(format!(
            "{ctx}: container {name}: SYS_PTRACE not added exactly once: {caps:?}"
        ));
    }
    let before_caps = field(before, "linuxParameters")
        .and_then(|l| field(l, "capabilities"))
        .map(|c| list(c, "add"))
        .unwrap_or_default();
    for c in &before_caps {
        if !caps.contains(c) {
            errs.push(format!("{ctx}: container {name}: capability {c} was lost"));
        }
    }
    let vf = list(after, "volumesFrom");
    let ours = vf.iter().filter(|v| {
        field(v, "sourceContainer").and_then(Value::as_str) == Some(SIDECAR)
            && field(v, "readOnly") == Some(&json!(true))
    });
    if ours.count() != 1 {
        errs.push(format!(
            "{ctx}: container {name}: volumesFrom the sidecar not added exactly once: {vf:?}"
        ));
    }
    for v in list(before, "volumesFrom") {
        if !vf.contains(&v) {
            errs.push(format!(
                "{ctx}: container {name}: volumesFrom entry {v} was lost"
            ));
        }
    }
    let env = list(after, "environment");
    for e in list(before, "environment") {
        if !env.contains(&e) {
            errs.push(format!(
                "{ctx}: container {name}: environment entry {e} was lost or changed"
            ));
        }
    }
    let names: Vec<&str> = env
        .iter()
        .filter_map(|e| field(e, "name").and_then(Value::as_str))
        .collect();
    if !names.contains(&"KILTX_CONTAINER_NAME") {
        errs.push(format!("{ctx}: container {name}: no KILTX_CONTAINER_NAME"));
    }
    // Everything else about the container is untouched.
    let touched = [
        "entryPoint",
        "command",
        "linuxParameters",
        "volumesFrom",
        "environment",
        "dependsOn",
    ];
    for (k, v) in before.as_object().unwrap() {
        if touched.iter().any(|t| t.eq_ignore_ascii_case(k)) {
            continue;
        }
        if after.get(k) != Some(v) {
            errs.push(format!("{ctx}: container {name}: field {k} changed"));
        }
    }
    errs
}

/// Check a patched container list: `expect_wrapped` is the set of names that must be wrapped.
fn check_containers(
    before: &[Value],
    after: &[Value],
    expect_wrapped: &[String],
    ctx: &str,
) -> Vec<String> {
    let mut errs = Vec::new();
    let sidecars = after.iter().filter(|c| name_of(c) == SIDECAR).count();
    let want_sidecars = usize::from(!expect_wrapped.is_empty());
    if sidecars != want_sidecars {
        errs.push(format!(
            "{ctx}: {sidecars} sidecars, expected {want_sidecars}"
        ));
    }
    let app_after: Vec<&Value> = after.iter().filter(|c| name_of(c) != SIDECAR).collect();
    if app_after.len() != before.len() {
        errs.push(format!(
            "{ctx}: {} containers became {}",
            before.len(),
            app_after.len()
        ));
        return errs;
    }
    for (b, a) in before.iter().zip(app_after) {
        if name_of(b) != name_of(a) {
            errs.push(format!("{ctx}: container order changed"));
        } else if expect_wrapped.contains(&name_of(b)) {
            errs.extend(check_wrapped(b, a, ctx));
        } else if b != a {
            errs.push(format!(
                "{ctx}: container {} should be untouched",
                name_of(b)
            ));
        }
    }
    errs
}

fn idempotent(path: &Path, out: &[u8], args: &[&str]) -> Option<String> {
    let tmp = std::env::temp_dir().join(format!(
        "kiltx-peer-{}-{}",
        std::process::id(),
        path.file_name().unwrap().to_string_lossy()
    ));
    fs::write(&tmp, out).unwrap();
    let mut a: Vec<&str> = args.to_vec();
    let t = tmp.to_string_lossy().into_owned();
    a.push(&t);
    let again = kiltx(&a);
    let _ = fs::remove_file(&tmp);
    (!again.status.success() || again.stdout != out)
        .then(|| format!("{}: patching the output again changed it", path.display()))
}

#[test]
fn agent_kilt_fixtures() {
    let images = image_config_file();
    let images_arg = images.to_string_lossy().into_owned();
    let inputs = agent_kilt_inputs();
    let mut errs = Vec::new();
    let mut patched = 0;
    for input in &inputs {
        let name = input.file_stem().unwrap().to_string_lossy().into_owned();
        let opt_in = name.starts_with("opt_in_") || name.starts_with("panic_");
        // Some templates take the image from an undeclared parameter (`Ref: Parameter`); kiltx
        // refuses to guess its ENTRYPOINT, so the test gives it a value, as a user would.
        let mut args = vec![
            "--image-config",
            images_arg.as_str(),
            "--parameter",
            "Parameter=busybox",
        ];
        if opt_in {
            args.push("--opt-in");
        }
        let input_s = input.to_string_lossy().into_owned();
        let mut run_args = args.clone();
        run_args.push(&input_s);
        let out = kiltx(&run_args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if name.starts_with("panic_") {
            if out.status.code() != Some(2) || !out.stdout.is_empty() {
                errs.push(format!(
                    "{name}: expected a clean failure (exit 2, no output), got {:?}",
                    out.status.code()
                ));
            }
            if !stderr.contains("kiltx needs a literal string") || stderr.contains("panicked") {
                errs.push(format!("{name}: unclear error: {stderr}"));
            }
            continue;
        }
        if !out.status.success() {
            errs.push(format!("{name}: failed: {stderr}"));
            continue;
        }
        patched += 1;
        let before: Value = serde_json::from_str(&fs::read_to_string(input).unwrap()).unwrap();
        let after: Value = match serde_json::from_slice(&out.stdout) {
            Ok(v) => v,
            Err(e) => {
                errs.push(format!("{name}: output is not JSON: {e}"));
                continue;
            }
        };
        // Kilt's own output tells which containers it wrapped (the selection oracle); where
        // there is none, everything is selected.
        let kilt: Option<Value> = fs::read_to_string(input.with_extension("patched.json"))
            .ok()
            .map(|s| serde_json::from_str(&s).unwrap());
        for (id, res) in before["Resources"].as_object().unwrap() {
            let ctx = format!("{name}:{id}");
            let after_res = &after["Resources"][id];
            if res["Type"] != "AWS::ECS::TaskDefinition" {
                if res != after_res {
                    errs.push(format!(
                        "{ctx}: a resource that is not a task definition changed"
                    ));
                }
                continue;
            }
            let b = list(&res["Properties"], "containerDefinitions");
            let a = list(&after_res["Properties"], "containerDefinitions");
            let expect: Vec<String> = match &kilt {
                Some(k) => list(&k["Resources"][id]["Properties"], "containerDefinitions")
                    .iter()
                    .filter(|c| list(c, "entryPoint").first() == Some(&json!("/kilt/run")))
                    .map(name_of)
                    .collect(),
                None => b.iter().map(name_of).collect(),
            };
            errs.extend(check_containers(&b, &a, &expect, &ctx));
            // Task-level fields other than the containers are untouched.
            for (k, v) in res["Properties"].as_object().unwrap() {
                if k != "ContainerDefinitions" && after_res["Properties"].get(k) != Some(v) {
                    errs.push(format!("{ctx}: property {k} changed"));
                }
            }
        }
        errs.extend(idempotent(input, &out.stdout, &args));
    }
    let _ = fs::remove_file(&images);
    assert!(
        errs.is_empty(),
        "{} problem(s):\n{}",
        errs.len(),
        errs.join("\n")
    );
    assert_eq!(patched, 28, "28 inputs patch, 4 panic_* inputs fail");
}

#[test]
fn sysdig_terraform_container_definitions() {
    let root = peer().join("sysdig-terraform/testfiles");
    let mut inputs: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.ends_with(".json") && !n.contains("expected") && !n.contains("Instrumented")
        })
        .collect();
    inputs.sort();
    assert!(
        inputs.len() >= 10,
        "expected Sysdig's test inputs in {}",
        root.display()
    );
    let mut errs = Vec::new();
    for input in &inputs {
        let name = input.file_name().unwrap().to_string_lossy().into_owned();
        let s = input.to_string_lossy().into_owned();
        let out = kiltx(&[&s]);
        if !out.status.success() {
            errs.push(format!(
                "{name}: failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
            continue;
        }
        let before: Vec<Value> = serde_json::from_str(&fs::read_to_string(input).unwrap()).unwrap();
        let after: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        let all: Vec<String> = before.iter().map(name_of).collect();
        errs.extend(check_containers(&before, &after, &all, &name));
        errs.extend(idempotent(input, &out.stdout, &[]));
    }
    assert!(
        errs.is_empty(),
        "{} problem(s):\n{}",
        errs.len(),
        errs.join("\n")
    );
}
