//! `--format json`: the documented array of findings.

use kilt_defs::source::render_path;
use serde_json::{json, Value};

use super::Report;

/// The documented JSON format: an array of findings, in file then source order.
pub fn render(reports: &[Report]) -> String {
    let items: Vec<Value> = reports
        .iter()
        .flat_map(|r| {
            r.findings.iter().map(move |f| {
                json!({
                    "file": r.file,
                    "line": (f.line > 0).then_some(f.line),
                    "column": (f.column > 0).then_some(f.column),
                    "path": (!f.path.is_empty()).then(|| render_path(&f.path)),
                    "resource": f.resource,
                    "rule": f.rule.id,
                    "name": f.rule.name,
                    "severity": f.rule.severity.as_str(),
                    "message": f.message,
                })
            })
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&Value::Array(items)).unwrap_or_default();
    s.push('\n');
    s
}
