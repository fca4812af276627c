//! Where the sidecars' output goes. The built-in sidecar prints every event (and, with rules,
//! every alert) on its standard output; on Fargate a container without a `logConfiguration`
//! has that output discarded. A sidecar whose definition gives no log configuration therefore
//! gets one derived from the traced containers' own (the first traced container that has one):
//!
//! - `awslogs`: the same options (group, region, endpoint...), with the stream prefix
//!   `kiltx` so the sidecar's streams are its own;
//! - `awsfirelens`: the same options and secret options, through the task's own log router;
//! - any other driver: the same configuration.
//!
//! When no traced container has one, nothing is invented: the report says the output is
//! discarded on Fargate and how to give it somewhere to go.

use serde_json::{Map, Value};

use super::fields::{find_key, render_value};
use super::task::Cx;
use super::Frontend;
use crate::definition::Sidecar;

/// The stream prefix of a sidecar's awslogs streams.
pub const STREAM_PREFIX: &str = "kiltx";

/// The log configuration for sidecar `s`, and a note for the report, when the definition gives
/// it none: derived from the traced containers (`containers` at `targets`, in order).
pub(super) fn derived(
    cx: &Cx<'_>,
    s: &Sidecar,
    containers: &[Value],
    targets: &[usize],
) -> (Option<Value>, Option<String>) {
    if s.log_configuration.is_some() || !s.derive_log_configuration {
        return (None, None);
    }
    let d = cx.site.dialect;
    let found = targets.iter().find_map(|&i| {
        let Value::Object(m) = containers.get(i)? else {
            return None;
        };
        let (_, lc) = m
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("logConfiguration"))?;
        let name = m
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("name"))
            .map(|(_, v)| render_value(v))
            .unwrap_or_else(|| "?".into());
        lc.is_object().then(|| (name, lc.clone()))
    });
    let Some((from, lc)) = found else {
        let fix = match cx.run.opts.frontend {
            Frontend::Cli => "give it one with --log-group GROUP, or in the definition",
            Frontend::Macro => "give it one with the macro stack's SidecarLogGroup parameter (KILTX_LOG_GROUP), or in the definition",
        };
        return (
            None,
            Some(format!(
                "sidecar {:?} has no log configuration, and neither has any traced container: on Fargate its output (every event and alert) is discarded; {fix}",
                s.name
            )),
        );
    };
    let Value::Object(written) = lc else {
        unreachable!("checked to be an object")
    };
    // In the task definition's own dialect (the container's may be miscased: CloudFormation
    // would reject the copy as it rejects the original).
    let mut m = Map::new();
    for (k, v) in written {
        let key = ["logDriver", "options", "secretOptions"]
            .into_iter()
            .find(|c| c.eq_ignore_ascii_case(&k))
            .map(|c| d.key(c))
            .unwrap_or(k);
        m.insert(key, v);
    }
    let m = &mut m;
    let driver = m
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("logDriver"))
        .map(|(_, v)| v.clone());
    let note = match driver.as_ref().and_then(Value::as_str) {
        Some("awslogs") => {
            let okey = find_key(m, "options", &cx.site.path)
                .ok()
                .flatten()
                .unwrap_or_else(|| d.key("options"));
            let options = m
                .entry(okey)
                .or_insert_with(|| Value::Object(Map::new()));
            let group = match options {
                Value::Object(o) => {
                    o.insert(
                        "awslogs-stream-prefix".into(),
                        Value::String(STREAM_PREFIX.into()),
                    );
                    match o.get("awslogs-group") {
                        Some(g) => match cx.params.scalar(g) {
                            Some(text) => format!("{text:?}"),
                            None => render_value(g),
                        },
                        None => "(none given)".into(),
                    }
                }
                // Options given by an intrinsic: copied as they are.
                _ => "(as written)".into(),
            };
            format!(
                "sidecar {:?} logs through awslogs like container {from}: group {group}, stream prefix {STREAM_PREFIX:?}",
                s.name
            )
        }
        Some("awsfirelens") => format!(
            "sidecar {:?} logs through the task's FireLens log router, with container {from}'s options",
            s.name
        ),
        Some(other) => format!(
            "sidecar {:?} logs with the {other} driver, as container {from} does",
            s.name
        ),
        None => format!(
            "sidecar {:?} takes container {from}'s log configuration",
            s.name
        ),
    };
    (Some(Value::Object(m.clone())), Some(note))
}
