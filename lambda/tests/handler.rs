//! The macro handler on constructed events.

use kilt_defs::image::ImageConfigs;
use kiltx_lambda::{decode, handle, Config, ConfigError, MacroRequest, MacroResponse};
use serde_json::{json, Value};

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_env(|k| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
}

fn request(fragment: Value, params: Value, values: Value) -> MacroRequest {
    decode(json!({
        "region": "eu-west-1", "accountId": "123456789012", "transformId": "123456789012::Kiltx",
        "requestId": "req-1", "fragment": fragment, "params": params, "templateParameterValues": values
    }))
    .unwrap()
}

fn template() -> Value {
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": ["Kiltx"],
        "Parameters": {"AppImage": {"Type": "String"}},
        "Resources": {
            "Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
                "RequiresCompatibilities": ["FARGATE"],
                "ContainerDefinitions": [
                    {"Name": "app", "Image": "app:1", "EntryPoint": ["/app"], "Command": [{"Fn::GetAtt": "Queue.Arn"}]}
                ]}},
            "Queue": {"Type": "AWS::SQS::Queue"}
        }
    })
}

#[test]
fn template_level_patches_every_fargate_task() {
    let r = handle(
        &config(&[]),
        request(template(), Value::Null, json!({})),
        &ImageConfigs::new(),
    );
    assert_eq!(r.status, "success", "{:?}", r.error_message);
    assert_eq!(r.request_id, "req-1");
    let c = &r.fragment["Resources"]["Task"]["Properties"]["ContainerDefinitions"];
    assert_eq!(c[0]["EntryPoint"][0], "/kiltx/bin/kiltx-tracer");
    assert_eq!(
        c[0]["Command"],
        json!(["/app", {"Fn::GetAtt": "Queue.Arn"}])
    );
    assert_eq!(c[1]["Name"], "kiltx-tracer");
    assert_eq!(
        r.fragment["Resources"]["Queue"],
        template()["Resources"]["Queue"]
    );
}

#[test]
fn snippet_level_with_params() {
    let props = json!({
        "ContainerDefinitions": [
            {"Name": "app", "Image": "app:1", "EntryPoint": ["/app"]},
            {"Name": "proxy", "Image": "envoy", "EntryPoint": ["/envoy"]}
        ]
    });
    let r = handle(
        &config(&[]),
        request(
            props.clone(),
            json!({"TracerImage": "reg.example/tracer:3", "IgnoreContainers": "proxy"}),
            json!({}),
        ),
        &ImageConfigs::new(),
    );
    assert_eq!(r.status, "success", "{:?}", r.error_message);
    let c = r.fragment["ContainerDefinitions"].as_array().unwrap();
    assert_eq!(c.len(), 3);
    assert_eq!(c[0]["EntryPoint"][0], "/kiltx/bin/kiltx-tracer");
    assert_eq!(
        c[1], props["ContainerDefinitions"][1],
        "ignored container untouched"
    );
    assert_eq!(c[2]["Image"], "reg.example/tracer:3");
}

#[test]
fn parameterised_image_with_template_parameter_values() {
    let mut t = template();
    let app = &mut t["Resources"]["Task"]["Properties"]["ContainerDefinitions"][0];
    app["Image"] = json!({"Ref": "AppImage"});
    app.as_object_mut().unwrap().remove("EntryPoint");
    let mut images = ImageConfigs::new();
    images.insert(
        "reg.example/app:7",
        kilt_defs::image::ImageConfig {
            entrypoint: Some(vec!["/srv/app".into()]),
            cmd: Some(vec!["--x".into()]),
        },
    );
    let r = handle(
        &config(&[]),
        request(
            t.clone(),
            Value::Null,
            json!({"AppImage": "reg.example/app:7"}),
        ),
        &images,
    );
    assert_eq!(r.status, "success", "{:?}", r.error_message);
    let c = &r.fragment["Resources"]["Task"]["Properties"]["ContainerDefinitions"][0];
    assert_eq!(
        c["Command"],
        json!(["/srv/app", {"Fn::GetAtt": "Queue.Arn"}])
    );
    // Without the value, a clear failure, and the fragment returned as it came.
    let r = handle(
        &config(&[]),
        request(t.clone(), Value::Null, json!({})),
        &images,
    );
    assert_eq!(r.status, "failure");
    assert_eq!(r.fragment, t);
    assert_eq!(
        r.error_message.as_deref(),
        Some("kiltx macro: Resources.Task.Properties.ContainerDefinitions[0].Image: cannot patch container \"app\" in Task: it has no entryPoint, and its image is the intrinsic function Ref whose value kiltx cannot know (it depends on parameter AppImage, whose value the request does not give), so the image's ENTRYPOINT/CMD cannot be looked up — give AppImage a value when creating or updating the stack; or set the container's entryPoint and command in the template (kiltx then needs no image configuration), or write the value literally")
    );
}

