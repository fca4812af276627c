//! The platform a task runs on: which variant of a multi-platform image's configuration its
//! containers start from.

use serde_json::Value;

use super::fields::{at, expected, get};
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
