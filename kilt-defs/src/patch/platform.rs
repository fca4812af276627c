//! The platform a task runs on: which variant of a multi-platform image's configuration its
//! containers start from.

use serde_json::{Map, Value};

use super::fields::{at, expected, get};
use super::Known;
use crate::error::Error;
use crate::image::DEFAULT_PLATFORM;
use crate::intrinsic;
use crate::shape::Site;

/// The platform a task runs on, from `runtimePlatform.cpuArchitecture`: `Ok(os/arch)`, or why
/// it cannot be known (an error only for the containers that need it). The outer error is a
/// malformed document.
pub(super) fn task_platform(
    target: &Value,
    site: &Site,
    params: &Known,
) -> Result<Result<String, Error>, Error> {
    let Value::Object(props) = target else {
        return Ok(Ok(DEFAULT_PLATFORM.to_string()));
    };
    let path = &site.path;
    let Some((rk, rp)) = get(props, "runtimePlatform", path)? else {
        return Ok(Ok(DEFAULT_PLATFORM.to_string()));
    };
    let rpath = at(path, &rk);
    let Value::Object(rp) = rp else {
        return Ok(Err(expected(rpath, "an object", rp)));
    };
    let Some((k, arch)) = get(rp, "cpuArchitecture", &rpath)? else {
        return Ok(Ok(DEFAULT_PLATFORM.to_string()));
    };
    Ok(match params.scalar(arch) {
        Some(a) if a.eq_ignore_ascii_case("X86_64") => Ok("linux/amd64".into()),
        Some(a) if a.eq_ignore_ascii_case("ARM64") => Ok("linux/arm64".into()),
        Some(a) => Err(Error::invalid_hint(
            at(&rpath, &k),
            format!("the task's CPU architecture is {a:?}; ECS knows X86_64 and ARM64"),
            "write X86_64 or ARM64",
        )),
        None => {
            let (why, fix) = params.explain(arch);
            Err(Error::invalid_hint(
                at(&rpath, &k),
                format!(
                    "kiltx must know the task's CPU architecture to choose its images' configuration and the sidecar's, and its cpuArchitecture is {}: {why}",
                    intrinsic::describe(arch)
                ),
                format!("{fix}; or write X86_64 or ARM64"),
            ))
        }
    })
}

impl super::task::Cx<'_> {
    /// `Some(reason)` when a sidecar of the definition declares the CPU architectures its image
    /// is built for (`architectures`) and the task's is not one of them: such a task is left
    /// alone (its sidecar would fail with an exec format error, and the wrapped containers
    /// with it). An architecture kiltx cannot know is an error only if some sidecar declares
    /// fewer than both.
    pub(super) fn unsupported_architecture(&self) -> Result<Option<String>, Error> {
        let narrow: Vec<_> = self
            .def
            .sidecars
            .iter()
            .filter(|s| {
                let has = |arch: &str| s.architectures.iter().any(|a| a == arch);
                // Declared, and not for both.
                !(s.architectures.is_empty() || has("X86_64") && has("ARM64"))
            })
            .collect();
        if narrow.is_empty() {
            return Ok(None);
        }
        let platform = self.platform.as_ref().map_err(super::fields::clone_error)?;
        let arch = match platform.as_str() {
            "linux/arm64" => "ARM64",
            _ => "X86_64",
        };
        Ok(narrow
            .iter()
            .find(|s| !s.architectures.iter().any(|a| a == arch))
            .map(|s| {
                format!(
                    "it runs on {arch}, and sidecar {:?}'s image ({}) is declared for {} only (the definition's `architectures`)",
                    s.name,
                    s.image,
                    s.architectures.join(", ")
                )
            }))
    }
}

/// `Some(family)` when the task runs Windows containers (`runtimePlatform.operatingSystemFamily`
/// `WINDOWS_*`): kiltx-tracer traces Linux processes only, so such a task is left alone. A
/// family given by an intrinsic function is resolved with the template's parameters; one that
/// stays unknown is an error, never a guess either way (wrapping a Windows task breaks it, and
/// skipping a Linux one leaves it unmonitored).
pub(super) fn windows_family(
    props: &Map<String, Value>,
    path: &crate::error::Path,
    params: &Known,
) -> Result<Option<String>, Error> {
    let Some((rk, rp)) = get(props, "runtimePlatform", path)? else {
        return Ok(None);
    };
    let rpath = at(path, &rk);
    let Value::Object(rp) = rp else {
        return Err(expected(rpath, "an object", rp));
    };
    let Some((k, family)) = get(rp, "operatingSystemFamily", &rpath)? else {
        return Ok(None);
    };
    let Some(family) = params.scalar(family) else {
        let (why, fix) = params.explain(family);
        return Err(Error::invalid_hint(
            at(&rpath, &k),
            format!(
                "kiltx must know whether the task runs Linux or Windows, and its operating system family is {}: {why}",
                intrinsic::describe(family)
            ),
            format!("{fix}; or tag the task definition kilt-ignore to leave it alone"),
        ));
    };
    Ok(family
        .to_ascii_uppercase()
        .starts_with("WINDOWS")
        .then_some(family))
}
