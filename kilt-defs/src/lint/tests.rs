use super::*;
use serde_json::json;

fn run(v: Value) -> Vec<(&'static str, String)> {
    let doc = crate::parse_document(&serde_json::to_string_pretty(&v).unwrap()).unwrap();
    lint(
        &doc,
        None,
        &Definition::builtin(),
        &Options::default(),
        &ImageConfigs::new(),
        &BTreeSet::new(),
    )
    .unwrap()
    .into_iter()
    .map(|f| (f.rule.id, f.message))
    .collect()
}

fn ids(v: Value) -> Vec<&'static str> {
    run(v).into_iter().map(|(id, _)| id).collect()
}

#[test]
fn unpatched_task_is_not_instrumented_and_patched_is_clean() {
    let task = json!({"family": "f", "requiresCompatibilities": ["FARGATE"],
        "containerDefinitions": [{"name": "app", "image": "x", "entryPoint": ["/app"]}]});
    assert_eq!(ids(task.clone()), vec!["KX001"]);
    let mut patched = task;
    patch::patch(
        &mut patched,
        Shape::Register,
        &Definition::builtin(),
        &Options::default(),
        &ImageConfigs::new(),
    )
    .unwrap();
    assert_eq!(ids(patched), Vec::<&str>::new());
}

#[test]
fn unknown_image_is_reported_and_the_rest_still_checked() {
    let task = json!({"family": "f",
        "containerDefinitions": [{"name": "app", "image": "mystery"},
                                 {"name": "b", "image": "y", "entryPoint": ["/b"],
                                  "linuxParameters": {"capabilities": {"add": ["SYS_ADMIN"]}}}]});
    assert_eq!(ids(task), vec!["KX001", "KX010", "KX001", "KX020"]);
}

#[test]
fn wrapped_argv_is_what_the_splices_matched() {
    let def = Definition::builtin();
    let ep: Vec<Value> = [
        "/kiltx/bin/kiltx-tracer",
        "run",
        "--output",
        "tcp://127.0.0.1:7701",
        "--",
    ]
    .iter()
    .map(|s| json!(s))
    .collect();
    assert_eq!(
        wrapped_argv(&def, &ep, &[json!("a"), json!("b")]),
        vec![json!("a"), json!("b")]
    );
    assert!(wrapped_argv(&def, &ep, &[]).is_empty());
}

#[test]
fn suppressions_parse_ids_and_names() {
    let (known, unknown) = parse_suppressions(["kx001, tracer-sidecar-missing", "KX999"]);
    assert_eq!(
        known.into_iter().collect::<Vec<_>>(),
        vec!["KX001", "KX003"]
    );
    assert_eq!(unknown, vec!["KX999"]);
}

#[test]
fn positions_are_the_documents() {
    let text = "{\n  \"family\": \"f\",\n  \"containerDefinitions\": [\n    {\"name\": \"é\", \"image\": \"x\", \"entryPoint\": [\"/a\"],\n     \"environment\": [{\"name\": \"DB_PASSWORD\", \"value\": \"hunter22\"}]}\n  ]\n}\n";
    let doc = crate::parse_document(text).unwrap();
    let findings = lint(
        &doc,
        None,
        &Definition::builtin(),
        &Options::default(),
        &ImageConfigs::new(),
        &BTreeSet::new(),
    )
    .unwrap();
    assert_eq!(findings.len(), 2);
    for f in findings {
        assert_eq!((f.line, f.column), doc.position(&f.path), "{f:?}");
    }
}
