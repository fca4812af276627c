//! The engine's options mean the same under `patch` and `lint` (they are one struct, flattened
//! into both): for each, on the same input, both accept it or both refuse it (exit 2), and
//! lint's verdict agrees with patch's output (findings exactly when patch changes the input;
//! patch's output lints clean).

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{kiltx_in, peer, write_peer_images};
use serde_json::json;

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kiltx-engine-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A template with a Fargate task definition, an EC2 one, and one tagged kilt-include; the
/// last one's image is a parameter. Each is one ECS would register (a task size; the sidecar's
/// requests fit).
fn template() -> String {
    let task = |compat: &str, image: serde_json::Value, tags: serde_json::Value| {
        json!({"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "RequiresCompatibilities": [compat],
            "Cpu": "256", "Memory": "512",
            "Tags": tags,
            "ContainerDefinitions": [{"Name": "app", "Image": image}]}})
    };
    serde_json::to_string_pretty(&json!({
        "Parameters": {"AppImage": {"Type": "String"}},
        "Resources": {
            "Fargate": task("FARGATE", json!("nginx"), json!([])),
            "Ec2": task("EC2", json!("nginx"), json!([])),
            "Tagged": task("FARGATE", json!({"Ref": "AppImage"}), json!([{"Key": "kilt-include", "Value": "true"}])),
        }
    }))
    .unwrap()
        + "\n"
}

/// The options every case is run with: the images' configurations, the parameter's value.
fn base(images: &Path) -> Vec<String> {
    vec![
        "--image-config".into(),
        images.to_string_lossy().into_owned(),
        "--parameter".into(),
        "AppImage=busybox".into(),
    ]
}

