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

/// The hash of the engine's tables (event types, processes, list members):
/// FxHash, a multiply-rotate hash, much cheaper than SipHash for short keys.
/// The keys come from the application's events, not from an adversary who
/// could pick colliding keys to slow the tables down, beyond what the traced
/// program can do anyway.
#[derive(Clone, Copy, Default)]
pub struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_i64(&mut self, i: i64) {
        self.write_u64(i as u64);
    }

    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub type FxBuild = std::hash::BuildHasherDefault<FxHasher>;
pub type FxHashMap<K, V> = std::collections::HashMap<K, V, FxBuild>;
pub type FxHashSet<K> = std::collections::HashSet<K, FxBuild>;

pub use engine::{Engine, Matching, Options};
pub use ruleset::{load, Priority, RuleError, Ruleset};
