//! The checks behind the `hocon` fuzz target: reading a Kilt recipe (HOCON) and turning it into
//! a kiltx definition, as `kiltx patch --definition FILE.kilt.cfg` and the macro do.
//!
//! Input layout: the whole input is the recipe text (UTF-8, else skipped).
//!
//! Invariants: nothing panics (parse, evaluation, conversion, parameters, error rendering);
//! reading the same recipe twice gives the same answer.

use kilt_defs::kilt::{KiltRecipe, Knobs};

fn read(text: &str) -> String {
    match KiltRecipe::parse(text, "fuzz.kilt.cfg", None) {
        Ok(r) => {
            let def = r.definition(&Knobs::default()).map(|d| format!("{d:?}"));
            let conv = r.convert().map(|d| format!("{d:?}"));
            let params = r.parameters().map(|p| format!("{p:?}"));
            format!(
                "{:?}\n{:?}\n{:?}",
                def.map_err(|e| e.to_string()),
                conv.map_err(|e| e.to_string()),
                params.map_err(|e| e.to_string())
            )
        }
        Err(e) => e.to_string(),
    }
}

/// Run one input through the recipe reader; panics on a violated invariant.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let first = read(text);
    assert_eq!(
        first,
        read(text),
        "determinism: reading the recipe twice differed"
    );
}
