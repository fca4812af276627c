//! One module per command, each with its own arguments and its `run`.

pub mod definition;
pub mod image;
pub mod lint;
pub mod patch;
