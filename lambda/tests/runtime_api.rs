//! The real `bootstrap` binary against a Lambda Runtime API served by the test on 127.0.0.1
//! (`kiltx_bench::runtime_api`), fed real macro events; the answers it posts are checked.

use std::time::Duration;

use crate::common::bootstrap;
use kiltx_bench::runtime_api::RuntimeApi;
use serde_json::{json, Value};

fn event(id: &str, fragment: Value, params: Value) -> Value {
    json!({"region": "eu-west-1", "accountId": "123456789012", "transformId": "123456789012::Kiltx",
           "requestId": id, "fragment": fragment, "params": params, "templateParameterValues": {}})
}

fn small_template() -> Value {
    json!({"Resources": {"Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
        "RequiresCompatibilities": ["FARGATE"],
        "ContainerDefinitions": [{"Name": "app", "Image": "app", "EntryPoint": ["/app"]}]}}}})
}

#[test]
fn bootstrap_answers_macro_events() {
    let api = RuntimeApi::start();
    // ~1 MB of compact JSON, as CloudFormation sends it.
    let big = kiltx_bench::cloudformation_template(200, 2_400_000);
    let big_len = big.to_string().len();
    assert!(
        (900_000..1_300_000).contains(&big_len),
        "large fragment is {big_len} bytes"
    );
    api.push(
        "r-template",
        &event("r-template", small_template(), Value::Null),
    );
    api.push(
        "r-snippet",
        &event("r-snippet", json!({"ContainerDefinitions": [{"Name": "app", "Image": "app", "EntryPoint": ["/app"]}]}), json!({"TracerImage": "reg.example/t:1"})),
    );
    api.push("r-bad", &event("r-bad", json!({"Resources": {"Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
        "RequiresCompatibilities": ["FARGATE"], "ContainerDefinitions": [{"Name": "app", "Image": "127.0.0.1:9/mystery:1"}]}}}}), Value::Null));
    api.push("r-big", &event("r-big", big.clone(), Value::Null));
    api.push(
        "r-garbage",
        &json!({"hello": "world", "requestId": "r-garbage"}),
    );
    let _b = bootstrap(&api, &[]);
    let answers = api.answers(
        &["r-template", "r-snippet", "r-bad", "r-big", "r-garbage"],
        Duration::from_secs(60),
    );

    let (kind, t) = &answers[0];
    assert_eq!(kind, "response");
    assert_eq!(
        (t["requestId"].as_str(), t["status"].as_str()),
        (Some("r-template"), Some("success"))
    );
    assert_eq!(
        t["fragment"]["Resources"]["Task"]["Properties"]["ContainerDefinitions"][1]["Name"],
        "kiltx-tracer"
    );

    let (_, s) = &answers[1];
    assert_eq!(s["status"], "success");
    assert_eq!(
        s["fragment"]["ContainerDefinitions"][1]["Image"],
        "reg.example/t:1"
    );

    let (kind, b) = &answers[2];
    assert_eq!(
        kind, "response",
        "a failure is an answer, not a function error"
    );
    assert_eq!(b["status"], "failure");
    assert!(
        b["errorMessage"].as_str().unwrap().contains(
            "container \"app\" in Task needs the ENTRYPOINT/CMD of image 127.0.0.1:9/mystery:1"
        ),
        "{b}"
    );
    assert_eq!(
        b["fragment"]["Resources"]["Task"]["Properties"]["ContainerDefinitions"][0]["Image"],
        "127.0.0.1:9/mystery:1"
    );

    let (_, big_answer) = &answers[3];
    assert_eq!(
        big_answer["status"],
        "success",
        "{:?}",
        big_answer.get("errorMessage")
    );
    let tasks = big_answer["fragment"]["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::ECS::TaskDefinition");
    let mut n = 0;
    for t in tasks {
        let c = t["Properties"]["ContainerDefinitions"].as_array().unwrap();
        assert_eq!(c.len(), 4);
        assert!(c[..3]
            .iter()
            .all(|c| c["EntryPoint"][0] == "/kiltx/bin/kiltx-tracer"));
        n += 1;
    }
    assert_eq!(n, 200);

    let (_, g) = &answers[4];
    assert_eq!(
        (g["requestId"].as_str(), g["status"].as_str()),
        (Some("r-garbage"), Some("failure"))
    );
}

