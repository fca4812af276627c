//! The patch engine: select task definitions and containers, wrap each selected container's
//! process with the tracer, and add the sidecars. Pure: it works on the value model only.
//!
//! On error the value may have been partly changed; callers discard it (nothing is written).
//!
//! A run is a [`Patcher`] (definition, [`Options`], image configurations, [`Mode`]); it finds
//! the task definitions of a document ([`crate::shape::sites`]) and patches each in the steps
//! `Cx::patch_task` (task.rs) lists, one file each:
//!
//! | file            | step                                                                   |
//! |-----------------|------------------------------------------------------------------------|
//! | `patcher.rs`    | the entry: [`Patcher`], [`Mode`], one document or one task definition  |
//! | `task.rs`       | one task definition, step by step; its containers list; `pidMode`      |
//! | `selection.rs`  | which task definitions (compatibility, tags) and containers are chosen |
//! | `tailor.rs`     | a definition made for the task and its containers ([`Tailor`])          |
//! | `containers.rs` | container names, and patching each selected container                  |
//! | `argv.rs`       | the command line by Docker's rules, wrapped by the definition's templates |
//! | `additions.rs`  | capabilities, volumesFrom, dependsOn, environment and secrets          |
//! | `sidecars.rs`   | the definition's sidecars, added or brought up to date                 |
//! | `logging.rs`    | where the sidecars' output goes: derived from the traced containers'   |
//! | `platform.rs`   | the task's platform and OS family (`runtimePlatform`); Windows is left alone |
//! | `resources.rs`  | the sidecars' cpu and memory fitted into the task's budget             |
//! | `evaluate.rs`   | what is known of the template's values; intrinsics evaluated with it   |
//! | `fields.rs`     | reading and writing ECS fields: case-blind keys, dialects, errors      |
//! | `report.rs`     | what a run reports: [`Report`], [`NeededImage`]                        |
//!
//! Network modes need no step of their own: the built-in definition's tracers reach the sidecar
//! over a unix socket in its shared volume, which works in every mode (`awsvpc`, `bridge`,
//! `host`, `none`); see docs/patch.md.

mod additions;
mod argv;
mod containers;
mod evaluate;
mod fields;
pub mod logging;
mod patcher;
mod platform;
mod report;
pub mod resources;
mod selection;
mod sidecars;
mod tailor;
mod task;

use std::collections::BTreeMap;

pub use argv::is_wrapped;
pub use evaluate::{parameter_text, Known, Missing, Sections};
pub(crate) use fields::get_mut;
pub use patcher::{patch, patch_recording, patch_site_recording, Mode, Patcher};
pub use report::{unique_needs, NeededImage, Report, TaskOutcome, TaskStatus};
pub use sidecars::sidecar_value;
pub use tailor::{Tailor, Tailored, TaskView};

/// How to select what gets patched.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Patch only task definitions tagged `kilt-include` / `kilt-include-containers`.
    pub opt_in: bool,
    /// Also patch task definitions that do not require FARGATE compatibility.
    pub include_ec2: bool,
    /// Values for template parameters (override their `Default`s), used to know images given
    /// as `Ref`/`Fn::Sub`.
    pub parameters: BTreeMap<String, String>,
    /// Trace only these containers (replaces a `kilt-include-containers` tag's list).
    pub include_containers: Option<Vec<String>>,
    /// Never trace these containers (added to a `kilt-ignore-containers` tag's list).
    pub ignore_containers: Vec<String>,
    /// Adjusts the definition for each task definition and container (e.g. a Kilt recipe,
    /// evaluated per container); `None` applies the definition as it is.
    pub tailor: Option<std::sync::Arc<dyn Tailor>>,
    /// Who runs the engine, so that every hint names a fix that works there.
    pub frontend: Frontend,
    /// When the sidecars' requests do not fit a Fargate task's size, raise the task to the
    /// smallest valid Fargate size that fits them (instead of lowering the requests).
    pub grow_task: bool,
}

/// Who runs the engine: the `kiltx` command line (`--parameter`, `--image-config`...) or the
/// CloudFormation macro (the stack's parameter values, region and account).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Frontend {
    #[default]
    Cli,
    Macro,
}

#[cfg(test)]
mod tests;
