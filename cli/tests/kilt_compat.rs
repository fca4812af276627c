//! Kilt compatibility: the peer corpora patched by the real `kiltx` with Kilt's own recipes and
//! options (../shared/peer/README.md), compared with what Kilt (agent-kilt, Sysdig's Terraform
//! provider) produced. Each case declares the deliberate differences it shows (the README's
//! table); the output must equal Kilt's once exactly those are normalised away, and must not
//! equal it with any one of them left out (so every declared difference is real).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{agent_kilt_inputs, peer, validate, write_peer_images};
use kiltx_testsupport::hermetic::command as hermetic;
use serde_json::{json, Value};

/// A deliberate difference from Kilt's output (see README, "Kilt compatibility").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Diff {
    /// kiltx keeps the container's variables in their order and appends the recipe's; Kilt
    /// sorts them (and emits sidecar variables in map order).
    EnvOrder,
    /// kiltx writes keys in the input's spelling (camelCase stays camelCase); the Terraform
    /// provider rewrites them in PascalCase.
    KeyCase,
    /// kiltx never writes `null`s; the Terraform provider writes `"SecretOptions": null`.
    Nulls,
    /// The Terraform provider's own post-processing (`bare_pdig_on_containers` adds
    /// `__INSTRUMENTATION_WRAPPER`), not part of Kilt's recipe semantics.
    ProviderPostProcessing,
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("kiltx-kilt-{}-{name}", std::process::id()))
}

fn kiltx(args: &[String]) -> Output {
    hermetic(env!("CARGO_BIN_EXE_kiltx"))
        .args(args)
        .output()
        .expect("run kiltx")
}

fn s(v: &str) -> String {
    v.to_string()
}

/// The peer image configurations, in a file of their own.
fn image_config(tag: &str) -> PathBuf {
    write_peer_images(tmp(&format!("images-{tag}.json")))
}

/// The Sysdig recipe's configuration as the Terraform provider's tests set it.
fn sysdig_config() -> String {
    json!({
        "sysdig_access_key": "sysdig_access_key",
        "agent_image": "workload_agent_image",
        "orchestrator_host": "orchestrator_host",
        "orchestrator_port": "orchestrator_port",
        "collector_host": "collector_host",
        "collector_port": "collector_port",
        "sysdig_logging": "sysdig_logging",
        "sidecar": "",
        "priority": "priority"
    })
    .to_string()
}

fn normalize(v: &Value, diffs: &[Diff]) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, x) in m {
                if diffs.contains(&Diff::Nulls) && x.is_null() {
                    continue;
                }
                let key = if diffs.contains(&Diff::KeyCase) {
                    let mut c = k.chars();
                    c.next()
                        .map(|f| f.to_ascii_lowercase().to_string() + c.as_str())
                        .unwrap_or_default()
                } else {
                    k.clone()
                };
                let mut x = normalize(x, diffs);
                if k.eq_ignore_ascii_case("environment") {
                    if let Value::Array(list) = &mut x {
                        if diffs.contains(&Diff::ProviderPostProcessing) {
                            list.retain(|e| {
                                e.as_object().is_none_or(|e| {
                                    !e.values().any(|v| v == "__INSTRUMENTATION_WRAPPER")
                                })
                            });
                        }
                        if diffs.contains(&Diff::EnvOrder) {
                            list.sort_by_key(|e| e.to_string().to_lowercase());
                        }
                    }
                }
                out.insert(key, x);
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| normalize(x, diffs)).collect()),
        other => other.clone(),
    }
}

struct Case {
    name: String,
    args: Vec<String>,
    input: PathBuf,
    expected: PathBuf,
    diffs: Vec<Diff>,
    /// For the Terraform cases given as a task definition: take its containerDefinitions.
    unwrap_containers: bool,
}

