//! kiltx's detection engine: Falco's rule language evaluated over the events
//! `kiltx-tracer` emits, with alerts in Falco's JSON format. A pure library:
//! rules files and event lines in, alert lines out.
//!
//! - `condition`: the condition grammar (libsinsp's parser, token for token).
//! - `yaml`: rules files as a YAML tree with line and column.
//! - `ruleset`: rules, macros, lists, appends/overrides, exceptions; compiled.
//! - `fields`: Falco's field names, types, and which kiltx supplies.
//! - `eval`: compiled conditions and their evaluation.
//! - `state`: the event view, the per-container process table, extraction.
//! - `output`: `%field` outputs and Falco's alert JSON.
//! - `engine`: events in, alerts out; rule matching first or all; stats.
pub mod condition;
pub mod engine;
pub mod eval;
pub mod fields;
pub mod json;
pub mod output;
pub mod ruleset;
pub mod state;
pub mod yaml;

pub use engine::{Engine, Matching, Options};
pub use ruleset::{load, Priority, RuleError, Ruleset};
