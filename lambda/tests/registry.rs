//! The real `bootstrap` with registry lookups: a Runtime API served by the test, Debian's
//! `docker-registry` on 127.0.0.1 with images pushed by the test.

use std::time::Duration;

use crate::common::bootstrap;
use kiltx_bench::runtime_api::RuntimeApi;
use kiltx_testsupport as ts;
use serde_json::{json, Value};

fn event(id: &str, fragment: Value, values: Value) -> Value {
    json!({"region": "eu-west-1", "accountId": "123456789012", "transformId": "x::Kiltx",
           "requestId": id, "fragment": fragment, "params": {}, "templateParameterValues": values})
}

fn template(image: Value, runtime_platform: Option<&str>) -> Value {
    let mut props = json!({
        "RequiresCompatibilities": ["FARGATE"],
        "ContainerDefinitions": [{"Name": "app", "Image": image, "Command": [{"Fn::Sub": "--region=${AWS::Region}"}]}]
    });
    if let Some(arch) = runtime_platform {
        props["RuntimePlatform"] =
            json!({"CpuArchitecture": arch, "OperatingSystemFamily": "LINUX"});
    }
    json!({"Parameters": {"AppImage": {"Type": "String"}},
           "Resources": {"Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": props}}})
}

fn app(answer: &Value) -> &Value {
    &answer["fragment"]["Resources"]["Task"]["Properties"]["ContainerDefinitions"][0]
}

#[test]
fn images_are_looked_up_in_their_registry() {
    let tmp = ts::TempDir::new("lambda-registry");
    let reg = ts::registry(&tmp.path().join("storage"), tmp.path(), ts::Auth::Anonymous);
    let h = reg.host();
    ts::push_image(
        &h,
        "team/app",
        "1",
        ts::OCI_MANIFEST,
        "amd64",
        &ts::Process::new(Some(&["/srv/app"]), Some(&["--serve"])),
    );
    ts::push_index(
        &h,
        "team/multi",
        "2",
        ts::OCI_INDEX,
        &[
            ("amd64", ts::Process::new(Some(&["/x86"]), None)),
            ("arm64", ts::Process::new(Some(&["/arm"]), None)),
        ],
    );
    let api = RuntimeApi::start();
    api.push(
        "plain",
        &event(
            "plain",
            template(json!(format!("{h}/team/app:1")), None),
            json!({}),
        ),
    );
    api.push(
        "by-ref",
        &event(
            "by-ref",
            template(json!({"Ref": "AppImage"}), Some("ARM64")),
            json!({"AppImage": format!("{h}/team/multi:2")}),
        ),
    );
    api.push(
        "missing",
        &event(
            "missing",
            template(json!(format!("{h}/team/app:nope")), None),
            json!({}),
        ),
    );
    // A sidecar built for both architectures, so that the ARM64 task is patched (the built-in
    // one, declared for X86_64 only, leaves ARM64 tasks alone).
    let both = include_str!("../../kilt-defs/src/definition/default.yaml")
        .replace("architectures: [X86_64]", "architectures: [X86_64, ARM64]");
    assert!(both.contains("architectures: [X86_64, ARM64]"));
    let _b = bootstrap(
        &api,
        &[
            ("KILTX_REGISTRY_TIMEOUT", "10"),
            ("KILTX_DEFINITION", &both),
        ],
    );
    let answers = api.answers(&["plain", "by-ref", "missing"], Duration::from_secs(60));

    let (_, plain) = &answers[0];
    assert_eq!(
        plain["status"],
        "success",
        "{:?}",
        plain.get("errorMessage")
    );
    // The task definition's Command replaces the image's CMD, after the image's ENTRYPOINT.
    assert_eq!(
        app(plain)["Command"],
        json!(["/srv/app", {"Fn::Sub": "--region=${AWS::Region}"}])
    );

    let (_, by_ref) = &answers[1];
    assert_eq!(
        by_ref["status"],
        "success",
        "{:?}",
        by_ref.get("errorMessage")
    );
    assert_eq!(
        app(by_ref)["Command"],
        json!(["/arm", {"Fn::Sub": "--region=${AWS::Region}"}]),
        "the arm64 entry of the index"
    );

    let (kind, missing) = &answers[2];
    assert_eq!(kind, "response");
    assert_eq!(missing["status"], "failure");
    let m = missing["errorMessage"].as_str().unwrap();
    assert!(
        m.contains("container \"app\" in Task needs the ENTRYPOINT/CMD of image")
            && m.contains("team/app:nope"),
        "{m}"
    );
    assert!(
        m.contains("404") || m.to_lowercase().contains("not found"),
        "{m}"
    );
    assert_eq!(
        missing["fragment"],
        template(json!(format!("{h}/team/app:nope")), None),
        "the fragment comes back as it came"
    );
}

#[test]
fn lookups_are_budgeted_from_the_deadline() {
    // A 30 s invocation leaves 27 s for lookups; a nearly expired one leaves nothing.
    assert_eq!(
        kiltx_lambda::lookup_budget(1_000_030_000, 1_000_000_000),
        Duration::from_millis(27_000)
    );
    assert_eq!(
        kiltx_lambda::lookup_budget(1_000_001_000, 1_000_000_000),
        Duration::ZERO
    );
    assert_eq!(
        kiltx_lambda::lookup_budget(0, 1_000_000_000),
        Duration::from_secs(60)
    );
}
