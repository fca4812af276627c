//! kiltx core library: the definition format (what to inject), the task-definition model, the
//! patch engine and CloudFormation template handling. Pure: no network, no filesystem.

pub mod definition;
pub mod document;
pub mod error;
pub mod intrinsic;
pub mod json;
pub mod kilt;
pub mod lint;
pub mod source;
pub mod yaml;

pub use error::Error;
pub mod image;
pub mod patch;
pub mod reference;
pub mod shape;

use source::{Document, Format};

/// Inputs larger than this are refused unless the caller raises the limit (CloudFormation's
/// own limit for a template is 1 MB).
pub const DEFAULT_MAX_INPUT: usize = 32 * 1024 * 1024;

/// Parse a document, telling JSON from YAML by its first character.
pub fn parse_document(text: &str) -> Result<Document, Error> {
    // Without a byte-order mark: spans and positions are the body's.
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
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
