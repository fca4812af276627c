//! Time and memory grow in proportion to the input, for every layer (issue #18).
//!
//! Each family below makes inputs of one shape at sizes n, 2n, 4n, 8n and runs them through the
//! real entry points (document patching, lint, the Kilt recipe reader), measured by
//! `kiltx_testsupport::growth` (bytes allocated, peak, CPU time; the bounds are there).

use kilt_defs::definition::Definition;
use kilt_defs::image::ImageConfigs;
use kilt_defs::kilt::{KiltRecipe, Knobs};
use kilt_defs::patch::Options;
use kiltx_testsupport::growth::{grows_linearly, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

fn patch(text: &str) {
    let def = Definition::builtin();
    let _ = kilt_defs::document::patch_document(
        text,
        None,
        &def,
        &Options::default(),
        &ImageConfigs::new(),
    );
}

fn lint(text: &str) {
    let def = Definition::builtin();
    if let Ok(doc) = kilt_defs::parse_document(text) {
        let _ = kilt_defs::lint::lint(
            &doc,
            None,
            &def,
            &Options::default(),
            &ImageConfigs::new(),
            &Default::default(),
        );
    }
}

fn recipe(text: &str) {
    if let Ok(r) = KiltRecipe::parse(text, "growth.kilt.cfg", None) {
        let _ = r.definition(&Knobs::default());
    }
}

const TASK: &str = "{Type: AWS::ECS::TaskDefinition, Properties: {RequiresCompatibilities: [FARGATE], ContainerDefinitions: [{Name: app, Image: busybox, EntryPoint: [sh]}]}}";

#[test]
fn yaml_nested_flow_mappings_as_keys() {
    // The input: `: {{{...}}}`. Its key text doubled at every level.
    grows_linearly(
        "yaml {{{..}}}: keys",
        6,
        &|n| format!(": {}{}\n", "{".repeat(n), "}".repeat(n)),
        &patch,
    );
    grows_linearly(
        "yaml [[..]]: keys",
        6,
        &|n| format!("? {}{}\n: x\n", "[".repeat(n), "]".repeat(n)),
        &patch,
    );
}

#[test]
fn yaml_deep_nesting() {
    for (open, close) in [("[", "]"), ("{a: ", "}"), ("!Sub ", ""), ("- ", "")] {
        grows_linearly(
            &format!("yaml nesting {open:?}"),
            16,
            &|n| format!("x: {}1{}\n", open.repeat(n), close.repeat(n)),
            &patch,
        );
    }
    grows_linearly(
        "yaml nesting past the limit",
        200,
        &|n| format!("x: {}{}\n", "[".repeat(n), "]".repeat(n)),
        &patch,
    );
}

#[test]
fn yaml_wide_one_line_mapping_patched() {
    grows_linearly(
        "yaml one-line flow mapping, patched",
        500,
        &|n| {
            let extra: String = (0..n).map(|i| format!(", k{i}: v{i}")).collect();
            format!("{{Resources: {{T: {{Type: AWS::ECS::TaskDefinition, Properties: {{RequiresCompatibilities: [FARGATE], ContainerDefinitions: [{{Name: app, Image: busybox, EntryPoint: [sh]}}]{extra}}}}}}}}}\n")
        },
        &patch,
    );
}

#[test]
fn yaml_many_resources_patched() {
    grows_linearly(
        "yaml many resources, one task definition",
        500,
        &|n| {
            let mut s = String::from("Resources:\n");
            for i in 0..n {
                s.push_str(&format!("  B{i}:\n    Type: AWS::S3::Bucket # é\n"));
            }
            s.push_str(&format!("  T: {TASK}\n"));
            s
        },
        &patch,
    );
}

#[test]
fn many_errors_are_located_in_linear_time() {
    // Every task definition fails (no entry point, image unknown offline); each error is
    // located. One line (minified JSON) and many lines (YAML).
    grows_linearly(
        "json one line, an error per task definition",
        200,
        &|n| {
            let res: Vec<String> = (0..n)
                .map(|i| format!("\"T{i}\":{{\"Type\":\"AWS::ECS::TaskDefinition\",\"Properties\":{{\"ContainerDefinitions\":[{{\"Name\":\"a\",\"Image\":\"unknown{i}\"}}]}}}}"))
                .collect();
            format!("{{\"Resources\":{{{}}}}}", res.join(","))
        },
        &patch,
    );
    grows_linearly(
        "yaml, an error per task definition",
        200,
        &|n| {
            let mut s = String::from("Resources:\n");
            for i in 0..n {
                s.push_str(&format!("  T{i}: {{Type: AWS::ECS::TaskDefinition, Properties: {{ContainerDefinitions: [{{Name: a, Image: unknown{i}}}]}}}}\n"));
            }
            s
        },
        &patch,
    );
}

#[test]
fn lint_findings_are_located_in_linear_time() {
    grows_linearly(
        "lint, json one line, findings per container",
        200,
        &|n| {
            let cs: Vec<String> = (0..n)
                .map(|i| format!("{{\"name\":\"c{i}\",\"image\":\"img{i}\",\"privileged\":true,\"environment\":[{{\"name\":\"PASSWORD\",\"value\":\"hunter2{i}\"}}]}}"))
                .collect();
            format!(
                "{{\"family\":\"f\",\"containerDefinitions\":[{}]}}",
                cs.join(",")
            )
        },
        &lint,
    );
}

#[test]
fn long_keys_and_values() {
    grows_linearly(
        "yaml long key",
        20_000,
        &|n| format!("Resources:\n  {}: {TASK}\n", "k".repeat(n)),
        &patch,
    );
    grows_linearly(
        "json long key",
        20_000,
        &|n| format!("{{\"Resources\":{{\"{}\":{{}}}}}}", "k".repeat(n)),
        &patch,
    );
}

#[test]
fn json_deep_nesting() {
    grows_linearly(
        "json nesting",
        16,
        &|n| format!("{{\"Resources\":{}1{}}}", "[".repeat(n), "]".repeat(n)),
        &patch,
    );
}

#[test]
fn kilt_recipes() {
    grows_linearly(
        "recipe, many fields",
        500,
        &|n| {
            let mut s = String::from("build {\n  entry_point: [\"/kilt/run\"]\n  command: []\n");
            for i in 0..n {
                s.push_str(&format!("  environment.K{i}: \"v{i}\"\n"));
            }
            s.push_str("}\n");
            s
        },
        &recipe,
    );
    grows_linearly(
        "recipe, substitutions that double",
        4,
        &|n| {
            let mut s = String::from("a0: \"xxxxxxxxxxxxxxxx\"\n");
            for i in 1..=n {
                s.push_str(&format!("a{i}: ${{a{}}}${{a{}}}\n", i - 1, i - 1));
            }
            s.push_str(&format!("build.environment.X: ${{a{n}}}\n"));
            s
        },
        &recipe,
    );
    grows_linearly(
        "recipe, deep nesting",
        8,
        &|n| {
            format!("build {}{}\n", "{ a ".repeat(n), "}".repeat(n + 1)).replacen(
                "build {",
                "build { x: 1, ",
                1,
            )
        },
        &recipe,
    );
}
