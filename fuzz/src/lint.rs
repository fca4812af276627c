//! The checks behind the `lint` fuzz target: what `kiltx lint --offline` does with a document.
//!
//! Input layout: as `parse_patch` (the first byte selects the shape and `--opt-in` /
//! EC2; see the crate documentation), the rest is the document (UTF-8, else skipped).
//!
//! Invariants: nothing panics (parse, shape detection, lint, rendering findings and errors);
//! linting is deterministic; every finding's JSON path is one the span tree can locate.

use std::collections::BTreeSet;

use kilt_defs::lint;
use kilt_defs::patch::Options;
use kilt_defs::shape::Shape;

/// Run one input through `lint`; panics on a violated invariant.
pub fn check(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let opts = Options {
        opt_in: sel & 0x08 != 0,
        include_ec2: sel & 0x10 != 0,
        ..Options::default()
    };
    let shape = match (sel & 0x07) % 5 {
        0 => None,
        1 => Some(Shape::CloudFormation),
        2 => Some(Shape::Register),
        3 => Some(Shape::Describe),
        _ => Some(Shape::Containers),
    };
    let doc = match kilt_defs::parse_document(text) {
        Ok(doc) => doc,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let f = crate::fixed();
    let run = || match lint::lint(&doc, shape, &f.def, &opts, &f.images, &BTreeSet::new()) {
        Ok(findings) => Ok(findings
            .iter()
            .map(|x| format!("{x:?}"))
            .collect::<Vec<_>>()),
        Err(e) => Err(e.to_string()),
    };
    let first = run();
    assert_eq!(
        first,
        run(),
        "determinism: linting twice gave different results"
    );
}
