//! The definition read from S3 (`KILTX_DEFINITION_URI`) when the function starts: moto's server
//! on 127.0.0.1 as S3, the real `bootstrap`, a Runtime API served by the test.

use std::time::Duration;

use crate::common::Bootstrap;
use kiltx_bench::runtime_api::RuntimeApi;
use kiltx_testsupport as ts;
use serde_json::{json, Value};

fn bootstrap(api: &RuntimeApi, s3: &str, uri: &str) -> Bootstrap {
    crate::common::bootstrap(
        api,
        &[
            ("AWS_ENDPOINT_URL_S3", &format!("http://{s3}")),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
            ("KILTX_DEFINITION_URI", uri),
        ],
    )
}

fn event(id: &str) -> Value {
    json!({"region": "us-east-1", "accountId": "123456789012", "transformId": "x::Kiltx", "requestId": id,
           "fragment": {"Resources": {"Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
               "RequiresCompatibilities": ["FARGATE"],
               "ContainerDefinitions": [{"Name": "app", "Image": "app", "EntryPoint": ["/app"]}]}}}},
           "params": {}, "templateParameterValues": {}})
}

#[test]
fn the_definition_comes_from_s3() {
    let tmp = ts::TempDir::new("lambda-s3");
    let moto = ts::moto(tmp.path());
    let h = moto.host();
    assert!(
        ts::http("PUT", &h, "/kiltx-config", &[], b"").status < 300,
        "create bucket"
    );
    let definition = "version: 1\nsidecars:\n  - name: watcher\n    image: reg.example/watcher:7\n    entryPoint: [/w]\ncontainers:\n  entryPoint: [/w/run, --]\n  command: [{splice: argv}]\n  capabilities: [SYS_PTRACE]\n";
    assert!(
        ts::http(
            "PUT",
            &h,
            "/kiltx-config/kiltx/definition.yaml",
            &[],
            definition.as_bytes()
        )
        .status
            < 300,
        "put object"
    );

    let api = RuntimeApi::start();
    api.push("ok", &event("ok"));
    let b = bootstrap(&api, &h, "s3://kiltx-config/kiltx/definition.yaml");
    let a = api.answers(&["ok"], Duration::from_secs(60));
    drop(b);
    let (_, ok) = &a[0];
    assert_eq!(ok["status"], "success", "{:?}", ok.get("errorMessage"));
    let c = &ok["fragment"]["Resources"]["Task"]["Properties"]["ContainerDefinitions"];
    assert_eq!(c[0]["EntryPoint"], json!(["/w/run", "--"]));
    assert_eq!(c[1]["Image"], "reg.example/watcher:7");

    // An object that is not there: every invocation fails, naming it.
    let api = RuntimeApi::start();
    api.push("missing", &event("missing"));
    let _b = bootstrap(&api, &h, "s3://kiltx-config/nope.yaml");
    let a = api.answers(&["missing"], Duration::from_secs(60));
    let (kind, missing) = &a[0];
    assert_eq!(kind, "response");
    assert_eq!(missing["status"], "failure");
    let m = missing["errorMessage"].as_str().unwrap();
    assert!(
        m.contains("s3://kiltx-config/nope.yaml: cannot read the definition"),
        "{m}"
    );
    assert!(m.contains("s3:GetObject"), "{m}");
}