fn agent_kilt_cases(images: &Path) -> Vec<Case> {
    let root = peer().join("agent-kilt");
    let mut out = Vec::new();
    for input in agent_kilt_inputs() {
        let name = input.file_stem().unwrap().to_string_lossy().into_owned();
        let group = input
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let recipe = match (group.as_str(), name.as_str()) {
            ("sidecar_env", _) => "sidecar_env",
            ("task_pid_mode", _) => "task_pid_mode",
            (_, n) if n.starts_with("parameterize_env") => "parameterize_envars",
            _ => "default",
        };
        // Kilt ran with registry hints off: images given as an undeclared parameter keep
        // their task-definition argv. kiltx never guesses an image's ENTRYPOINT, so the
        // parameter is given the image a user would give it (busybox, no ENTRYPOINT).
        let mut args = vec![
            s("patch"),
            s("--quiet"),
            s("--definition"),
            root.join(format!("recipes/{recipe}.kilt.cfg"))
                .to_string_lossy()
                .into_owned(),
            s("--image-config"),
            images.to_string_lossy().into_owned(),
            s("--parameter"),
            s("Parameter=busybox"),
        ];
        if name.starts_with("opt_in_") || name.starts_with("panic_") {
            args.push(s("--opt-in"));
        }
        if name.starts_with("parameterize_env") {
            args.push(s("--parameterize-env"));
        }
        match name.as_str() {
            "log_group" => args.extend([s("--log-group"), s("test_logs")]),
            "log_group_empty" => args.push(s("--log-group=")),
            _ => {}
        }
        let diffs = match name.as_str() {
            "parameterize_env_merge" => vec![Diff::EnvOrder],
            _ => vec![],
        };
        out.push(Case {
            name: format!("agent-kilt/{group}/{name}"),
            args,
            expected: input.with_extension("patched.json"),
            input,
            diffs,
            unwrap_containers: false,
        });
    }
    out
}

fn sysdig_cases() -> Vec<Case> {
    let root = peer().join("sysdig-terraform/testfiles");
    let recipe = peer().join("recipes/sysdig-workload-agent.kilt.cfg");
    let mut inputs: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            !n.contains("expected") && !n.contains("Instrumented")
        })
        .collect();
    inputs.sort();
    assert_eq!(
        inputs.len(),
        11,
        "Sysdig's test inputs in {}",
        root.display()
    );
    let mut out = Vec::new();
    for input in inputs {
        let name = input.file_stem().unwrap().to_string_lossy().into_owned();
        let expected = if name == "ECSinput" {
            root.join("ECSInstrumented.json")
        } else {
            root.join(format!("{name}_expected.json"))
        };
        let mut args = vec![
            s("patch"),
            s("--quiet"),
            s("--definition"),
            recipe.to_string_lossy().into_owned(),
            s("--recipe-config"),
            sysdig_config(),
            s("--image-auth-secret"),
            s("image_auth_secret"),
        ];
        let mut diffs = vec![Diff::EnvOrder, Diff::KeyCase];
        let mut input_path = input.clone();
        let mut unwrap_containers = false;
        // The provider's ignore_containers: it wraps the containers in a task definition
        // tagged kilt-ignore-containers; so does this test (a containers array has no tags).
        let ignore = match name.as_str() {
            "fargate_ignore_container_test" => Some("other:another"),
            "fargate_bare_pdig" => Some("skipped"),
            _ => None,
        };
        if let Some(ignore) = ignore {
            let containers: Value =
                serde_json::from_str(&fs::read_to_string(&input).unwrap()).unwrap();
            let wrapped = json!({
                "family": "kilt",
                "containerDefinitions": containers,
                "tags": [{"key": "kilt-ignore-containers", "value": ignore}]
            });
            input_path = tmp(&format!("{name}.json"));
            fs::write(&input_path, serde_json::to_string_pretty(&wrapped).unwrap()).unwrap();
            unwrap_containers = true;
        }
        match name.as_str() {
            "fargate_log_group" => {
                args.extend([
                    s("--log-group"),
                    s("test_log_group"),
                    s("--log-stream-prefix"),
                    s("test_prefix"),
                    s("--log-region"),
                    s("test_region"),
                ]);
                diffs.push(Diff::Nulls);
            }
            "fargate_bare_pdig" => diffs.push(Diff::ProviderPostProcessing),
            _ => {}
        }
        out.push(Case {
            name: format!("sysdig-terraform/{name}"),
            args,
            input: input_path,
            expected,
            diffs,
            unwrap_containers,
        });
    }
    out
}

