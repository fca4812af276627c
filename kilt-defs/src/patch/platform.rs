//! The platform a task runs on: which variant of a multi-platform image's configuration its
//! containers start from.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::fields::{at, expected, get};
use super::parameters::resolve;
use crate::error::Error;
use crate::image::DEFAULT_PLATFORM;
use crate::intrinsic;
use crate::shape::Site;

/// The platform a task runs on, from `runtimePlatform.cpuArchitecture`: `Ok(os/arch)`, or why
/// it cannot be known (an error only for the containers that need it). The outer error is a
/// malformed document.
pub(super) fn task_platform(target: &Value, site: &Site) -> Result<Result<String, Error>, Error> {
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
    Ok(match get(rp, "cpuArchitecture", &rpath)? {
        None => Ok(DEFAULT_PLATFORM.to_string()),
        Some((_, Value::String(a))) if a.eq_ignore_ascii_case("X86_64") => Ok("linux/amd64".into()),
        Some((_, Value::String(a))) if a.eq_ignore_ascii_case("ARM64") => Ok("linux/arm64".into()),
        Some((k, other)) => Err(Error::invalid_hint(
            at(&rpath, &k),
            format!(
                "kiltx must know the task's CPU architecture to read its images' ENTRYPOINT/CMD, and this is {}",
                match other {
                    Value::String(s) => format!("{s:?} (expected X86_64 or ARM64)"),
                    v => intrinsic::describe(v),
                }
            ),
            "write X86_64 or ARM64, or set entryPoint/command on the containers",
        )),
    })
}

/// `Some(family)` when the task runs Windows containers (`runtimePlatform.operatingSystemFamily`
/// `WINDOWS_*`): kiltx-tracer traces Linux processes only, so such a task is left alone. A
/// family given by an intrinsic function is resolved with the template's parameters; one that
/// stays unknown is an error, never a guess either way (wrapping a Windows task breaks it, and
/// skipping a Linux one leaves it unmonitored).
pub(super) fn windows_family(
    props: &Map<String, Value>,
    path: &crate::error::Path,
    params: &BTreeMap<String, String>,
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
    let family = match family {
        Value::String(s) => s.clone(),
        v => match resolve(v, params) {
            Some(s) => s,
            None => {
                let hint = match v.get("Ref").and_then(Value::as_str) {
                    Some(name) => format!(
                        "give the parameter's value: --parameter {name}=LINUX (or WINDOWS_…); the macro uses the stack's parameter values"
                    ),
                    None => "write the family as a plain value (LINUX or WINDOWS_…), or tag the task definition kilt-ignore".to_string(),
                };
                return Err(Error::invalid_hint(
                    at(&rpath, &k),
                    format!(
                        "kiltx must know whether the task runs Linux or Windows, and its operating system family is {}",
                        intrinsic::describe(v)
                    ),
                    hint,
                ));
            }
        },
    };
    Ok(family
        .to_ascii_uppercase()
        .starts_with("WINDOWS")
        .then_some(family))
}
