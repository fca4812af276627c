//! kiltx's integration tests: one test binary (built and linked once), one module per area.
//! Every test runs the real `kiltx` binary, started through `kiltx_testsupport::hermetic`.

mod common;

mod cli;
mod engine_options;
mod kilt_compat;
mod lint_cli;
mod lint_fixtures;
mod lint_peer;
mod patch_fixtures;
mod peer;
mod realworld;
mod registry;
mod validators;
