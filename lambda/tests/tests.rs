//! The macro's integration tests: one test binary, one module per area. The library is tested
//! directly (handler, kilt); the real `bootstrap` runs against a local Lambda Runtime API
//! (runtime_api, registry, s3), started through `kiltx_testsupport::hermetic`.

mod common;

mod handler;
mod kilt;
mod realworld;
mod registry;
mod runtime_api;
mod s3;
mod templates;