#[test]
fn unpatchable_container_fails_the_whole_transform() {
    let mut t = template();
    t["Resources"]["Task"]["Properties"]["ContainerDefinitions"][0]["LinuxParameters"] =
        json!({"Capabilities": {"Drop": ["SYS_PTRACE"]}});
    let r = handle(
        &config(&[]),
        request(t.clone(), Value::Null, json!({})),
        &ImageConfigs::new(),
    );
    assert_eq!(r.status, "failure");
    assert_eq!(r.fragment, t);
    assert_eq!(
        r.error_message.as_deref(),
        Some("kiltx macro: Resources.Task.Properties.ContainerDefinitions[0].LinuxParameters.Capabilities.Drop: cannot patch container \"app\" in Task: it drops SYS_PTRACE, which the tracer needs — remove SYS_PTRACE from the container's dropped capabilities")
    );
}

#[test]
fn bad_fragment_and_bad_events() {
    let r = handle(
        &config(&[]),
        request(json!({"Foo": 1}), Value::Null, json!({})),
        &ImageConfigs::new(),
    );
    assert_eq!(r.status, "failure");
    assert!(r.error_message.unwrap().contains("neither a template"));
    let r: MacroResponse = *decode(json!({"requestId": "x"})).unwrap_err();
    assert_eq!((r.request_id.as_str(), r.status.as_str()), ("x", "failure"));
    let r = decode(json!({"requestId": "y", "fragment": {}, "templateParameterValues": 3}))
        .unwrap_err();
    assert!(r.error_message.unwrap().contains("not a macro request"));
    let r = handle(
        &config(&[]),
        request(template(), json!({"Bogus": 1}), json!({})),
        &ImageConfigs::new(),
    );
    assert_eq!(r.error_message.as_deref(), Some("kiltx macro: params.Bogus: unknown parameter (known: OptIn, IncludeEc2, GrowTask, TracerImage, IncludeContainers, IgnoreContainers)"));
}

#[test]
fn bad_configuration_fails_every_invocation() {
    let bad = config(&[(
        "KILTX_DEFINITION",
        "version: 1\ncontainers:\n  entryPoint: [x]\n",
    )]);
    assert!(bad.is_err());
    for _ in 0..2 {
        let r = handle(
            &bad,
            request(template(), Value::Null, json!({})),
            &ImageConfigs::new(),
        );
        assert_eq!(r.status, "failure");
        assert_eq!(r.fragment, template());
        let m = r.error_message.unwrap();
        assert!(
            m.starts_with("kiltx macro configuration is invalid: definition KILTX_DEFINITION"),
            "{m}"
        );
        assert!(m.contains("original argv exactly once"), "{m}");
    }
    let bad = config(&[("KILTX_OPT_IN", "maybe")]);
    assert_eq!(
        bad.unwrap_err().to_string(),
        "KILTX_OPT_IN=\"maybe\": expected true or false"
    );
}

#[test]
fn configuration_opt_in_and_log_group() {
    let cfg = config(&[
        ("KILTX_OPT_IN", "true"),
        ("KILTX_LOG_GROUP", "/kiltx/events"),
    ]);
    let r = handle(
        &cfg,
        request(template(), Value::Null, json!({})),
        &ImageConfigs::new(),
    );
    assert_eq!(r.status, "success");
    assert_eq!(r.fragment, template(), "opt-in: untagged task left alone");
    let mut t = template();
    t["Resources"]["Task"]["Properties"]["Tags"] = json!([{"Key": "kilt-include", "Value": "y"}]);
    let r = handle(
        &cfg,
        request(t, Value::Null, json!({})),
        &ImageConfigs::new(),
    );
    let sidecar = &r.fragment["Resources"]["Task"]["Properties"]["ContainerDefinitions"][1];
    assert_eq!(
        sidecar["LogConfiguration"],
        json!({"LogDriver": "awslogs", "Options": {"awslogs-group": "/kiltx/events", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "kiltx"}})
    );
}

#[test]
fn grow_task_raises_the_task_size_instead_of_lowering_the_sidecar() {
    let props = json!({
        "RequiresCompatibilities": ["FARGATE"], "Cpu": "256", "Memory": "512",
        "ContainerDefinitions": [
            {"Name": "app", "Image": "app:1", "EntryPoint": ["/app"], "Cpu": 256, "MemoryReservation": 512}
        ]
    });
    let patched = |params: Value| {
        let r = handle(
            &config(&[]),
            request(props.clone(), params, json!({})),
            &ImageConfigs::new(),
        );
        assert_eq!(r.status, "success", "{:?}", r.error_message);
        r.fragment
    };
    let grown = patched(json!({"GrowTask": "true"}));
    assert_eq!(
        (&grown["Cpu"], &grown["Memory"]),
        (&json!("512"), &json!("1024"))
    );
    assert_eq!(grown["ContainerDefinitions"][1]["Cpu"], 64);
    assert_eq!(grown["ContainerDefinitions"][1]["MemoryReservation"], 64);
    // By default the task keeps its size and the sidecar asks for what is free (nothing).
    let fitted = patched(Value::Null);
    assert_eq!(
        (&fitted["Cpu"], &fitted["Memory"]),
        (&json!("256"), &json!("512"))
    );
    assert!(fitted["ContainerDefinitions"][1].get("Cpu").is_none());
    let r = handle(
        &config(&[]),
        request(props.clone(), json!({"GrowTask": "perhaps"}), json!({})),
        &ImageConfigs::new(),
    );
    assert_eq!(r.status, "failure");
    assert!(r.error_message.unwrap().contains("params.GrowTask"));
}
