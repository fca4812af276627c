//! `kiltx lint` over the peer corpora (../shared/peer): the inputs of other tools' patchers must
//! have "not instrumented" findings; their patched outputs must not — a container another tool
//! instrumented is reported as such (KX002), never as not instrumented (KX001).

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{peer, sorted_paths, write_peer_images};
use kiltx_testsupport::hermetic::command as hermetic;
use serde_json::Value;

/// Written once per test process (the tests run in parallel).
fn image_config_file() -> PathBuf {
    static FILE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    FILE.get_or_init(write_image_config).clone()
}

fn write_image_config() -> PathBuf {
    write_peer_images(std::env::temp_dir().join(format!(
        "kiltx-lint-peer-images-{}.json",
        std::process::id()
    )))
}

/// Lint `file` and return the findings (the JSON format) and the exit status.
fn lint(file: &Path, extra: &[&str]) -> (Vec<Value>, i32) {
    let images = image_config_file();
    let out = hermetic(env!("CARGO_BIN_EXE_kiltx"))
        // These tests use --image-config and no registry.
        .env("KILTX_OFFLINE", "1")
        .args(["lint", "--format", "json", "--image-config"])
        .arg(&images)
        .args(["--parameter", "Parameter=busybox"])
        .args(extra)
        .arg(file)
        .output()
        .expect("run kiltx");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{}: {stderr}", file.display());
    let findings: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {stderr}", file.display()));
    (
        findings.as_array().cloned().unwrap_or_default(),
        out.status.code().unwrap_or(-1),
    )
}

fn with_rule<'a>(findings: &'a [Value], rule: &str) -> Vec<&'a Value> {
    findings.iter().filter(|f| f["rule"] == rule).collect()
}

fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// The containers of every task definition in a document, with the path prefix lint shows.
fn containers(doc: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    if let Some(list) = doc.as_array() {
        for (i, c) in list.iter().enumerate() {
            out.push((format!("[{i}]"), c.clone()));
        }
    }
    if let Some(res) = doc.get("Resources").and_then(Value::as_object) {
        for (id, r) in res {
            let Some(list) = r
                .get("Properties")
                .and_then(|p| field(p, "ContainerDefinitions"))
                .and_then(Value::as_array)
            else {
                continue;
            };
            for (i, c) in list.iter().enumerate() {
                out.push((
                    format!("Resources.{id}.Properties.ContainerDefinitions[{i}]"),
                    c.clone(),
                ));
            }
        }
    }
    out
}

/// Whether another tool wrapped this container (Kilt's /kilt/run, Sysdig's instrument).
fn peer_wrapped(c: &Value) -> bool {
    let ep = field(c, "entryPoint").and_then(Value::as_array);
    let first = ep
        .and_then(|e| e.first())
        .and_then(Value::as_str)
        .unwrap_or("");
    first == "/kilt/run" || first == "/opt/draios/bin/instrument"
}