#[test]
fn every_engine_option_behaves_the_same_under_patch_and_lint() {
    let dir = tmpdir("options");
    let images = write_peer_images(dir.join("images.json"));
    let input = dir.join("template.json");
    fs::write(&input, template()).unwrap();
    let register = dir.join("register.json");
    fs::write(
        &register,
        json!({"family": "f", "memory": "512", "containerDefinitions": [{"name": "app", "image": "nginx"}]})
            .to_string(),
    )
    .unwrap();
    let definition = dir.join("definition.yaml");
    let shown = kiltx_in(&dir, &["definition", "show", "--tracer-image", "tracer:1"]);
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    fs::write(&definition, &shown.stdout).unwrap();
    let falco = peer().join("recipes/falco.kilt.cfg");
    let falco = falco.to_string_lossy().into_owned();
    let parameterize = peer().join("agent-kilt/recipes/parameterize_envars.kilt.cfg");
    let parameterize = parameterize.to_string_lossy().into_owned();
    let definition = definition.to_string_lossy().into_owned();
    let register = register.to_string_lossy().into_owned();

    // (options, input (None: the template), whether patch and lint must refuse them)
    let cases: Vec<(Vec<&str>, Option<&str>, bool)> = vec![
        (vec![], None, false),
        (vec!["--definition", &definition], None, false),
        (
            vec!["--definition", &definition, "--definition-format", "kiltx"],
            None,
            false,
        ),
        (
            vec!["--definition", &definition, "--definition-format", "kilt"],
            None,
            true,
        ),
        (vec!["--definition", &falco], None, false),
        (
            vec!["--definition", &falco, "--definition-format", "kilt"],
            None,
            false,
        ),
        (
            vec!["--definition", &falco, "--definition-format", "kiltx"],
            None,
            true,
        ),
        (
            vec!["--definition", &falco, "--recipe-config", "{}"],
            None,
            false,
        ),
        (
            vec!["--definition", &falco, "--recipe-config", "[]"],
            None,
            true,
        ),
        (vec!["--recipe-config", "{}"], None, true),
        (
            vec!["--tracer-image", "registry.example/tracer:2"],
            None,
            false,
        ),
        (vec!["--opt-in"], None, false),
        (vec!["--include-ec2"], None, false),
        (vec!["--opt-in", "--include-ec2"], None, false),
        (vec!["--offline"], None, false),
        (vec!["--parameter", "AppImage=nginx"], None, false),
        (vec!["--parameter", "no-equals-sign"], None, true),
        (vec!["--input-format", "auto"], None, false),
        (vec!["--input-format", "cloudformation"], None, false),
        (vec!["--input-format", "containers"], None, true),
        (vec!["--input-format", "cfn"], None, true),
        (vec!["--input-format", "register"], Some(&register), false),
        (vec!["--max-input-size", "10"], None, true),
        (vec!["--max-input-size", "1000000"], None, false),
        (vec!["--log-group", "g"], None, false),
        (vec!["--log-group", "g"], Some(&register), true),
        (
            vec![
                "--log-group",
                "g",
                "--log-region",
                "eu-west-1",
                "--log-stream-prefix",
                "p",
            ],
            Some(&register),
            false,
        ),
        (vec!["--log-region", "eu-west-1"], None, true),
        (
            vec![
                "--image-auth-secret",
                "arn:aws:secretsmanager:eu-west-1:1:secret:pull",
            ],
            None,
            false,
        ),
        (vec!["--parameterize-env"], None, true),
        (
            vec!["--definition", &parameterize, "--parameterize-env"],
            None,
            false,
        ),
        (
            vec!["--definition", &parameterize, "--parameterize-env"],
            Some(&register),
            true,
        ),
        (
            vec!["--registry-timeout", "5", "--registry-deadline", "5"],
            None,
            false,
        ),
        (vec!["--registry-timeout", "soon"], None, true),
        (
            vec!["--insecure-registry", "registry.example:5000"],
            None,
            false,
        ),
    ];
    let mut failures = Vec::new();
    for (i, (options, which, refused)) in cases.iter().enumerate() {
        let source = which
            .map(String::from)
            .unwrap_or_else(|| input.to_string_lossy().into_owned());
        let original = fs::read_to_string(&source).unwrap();
        let out = dir.join(format!("out-{i}.json"));
        let args = |command: &str, file: &str, extra: &[&str]| -> Vec<String> {
            let mut a = vec![command.to_string()];
            a.extend(extra.iter().map(|x| x.to_string()));
            a.extend(base(&images));
            a.extend(options.iter().map(|x| x.to_string()));
            a.push(file.to_string());
            a
        };
        let out_name = out.to_string_lossy().into_owned();
        let patch = kiltx_in(&dir, &args("patch", &source, &["--quiet", "-o", &out_name]));
        let lint = kiltx_in(&dir, &args("lint", &source, &[]));
        let what = format!(
            "{options:?} on {}: patch exit {:?} ({}), lint exit {:?} ({}{})",
            Path::new(&source).file_name().unwrap().to_string_lossy(),
            patch.status.code(),
            text(&patch.stderr).trim(),
            lint.status.code(),
            text(&lint.stdout).trim(),
            text(&lint.stderr).trim()
        );
        if *refused {
            if patch.status.code() != Some(2) || lint.status.code() != Some(2) {
                failures.push(format!("both should refuse: {what}"));
            }
            continue;
        }
        if patch.status.code() != Some(0) {
            failures.push(format!("patch should accept: {what}"));
            continue;
        }
        let patched = fs::read_to_string(&out).unwrap();
        let expected = u8::from(patched != original);
        if lint.status.code() != Some(i32::from(expected)) {
            failures.push(format!(
                "lint should exit {expected} (patch {}): {what}",
                if expected == 1 {
                    "changes the input"
                } else {
                    "changes nothing"
                }
            ));
        }
        let relint = kiltx_in(&dir, &args("lint", &out_name, &[]));
        if relint.status.code() != Some(0) {
            failures.push(format!(
                "patch's output should lint clean: {options:?}: exit {:?}: {}{}",
                relint.status.code(),
                text(&relint.stdout),
                text(&relint.stderr)
            ));
        }
    }
    let _ = fs::remove_dir_all(&dir);
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn lint_reads_a_kilt_recipe_as_patch_does() {
    // KX002's help says to lint with the other tool's recipe as the definition.
    let dir = tmpdir("recipe");
    let recipe = peer().join("recipes/falco.kilt.cfg");
    let o = kiltx_in(
        &dir,
        &[
            "lint".to_string(),
            "--definition".into(),
            recipe.to_string_lossy().into_owned(),
            peer()
                .join("agent-kilt/fixtures/patching/hints_no_overrides.json")
                .to_string_lossy()
                .into_owned(),
        ],
    );
    let _ = fs::remove_dir_all(&dir);
    assert!(
        !text(&o.stderr).contains("syntax error"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert!(
        text(&o.stdout).contains("does not run under /kilt/launcher"),
        "{}",
        text(&o.stdout)
    );
}
