//! The reference in docs/ stays in step with the code it describes.

use std::path::Path;

use kilt_defs::lint::RULES;

fn doc(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
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
    let code: Vec<[String; 4]> = RULES
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
