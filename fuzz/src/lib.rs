//! The checks behind the `parse_patch` fuzz target: parse + patch + emit, over all four input
//! shapes. Kept in a library so that saved inputs (`fuzz/regressions/`) replay as plain tests.
//!
//! Input layout: the first byte is a selector, the rest is the document text (UTF-8; anything
//! else is not a document the CLI would accept and is skipped).
//!
//! Selector byte:
//! - `b & 0x07` (mod 5): 0 = auto-detect the shape, 1 = CloudFormation, 2 = Register,
//!   3 = Describe, 4 = Containers (forced, like `--input-format`);
//! - `b & 0x08`: `--opt-in`;
//! - `b & 0x10`: include EC2 task definitions too.
//!
//! Invariants checked (a violation panics, which libFuzzer reports as a crash):
//! 1. nothing panics (parse, detect, patch, emit, error rendering);
//! 2. if patching succeeded: the emitted text parses again and its value equals the patched value;
//! 3. idempotence: patching the emitted text again succeeds and emits byte-identical text;
//! 4. determinism: patching the same input twice gives the same result (output or error).
//!
//! `KILT_FUZZ_IGNORE` (comma-separated) skips inputs that hit known bugs, so that a run can
//! look past them for other ones (see fuzz/regressions/README.md):
//! - `yaml-odd-tags`: keys starting with `!` that are not a plain short-form tag, or a tag
//!   directly inside a tag;
//! - `yaml-floats`: YAML documents holding a non-integer number.

use std::sync::OnceLock;

pub mod hocon;
pub mod lint;
#[cfg(feature = "macro")]
pub mod macro_request;
pub mod rules;

use kilt_defs::definition::Definition;
use kilt_defs::image::{ImageConfig, ImageConfigs};
use kilt_defs::patch::{self, Options};
use kilt_defs::shape::Shape;
use kilt_defs::source::{Document, Format};
use serde_json::Value;

pub(crate) struct Fixed {
    pub(crate) def: Definition,
    pub(crate) images: ImageConfigs,
}

/// The image configurations every run patches with.
pub fn image_configs() -> ImageConfigs {
    let mut images = ImageConfigs::new();
    images.insert(
        "busybox",
        ImageConfig {
            entrypoint: None,
            cmd: Some(vec!["sh".into()]),
        },
    );
    images.insert(
        "nginx",
        ImageConfig {
            entrypoint: Some(vec!["/docker-entrypoint.sh".into()]),
            cmd: Some(vec!["nginx".into(), "-g".into(), "daemon off;".into()]),
        },
    );
    images
}

pub(crate) fn fixed() -> &'static Fixed {
    static FIXED: OnceLock<Fixed> = OnceLock::new();
    FIXED.get_or_init(|| Fixed {
        def: Definition::builtin(),
        images: image_configs(),
    })
}

fn ignoring(class: &str) -> bool {
    static IGNORE: OnceLock<Vec<String>> = OnceLock::new();
    IGNORE
        .get_or_init(|| {
            std::env::var("KILT_FUZZ_IGNORE")
                .unwrap_or_default()
                .split(',')
                .map(str::to_string)
                .collect()
        })
        .iter()
        .any(|c| c == class)
}

fn has_float(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_f64(),
        Value::Array(items) => items.iter().any(has_float),
        Value::Object(m) => m.values().any(has_float),
        _ => false,
    }
}

/// A key the YAML emitter writes back as a short-form tag and reads back the same:
/// `!Name` with letters, digits and `::` only.
fn plain_tag(key: &str) -> bool {
    key.strip_prefix('!').is_some_and(|t| {
        t.starts_with(|c: char| c.is_ascii_alphabetic())
            && t.chars().all(|c| c.is_ascii_alphanumeric() || c == ':')
    })
}

/// Does `v` contain a `!`-key that is not a plain tag, or a tag object directly inside another?
fn has_odd_tags(v: &Value) -> bool {
    match v {
        Value::Array(items) => items.iter().any(has_odd_tags),
        Value::Object(m) => m.iter().any(|(k, inner)| {
            if k.starts_with('!') {
                let nested = matches!(inner, Value::Object(im) if im.len() == 1
                    && im.keys().all(|ik| ik.starts_with('!')));
                !plain_tag(k) || nested || has_odd_tags(inner)
            } else {
                has_odd_tags(inner)
            }
        }),
        _ => false,
    }
}

/// What `kiltx patch` would write: the patched text, or the rendered error.
fn run(doc: &Document, shape: Shape, opts: &Options) -> Result<(Value, String), String> {
    let f = fixed();
    let mut value = doc.value.clone();
    match patch::patch(&mut value, shape, &f.def, opts, &f.images) {
        Ok(_report) => {
            // Same choice of emitter as the CLI: describe output becomes register JSON.
            let out = if shape == Shape::Describe {
                kilt_defs::json::to_string_styled(
                    &value,
                    &kilt_defs::json::Style::detect(&doc.text),
                )
            } else {
                kilt_defs::emit_document(doc, &value)
            };
            Ok((value, out))
        }
        // Render the error as the CLI does (locating it exercises the span tree).
        Err(e) => Err(e.locate(doc).to_string()),
    }
}

/// Run one input through parse + patch + emit and check every invariant; panics on a violation.
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

    let doc = match kilt_defs::parse_document(text) {
        Ok(doc) => doc,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    if ignoring("yaml-odd-tags") && doc.format == Format::Yaml && has_odd_tags(&doc.value) {
        return;
    }
    if ignoring("yaml-floats") && doc.format == Format::Yaml && has_float(&doc.value) {
        return;
    }
    let shape = match (sel & 0x07) % 5 {
        0 => match Shape::detect(&doc.value) {
            Ok(s) => s,
            Err(e) => {
                let _ = e.locate(&doc).to_string();
                return;
            }
        },
        1 => Shape::CloudFormation,
        2 => Shape::Register,
        3 => Shape::Describe,
        _ => Shape::Containers,
    };

    let first = run(&doc, shape, &opts);

    // Determinism: the same input, patched again, gives the same answer.
    let again = run(&doc, shape, &opts);
    assert_eq!(
        first, again,
        "determinism: patching the same input twice gave different results"
    );

    let Ok((patched, out)) = first else {
        return;
    };

    // The output is a document we can read back, and it says what we patched.
    let redoc = match kilt_defs::parse_document(&out) {
        Ok(d) => d,
        Err(e) => {
            panic!("re-parse: the emitted text does not parse: {e}\n--- emitted ---\n{out}\n---")
        }
    };
    assert!(
        redoc.value == patched,
        "re-parse: the emitted text's value differs from the patched value\n\
         patched:  {}\nreparsed: {}\n--- emitted ---\n{out}\n---",
        serde_json::to_string(&patched).unwrap_or_default(),
        serde_json::to_string(&redoc.value).unwrap_or_default(),
    );

    // Idempotence: patching the output changes nothing, byte for byte. Describe output was
    // turned into register input, so it is patched again as that.
    let shape2 = if shape == Shape::Describe {
        Shape::Register
    } else {
        shape
    };
    match run(&redoc, shape2, &opts) {
        Ok((_, out2)) => assert!(
            out2 == out,
            "idempotence: patching the output again changed it\n--- first ---\n{out}\n--- second ---\n{out2}\n---"
        ),
        Err(e) => panic!(
            "idempotence: patching the output again failed: {e}\n--- first output ---\n{out}\n---"
        ),
    }
}
