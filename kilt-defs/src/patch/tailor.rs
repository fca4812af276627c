//! Tailoring: definitions whose content depends on the task (Kilt recipes, whose variables
//! include the container's name, image and environment) made for each task definition and its
//! selected containers, before they are patched.

use serde_json::{Map, Value};

use super::task::Cx;
use crate::definition::{ContainerSpec, Definition};
use crate::error::Error;
use crate::shape::Site;

/// Makes the definition specific to one task definition and its selected containers, before
/// they are patched: how definitions whose content depends on the task (Kilt recipes, whose
/// variables include the container's name, image and environment) plug into the one engine.
pub trait Tailor: std::fmt::Debug + Send + Sync {
    /// The definition for `task`. Its sidecars must have the names (in order) of the
    /// definition given to [`patch`](super::patch).
    fn tailor(&self, task: &TaskView<'_>) -> Result<Tailored, Error>;
}

/// What a [`Tailor`] sees of a task definition.
#[derive(Debug)]
pub struct TaskView<'a> {
    pub site: &'a Site,
    /// The task definition's tags (`Tags`/`tags`) as written, if any.
    pub tags: Option<&'a Value>,
    /// The selected containers, before patching, with their index in the containers list.
    pub containers: Vec<(usize, &'a Map<String, Value>)>,
}

/// A definition made for one task definition.
#[derive(Debug, Clone)]
pub struct Tailored {
    pub definition: Definition,
    /// One spec per selected container (in the order of [`TaskView::containers`]); empty to use
    /// `definition.containers` for all.
    pub containers: Vec<ContainerSpec>,
}

impl Cx<'_> {
    /// The definition the run's tailor (if any) makes for this task, whose selected containers
    /// are `targets`; it must keep the given definition's sidecars.
    pub(super) fn tailor(
        &self,
        raw_tags: Option<&Value>,
        containers: &[Value],
        targets: &[usize],
    ) -> Result<Option<Tailored>, Vec<Error>> {
        let Some(t) = &self.run.opts.tailor else {
            return Ok(None);
        };
        let view = TaskView {
            site: self.site,
            tags: raw_tags,
            containers: targets
                .iter()
                .filter_map(|&i| containers[i].as_object().map(|m| (i, m)))
                .collect(),
        };
        let made = t.tailor(&view).map_err(|e| vec![e])?;
        let names =
            |d: &Definition| -> Vec<String> { d.sidecars.iter().map(|s| s.name.clone()).collect() };
        if names(&made.definition) != names(self.def)
            || !(made.containers.is_empty() || made.containers.len() == view.containers.len())
        {
            return Err(vec![Error::invalid(
                self.site.path.clone(),
                "internal error: the definition made for this task does not match the one given",
            )]);
        }
        Ok(Some(made))
    }
}

/// One definition per selected container, from the specs a tailor made; empty when the task's
/// definition applies to all.
pub(super) fn per_container(tailored: Option<&Tailored>) -> Vec<Definition> {
    match tailored {
        Some(t) => t
            .containers
            .iter()
            .map(|spec| Definition {
                containers: spec.clone(),
                ..t.definition.clone()
            })
            .collect(),
        None => Vec::new(),
    }
}
