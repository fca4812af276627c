//! The macro's handler over every CloudFormation template of the real-world corpus
//! (`../shared/peer/realworld/inputs`; see tests/realworld/README.md), as CloudFormation hands it
//! over: JSON with long-form intrinsics, every parameter's value (its `Default`, or what
//! tests/realworld/parameters.json gives, as the stack's user would), the region and the account.
//! Images are answered from tests/realworld/images.json, as the registries would.
//!
//! What the macro must make of each: exactly what `kiltx patch` makes of the same template with
//! the same values (the engine is one; cli/tests/realworld.rs states what that is, file by file),
//! except where the CLI knows more than a macro can: an SSM-typed parameter's value, which
//! CloudFormation resolves only after the macro has run. Those templates fail with a message
//! naming a fix that works in the macro.

use std::fs;
use std::path::{Path, PathBuf};

use kilt_defs::document::patch_document;
use kilt_defs::image::ImageConfigs;
use kilt_defs::patch::Options;
use kilt_defs::shape::Shape;
use kiltx_lambda::{decode, handle, Config, ConfigError, MacroRequest};
use serde_json::{json, Map, Value};

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";

/// The templates whose images come from an SSM-typed parameter (CDK's FireLens image).
const SSM_IMAGES: &[&str] = &[
    "cdk-fargate-firelens-cloudwatch.template.json",
    "cdkext-all-service-addons.template.json",
];

fn inputs() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/peer/realworld/inputs");
    assert!(p.is_dir(), "the peer corpus is missing at {}", p.display());
    p
}

fn given(name: &str) -> String {
    fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/realworld")
            .join(name),
    )
    .unwrap()
}

/// A YAML template's value model with short-form tags (`{"!Ref": X}`) in long form, as
/// CloudFormation gives a macro its fragment.
fn long_form(v: Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(a.into_iter().map(long_form).collect()),
        Value::Object(m) => {
            if m.len() == 1 {
                let (k, arg) = m
                    .iter()
                    .next()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .unwrap();
                if let Some(tag) = k.strip_prefix('!') {
                    let arg = long_form(arg);
                    return match (tag, arg) {
                        ("Ref" | "Condition", a) => json!({ tag: a }),
                        ("GetAtt", Value::String(s)) => {
                            let (res, attr) = s.split_once('.').unwrap_or((&s, ""));
                            json!({"Fn::GetAtt": [res, attr]})
                        }
                        (t, a) => json!({ format!("Fn::{t}"): a }),
                    };
                }
            }
            Value::Object(m.into_iter().map(|(k, v)| (k, long_form(v))).collect())
        }
        other => other,
    }
}

/// The template as a macro receives it, or `None` for a file that is not a template.
fn template(file: &str) -> Option<Value> {
    let text = fs::read_to_string(inputs().join(file)).unwrap();
    let doc = if file.ends_with(".json") {
        kilt_defs::json::parse(&text).unwrap()
    } else {
        kilt_defs::yaml::parse(&text).unwrap()
    };
    let v = long_form(doc.value);
    v.get("Resources").is_some().then_some(v)
}

/// Every parameter's value as CloudFormation hands it to a macro: the user's, else the
/// `Default` (lists as lists).
fn parameter_values(file: &str, template: &Value) -> Map<String, Value> {
    let user: Value = serde_json::from_str(&given("parameters.json")).unwrap();
    let mut out = Map::new();
    if let Some(Value::Object(params)) = template.get("Parameters") {
        for (name, p) in params {
            let ty = p["Type"].as_str().unwrap_or_default();
            let value = match user.get(file).and_then(|m| m.get(name)) {
                Some(v) => v.clone(),
                None => match p.get("Default") {
                    Some(d) => d.clone(),
                    None => continue,
                },
            };
            let value = match (&value, ty.contains("List")) {
                (Value::String(s), true) => {
                    Value::Array(s.split(',').map(|x| Value::String(x.into())).collect())
                }
                _ => value,
            };
            out.insert(name.clone(), value);
        }
    }
    out
}

fn request(fragment: Value, values: Map<String, Value>) -> MacroRequest {
    decode(json!({
        "region": REGION, "accountId": ACCOUNT, "transformId": "123456789012::Kiltx",
        "requestId": "rw", "fragment": fragment, "params": {}, "templateParameterValues": values
    }))
    .unwrap()
}

fn config() -> Result<Config, ConfigError> {
    // EC2 task definitions too, as in the CLI's runs (--include-ec2).
    Config::from_env(|k| (k == "KILTX_INCLUDE_EC2").then(|| "true".to_string()))
}

#[test]
fn the_macro_patches_every_realworld_template_as_the_cli_does() {
    let images = ImageConfigs::from_json(&given("images.json"), "images.json").unwrap();
    let config = config();
    let mut files: Vec<String> = fs::read_dir(inputs())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut templates = 0;
    let mut failures = Vec::new();
    for file in &files {
        let Some(fragment) = template(file) else {
            continue;
        };
        templates += 1;
        let values = parameter_values(file, &fragment);
        let r = handle(&config, request(fragment.clone(), values.clone()), &images);
        // The same engine in-process, with what the macro knows: every parameter's value but
        // the SSM-typed ones, the region and the account.
        let mut opts = Options {
            include_ec2: true,
            ..Options::default()
        };
        for (k, v) in &values {
            let ty = fragment["Parameters"][k]["Type"]
                .as_str()
                .unwrap_or_default();
            if ty.starts_with("AWS::SSM::Parameter::Value<") {
                continue;
            }
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().unwrap().to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            opts.parameters.insert(k.clone(), s);
        }
        opts.parameters.insert("AWS::Region".into(), REGION.into());
        opts.parameters
            .insert("AWS::AccountId".into(), ACCOUNT.into());
        let cli = patch_document(
            &fragment.to_string(),
            Some(Shape::CloudFormation),
            &config.as_ref().unwrap().definition,
            &opts,
            &images,
        );
        if SSM_IMAGES.contains(&file.as_str()) {
            let msg = r.error_message.clone().unwrap_or_default();
            let ok = r.status == "failure"
                && msg.contains("of an SSM parameter type")
                && msg.contains("set the container's entryPoint and command")
                && !msg.contains("--parameter")
                && r.fragment == fragment
                && cli.is_err();
            if !ok {
                failures.push(format!("{file}: expected a failure naming the SSM parameter and a fix that works in the macro: {} {msg}", r.status));
            }
            continue;
        }
        if r.status != "success" {
            failures.push(format!("{file}: {:?}", r.error_message));
            continue;
        }
        let cli = match cli {
            Ok(p) => serde_json::from_str::<Value>(&p.text).unwrap(),
            Err(e) => {
                failures.push(format!(
                    "{file}: the macro succeeded where the engine fails: {e}"
                ));
                continue;
            }
        };
        if r.fragment != cli {
            failures.push(format!(
                "{file}: the macro's fragment differs from kiltx patch's output"
            ));
        }
        // Handled again, the macro's own output is unchanged.
        let again = handle(&config, request(r.fragment.clone(), values), &images);
        if again.status != "success" || again.fragment != r.fragment {
            failures.push(format!(
                "{file}: the macro's output changes when handled again"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(templates, 27, "the corpus's CloudFormation templates");
}
