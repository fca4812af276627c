//! The macro configured with Kilt recipes (KILTX_DEFINITION_FORMAT, KILTX_RECIPE_CONFIG,
//! KILTX_LOG_GROUP, KILTX_IMAGE_AUTH_SECRET, KILTX_PARAMETERIZE_ENV), on agent-kilt's own
//! fixtures: the macro's answer equals Kilt's.

use std::fs;
use std::path::{Path, PathBuf};

use kilt_defs::image::{ImageConfig, ImageConfigs};
use kiltx_lambda::{decode, handle, Config, ConfigError};
use serde_json::{json, Value};

fn peer() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/peer/agent-kilt");
    assert!(p.is_dir(), "the peer corpus is missing at {}", p.display());
    p
}

fn config(vars: &[(&str, String)]) -> Result<Config, ConfigError> {
    Config::from_env(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
}

fn read(p: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(p).unwrap()).unwrap()
}

/// Run the macro on a fixture and compare with Kilt's output.
fn case(recipe: &str, fixture: &str, extra: &[(&str, String)]) {
    let mut vars = vec![(
        "KILTX_DEFINITION",
        fs::read_to_string(peer().join(format!("recipes/{recipe}.kilt.cfg"))).unwrap(),
    )];
    vars.extend(extra.iter().cloned());
    let config = config(&vars);
    assert!(config.is_ok(), "{config:?}");
    let input = read(&peer().join(format!("fixtures/{fixture}.json")));
    let want = read(&peer().join(format!("fixtures/{fixture}.patched.json")));
    let request = decode(json!({
        "region": "eu-west-1", "accountId": "123456789012", "transformId": "123456789012::Kiltx",
        "requestId": "r", "fragment": input, "params": {},
        // The templates use an undeclared `Ref: Parameter` image; give it busybox's value.
        "templateParameterValues": {"Parameter": "busybox"}
    }))
    .unwrap();
    let mut images = ImageConfigs::new();
    images.insert(
        "busybox",
        ImageConfig {
            entrypoint: None,
            cmd: Some(vec!["sh".into()]),
        },
    );
    let answer = handle(&config, request, &images);
    assert_eq!(
        answer.status, "success",
        "{fixture}: {:?}",
        answer.error_message
    );
    assert_eq!(answer.fragment, want, "{fixture}");
}

#[test]
fn recipes_as_the_macro_definition_reproduce_kilt() {
    case("default", "patching/command", &[]);
    case(
        "default",
        "patching/log_group",
        &[("KILTX_LOG_GROUP", "test_logs".into())],
    );
    case(
        "parameterize_envars",
        "patching/parameterize_env_add",
        &[("KILTX_PARAMETERIZE_ENV", "true".into())],
    );
    case("task_pid_mode", "task_pid_mode/command", &[]);
    case(
        "default",
        "respect_ignores/opt_in_single_container",
        &[("KILTX_OPT_IN", "true".into())],
    );
}

#[test]
fn bad_recipe_configuration_is_reported() {
    let recipe = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/peer/recipes/sysdig-workload-agent.kilt.cfg"),
    )
    .unwrap();
    // A recipe that needs settings it is not given names the missing one.
    let e = config(&[("KILTX_DEFINITION", recipe.clone())])
        .unwrap_err()
        .to_string();
    assert!(e.contains("${config.orchestrator_host}"), "{e}");
    let e = config(&[
        ("KILTX_DEFINITION", recipe.clone()),
        ("KILTX_RECIPE_CONFIG", "{not json".into()),
    ])
    .unwrap_err()
    .to_string();
    assert!(e.contains("KILTX_RECIPE_CONFIG"), "{e}");
    let e = config(&[("KILTX_DEFINITION_FORMAT", "kilt".into())])
        .unwrap_err()
        .to_string();
    assert!(e.contains("KILTX_DEFINITION"), "{e}");
    let e = config(&[("KILTX_PARAMETERIZE_ENV", "true".into())])
        .unwrap_err()
        .to_string();
    assert!(e.contains("Kilt recipes"), "{e}");
    // A full configuration: the sidecar gets the recipe's image and the auth secret.
    let c = config(&[
        ("KILTX_DEFINITION", recipe),
        (
            "KILTX_RECIPE_CONFIG",
            json!({"orchestrator_host": "o", "orchestrator_port": "1", "collector_host": "c",
                   "collector_port": "2", "sysdig_access_key": "k", "sysdig_logging": "info",
                   "sidecar": "", "priority": "p", "agent_image": "agent:1"})
            .to_string(),
        ),
        (
            "KILTX_IMAGE_AUTH_SECRET",
            "arn:aws:secretsmanager:eu-west-1:1:secret:s".into(),
        ),
    ])
    .unwrap();
    assert_eq!(c.definition.sidecars[0].image, "agent:1");
    assert_eq!(
        c.definition.sidecars[0]
            .repository_credentials
            .as_ref()
            .map(|r| r.credentials_parameter.as_str()),
        Some("arn:aws:secretsmanager:eu-west-1:1:secret:s")
    );
}
