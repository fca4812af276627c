//! `--format github`: GitHub Actions workflow commands (annotations).

use kilt_defs::lint::Severity;
use kilt_defs::source::render_path;

use super::Report;

/// GitHub Actions workflow commands: one annotation per finding.
pub fn render(reports: &[Report]) -> String {
    fn data(s: &str) -> String {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    }
    fn prop(s: &str) -> String {
        data(s).replace(':', "%3A").replace(',', "%2C")
    }
    let mut out = String::new();
    for r in reports {
        for f in &r.findings {
            let level = match f.rule.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let title = prop(&format!("{} {}", f.rule.id, f.rule.name));
            let message = if f.path.is_empty() {
                f.message.clone()
            } else {
                format!("{} ({})", f.message, render_path(&f.path))
            };
            match &r.file {
                Some(file) => out.push_str(&format!(
                    "::{level} file={},line={},col={},title={title}::{}\n",
                    prop(file),
                    f.line,
                    f.column,
                    data(&message)
                )),
                None => out.push_str(&format!("::{level} title={title}::{}\n", data(&message))),
            }
        }
    }
    out
}
