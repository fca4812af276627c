//! What each selected container gets beside its new command line: the capabilities the tracer
//! needs, volumes from the sidecars, a start order after them, and environment and secrets.
//! Each merges into what the container already has, and is a no-op the second time.

use serde_json::{Map, Value};

use super::fields::{
    at, check_entries, entry_name, expected, find_key, get, key_for, list_of, merge_entry,
    object_entry,
};
use super::task::Cx;
use crate::error::{Error, Path};

impl Cx<'_> {
    /// Add the definition's capabilities to `linuxParameters.capabilities.add`; a container
    /// that drops one of them cannot be traced.
    pub(super) fn add_capabilities(
        &self,
        m: &mut Map<String, Value>,
        path: &Path,
        name: &str,
    ) -> Result<(), Error> {
        let caps = &self.def.containers.capabilities;
        if caps.is_empty() {
            return Ok(());
        }
        let d = self.site.dialect;
        let lp_key = key_for(m, "linuxParameters", d, path)?;
        let lp_path = at(path, &lp_key);
        let lp = object_entry(m, &lp_key, &lp_path)?;
        let c_key = key_for(lp, "capabilities", d, &lp_path)?;
        let c_path = at(&lp_path, &c_key);
        let c = object_entry(lp, &c_key, &c_path)?;
        if let Some((dk, drop)) = list_of(c, "drop", &c_path)? {
            for cap in caps {
                if drop
                    .iter()
                    .any(|v| v.as_str().is_some_and(|s| cap_eq(s, cap)))
                {
                    return Err(self.unpatchable(
                        name,
                        at(&c_path, &dk),
                        format!("it drops {cap}, which the tracer needs"),
                        Some(format!(
                            "remove {cap} from the container's dropped capabilities"
                        )),
                    ));
                }
            }
        }
        let a_key = key_for(c, "add", d, &c_path)?;
        let a_path = at(&c_path, &a_key);
        let add = match c.entry(a_key).or_insert_with(|| Value::Array(vec![])) {
            Value::Array(a) => a,
            other => return Err(expected(a_path, "a list", other)),
        };
        for cap in caps {
            if !add
                .iter()
                .any(|v| v.as_str().is_some_and(|s| cap_eq(s, cap)))
            {
                add.push(Value::String(cap.clone()));
            }
        }
        Ok(())
    }

    /// `volumesFrom` the sidecars that share files with the container (the tracer's binaries).
    pub(super) fn add_volumes_from(&self, m: &mut Map<String, Value>, path: &Path) -> Vec<Error> {
        let mut errors = Vec::new();
        for vf in self.def.volumes_from() {
            let r = merge_entry(
                m,
                "volumesFrom",
                ("sourceContainer", &vf.source_container),
                ("readOnly", || Value::Bool(vf.read_only)),
                self.site.dialect,
                path,
            );
            if let Err(e) = r {
                errors.push(e);
            }
        }
        errors
    }

    /// `dependsOn` the sidecars the container must start after.
    pub(super) fn add_depends_on(&self, m: &mut Map<String, Value>, path: &Path) -> Vec<Error> {
        let mut errors = Vec::new();
        for dep in &self.def.containers.depends_on {
            let r = merge_entry(
                m,
                "dependsOn",
                ("containerName", &dep.container_name),
                ("condition", || Value::String(dep.condition.clone())),
                self.site.dialect,
                path,
            );
            if let Err(e) = r {
                errors.push(e);
            }
        }
        errors
    }

    /// The definition's environment (a variable the container already sets is kept unless the
    /// definition overrides, and one it gives as a secret is left alone), the container-name
    /// variable, and the definition's secrets.
    pub(super) fn add_environment(
        &self,
        m: &mut Map<String, Value>,
        path: &Path,
    ) -> Result<(), Error> {
        let spec = &self.def.containers;
        let d = self.site.dialect;
        let secret_names: Vec<String> = match list_of(m, "secrets", path)? {
            Some((k, l)) => {
                check_entries(l, "name", d, &at(path, &k))?;
                l.iter().filter_map(|s| entry_name(s, "name")).collect()
            }
            None => Vec::new(),
        };
        let container_name = get(m, "name", path)?.map(|(_, v)| v.clone());
        let mut wanted: Vec<(String, Value, bool)> = spec
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), v.clone(), spec.override_environment))
            .collect();
        if let (Some(var), Some(n)) = (&spec.container_name_variable, container_name) {
            wanted.push((var.clone(), n, false));
        }
        if !wanted.is_empty() {
            self.set_variables(m, path, wanted, &secret_names)?;
        }
        for (name, value_from) in &spec.secrets {
            merge_entry(
                m,
                "secrets",
                ("name", name),
                ("valueFrom", || value_from.clone()),
                d,
                path,
            )?;
        }
        Ok(())
    }

    /// Set each `(name, value, force)` in the container's `environment`: added when absent,
    /// replaced when present only if `force`; names given as secrets are left alone.
    fn set_variables(
        &self,
        m: &mut Map<String, Value>,
        path: &Path,
        wanted: Vec<(String, Value, bool)>,
        secret_names: &[String],
    ) -> Result<(), Error> {
        let d = self.site.dialect;
        let key = key_for(m, "environment", d, path)?;
        let epath = at(path, &key);
        let env = match m.entry(key).or_insert_with(|| Value::Array(vec![])) {
            Value::Array(a) => a,
            other => return Err(expected(epath, "a list", other)),
        };
        check_entries(env, "name", d, &epath)?;
        for (name, value, force) in wanted {
            if secret_names.contains(&name) {
                continue;
            }
            let existing = env
                .iter_mut()
                .find(|e| entry_name(e, "name").as_deref() == Some(name.as_str()));
            match existing {
                Some(Value::Object(e)) => {
                    if force {
                        let vk = find_key(e, "value", &epath)?.unwrap_or_else(|| d.key("value"));
                        e.insert(vk, value);
                    }
                }
                _ => {
                    let mut e = Map::new();
                    e.insert(d.key("name"), Value::String(name));
                    e.insert(d.key("value"), value);
                    env.push(Value::Object(e));
                }
            }
        }
        Ok(())
    }
}

fn cap_eq(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b)
}
