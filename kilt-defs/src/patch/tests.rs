use super::argv::{matches, render};
use super::*;
use crate::definition::{Arg, Definition, Splice};
use crate::error::Error;
use crate::image::{ImageConfig, ImageConfigs};
use crate::shape::Shape;
use serde_json::json;
use serde_json::Value;

fn def() -> Definition {
    Definition::builtin()
}

fn run(mut v: Value, shape: Shape, def: &Definition) -> Result<(Value, Report), Error> {
    let report = patch(
        &mut v,
        shape,
        def,
        &Options::default(),
        &ImageConfigs::new(),
    )?;
    Ok((v, report))
}

fn lit(s: &str) -> Arg {
    Arg::Literal(s.to_string())
}

fn splice(s: Splice) -> Arg {
    Arg::Splice(crate::definition::SpliceArg { splice: s })
}

#[test]
fn template_matching_treats_splices_as_any_run() {
    let t = [
        lit("/l"),
        splice(Splice::EntryPoint),
        splice(Splice::Command),
        lit("--"),
    ];
    assert!(matches(&t, &[json!("/l"), json!("--")]));
    assert!(matches(
        &t,
        &[json!("/l"), json!("a"), json!({"Ref": "X"}), json!("--")]
    ));
    assert!(!matches(&t, &[json!("/l"), json!("a")]));
    assert!(!matches(&t, &[json!("/x"), json!("--")]));
    assert!(matches(&[splice(Splice::Argv)], &[]));
    assert!(!matches(&[lit("a")], &[]));
}

#[test]
fn rendering_places_the_argv() {
    let ep = [json!("/bin/app")];
    let cmd = [json!("--flag"), json!({"Fn::Sub": "${X}"})];
    assert_eq!(
        render(&[lit("/t"), splice(Splice::Argv)], &ep, &cmd),
        vec![
            json!("/t"),
            json!("/bin/app"),
            json!("--flag"),
            json!({"Fn::Sub": "${X}"})
        ]
    );
    assert_eq!(
        render(&[splice(Splice::Command), lit("x")], &ep, &cmd),
        vec![cmd[0].clone(), cmd[1].clone(), json!("x")]
    );
}

#[test]
fn a_new_tracer_image_updates_the_existing_sidecar() {
    let input = json!({"family": "f", "containerDefinitions": [{"name": "a", "image": "a", "entryPoint": ["/a"]}]});
    let (once, _) = run(input, Shape::Register, &def()).unwrap();
    let mut d2 = def();
    d2.set_tracer_image("registry.example/tracer:2").unwrap();
    let (twice, report) = run(once.clone(), Shape::Register, &d2).unwrap();
    let containers = twice["containerDefinitions"].as_array().unwrap();
    assert_eq!(containers.len(), 2, "no second sidecar");
    assert_eq!(containers[1]["image"], "registry.example/tracer:2");
    assert_eq!(
        containers[0], once["containerDefinitions"][0],
        "the app is not wrapped twice"
    );
    assert_eq!(
        report.tasks[0].status,
        TaskStatus::Patched {
            wrapped: vec![],
            already: vec!["a".into()],
            notes: vec!["sidecar \"kiltx-tracer\" has no log configuration, and neither has any traced container: on Fargate its output (every event and alert) is discarded; give it one with --log-group GROUP, or in the definition".into()]
        }
    );
}

#[test]
fn two_spellings_of_one_field_are_an_error() {
    let input = json!([{"name": "a", "image": "a", "entryPoint": ["/a"], "Environment": [], "environment": []}]);
    let e = run(input, Shape::Containers, &def())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("both \"Environment\" and \"environment\" are given"),
        "{e}"
    );
}

#[test]
fn mixed_case_fields_are_merged_not_duplicated() {
    let input = json!([{"Name": "a", "Image": "a", "EntryPoint": ["/a"], "Environment": [{"Name": "X", "Value": "1"}]}]);
    let (out, _) = run(input, Shape::Containers, &def()).unwrap();
    let c = &out[0];
    assert!(c.get("environment").is_none(), "{c}");
    assert_eq!(c["Environment"].as_array().unwrap().len(), 2);
    assert_eq!(c["EntryPoint"][0], "/kiltx/bin/kiltx-tracer");
    assert!(c.get("entryPoint").is_none());
}

#[test]
fn pid_mode_is_set_and_conflicts_are_errors() {
    let mut d = def();
    d.task.pid_mode = Some("task".into());
    let (out, _) = run(
        json!({"family": "f", "containerDefinitions": [{"name": "a", "image": "a", "entryPoint": ["/a"]}]}),
        Shape::Register,
        &d,
    )
    .unwrap();
    assert_eq!(out["pidMode"], "task");
    let e = run(
        json!({"family": "f", "pidMode": "host", "containerDefinitions": [{"name": "a", "image": "a", "entryPoint": ["/a"]}]}),
        Shape::Register,
        &d,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains(
            "pidMode: the definition needs pidMode \"task\", but the task definition sets \"host\""
        ),
        "{e}"
    );
}

