//! The definition's sidecars (the tracer's containers): found where an earlier patch added them,
//! brought up to the definition, or added.

use serde_json::{Map, Value};

use super::fields::{at, find_key};
use super::logging;
use super::task::Cx;
use crate::definition::Sidecar;
use crate::error::{Error, Path};
use crate::shape::Dialect;

impl Cx<'_> {
    /// For each of the definition's sidecars, the index of the container an earlier patch added
    /// for it. A container of the task's own under a sidecar's name is an error.
    pub(super) fn find_sidecars(
        &self,
        containers: &[Value],
        names: &[Option<String>],
        containers_path: &Path,
        errors: &mut Vec<Error>,
    ) -> Vec<Option<usize>> {
        let mut sidecar_at: Vec<Option<usize>> = Vec::new();
        for s in &self.def.sidecars {
            let idx = names
                .iter()
                .position(|n| n.as_deref() == Some(s.name.as_str()));
            if let Some(i) = idx {
                if let Value::Object(m) = &containers[i] {
                    if is_earlier_sidecar(m, s) {
                        errors.push(Error::invalid_hint(
                            at(containers_path, i),
                            format!("container {:?} runs the sidecar's program, but not the way this definition runs it: it was added by another version of the definition (an earlier kiltx, or another --definition)", s.name),
                            "restore the task definition from before it was patched (or remove this container and unwrap the others), and patch again",
                        ));
                    } else if !is_our_sidecar(m, s, self.site.dialect) {
                        errors.push(Error::invalid_hint(
                            at(containers_path, i),
                            format!("a container is already named {:?}, the name of the definition's sidecar", s.name),
                            "rename the container, or rename the sidecar in your --definition",
                        ));
                    }
                }
            }
            sidecar_at.push(idx);
        }
        sidecar_at
    }

    /// Add each sidecar, or (where `sidecar_at` has one) bring the existing one up to the
    /// definition, keeping the spelling of its keys. A sidecar the definition gives no log
    /// configuration gets one derived from the traced containers (`targets`; see logging.rs).
    /// The errors, and notes for the report.
    pub(super) fn place_sidecars(
        &self,
        containers: &mut Vec<Value>,
        containers_path: &Path,
        sidecar_at: &[Option<usize>],
        targets: &[usize],
    ) -> (Vec<Error>, Vec<String>) {
        let mut errors = Vec::new();
        let mut notes = Vec::new();
        for (s, idx) in self.def.sidecars.iter().zip(sidecar_at) {
            let mut fresh = sidecar_value(s, self.site.dialect);
            let (log, note) = logging::derived(self, s, containers, targets);
            if let Some(log) = log {
                fresh.insert(self.site.dialect.key("logConfiguration"), log);
            }
            notes.extend(note);
            match idx {
                Some(i) => {
                    if let Value::Object(m) = &mut containers[*i] {
                        let cpath = at(containers_path, *i);
                        for (k, v) in fresh {
                            match find_key(m, &k, &cpath) {
                                Ok(Some(existing)) => {
                                    m.insert(existing, v);
                                }
                                Ok(None) => {
                                    m.insert(k, v);
                                }
                                Err(e) => errors.push(e),
                            }
                        }
                    }
                }
                None => containers.push(Value::Object(fresh)),
            }
        }
        (errors, notes)
    }
}

/// Whether container `m` runs the program of sidecar `s` (its entryPoint's first item) with
/// other arguments: the sidecar as another version of the definition added it.
fn is_earlier_sidecar(m: &Map<String, Value>, s: &Sidecar) -> bool {
    let Some(program) = s.entry_point.as_ref().and_then(|e| e.first()) else {
        return false;
    };
    let ep = m
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("entryPoint"))
        .map(|(_, v)| v);
    match ep.and_then(Value::as_array) {
        Some(items) => {
            items.first().and_then(Value::as_str) == Some(program.as_str())
                && items.iter().map(|v| v.as_str()).ne(s
                    .entry_point
                    .iter()
                    .flatten()
                    .map(|x| Some(x.as_str())))
        }
        None => false,
    }
}

/// Whether container `m` is sidecar `s` as a patch adds it (by its entryPoint, or by its image
/// when it has none).
fn is_our_sidecar(m: &Map<String, Value>, s: &Sidecar, d: Dialect) -> bool {
    let fresh = sidecar_value(s, d);
    let field = |camel: &str| {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(camel))
            .map(|(_, v)| v)
    };
    match &s.entry_point {
        Some(_) => field("entryPoint") == fresh.get(&d.key("entryPoint")),
        None => field("image") == fresh.get(&d.key("image")),
    }
}

/// A sidecar as a container definition, in the given dialect, keys in a fixed order.
pub fn sidecar_value(s: &Sidecar, d: Dialect) -> Map<String, Value> {
    let mut m = Map::new();
    let k = |c: &str| d.key(c);
    m.insert(k("name"), s.name.clone().into());
    m.insert(k("image"), s.image.clone().into());
    if let Some(e) = s.essential {
        m.insert(k("essential"), e.into());
    }
    let list = |v: &Vec<String>| Value::Array(v.iter().cloned().map(Value::String).collect());
    if let Some(e) = &s.entry_point {
        m.insert(k("entryPoint"), list(e));
    }
    if let Some(c) = &s.command {
        m.insert(k("command"), list(c));
    }
    for (name, v) in [
        ("cpu", s.cpu),
        ("memory", s.memory),
        ("memoryReservation", s.memory_reservation),
    ] {
        if let Some(v) = v {
            m.insert(k(name), v.into());
        }
    }
    // `{NAME: x}` maps become ECS's `[{name: NAME, <field>: x}]` lists.
    let named = |map: &Map<String, Value>, field: &str| {
        let list = map
            .iter()
            .map(|(n, v)| {
                let mut e = Map::new();
                e.insert(k("name"), n.clone().into());
                e.insert(k(field), v.clone());
                Value::Object(e)
            })
            .collect();
        Value::Array(list)
    };
    if !s.environment.is_empty() {
        m.insert(k("environment"), named(&s.environment, "value"));
    }
    if !s.secrets.is_empty() {
        m.insert(k("secrets"), named(&s.secrets, "valueFrom"));
    }
    if let Some(l) = &s.log_configuration {
        let mut lm = Map::new();
        lm.insert(k("logDriver"), l.log_driver.clone().into());
        if !l.options.is_empty() {
            lm.insert(k("options"), Value::Object(l.options.clone()));
        }
        m.insert(k("logConfiguration"), Value::Object(lm));
    }
    if let Some(r) = &s.repository_credentials {
        let mut rm = Map::new();
        rm.insert(
            k("credentialsParameter"),
            r.credentials_parameter.clone().into(),
        );
        m.insert(k("repositoryCredentials"), Value::Object(rm));
    }
    m
}
