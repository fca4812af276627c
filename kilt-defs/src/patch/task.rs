//! One task definition, start to end: [`Cx::patch_task`] is the engine's table of contents, each
//! line a step that lives in the file named beside it.

use serde_json::Value;

use super::fields::{at, find_key, get, get_mut, render_value};
use super::selection::Selected;
use super::tailor::per_container;
use super::{Patcher, TaskStatus};
use crate::definition::Definition;
use crate::error::{Error, Path};
use crate::intrinsic;
use crate::shape::{Shape, Site};

/// What patching one task definition works with: the run (options, image configurations, mode),
/// where the task definition is, and the definition in force (the one given, or one a
/// [`Tailor`](super::Tailor) made for the task or one of its containers).
#[derive(Clone, Copy)]
pub(super) struct Cx<'a> {
    pub(super) run: &'a Patcher<'a>,
    pub(super) site: &'a Site,
    pub(super) def: &'a Definition,
    /// What is known of the template's values (see [`Known`](super::Known)).
    pub(super) params: &'a super::Known,
    /// `Ok(os/arch)`, or why the task's platform cannot be known.
    pub(super) platform: &'a Result<String, Error>,
}

impl<'a> Cx<'a> {
    /// The same context with another definition (one made for the task or a container).
    pub(super) fn with_def<'b>(&self, def: &'b Definition) -> Cx<'b>
    where
        'a: 'b,
    {
        Cx {
            run: self.run,
            site: self.site,
            def,
            params: self.params,
            platform: self.platform,
        }
    }

    /// Patch the task definition `target` (the value at `site.path`). Errors are all those
    /// found in the first step that has any.
    pub(super) fn patch_task(&self, target: &mut Value) -> Result<TaskStatus, Vec<Error>> {
        // selection.rs: the task's compatibilities and selection tags.
        let task = match self.select_task(target).map_err(|e| vec![e])? {
            Selected::Task(task) => task,
            Selected::Skipped(reason) => return Ok(TaskStatus::Skipped(reason)),
        };
        let size = self.task_size(target);
        let containers = self.containers(target, &task.containers_path)?;
        // containers.rs: every container's name, and the sidecars an earlier patch added.
        let roster = self.roster(containers, &task.containers_path)?;
        // selection.rs: the containers to trace.
        let targets = self.select_containers(&roster, &task.tags)?;
        if targets.is_empty() {
            return Ok(TaskStatus::Skipped(
                "no container is selected for tracing".into(),
            ));
        }
        // tailor.rs: a definition made for this task and its containers, where a tailor is given.
        let tailored = self.tailor(task.raw_tags.as_ref(), containers, &targets)?;
        let cx = match &tailored {
            Some(t) => self.with_def(&t.definition),
            None => *self,
        };
        // platform.rs: a task on an architecture the sidecars' images are not built for.
        if let Some(reason) = cx.unsupported_architecture().map_err(|e| vec![e])? {
            return Ok(TaskStatus::Skipped(reason));
        }
        // containers.rs and argv.rs: wrap each selected container's command line.
        let per_container = per_container(tailored.as_ref());
        let (wrapped, already) = cx.patch_containers(
            containers,
            &task.containers_path,
            &targets,
            &roster,
            &per_container,
        )?;
        // sidecars.rs: add the sidecars, or bring existing ones up to the definition.
        // logging.rs: where their output goes (derived from the traced containers' own).
        let (mut errors, mut notes) = cx.place_sidecars(
            containers,
            &task.containers_path,
            &roster.sidecar_at,
            &targets,
        );
        // resources.rs: the sidecars' cpu and memory fitted into the task's budget (or, with
        // --grow-task, the task grown to fit them).
        let grown = match cx.fit_budget(size, containers, &task.containers_path) {
            Ok((n, grown)) => {
                notes.extend(n);
                grown
            }
            Err(e) => {
                errors.push(e);
                None
            }
        };
        if let Some(new) = grown {
            cx.write_size(target, new);
        }
        // Task-level settings.
        errors.extend(cx.task_settings(target));
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(TaskStatus::Patched {
            wrapped,
            already,
            notes,
        })
    }

    /// Where a task definition's containers are: its `containerDefinitions`.
    pub(super) fn containers_path(
        &self,
        props: &serde_json::Map<String, Value>,
    ) -> Result<Path, Error> {
        let path = &self.site.path;
        match find_key(props, "containerDefinitions", path)? {
            Some(key) => Ok(at(path, &key)),
            None => Err(Error::invalid_hint(
                path.clone(),
                format!(
                    "task definition {} has no {}",
                    self.site.label,
                    self.site.dialect.key("containerDefinitions")
                ),
                "add its containers, or tag it kilt-ignore to leave it alone",
            )),
        }
    }

    /// The containers list at `containers_path` (inside `target`), which must be literal.
    fn containers<'t>(
        &self,
        target: &'t mut Value,
        containers_path: &Path,
    ) -> Result<&'t mut Vec<Value>, Vec<Error>> {
        let relative = &containers_path[self.site.path.len()..];
        let containers_value = get_mut(target, relative).ok_or_else(Vec::new)?;
        let Value::Array(containers) = containers_value else {
            let what = if intrinsic::is_intrinsic(containers_value) {
                format!(
                    "task definition {} gives its containers as {}; kiltx must see every container to instrument them",
                    self.site.label,
                    intrinsic::describe(containers_value)
                )
            } else {
                format!(
                    "expected a list of container definitions, found {}",
                    intrinsic::describe(containers_value)
                )
            };
            return Err(vec![Error::invalid_hint(
                containers_path.clone(),
                what,
                "write the container definitions as a literal list (intrinsics are fine inside each container), or patch each variant in a template of its own",
            )]);
        };
        Ok(containers)
    }

    /// Task-level settings the definition asks for (`task.pidMode`).
    fn task_settings(&self, target: &mut Value) -> Vec<Error> {
        let mut errors = Vec::new();
        if self.site.shape == Shape::Containers {
            return errors;
        }
        let (Some(pid), Value::Object(props)) = (&self.def.task.pid_mode, target) else {
            return errors;
        };
        let path = &self.site.path;
        match get(props, "pidMode", path) {
            Ok(None) => {
                props.insert(self.site.dialect.key("pidMode"), Value::String(pid.clone()));
            }
            Ok(Some((_, Value::String(cur)))) if cur == pid => {}
            Ok(Some((k, cur))) => errors.push(Error::invalid_hint(
                at(path, &k),
                format!(
                    "the definition needs pidMode {pid:?}, but the task definition sets {}",
                    render_value(cur)
                ),
                "remove the task definition's pidMode, or use a definition without task.pidMode",
            )),
            Err(e) => errors.push(e),
        }
        errors
    }
}