fn run_case(c: &Case) -> Result<(Value, Vec<u8>), String> {
    let mut args = c.args.clone();
    args.push(c.input.to_string_lossy().into_owned());
    let out = kiltx(&args);
    if !out.status.success() {
        return Err(format!(
            "{}: kiltx failed: {}",
            c.name,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut v: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("{}: output is not JSON: {e}", c.name))?;
    if c.unwrap_containers {
        v = v["containerDefinitions"].clone();
    }
    Ok((v, out.stdout))
}

#[test]
fn kilt_fixtures_match_kilt_except_deliberate_differences() {
    let images = image_config("fixtures");
    let mut cases = agent_kilt_cases(&images);
    cases.extend(sysdig_cases());
    let mut errs = Vec::new();
    let mut table = Vec::new();
    let mut pairs = Vec::new();
    for c in &cases {
        let short = c.name.rsplit('/').next().unwrap_or_default();
        if short.starts_with("panic_") {
            let mut args = c.args.clone();
            args.push(c.input.to_string_lossy().into_owned());
            let out = kiltx(&args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            if out.status.code() != Some(2)
                || !out.stdout.is_empty()
                || !stderr.contains("kiltx needs a literal string")
            {
                errs.push(format!(
                    "{}: expected a clear error (exit 2), got {:?}: {stderr}",
                    c.name,
                    out.status.code()
                ));
            }
            table.push(format!("| {} | error (Kilt panics) |", c.name));
            continue;
        }
        let (got, bytes) = match run_case(c) {
            Ok(x) => x,
            Err(e) => {
                errs.push(e);
                continue;
            }
        };
        // Checked by the real validators below.
        let out_file = tmp(&format!("out-{}.json", pairs.len()));
        fs::write(&out_file, &bytes).unwrap();
        let kind = match serde_json::from_str::<Value>(&fs::read_to_string(&c.input).unwrap()) {
            Ok(Value::Array(_)) => "containers",
            Ok(Value::Object(m)) if m.contains_key("Resources") => "cloudformation",
            _ => "taskdef",
        };
        pairs.push(json!({"input": c.input, "output": out_file, "kind": kind}));
        // Idempotent: patching the output again changes nothing.
        if !c.unwrap_containers {
            let again_in = tmp(&format!("again-{short}.json"));
            fs::write(&again_in, &bytes).unwrap();
            let mut args = c.args.clone();
            args.push(again_in.to_string_lossy().into_owned());
            let again = kiltx(&args);
            let _ = fs::remove_file(&again_in);
            if !again.status.success() || again.stdout != bytes {
                errs.push(format!("{}: patching the output again changed it", c.name));
            }
        }
        if !c.expected.exists() {
            // sidecar_env/overlap: Kilt's test regenerates it; the app keeps its own value,
            // the sidecar gets the recipe's.
            let env = |i: usize| -> Vec<Value> {
                got["Resources"]["taskdef"]["Properties"]["ContainerDefinitions"][i]["Environment"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            };
            let app_ok = env(0).contains(&json!({"Name": "MEANING_OF_LIFE", "Value": "forty-two"}));
            let sidecar_ok = env(1).contains(&json!({"Name": "MEANING_OF_LIFE", "Value": "42"}));
            if !app_ok || !sidecar_ok {
                errs.push(format!(
                    "{}: the app must keep MEANING_OF_LIFE=forty-two and the sidecar get 42: {got}",
                    c.name
                ));
            }
            table.push(format!("| {} | checked (no Kilt output) |", c.name));
            continue;
        }
        let want: Value = serde_json::from_str(&fs::read_to_string(&c.expected).unwrap()).unwrap();
        if normalize(&got, &c.diffs) != normalize(&want, &c.diffs) {
            errs.push(format!(
                "{}: differs from Kilt beyond {:?}:\nkiltx: {}\nKilt:  {}",
                c.name,
                c.diffs,
                normalize(&got, &c.diffs),
                normalize(&want, &c.diffs)
            ));
            continue;
        }
        for d in &c.diffs {
            let fewer: Vec<Diff> = c.diffs.iter().copied().filter(|x| x != d).collect();
            if normalize(&got, &fewer) == normalize(&want, &fewer) {
                errs.push(format!(
                    "{}: declares {d:?}, but the output equals Kilt's without it",
                    c.name
                ));
            }
        }
        table.push(format!(
            "| {} | {} |",
            c.name,
            if c.diffs.is_empty() {
                "equal".to_string()
            } else {
                format!("equal but for {:?}", c.diffs)
            }
        ));
    }
    eprintln!("{}", table.join("\n"));
    let _ = fs::remove_file(&images);
    // Every output passes cfn-lint / botocore with no problem its input did not have.
    let pairs_file = tmp("pairs.json");
    let (_, report) = validate(&pairs, &pairs_file);
    for p in &pairs {
        let _ = fs::remove_file(p["output"].as_str().unwrap_or_default());
    }
    let _ = fs::remove_file(&pairs_file);
    // Three inputs already refer to an undeclared parameter (`Ref: Parameter`) in a container's
    // environment; Kilt's sidecars inherit that variable, so the input's own problem shows up
    // again at the sidecar. Nothing else may be new.
    let new: Vec<&str> = report
        .lines()
        .filter(|l| {
            l.contains(" (from ")
                && !l.contains("E1020")
                && !l.contains("'Parameter' is not one of")
        })
        .collect();
    let inherited = report
        .lines()
        .filter(|l| l.contains(" (from "))
        .all(|l| l.contains("/Environment/") && l.contains("'Parameter' is not one of"));
    if !report.contains("new problem(s)") || !new.is_empty() || !inherited {
        errs.push(format!("validators found problems:\n{report}"));
    }
    assert!(
        errs.is_empty(),
        "{} problem(s):\n{}",
        errs.len(),
        errs.join("\n\n")
    );
}

#[test]
fn falco_recipe_loads_and_patches() {
    let images = image_config("falco");
    let recipe = peer().join("recipes/falco.kilt.cfg");
    let input = peer().join("agent-kilt/fixtures/patching/hints_no_overrides.json");
    let out = kiltx(&[
        s("patch"),
        s("--quiet"),
        s("--definition"),
        recipe.to_string_lossy().into_owned(),
        s("--image-config"),
        images.to_string_lossy().into_owned(),
        input.to_string_lossy().into_owned(),
    ]);
    let _ = fs::remove_file(&images);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &v["Resources"]["taskdef"]["Properties"]["ContainerDefinitions"];
    assert_eq!(
        c[0]["EntryPoint"],
        json!([
            "/kilt/launcher",
            "/vendor/falco/bin/pdig",
            "/docker-entrypoint.sh",
            "nginx",
            "-g",
            "daemon off;",
            "--"
        ])
    );
    assert_eq!(c[0]["Command"][0], "/vendor/falco/bin/falco");
    assert_eq!(
        c[0]["Environment"],
        json!([{"Name": "__CW_LOG_GROUP", "Value": "FalcoAlerts"}])
    );
    let names: Vec<&str> = c
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["app", "Falco", "KiltUtilities"]);
    assert_eq!(
        c[0]["VolumesFrom"],
        json!([
            {"SourceContainer": "Falco", "ReadOnly": true},
            {"SourceContainer": "KiltUtilities", "ReadOnly": true}
        ])
    );
}

#[test]
fn convert_gives_an_equivalent_kiltx_definition() {
    let images = image_config("convert");
    let recipe = peer().join("agent-kilt/recipes/task_pid_mode.kilt.cfg");
    let conv = kiltx(&[
        s("definition"),
        s("convert"),
        recipe.to_string_lossy().into_owned(),
    ]);
    assert!(
        conv.status.success(),
        "{}",
        String::from_utf8_lossy(&conv.stderr)
    );
    let def = tmp("converted.yaml");
    fs::write(&def, &conv.stdout).unwrap();
    let input = peer().join("agent-kilt/fixtures/task_pid_mode/command.json");
    let patch_with = |d: &Path| {
        kiltx(&[
            s("patch"),
            s("--quiet"),
            s("--definition"),
            d.to_string_lossy().into_owned(),
            s("--image-config"),
            images.to_string_lossy().into_owned(),
            input.to_string_lossy().into_owned(),
        ])
    };
    let a = patch_with(&def);
    let b = patch_with(&recipe);
    let _ = fs::remove_file(&def);
    let _ = fs::remove_file(&images);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert_eq!(
        String::from_utf8_lossy(&a.stdout),
        String::from_utf8_lossy(&b.stdout)
    );
    // A recipe that needs settings says which.
    let sysdig = peer().join("recipes/sysdig-workload-agent.kilt.cfg");
    let e = kiltx(&[
        s("definition"),
        s("convert"),
        sysdig.to_string_lossy().into_owned(),
    ]);
    let stderr = String::from_utf8_lossy(&e.stderr);
    assert_eq!(e.status.code(), Some(2));
    assert!(
        stderr.contains("sysdig-workload-agent.kilt.cfg:5:32")
            && stderr.contains("${config.orchestrator_host}")
            && stderr.contains("--recipe-config"),
        "{stderr}"
    );
}

#[test]
fn bad_recipes_fail_clearly() {
    let input = peer().join("agent-kilt/fixtures/patching/command.json");
    let cases = [
        (
            "build {\n  entry_point: [\"/kilt/run\", \"--\"\n  command: []\n}\n",
            "bad.kilt.cfg:3:10",
            "expected ',' or ']'",
        ),
        (
            "build {\n  entry_point: [\"/kilt/run\"]\n  comand: [] ${?original.command}\n}\n",
            "bad.kilt.cfg:3:3",
            "unknown key build.comand",
        ),
        (
            "build {\n  entry_point: \"/kilt/run\"\n}\n",
            "bad.kilt.cfg:2:3",
            "build.entry_point: expected a list",
        ),
        (
            "build {\n  entry_point: [\"/kilt/run\", ${config.launcher_flag}]\n}\n",
            "bad.kilt.cfg:2:30",
            "${config.launcher_flag}",
        ),
        (
            "build {\n  entry_point: [\"/kilt/run\"]\n  command: [\"--\"]\n}\n",
            "bad.kilt.cfg:2:3",
            "exactly once",
        ),
        (
            "build {\n  mount: [ { name: \"S\", image: \"i\", volume: [\"/s\"] } ]\n}\n",
            "bad.kilt.cfg:",
            "unknown key volume",
        ),
        (
            "build {\n  entry_point: [\"/x\"\n",
            "bad.kilt.cfg:",
            "missing ']'",
        ),
        ("\u{0}\u{1}{{{{[[[[", "bad.kilt.cfg:1:", "error"),
    ];
    for (i, (text, at, what)) in cases.iter().enumerate() {
        let f = tmp(&format!("{i}-bad.kilt.cfg"));
        fs::write(&f, text).unwrap();
        let out = kiltx(&[
            s("patch"),
            s("--definition"),
            f.to_string_lossy().into_owned(),
            input.to_string_lossy().into_owned(),
        ]);
        let _ = fs::remove_file(&f);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{text:?}: wrote output");
        assert!(!stderr.contains("panicked"), "{text:?}: {stderr}");
        assert!(
            stderr.contains(&at.replace("bad.kilt.cfg", "-bad.kilt.cfg")) && stderr.contains(what),
            "{text:?}: expected {at} and {what:?} in: {stderr}"
        );
    }
}

#[test]
fn knobs_work_with_kiltx_definitions_too() {
    let input = tmp("knobs-register.json");
    fs::write(
        &input,
        json!({"family": "f", "containerDefinitions": [{"name": "app", "image": "a", "entryPoint": ["/a"]}]})
            .to_string(),
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![s("patch"), s("--quiet")];
        args.extend(extra.iter().map(|x| x.to_string()));
        args.push(input.to_string_lossy().into_owned());
        kiltx(&args)
    };
    // Outside a template, the region and prefix cannot be defaulted.
    let e = run(&["--log-group", "g"]);
    assert_eq!(e.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&e.stderr).contains("--log-region"),
        "{}",
        String::from_utf8_lossy(&e.stderr)
    );
    let ok = run(&[
        "--log-group",
        "g",
        "--log-region",
        "eu-west-1",
        "--log-stream-prefix",
        "p",
        "--image-auth-secret",
        "arn:aws:secretsmanager:eu-west-1:1:secret:pull",
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let v: Value = serde_json::from_slice(&ok.stdout).unwrap();
    let sidecar = &v["containerDefinitions"][1];
    assert_eq!(sidecar["name"], "kiltx-tracer");
    assert_eq!(
        sidecar["logConfiguration"],
        json!({"logDriver": "awslogs", "options": {"awslogs-group": "g", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "p"}})
    );
    assert_eq!(
        sidecar["repositoryCredentials"],
        json!({"credentialsParameter": "arn:aws:secretsmanager:eu-west-1:1:secret:pull"})
    );
    // Recipe-only options are refused with a kiltx definition.
    let e = run(&["--parameterize-env"]);
    assert_eq!(e.status.code(), Some(2));
    // Recipes validate (syntax and keys).
    let recipe = peer().join("recipes/sysdig-workload-agent.kilt.cfg");
    let v = kiltx(&[
        s("definition"),
        s("validate"),
        recipe.to_string_lossy().into_owned(),
    ]);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    let _ = fs::remove_file(&input);
}
