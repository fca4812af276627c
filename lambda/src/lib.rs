//! The kiltx CloudFormation macro: a Lambda function that patches the template (or, with
//! `Fn::Transform`, one task definition's properties) it is given.
//!
//! `main` only wires [`handler`] into the Lambda runtime; everything here is plain functions
//! over typed values, tested directly: [`config`] (the environment, read once), [`request`] and
//! [`response`] (the macro's protocol), [`budget`] (whether a request fits the function's
//! memory and time), [`handler`] (one request), [`s3`] (a definition in S3),
//! [`error`] (what can go wrong).

pub mod budget;
pub mod config;
pub mod error;
pub mod handler;
pub mod request;
pub mod response;
mod s3;

pub use budget::{check_budget, weight, BASE_MEMORY, BYTES_PER_WEIGHT};
pub use config::{env, registry_options, Config, Function, KiltSetup};
pub use error::{ConfigError, RequestError};
pub use handler::{handle, handler, lookup_budget, needed_images};
pub use request::{decode, decode_raw, MacroRequest, MAX_EVENT_DEPTH};
pub use response::MacroResponse;
