//! kiltx core library: the definition format (what to inject), the task-definition model, the
//! patch engine, lint and Kilt recipes. Pure: no network, no filesystem.
//!
//! # The pipeline
//!
//! ```text
//!  text ──parse──▶ Document ──shape──▶ Sites ──patch──▶ value ──emit──▶ text
//!                  (source)            (shape)          (patch)         (json, yaml)
//!                                         └──lint──▶ Findings (lint)
//! ```
//!
//! - **parse**: [`parse_document`] reads JSON or YAML ([`json`], [`yaml`]) into a
//!   [`source::Document`]: the value (`serde_json::Value`, key order kept) and a span tree that
//!   maps every node back to its bytes.
//! - **shape**: [`shape::Shape::detect`] tells what kind of document it is, and
//!   [`shape::sites`] finds the task definitions in it.
//! - **patch**: [`patch::Patcher`] selects task definitions and containers, wraps each
//!   selected container's command line with the tracer's launcher and adds the sidecars, as a
//!   [`definition::Definition`] says.
//! - **emit**: [`emit_document`] writes the value back in the input's format and layout,
//!   copying every untouched part of the original text byte for byte.
//! - **lint**: [`lint::lint`] runs the engine on a copy of each task definition and reports
//!   what patching would change or refuse, plus checks of its own.
//!
//! [`document`] runs parse → shape → patch → emit, text in, text out, as every caller (CLI,
//! Lambda, benchmarks, fuzzing) does; JSON there is patched one task definition at a time.
//!
//! # Glossary
//!
//! - **Definition**: what kiltx injects ([`definition::Definition`]): sidecars, what changes in
//!   each selected container ([`definition::ContainerSpec`]) and task-level settings.
//! - **Sidecar**: a container the definition adds to every patched task definition, once
//!   (the built-in definition's runs the tracer's collector).
//! - **Template, splice**: a definition's new `entryPoint`/`command`, literal arguments and
//!   splices ([`definition::Arg`]); a splice ([`definition::Splice`]) stands for part of the
//!   container's original argv (`argv`, `entryPoint` or `command`).
//! - **Original argv**: what a container runs before patching, by Docker's rules: its
//!   `entryPoint` + `command`, else its image's ENTRYPOINT/CMD.
//! - **Launcher**: the first literal argument of the templates (the tracer's binary); a
//!   container whose `entryPoint` starts with it but is not wrapped the definition's way is
//!   refused rather than wrapped twice.
//! - **Wrapped**: a container whose `entryPoint`/`command` are what the templates render to for
//!   some argv ([`patch::is_wrapped`]); patching it again changes nothing.
//! - **Shape**: the kind of document task definitions are kept in ([`shape::Shape`]): a
//!   CloudFormation template, register-task-definition input, describe-task-definition output,
//!   or a bare `containerDefinitions` array.
//! - **Site**: where one task definition lives in a document ([`shape::Site`]): its path, its
//!   label for messages, its dialect and the document's shape.
//! - **Dialect**: how keys are spelled there ([`shape::Dialect`]): `Pascal` in CloudFormation
//!   (`ContainerDefinitions`), `Camel` in the ECS API (`containerDefinitions`). The engine
//!   matches keys without regard to case and writes new ones in the site's dialect.
//! - **Format**: JSON or YAML ([`source::Format`]).
//! - **Span tree**: a [`source::Node`] per value, with the byte range it came from; what lets
//!   the emitters keep untouched text and errors name a line and column.
//! - **Path**: a JSON path into the document ([`error::Path`], a list of
//!   [`source::PathStep`]); every error carries one.
//! - **Intrinsic**: a CloudFormation intrinsic function (`Ref`, `Fn::Sub`, YAML's `!Ref`),
//!   see [`intrinsic`]; the engine resolves `Ref`/`Fn::Sub` over template parameters only.
//! - **Image configuration**: an image's ENTRYPOINT and CMD ([`image::ImageConfig`]), per
//!   reference ([`reference::Reference`]) and platform; callers fill [`image::ImageConfigs`]
//!   before patching.
//! - **Needed image**: an image whose configuration a run needs and does not have
//!   ([`patch::NeededImage`]), recorded in [`patch::Mode::Recording`] so callers can look it up.
//! - **Options**: how to select ([`patch::Options`]): opt-in, EC2, container lists, parameter
//!   values, a tailor. **Selection tags**: `kilt-ignore`, `kilt-include`,
//!   `kilt-include-containers`, `kilt-ignore-containers` (also spelled `kiltx-`).
//! - **Tailor**: a hook ([`patch::Tailor`]) that makes the definition specific to one task
//!   definition and its containers before they are patched; Kilt recipes and knobs are tailors.
//! - **Report**: what happened to each task definition ([`patch::Report`]): patched (which
//!   containers newly wrapped, which already) or skipped, and why.
//! - **Kilt recipe**: a recipe in Kilt's format (`.kilt.cfg`, HOCON), evaluated per
//!   container into a definition ([`kilt::KiltRecipe`]); **knobs** are Kilt's settings
//!   ([`kilt::Knobs`]).
//! - **Finding, rule**: what lint reports ([`lint::Finding`]): a [`lint::Rule`] (stable ID,
//!   severity) broken at a path.

// Documents: JSON/YAML text to the value model and back, keeping the original layout.
pub mod json; // JSON: parse with spans; emit keeping untouched text byte for byte.
pub mod source; // A parsed document: value, span tree, format; paths and positions.
pub mod yaml; // YAML: the same, with short-form tags (`!Ref`) in the value model.

// The model: what documents hold, and what kiltx injects.
pub mod definition; // The definition format: sidecars, container templates, task settings.
pub mod error; // The crate's one error type: what, where (path, line:column), what to do.
pub mod image; // Images' ENTRYPOINT/CMD, keyed by reference and platform.
pub mod intrinsic; // CloudFormation intrinsic functions in the value model.
pub mod reference; // Image references, parsed the way Docker parses them.
pub mod shape; // Shapes of documents, dialects of keys, the sites of task definitions.

// The engine.
pub mod document; // A whole document, text in, text out: parse, shape, patch, emit.
pub mod patch; // The patch engine: selection, wrapping, sidecars, on the value model.

// Lint.
pub mod lint; // `kiltx lint`: are task definitions instrumented, and correctly?

// Kilt recipes.
pub mod kilt; // Kilt recipes (HOCON) and knobs, as definitions and tailors.

pub use error::Error;

use source::{Document, Format};

/// Inputs larger than this are refused unless the caller raises the limit (CloudFormation's
/// own limit for a template is 1 MB).
pub const DEFAULT_MAX_INPUT: usize = 32 * 1024 * 1024;

/// Parse a document, telling JSON from YAML by its first character.
pub fn parse_document(text: &str) -> Result<Document, Error> {
    // Without a byte-order mark: spans and positions are the body's. One only: a second is
    // content no format allows (found by fuzzing: YAML read it as part of a plain scalar, and
    // differently once the first was gone).
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    if body.starts_with('\u{feff}') {
        return Err(Error::invalid(
            vec![],
            "the document starts with two byte-order marks; remove one",
        ));
    }
    match body.trim_start().chars().next() {
        Some('{') | Some('[') => json::parse(body),
        Some(_) => yaml::parse(body),
        None => Err(Error::invalid(vec![], "the document is empty")),
    }
}

/// Write `value` in the format and layout of `doc`.
pub fn emit_document(doc: &Document, value: &serde_json::Value) -> String {
    match doc.format {
        Format::Json => json::emit(doc, value),
        Format::Yaml => yaml::emit(doc, value),
    }
}
