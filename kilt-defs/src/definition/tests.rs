use super::*;

#[test]
fn builtin_definition_loads() {
    let d = Definition::parse(BUILTIN, "(built-in)").unwrap();
    assert_eq!(d.sidecars.len(), 1);
    assert_eq!(d.sidecars[0].name, "kiltx-tracer");
    assert_eq!(d.sidecars[0].essential, Some(false));
    assert_eq!(d.launcher(), Some("/kiltx/bin/kiltx-tracer"));
    assert_eq!(d.containers.capabilities, vec!["SYS_PTRACE"]);
}

#[test]
fn shown_definition_reloads_to_the_same() {
    let d = Definition::builtin();
    let again = Definition::parse(&d.to_yaml(), "shown").unwrap();
    assert_eq!(d, again);
}

fn err(text: &str) -> String {
    Definition::parse(text, "def.yaml").unwrap_err().to_string()
}

#[test]
fn unknown_keys_are_named_with_their_path() {
    let e = err("version: 1\ncontainers:\n  entryPoint: [a, {splice: argv}]\n  capabilites: [X]\n");
    assert!(e.contains("unknown field `capabilites`"), "{e}");
    assert!(e.starts_with("definition def.yaml"), "{e}");
}

#[test]
fn argv_must_be_spliced_exactly_once() {
    let e = err("version: 1\ncontainers:\n  entryPoint: [a]\n  command: [b]\n");
    assert!(e.contains("original argv exactly once"), "{e}");
    let e = err(
        "version: 1\ncontainers:\n  entryPoint: [a, {splice: argv}]\n  command: [{splice: argv}]\n",
    );
    assert!(e.contains("original argv exactly once"), "{e}");
    let e = err(
        "version: 1\ncontainers:\n  entryPoint: [a, {splice: entryPoint}, x, {splice: command}]\n",
    );
    assert!(e.contains("original argv exactly once"), "{e}");
    Definition::parse(
        "version: 1\ncontainers:\n  entryPoint: [a, {splice: entryPoint}]\n  command: [{splice: command}]\n",
        "ok",
    )
    .unwrap();
}

#[test]
fn references_must_name_sidecars() {
    let e = err("version: 1\nsidecars: [{name: s, image: i}]\ncontainers:\n  entryPoint: [a, {splice: argv}]\n  dependsOn: [{containerName: t, condition: START}]\n");
    assert!(e.contains("containers.dependsOn[0].containerName"), "{e}");
    assert!(e.contains("not one of the definition's sidecars"), "{e}");
}

#[test]
fn bad_values_are_pointed_at() {
    let e = err("version: 2\ncontainers:\n  entryPoint: [a, {splice: argv}]\n");
    assert!(e.contains("unsupported version 2"), "{e}");
    let e = err("version: 1\nsidecars: [{name: 'bad name', image: i}]\ncontainers:\n  entryPoint: [a, {splice: argv}]\n");
    assert!(e.contains("sidecars[0].name"), "{e}");
    let e = err("version: 1\ncontainers:\n  entryPoint: [a, {splice: argv}]\n  capabilities: [sys_ptrace]\n");
    assert!(e.contains("containers.capabilities[0]"), "{e}");
    let e =
        err("version: 1\ncontainers:\n  entryPoint: [a, {splice: argv}]\n  environment: {A: 1}\n");
    assert!(
        e.contains("containers.environment.A: expected a string"),
        "{e}"
    );
    let e =
        err("{\"version\": 1, \"containers\": {\"entryPoint\": [\"a\", {\"splice\": \"args\"}]}}");
    assert!(e.contains("containers.entryPoint"), "{e}");
}

#[test]
fn tracer_image_override() {
    let mut d = Definition::builtin();
    d.set_tracer_image("registry.example/tracer:2").unwrap();
    assert_eq!(d.sidecars[0].image, "registry.example/tracer:2");
    assert!(d.set_tracer_image(" ").is_err());
}
