//! Fuzz target: parse + patch + emit over all four input shapes. The input layout and the
//! invariants are documented in `src/lib.rs` ([`kilt_defs_fuzz::check`]).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kilt_defs_fuzz::check(data));
