//! The containers of a task definition: their names (which must be there and unique), and
//! patching each selected one — its command line (argv.rs), then what the tracer needs beside
//! it (additions.rs).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::fields::{at, expected, get};
use super::task::Cx;
use crate::definition::Definition;
use crate::error::{Error, Path};
use crate::intrinsic;

/// Who is who among a task definition's containers, by index in its containers list.
pub(super) struct Roster {
    /// Each container's literal name (`None` when it has none, or an intrinsic one).
    pub(super) names: Vec<Option<String>>,
    /// Each container as messages name it (`#2 (a Ref)` when the name is not literal).
    pub(super) display: Vec<String>,
    /// For each of the definition's sidecars, the container an earlier patch added for it.
    pub(super) sidecar_at: Vec<Option<usize>>,
}

impl Cx<'_> {
    /// The names of `containers` (at `containers_path`), checked: each container an object with
    /// a name, no name twice, no container of another's under a sidecar's name.
    pub(super) fn roster(
        &self,
        containers: &[Value],
        containers_path: &Path,
    ) -> Result<Roster, Vec<Error>> {
        let mut errors = Vec::new();
        let (names, display) = self.names(containers, containers_path, &mut errors);
        self.check_unique(&names, containers_path, &mut errors);
        let sidecar_at = self.find_sidecars(containers, &names, containers_path, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Roster {
            names,
            display,
            sidecar_at,
        })
    }

    /// Each container's literal name, and how messages show it.
    fn names(
        &self,
        containers: &[Value],
        containers_path: &Path,
        errors: &mut Vec<Error>,
    ) -> (Vec<Option<String>>, Vec<String>) {
        let d = self.site.dialect;
        let mut names: Vec<Option<String>> = Vec::new();
        let mut display: Vec<String> = Vec::new();
        for (i, c) in containers.iter().enumerate() {
            let cpath = at(containers_path, i);
            let Value::Object(m) = c else {
                errors.push(expected(cpath, "a container definition (an object)", c));
                names.push(None);
                display.push(format!("#{i}"));
                continue;
            };
            match get(m, "name", &cpath) {
                Ok(Some((_, Value::String(s)))) => {
                    names.push(Some(s.clone()));
                    display.push(s.clone());
                }
                Ok(Some((k, v))) if intrinsic::is_intrinsic(v) => {
                    let _ = k;
                    names.push(None);
                    display.push(format!("#{i} ({})", intrinsic::describe(v)));
                }
                Ok(Some((k, v))) => {
                    errors.push(expected(at(&cpath, &k), "a string", v));
                    names.push(None);
                    display.push(format!("#{i}"));
                }
                Ok(None) => {
                    errors.push(Error::invalid_hint(
                        cpath,
                        "the container has no name",
                        format!("give it a {}", d.key("name")),
                    ));
                    names.push(None);
                    display.push(format!("#{i}"));
                }
                Err(e) => {
                    errors.push(e);
                    names.push(None);
                    display.push(format!("#{i}"));
                }
            }
        }
        (names, display)
    }

    fn check_unique(
        &self,
        names: &[Option<String>],
        containers_path: &Path,
        errors: &mut Vec<Error>,
    ) {
        let mut seen = BTreeSet::new();
        for (i, n) in names.iter().enumerate() {
            if let Some(n) = n {
                if !seen.insert(n.as_str()) {
                    errors.push(Error::invalid_hint(
                        at(
                            &at(containers_path, i),
                            self.site.dialect.key("name").as_str(),
                        ),
                        format!("two containers are named {n:?}"),
                        "container names must be unique within a task definition",
                    ));
                }
            }
        }
    }

    /// Patch the selected containers (`targets`, indexes into `containers`), each with its own
    /// definition from `per_container` where there is one. Their display names: newly wrapped,
    /// and already wrapped.
    pub(super) fn patch_containers(
        &self,
        containers: &mut [Value],
        containers_path: &Path,
        targets: &[usize],
        roster: &Roster,
        per_container: &[Definition],
    ) -> Result<(Vec<String>, Vec<String>), Vec<Error>> {
        let mut wrapped = Vec::new();
        let mut already = Vec::new();
        let mut errors = Vec::new();
        for (n, &i) in targets.iter().enumerate() {
            let cpath = at(containers_path, i);
            let Value::Object(m) = &mut containers[i] else {
                continue;
            };
            let cx = match per_container.get(n) {
                Some(def) => self.with_def(def),
                None => *self,
            };
            let name = &roster.display[i];
            match cx.patch_container(m, &cpath, name) {
                Ok(true) => wrapped.push(name.clone()),
                Ok(false) => already.push(name.clone()),
                Err(mut e) => errors.append(&mut e),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok((wrapped, already))
    }

    /// Patch one container. `Ok(true)` when newly wrapped, `Ok(false)` when it already was.
    fn patch_container(
        &self,
        m: &mut Map<String, Value>,
        path: &Path,
        name: &str,
    ) -> Result<bool, Vec<Error>> {
        // argv.rs: the tracer's wrapper around the original command line.
        let newly = self.wrap_command(m, path, name)?;
        // additions.rs: what the tracer needs beside it.
        let mut errors = Vec::new();
        if let Err(e) = self.add_capabilities(m, path, name) {
            errors.push(e);
        }
        errors.extend(self.add_volumes_from(m, path));
        errors.extend(self.add_depends_on(m, path));
        if let Err(e) = self.add_environment(m, path) {
            errors.push(e);
        }
        if errors.is_empty() {
            Ok(newly)
        } else {
            Err(errors)
        }
    }

    /// Container `name` cannot be patched, and why.
    pub(super) fn unpatchable(
        &self,
        name: &str,
        path: Path,
        message: String,
        hint: Option<String>,
    ) -> Error {
        Error::Unpatchable {
            path,
            container: format!("{name:?} in {}", self.site.label),
            message,
            hint,
            at: None,
        }
    }
}
