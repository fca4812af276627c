//! kiltx core library: the definition format (what to inject), the task-definition model, the
//! patch engine and CloudFormation template handling. Pure: no network, no filesystem.

pub mod error;
pub mod intrinsic;
pub mod json;
pub mod source;
pub mod yaml;

pub use error::Error;