/// The sidecars another tool added: sources of the wrapped containers' volumesFrom.
fn peer_sidecars(cs: &[(String, Value)]) -> Vec<String> {
    cs.iter()
        .filter(|(_, c)| peer_wrapped(c))
        .flat_map(|(_, c)| {
            field(c, "volumesFrom")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|v| {
            field(&v, "sourceContainer")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .collect()
}

/// Check a patched output: no KX001 on what the peer instrumented (or added), KX002 on each
/// container it wrapped.
fn check_output(file: &Path, extra: &[&str], errors: &mut Vec<String>) {
    let doc: Value = serde_json::from_str(&fs::read_to_string(file).unwrap()).unwrap();
    let cs = containers(&doc);
    let sidecars = peer_sidecars(&cs);
    let (findings, code) = lint(file, extra);
    let ctx = file.display();
    if code == 2 {
        errors.push(format!("{ctx}: lint failed (exit 2)"));
        return;
    }
    let mut wrapped = 0;
    for (path, c) in &cs {
        let name = field(c, "name").and_then(Value::as_str).unwrap_or("?");
        let at = |rule: &str| {
            with_rule(&findings, rule).into_iter().any(|f| {
                f["path"]
                    .as_str()
                    .is_some_and(|p| p == path || p.starts_with(&format!("{path}.")))
            })
        };
        if peer_wrapped(c) {
            wrapped += 1;
            if at("KX001") {
                errors.push(format!(
                    "{ctx}: {name} (wrapped by the peer) reported not instrumented"
                ));
            }
            if !at("KX002") {
                errors.push(format!("{ctx}: {name} (wrapped by the peer) not reported as instrumented by another tool"));
            }
        } else if sidecars.iter().any(|s| s == name) && at("KX001") {
            errors.push(format!(
                "{ctx}: the peer's sidecar {name} reported not instrumented"
            ));
        }
    }
    if wrapped == 0 && !with_rule(&findings, "KX001").is_empty() {
        errors.push(format!(
            "{ctx}: nothing was wrapped by the peer, yet KX001 is reported"
        ));
    }
}

#[test]
fn agent_kilt_inputs_are_not_instrumented_and_outputs_are_kilt_instrumented() {
    let root = peer().join("agent-kilt/fixtures");
    let mut errors = Vec::new();
    let mut inputs = 0;
    let mut outputs = 0;
    for group in fs::read_dir(&root).unwrap() {
        let group = group.unwrap().path();
        for f in sorted_paths(&group) {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            if !name.ends_with(".json") {
                continue;
            }
            let opt_in = name.starts_with("opt_in_") || name.starts_with("panic_");
            let extra: &[&str] = if opt_in { &["--opt-in"] } else { &[] };
            if name.ends_with(".patched.json") {
                outputs += 1;
                check_output(&f, extra, &mut errors);
                continue;
            }
            inputs += 1;
            let (findings, code) = lint(&f, extra);
            let ctx = f.display();
            if name.starts_with("panic_") {
                // Kilt panics here; kiltx patch would fail with a clear error: KX012.
                if with_rule(&findings, "KX012").is_empty() || code != 1 {
                    errors.push(format!(
                        "{ctx}: expected KX012 and exit 1, got {code}: {findings:?}"
                    ));
                }
            } else if name.contains("ignored") {
                if !with_rule(&findings, "KX001").is_empty() {
                    errors.push(format!("{ctx}: an ignored task reported not instrumented"));
                }
            } else if with_rule(&findings, "KX001").is_empty() || code != 1 {
                errors.push(format!(
                    "{ctx}: expected KX001 and exit 1, got {code}: {findings:?}"
                ));
            }
        }
    }
    assert_eq!(inputs, 32, "agent-kilt inputs");
    assert!(outputs >= 25, "agent-kilt outputs: {outputs}");
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn sysdig_inputs_are_not_instrumented_and_outputs_are_sysdig_instrumented() {
    let root = peer().join("sysdig-terraform/testfiles");
    let mut errors = Vec::new();
    let mut n = 0;
    for f in sorted_paths(&root) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with("_expected.json") || name == "ECSInstrumented.json" {
            check_output(&f, &[], &mut errors);
            n += 1;
        } else if name.ends_with(".json") {
            let (findings, code) = lint(&f, &[]);
            if with_rule(&findings, "KX001").is_empty() || code != 1 {
                errors.push(format!(
                    "{}: expected KX001 and exit 1, got {code}",
                    f.display()
                ));
            }
            n += 1;
        }
    }
    assert!(n >= 20, "sysdig files: {n}");
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// With Kilt's own recipe as the definition, Kilt's outputs are instrumented, and correctly:
/// nothing is reported but ECS findings their inputs already had (no task size; a volumesFrom
/// naming a container the template does not have).
#[test]
fn agent_kilt_outputs_lint_clean_with_kilts_recipe_as_the_definition() {
    let def =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kilt-default-definition.yaml");
    let def = def.to_str().unwrap();
    let root = peer().join("agent-kilt/fixtures");
    let mut errors = Vec::new();
    let mut n = 0;
    for group in [
        "patching",
        "respect_ignores",
        "sidecar_env",
        "task_pid_mode",
    ] {
        for f in sorted_paths(&root.join(group))
            .into_iter()
            .filter(|p| p.to_string_lossy().ends_with(".patched.json"))
        {
            n += 1;
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            let mut extra = vec!["--definition", def];
            if name.starts_with("opt_in_") {
                extra.push("--opt-in");
            }
            let (findings, code) = lint(&f, &extra);
            // What the input already has is not the patch's doing (these minimal templates
            // have no task size, which ECS requires on Fargate, and volumes_from names a
            // container that does not exist): an output may not add a finding its input lacks.
            let input = f.with_file_name(name.replace(".patched.json", ".json"));
            let (before, _) = lint(&input, &extra);
            // Only ECS's own rules are excused so; an instrumentation finding never is.
            let ecs_rule = |x: &Value| {
                let r = x["rule"].as_str().unwrap_or("");
                r.starts_with("KX02") || r.starts_with("KX06")
            };
            let had: Vec<(&Value, &Value)> = before
                .iter()
                .filter(|x| ecs_rule(x))
                .map(|x| (&x["rule"], &x["path"]))
                .collect();
            let unexpected: Vec<&Value> = findings
                .iter()
                .filter(|x| !had.contains(&(&x["rule"], &x["path"])))
                .collect();
            if code == 2 || !unexpected.is_empty() {
                errors.push(format!("{}: exit {code}: {unexpected:?}", f.display()));
            }
        }
    }
    assert!(n >= 25, "{n} outputs");
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
