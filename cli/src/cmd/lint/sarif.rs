//! `--format sarif`: SARIF 2.1.0, for code scanning.

use kilt_defs::lint::{Rule, Severity, RULES};
use kilt_defs::source::render_path;
use serde_json::{json, Value};

use super::Report;

fn sarif_level(r: &Rule) -> &'static str {
    match r.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// SARIF 2.1.0, as GitHub code scanning reads it.
pub fn render(reports: &[Report]) -> String {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.name,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.help},
                "help": {
                    "text": r.help,
                    "markdown": format!("**{} {}**\n\n{}", r.id, r.name, r.help),
                },
                "defaultConfiguration": {"level": sarif_level(r)},
                "properties": {"tags": ["security", "ecs", "fargate"]},
            })
        })
        .collect();
    let mut results = Vec::new();
    for r in reports {
        for f in &r.findings {
            let index = RULES.iter().position(|x| x.id == f.rule.id).unwrap_or(0);
            let mut result = json!({
                "ruleId": f.rule.id,
                "ruleIndex": index,
                "level": sarif_level(f.rule),
                "message": {"text": f.message},
            });
            if let Some(file) = &r.file {
                let mut location = json!({
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(file)},
                        "region": {"startLine": f.line.max(1), "startColumn": f.column.max(1)},
                    }
                });
                if !f.path.is_empty() {
                    location["logicalLocations"] =
                        json!([{"fullyQualifiedName": render_path(&f.path), "kind": "member"}]);
                }
                result["locations"] = json!([location]);
                result["partialFingerprints"] = json!({
                    "kiltxPath/v1": format!("{}:{}:{}", file, f.rule.id, render_path(&f.path)),
                });
            }
            results.push(result);
        }
    }
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "kiltx",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&log).unwrap_or_default();
    s.push('\n');
    s
}

/// A URI reference for a path: relative as given (what code scanning resolves against the
/// checkout), `file://` for an absolute one; spaces and other specials percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::new();
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
