//! Fuzz target: see [`kilt_defs_fuzz::rules`] (`src/rules.rs`) for the input layout and the checks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kilt_defs_fuzz::rules::check(data));
