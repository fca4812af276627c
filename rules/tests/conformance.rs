//! The condition parser against libsinsp's own conformance cases
//! (../shared/peer/falco/parser/conditions.tsv, read in place): every
//! condition libsinsp accepts is accepted, every one it rejects is rejected
//! with a message; where the case asserts libsinsp's message, ours is the same.
use kiltx_rules::condition;
use std::path::PathBuf;

fn peer(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/peer/falco")
        .join(rel)
}

/// The TSV's escapes: `\t` and `\n` only.
fn unescape(s: &str) -> String {
    s.replace("\\t", "\t").replace("\\n", "\n")
}

#[test]
fn every_libsinsp_conformance_condition() {
    let path = peer("parser/conditions.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the peer data must be beside the clone)",
            path.display()
        )
    });
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("expect\tcondition\tnote"));
    let (mut accepted, mut rejected, mut variants) = (0, 0, 0);
    let mut failures = Vec::new();
    for (n, line) in lines.enumerate() {
        let mut cols = line.splitn(3, '\t');
        let (expect, cond, note) = (
            cols.next().unwrap(),
            cols.next().unwrap(),
            cols.next().unwrap_or(""),
        );
        let cond = unescape(cond);
        let got = condition::parse(&cond);
        match (expect, &got) {
            ("accept", Ok(_)) => accepted += 1,
            ("reject", Err(e)) => {
                assert!(!e.message.is_empty());
                rejected += 1;
                if let Some(m) = note.split("asserted error: ").nth(1) {
                    let m = m
                        .split(" | ")
                        .next()
                        .unwrap()
                        .split(" (parse verdict")
                        .next()
                        .unwrap();
                    if !e.message.starts_with(m) {
                        failures.push(format!(
                            "row {}: {cond:?}: message {:?}, libsinsp asserts {m:?}",
                            n + 2,
                            e.message
                        ));
                    }
                }
            }
            _ => failures.push(format!(
                "row {}: {expect} {cond:?}: got {got:?} ({note})",
                n + 2
            )),
        }
        // "+ws variants": a blank added at each end, then every space as '\n', then as '\t'
        if expect == "accept" && note.contains("+ws variants") {
            let padded = format!(" {cond} ");
            for v in [
                padded.clone(),
                padded.replace(' ', "\n"),
                padded.replace(' ', "\t"),
            ] {
                variants += 1;
                if let Err(e) = condition::parse(&v) {
                    failures.push(format!("row {}: variant {v:?} rejected: {e}", n + 2));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!((accepted, rejected), (1502, 211));
    assert_eq!(variants, 3 * 322);
}
