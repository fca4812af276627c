use super::*;
use serde_json::json;

/// Lint `text` with the built-in definition, no image configurations and no suppressions.
fn lint_text(text: &str) -> (Document, Vec<Finding>) {
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
    (doc, findings)
}

fn run(v: Value) -> Vec<(&'static str, String)> {
    let (_, findings) = lint_text(&serde_json::to_string_pretty(&v).unwrap());
    findings
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
        "cpu": "256", "memory": "512",
        "containerDefinitions": [{"name": "app", "image": "x", "entryPoint": ["/app"],
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "g",
                "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "app"}}}]});
    assert_eq!(ids(task.clone()), vec!["KX001"]);
    let patch_it = |mut t: Value| {
        patch::patch(
            &mut t,
            Shape::Register,
            &Definition::builtin(),
            &Options::default(),
            &ImageConfigs::new(),
        )
        .unwrap();
        t
    };
    let patched = patch_it(task.clone());
    assert_eq!(
        patched["containerDefinitions"][1]["logConfiguration"]["options"]["awslogs-stream-prefix"],
        "kiltx"
    );
    assert_eq!(ids(patched), Vec::<&str>::new());
    // Without a log configuration anywhere, the sidecar's output is discarded on Fargate: a
    // warning, not an error (patch's own output is never an error for lint).
    let mut bare = task;
    bare["containerDefinitions"][0]
        .as_object_mut()
        .unwrap()
        .remove("logConfiguration");
    let found = run(patch_it(bare));
    assert_eq!(
        found.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        ["KX042"]
    );
    assert!(found[0].1.contains("is discarded"), "{}", found[0].1);
}

#[test]
fn unknown_image_is_reported_and_the_rest_still_checked() {
    let task = json!({"family": "f", "memory": "512",
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
        "unix:/kiltx/run/events.sock",
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
    let text = "{\n  \"family\": \"f\", \"memory\": \"512\",\n  \"containerDefinitions\": [\n    {\"name\": \"é\", \"image\": \"x\", \"entryPoint\": [\"/a\"],\n     \"environment\": [{\"name\": \"DB_PASSWORD\", \"value\": \"hunter22\"}]}\n  ]\n}\n";
    // YAML alike (whatever spans the YAML parser gives, lint agrees with the document).
    let yaml = "family: f\nmemory: 512\ncontainerDefinitions:\n  - name: app\n    image: x\n    entryPoint: [/a]\n    environment:\n      - {name: DB_PASSWORD, value: hunter22}\n";
    // "é" is also a container name ECS rejects (KX027): one more finding, after the multi-byte
    // character.
    for (text, want) in [
        (text, vec!["KX001", "KX027", "KX040"]),
        (yaml, vec!["KX001", "KX040"]),
    ] {
        let (doc, findings) = lint_text(text);
        let mut got: Vec<&str> = findings.iter().map(|f| f.rule.id).collect();
        got.sort();
        assert_eq!(got, want, "{text}");
        for f in findings {
            assert_eq!((f.line, f.column), doc.position(&f.path), "{f:?}");
        }
    }
}

fn cfn(task_metadata: Value, template_metadata: Option<Value>) -> Value {
    let task = |meta: Option<Value>| {
        let mut r = json!({"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "RequiresCompatibilities": ["FARGATE"],
            "Cpu": "256", "Memory": "512",
            "Tags": [{"Key": "kilt-ignore", "Value": "x"}],
            "ContainerDefinitions": [{"Name": "app", "Image": "x", "EntryPoint": ["/a"],
                "Environment": [
                    {"Name": "DB_PASSWORD", "Value": "hunter22"},
                    {"Name": "API_KEY", "Value": {"Ref": "ApiKey"}},
                    {"Name": "TOKEN", "Value": {"Fn::Sub": "${Token}"}},
                    {"Name": "SIGNING_KEY", "Value": "arn:aws:ssm:eu-west-1:1:parameter/k"}]}]}});
        if let Some(m) = meta {
            r["Metadata"] = m;
        }
        r
    };
    let mut t = json!({"Resources": {"A": task(Some(task_metadata)), "B": task(None)}});
    if let Some(m) = template_metadata {
        t["Metadata"] = m;
    }
    t
}

#[test]
fn metadata_suppressions_are_per_resource_or_per_template() {
    // Intrinsic and ARN values are not reported; the literal password is, in both tasks.
    let all = run(cfn(json!({}), None));
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all
        .iter()
        .all(|(id, m)| *id == "KX040" && m.contains("DB_PASSWORD")));
    // Suppressed in A only.
    let ids_a: Vec<_> = run(cfn(json!({"kiltx": {"ignore": ["KX040"]}}), None));
    assert_eq!(ids_a.len(), 1);
    // Suppressed for the whole template, by name.
    let none = run(cfn(
        json!({}),
        Some(json!({"kiltx": {"ignore": "credential-in-environment"}})),
    ));
    assert!(none.is_empty(), "{none:?}");
    // Malformed and unknown suppressions are findings of their own.
    let bad = ids(cfn(
        json!({"kiltx": {"ignore": ["KX040", "KX404", 3]}}),
        None,
    ));
    assert_eq!(bad, vec!["KX090", "KX090", "KX040"]);
    let bad = ids(cfn(json!({"kiltx": ["KX040"]}), None));
    assert_eq!(bad.iter().filter(|i| **i == "KX090").count(), 1);
}

#[test]
fn odd_values_are_reported_never_panicked_on() {
    let odd = [
        json!({"family": "f", "containerDefinitions": [1, "x", null,
            {"name": 3, "environment": "x", "linuxParameters": [], "volumesFrom": [7, {"sourceContainer": 1}]},
            {"name": "a", "environment": [1, {"name": 2}, {"name": "K_TOKEN", "value": 5}],
             "linuxParameters": {"capabilities": {"add": "SYS_ADMIN"}}, "dependsOn": "x", "links": [1]}]}),
        json!({"family": "f", "containerDefinitions": {"Fn::If": ["C", [], []]}}),
        json!({"family": "f", "containerDefinitions": []}),
        json!({"family": "f", "requiresCompatibilities": "FARGATE", "pidMode": 1, "ipcMode": null,
            "runtimePlatform": "ARM64", "containerDefinitions": [{"name": "a", "entryPoint": "x"}]}),
        json!([{"name": "a", "image": {"Ref": "X"}, "essential": "false"}]),
        json!({"Resources": {"T": {"Type": "AWS::ECS::TaskDefinition", "Metadata": [],
            "Properties": {"RequiresCompatibilities": ["FARGATE"], "ContainerDefinitions": [
                {"Name": {"Ref": "N"}, "Image": "x", "EntryPoint": ["/a"]}]}}},
            "Metadata": {"kiltx": {"ignore": {"x": 1}}}}),
    ];
    for v in odd {
        let _ = run(v);
    }
}

/// The reference in docs/ stays in step with the code it describes.
fn doc(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// docs/lint.md's rules table has exactly the rules `kiltx lint` checks, in ID order, each with
/// its code's name, severity and summary.
#[test]
fn the_lint_rules_table_is_the_rules_in_the_code() {
    let text = doc("lint.md");
    let rows: Vec<[String; 4]> = text
        .lines()
        .filter(|l| l.starts_with("| KX"))
        .map(|l| {
            let cells: Vec<String> = l
                .trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().trim_matches('`').to_string())
                .collect();
            assert_eq!(cells.len(), 4, "docs/lint.md: a rules row has 4 cells: {l}");
            [
                cells[0].clone(),
                cells[1].clone(),
                cells[2].clone(),
                cells[3].clone(),
            ]
        })
        .collect();
    let code: Vec<[String; 4]> = super::RULES
        .iter()
        .map(|r| {
            [
                r.id.to_string(),
                r.name.to_string(),
                r.severity.as_str().to_string(),
                r.summary.to_string(),
            ]
        })
        .collect();
    for (i, (d, c)) in rows.iter().zip(&code).enumerate() {
        assert_eq!(d, c, "docs/lint.md rules table, row {}", i + 1);
    }
    assert_eq!(
        rows.len(),
        code.len(),
        "docs/lint.md lists {} rules, the code has {}: update the table (kiltx lint --list-rules)",
        rows.len(),
        code.len()
    );
}
