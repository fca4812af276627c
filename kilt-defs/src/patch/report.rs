//! What a run tells its caller: the outcome of each task definition, and (in
//! [`Mode::Recording`](super::Mode::Recording)) the images it could not read.

use crate::error::Path;

/// What happened to each task definition.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub tasks: Vec<TaskOutcome>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskOutcome {
    pub label: String,
    pub status: TaskStatus,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TaskStatus {
    /// Patched: containers newly wrapped, containers found already wrapped, and what else was
    /// decided that the user should know (e.g. a sidecar's share fitted into the task's budget).
    Patched {
        wrapped: Vec<String>,
        already: Vec<String>,
        notes: Vec<String>,
    },
    /// Left alone, and why.
    Skipped(String),
}

impl Report {
    /// Containers newly wrapped, over all task definitions.
    pub fn wrapped_count(&self) -> usize {
        self.tasks
            .iter()
            .map(|t| match &t.status {
                TaskStatus::Patched { wrapped, .. } => wrapped.len(),
                TaskStatus::Skipped(_) => 0,
            })
            .sum()
    }
}

/// An image whose ENTRYPOINT/CMD the patch needs and does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeededImage {
    /// The image reference, with parameters resolved.
    pub image: String,
    /// `os/arch` from the task definition's `runtimePlatform` (default `linux/amd64`).
    pub platform: String,
    /// Who needs it, for messages: `"app" in TaskResource`.
    pub container: String,
    /// Path to the container's image field.
    pub path: Path,
}

/// `needs` once per (image, platform), in their first order.
pub fn unique_needs(needs: Vec<NeededImage>) -> Vec<NeededImage> {
    let mut out: Vec<NeededImage> = Vec::new();
    for n in needs {
        if !out
            .iter()
            .any(|o| o.image == n.image && o.platform == n.platform)
        {
            out.push(n);
        }
    }
    out
}