/// Events that are JSON but that serde_json cannot make a value of, which the runtime's own
/// reader refused before the handler (an invocation error, no answer): nested deeper than it
/// reads, or a number out of range. Each gets a `failure` that says why, echoing the request
/// ID, and the function goes on.
#[test]
fn unreadable_events_get_a_failure_answer() {
    let api = RuntimeApi::start();
    // a template whose one container's environment nests 300 arrays deep
    let mut deep = json!("x");
    for _ in 0..300 {
        deep = json!([deep]);
    }
    let mut template = small_template();
    template["Resources"]["Task"]["Properties"]["ContainerDefinitions"][0]["Environment"] = deep;
    api.push("r-deep", &event("r-deep", template, Value::Null));
    api.push_text(
        "r-number",
        r#"{"requestId": "r-number", "region": "eu-west-1", "fragment": {"Resources": {"N": 1e999}}}"#,
    );
    api.push("r-after", &event("r-after", small_template(), Value::Null));
    let _b = bootstrap(&api, &[]);
    let answers = api.answers(&["r-deep", "r-number", "r-after"], Duration::from_secs(60));

    let (kind, d) = &answers[0];
    assert_eq!(kind, "response", "an answer, not an invocation error: {d}");
    assert_eq!(
        (d["requestId"].as_str(), d["status"].as_str()),
        (Some("r-deep"), Some("failure"))
    );
    let message = d["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("nests objects and arrays more than 128 levels deep"),
        "{message}"
    );
    let (kind, n) = &answers[1];
    assert_eq!(kind, "response", "{n}");
    assert_eq!(
        (n["requestId"].as_str(), n["status"].as_str()),
        (Some("r-number"), Some("failure"))
    );
    assert!(
        n["errorMessage"].as_str().unwrap().starts_with(
            "kiltx macro: the event is JSON that kiltx cannot read: number out of range"
        ),
        "{n}"
    );
    let (_, a) = &answers[2];
    assert_eq!(
        (a["requestId"].as_str(), a["status"].as_str()),
        (Some("r-after"), Some("success"))
    );
}

#[test]
fn broken_configuration_fails_each_invocation_without_crashing() {
    let api = RuntimeApi::start();
    let mut b = bootstrap(
        &api,
        &[("KILTX_DEFINITION", "version: 7\ncontainers: {}\n")],
    );
    for id in ["c1", "c2"] {
        api.push(id, &event(id, small_template(), Value::Null));
        let answers = api.answers(&[id], Duration::from_secs(30));
        let (kind, a) = &answers[0];
        assert_eq!(kind, "response");
        assert_eq!(a["status"], "failure");
        assert!(
            a["errorMessage"]
                .as_str()
                .unwrap()
                .starts_with("kiltx macro configuration is invalid: definition KILTX_DEFINITION"),
            "{a}"
        );
        assert_eq!(a["fragment"], small_template());
    }
    assert!(
        b.0.try_wait().unwrap().is_none(),
        "the runtime must keep running"
    );
}

/// The Graviton package: `bootstrap` built for aarch64 (tests/aarch64/cargo.sh, as
/// `lambda/package.sh arm64` builds it), run by qemu-aarch64 (user mode), answers the same
/// events exactly as the x86_64 one does.
#[test]
fn the_aarch64_bootstrap_answers_as_the_x86_64_one() {
    use kiltx_testsupport::aarch64;
    let bin = aarch64::build("kiltx-lambda", "bootstrap");
    assert_eq!(aarch64::elf_machine(&bin), Some(183), "an aarch64 binary");
    let events = [
        (
            "r-template",
            event("r-template", small_template(), Value::Null),
        ),
        (
            "r-snippet",
            event(
                "r-snippet",
                json!({"ContainerDefinitions": [{"Name": "app", "Image": "app", "EntryPoint": ["/app"]}]}),
                json!({"TracerImage": "reg.example/t:1"}),
            ),
        ),
        (
            "r-big",
            event(
                "r-big",
                kiltx_bench::cloudformation_template(20, 240_000),
                Value::Null,
            ),
        ),
        (
            "r-garbage",
            json!({"hello": "world", "requestId": "r-garbage"}),
        ),
    ];
    let ids: Vec<&str> = events.iter().map(|(id, _)| *id).collect();
    let answers = |cmd| {
        let api = RuntimeApi::start();
        for (id, e) in &events {
            api.push(id, e);
        }
        let _b = crate::common::bootstrap_with(cmd, &api, &[]);
        api.answers(&ids, Duration::from_secs(120))
    };
    let native = answers(kiltx_testsupport::hermetic::command(env!(
        "CARGO_BIN_EXE_bootstrap"
    )));
    let arm = answers(aarch64::qemu_user(&bin));
    assert_eq!(native[0].1["status"], "success");
    assert_eq!(
        native[0].1["fragment"]["Resources"]["Task"]["Properties"]["ContainerDefinitions"][1]
            ["Name"],
        "kiltx-tracer"
    );
    assert_eq!(native[3].1["status"], "failure");
    assert_eq!(arm, native);
}
