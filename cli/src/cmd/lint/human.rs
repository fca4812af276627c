//! `--format human`: one line a finding, `FILE:LINE:COL: SEVERITY[RULE] PATH: MESSAGE`.

use kilt_defs::source::render_path;

use super::Report;

pub fn render(reports: &[Report]) -> String {
    let mut out = String::new();
    for r in reports {
        for f in &r.findings {
            match &r.file {
                Some(file) => out.push_str(&format!(
                    "{file}:{}:{}: {}[{}] {}: {}\n",
                    f.line,
                    f.column,
                    f.rule.severity.as_str(),
                    f.rule.id,
                    render_path(&f.path),
                    f.message
                )),
                None => out.push_str(&format!(
                    "kiltx: {}[{}] {}\n",
                    f.rule.severity.as_str(),
                    f.rule.id,
                    f.message
                )),
            }
        }
    }
    out
}