#[test]
fn describe_output_becomes_register_input() {
    let v = json!({
        "taskDefinition": {"taskDefinitionArn": "arn", "family": "f", "revision": 3, "pidMode": null,
                            "containerDefinitions": [{"name": "a", "image": "a", "entryPoint": ["/a"], "command": null}]},
        "tags": [{"key": "k", "value": "v"}]
    });
    let (out, _) = run(v, Shape::Describe, &def()).unwrap();
    let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["family", "containerDefinitions", "tags"]);
    assert_eq!(out["containerDefinitions"][0]["command"], json!(["/a"]));
}

#[test]
fn every_error_of_a_run_is_reported() {
    let v = json!({"Resources": {
        "A": {"Type": "AWS::ECS::TaskDefinition", "Properties": {"RequiresCompatibilities": ["FARGATE"], "ContainerDefinitions": [{"Name": "a", "Image": "x"}]}},
        "B": {"Type": "AWS::ECS::TaskDefinition", "Properties": {"RequiresCompatibilities": ["FARGATE"], "ContainerDefinitions": [{"Name": "b", "Image": "y"}]}}
    }});
    let e = run(v, Shape::CloudFormation, &def()).unwrap_err();
    assert_eq!(e.flatten().len(), 2, "{e}");
}

#[test]
fn images_from_parameters_and_sub() {
    let mut images = ImageConfigs::new();
    images.insert(
        "reg.example/app:7",
        ImageConfig {
            entrypoint: Some(vec!["/app".into()]),
            cmd: None,
        },
    );
    let mut v = json!({
        "Parameters": {"Tag": {"Type": "String", "Default": "7"}},
        "Resources": {"T": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "RequiresCompatibilities": ["FARGATE"],
            "ContainerDefinitions": [{"Name": "a", "Image": {"Fn::Sub": "reg.example/app:${Tag}"}}]}}}
    });
    patch(
        &mut v,
        Shape::CloudFormation,
        &def(),
        &Options::default(),
        &images,
    )
    .unwrap();
    let c = &v["Resources"]["T"]["Properties"]["ContainerDefinitions"][0];
    assert_eq!(c["Command"], json!(["/app"]));
}

#[test]
fn tasks_on_an_architecture_the_sidecar_lacks_are_left_alone() {
    let task = |arch: Value| {
        json!({"Parameters": {"Arch": {"Type": "String"}},
         "Resources": {"T": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "RequiresCompatibilities": ["FARGATE"], "Cpu": "256", "Memory": "512",
            "RuntimePlatform": {"CpuArchitecture": arch, "OperatingSystemFamily": "LINUX"},
            "ContainerDefinitions": [{"Name": "app", "Image": "a", "EntryPoint": ["/a"]}]}}}})
    };
    // The built-in sidecar is built for both; a definition whose sidecar is x86_64-only:
    assert_eq!(def().sidecars[0].architectures, ["X86_64", "ARM64"]);
    let mut builtin = def();
    builtin.sidecars[0].architectures = vec!["X86_64".into()];
    // ARM64 with an x86_64-only sidecar: skipped, untouched, and the summary says why.
    let input = task(json!("ARM64"));
    let (out, report) = run(input.clone(), Shape::CloudFormation, &builtin).unwrap();
    assert_eq!(out, input);
    match &report.tasks[0].status {
        TaskStatus::Skipped(why) => {
            assert!(
                why.contains("ARM64") && why.contains("X86_64 only"),
                "{why}"
            )
        }
        other => panic!("{other:?}"),
    }
    // The same task with a sidecar built for both is patched.
    let mut both = def();
    both.sidecars[0].architectures = vec!["X86_64".into(), "ARM64".into()];
    let (out, report) = run(input, Shape::CloudFormation, &both).unwrap();
    assert!(matches!(report.tasks[0].status, TaskStatus::Patched { .. }));
    assert_ne!(
        out["Resources"]["T"]["Properties"]["ContainerDefinitions"][0]["EntryPoint"],
        json!(["/a"])
    );
    // An architecture kiltx cannot know is an error that names the parameter...
    let e = run(
        task(json!({"Ref": "Arch"})),
        Shape::CloudFormation,
        &builtin,
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("parameter Arch") && msg.contains("--parameter Arch=VALUE"),
        "{msg}"
    );
    // ...and the fix it names works.
    for (arch, patched) in [("X86_64", true), ("ARM64", false)] {
        let mut v = task(json!({"Ref": "Arch"}));
        let opts = Options {
            parameters: [("Arch".to_string(), arch.to_string())].into(),
            ..Options::default()
        };
        let report = patch(
            &mut v,
            Shape::CloudFormation,
            &builtin,
            &opts,
            &ImageConfigs::new(),
        )
        .unwrap();
        assert_eq!(
            matches!(report.tasks[0].status, TaskStatus::Patched { .. }),
            patched,
            "{arch}"
        );
    }
}
