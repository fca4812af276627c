//! One macro request: its plan (the configuration and the request's `params`), the patch of
//! its fragment, and the Lambda handler around them.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Duration;

use kilt_defs::definition::{Definition, LogConfiguration};
use kilt_defs::image::ImageConfigs;
use kilt_defs::patch::{self, NeededImage, Options};
use kilt_defs::shape::{Dialect, Shape, Site};
use kiltx_images::Answer;
use serde_json::{Map, Value};

use crate::config::{Config, Function};
use crate::error::{ConfigError, ParamsError, RequestError};
use crate::request::{decode_raw, MacroRequest};
use crate::response::MacroResponse;

/// Per-request overrides from the macro's `params` (for `Fn::Transform` on one resource).
fn apply_params(
    params: &Value,
    def: &mut Definition,
    opts: &mut Options,
) -> Result<(), ParamsError> {
    let Some(map) = params.as_object() else {
        return match params {
            Value::Null => Ok(()),
            _ => Err(ParamsError::NotAnObject),
        };
    };
    let string = |k: &str, v: &Value| -> Result<String, ParamsError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Bool(b) => Ok(b.to_string()),
            _ => Err(ParamsError::NotAString { key: k.to_string() }),
        }
    };
    let names = |k: &str, v: &Value| -> Result<Vec<String>, ParamsError> {
        match v {
            Value::Array(a) => a.iter().map(|x| string(k, x)).collect(),
            other => Ok(string(k, other)?
                .split(':')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()),
        }
    };
    for (k, v) in map {
        match k.as_str() {
            "OptIn" => opts.opt_in = crate::config::parse_bool("params.OptIn", &string(k, v)?)?,
            "IncludeEc2" => {
                opts.include_ec2 = crate::config::parse_bool("params.IncludeEc2", &string(k, v)?)?
            }
            "GrowTask" => {
                opts.grow_task = crate::config::parse_bool("params.GrowTask", &string(k, v)?)?
            }
            "TracerImage" => def
                .set_tracer_image(&string(k, v)?)
                .map_err(ParamsError::TracerImage)?,
            "IncludeContainers" => opts.include_containers = Some(names(k, v)?),
            "IgnoreContainers" => opts.ignore_containers = names(k, v)?,
            other => {
                return Err(ParamsError::Unknown {
                    key: other.to_string(),
                })
            }
        }
    }
    Ok(())
}

/// What the request tells of the template's values: its parameter values as strings (lists
/// joined with commas, as CloudFormation does for `CommaDelimitedList`), and the pseudo
/// parameters `AWS::Region` and `AWS::AccountId`. Parameters of the SSM types are left out:
/// what a macro is handed for them is the SSM parameter's name, not its value.
fn parameter_values(request: &MacroRequest) -> BTreeMap<String, String> {
    let ssm_typed = |name: &str| {
        request
            .fragment
            .get("Parameters")
            .and_then(|p| p.get(name))
            .and_then(|p| p.get("Type"))
            .and_then(Value::as_str)
            .is_some_and(|t| t.starts_with("AWS::SSM::Parameter::Value<"))
    };
    let mut out: BTreeMap<String, String> = request
        .template_parameter_values
        .iter()
        .filter(|(k, _)| !ssm_typed(k))
        .filter_map(|(k, v)| Some((k.clone(), patch::parameter_text(v)?)))
        .collect();
    for (name, value) in [
        ("AWS::Region", &request.region),
        ("AWS::AccountId", &request.account_id),
    ] {
        if !value.is_empty() {
            out.insert(name.into(), value.clone());
        }
    }
    out
}

/// What one request asks for: the definition and options after the configuration and the
/// request's `params`, and whether the fragment is a whole template or one task definition's
/// properties.
struct Plan {
    def: Definition,
    opts: Options,
    snippet: bool,
}

/// Work out the plan for `request`.
fn plan(
    config: &Result<Config, ConfigError>,
    request: &MacroRequest,
) -> Result<Plan, RequestError> {
    let config = config
        .as_ref()
        .map_err(|e| RequestError::InvalidConfig(e.to_string()))?;
    let fragment = &request.fragment;
    let mut def = config.definition.clone();
    if let Some(group) = &config.log_group {
        for s in &mut def.sidecars {
            s.log_configuration = Some(awslogs(group, &request.region));
        }
    }
    let mut opts = Options {
        opt_in: config.opt_in,
        include_ec2: config.include_ec2,
        parameters: parameter_values(request),
        frontend: patch::Frontend::Macro,
        tailor: config.kilt.as_ref().map(|k| k.tailor.clone()),
        ..Options::default()
    };
    let snippet = is_task_definition_properties(fragment);
    if snippet && config.kilt.as_ref().is_some_and(|k| k.parameterize_env) {
        return Err(RequestError::ParameterizeOnSnippet);
    }
    if snippet {
        // An explicit Fn::Transform on one task definition selects it.
        opts.opt_in = false;
        opts.include_ec2 = true;
    } else if fragment.get("Resources").is_none() {
        return Err(RequestError::NotATemplate);
    }
    apply_params(&request.params, &mut def, &mut opts)?;
    Ok(Plan { def, opts, snippet })
}

/// Patch `fragment` by the plan (recording missing image configurations in `needs`, if given).
fn apply(
    plan: &Plan,
    config: &Result<Config, ConfigError>,
    fragment: &mut Value,
    images: &ImageConfigs,
    needs: Option<&RefCell<Vec<NeededImage>>>,
) -> Result<(), kilt_defs::Error> {
    let Plan { def, opts, snippet } = plan;
    if *snippet {
        let site = Site {
            path: vec![],
            label: "the task definition (Fn::Transform)".into(),
            dialect: Dialect::Pascal,
            shape: Shape::CloudFormation,
        };
        let params = patch::Known::new(patch::Sections::default(), opts);
        return patch::patch_site_recording(fragment, &site, def, opts, images, &params, needs)
            .map(|_| ());
    }
    let report = patch::patch_recording(fragment, Shape::CloudFormation, def, opts, images, needs)?;
    match config.as_ref().ok().and_then(|c| c.kilt.as_ref()) {
        Some(k)
            if needs.is_none()
                && k.parameterize_env
                && report
                    .tasks
                    .iter()
                    .any(|t| matches!(t.status, patch::TaskStatus::Patched { .. })) =>
        {
            k.recipe.add_template_parameters(fragment)
        }
        _ => Ok(()),
    }
}

/// The images whose ENTRYPOINT/CMD patching `request` needs and `images` does not give, once
/// each per platform. Nothing when the request cannot be planned or patched anyway (handling it
/// reports why).
pub fn needed_images(
    config: &Result<Config, ConfigError>,
    request: &MacroRequest,
    images: &ImageConfigs,
) -> Vec<NeededImage> {
    let Ok(plan) = plan(config, request) else {
        return Vec::new();
    };
    let needs = RefCell::new(Vec::new());
    let mut scratch = request.fragment.clone();
    let _ = apply(&plan, config, &mut scratch, images, Some(&needs));
    patch::unique_needs(needs.into_inner())
}

/// Handle one macro request. Never fails: every problem is a `failure` answer with a message.
pub fn handle(
    config: &Result<Config, ConfigError>,
    request: MacroRequest,
    images: &ImageConfigs,
) -> MacroResponse {
    let plan = match plan(config, &request) {
        Ok(p) => p,
        Err(e) => return MacroResponse::failure(request.request_id, request.fragment, &e),
    };
    let mut patched = request.fragment.clone();
    match apply(&plan, config, &mut patched, images, None) {
        Ok(()) => MacroResponse::success(request.request_id, patched),
        Err(e) => MacroResponse::failure(
            request.request_id,
            request.fragment,
            &RequestError::Patch(e),
        ),
    }
}

fn is_task_definition_properties(v: &Value) -> bool {
    v.as_object().is_some_and(|m| {
        !m.contains_key("Resources")
            && m.keys()
                .any(|k| k.eq_ignore_ascii_case("ContainerDefinitions"))
    })
}

fn awslogs(group: &str, region: &str) -> LogConfiguration {
    let mut options = Map::new();
    options.insert("awslogs-group".into(), group.into());
    options.insert("awslogs-region".into(), region.into());
    options.insert("awslogs-stream-prefix".into(), "kiltx".into());
    LogConfiguration {
        log_driver: "awslogs".into(),
        options,
    }
}

/// How long registry lookups may take: until the invocation's deadline, less room to answer
/// (a tenth of what is left, at least 2 s). `deadline_ms`/`now_ms` are milliseconds since the
/// epoch; a deadline of 0 (unknown) gives a minute.
pub fn lookup_budget(deadline_ms: u64, now_ms: u64) -> Duration {
    if deadline_ms == 0 {
        return Duration::from_secs(60);
    }
    let left = deadline_ms.saturating_sub(now_ms);
    let room = (left / 10).max(2_000);
    Duration::from_millis(left.saturating_sub(room))
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The Lambda handler: decode, find the images the request needs and look them up (within the
/// invocation's deadline), handle, answer. The same sequence as the CLI's
/// ([`kiltx_images::find_look_up_patch`]).
pub async fn handler(
    function: &Function,
    event: lambda_runtime::LambdaEvent<Box<serde_json::value::RawValue>>,
) -> Result<MacroResponse, lambda_runtime::Error> {
    let lambda_runtime::LambdaEvent { payload, context } = event;
    let budget = lookup_budget(context.deadline, now_ms());
    let decoded = decode_raw(&payload);
    // The event's text is not needed once decoded: what handling adds is measured from here
    // (tests/budget.rs).
    drop(payload);
    let request = match decoded {
        Ok(r) => r,
        Err(answer) => return Ok(*answer),
    };
    // budget.rs: a template too large for the function's memory or the time left is a
    // failure that says so, not a killed function.
    let time_left = (context.deadline != 0)
        .then(|| Duration::from_millis(context.deadline.saturating_sub(now_ms())));
    if let Err(e) = crate::budget::check_budget(&request, crate::budget::memory_size(), time_left) {
        return Ok(MacroResponse::failure(
            request.request_id,
            request.fragment,
            &e,
        ));
    }
    Ok(kiltx_images::find_look_up_patch(
        request,
        &ImageConfigs::new(),
        |request, known| needed_images(&function.config, request, known),
        || {
            function
                .registries
                .as_ref()
                .map_err(|e| RequestError::InvalidConfig(e.to_string()))
        },
        budget,
        |request, images, answers| match answers.and_then(lookup_failures) {
            Ok(()) => handle(&function.config, request, images),
            Err(e) => MacroResponse::failure(request.request_id, request.fragment, &e),
        },
    )
    .await)
}

/// The lookups that failed, as one request error.
fn lookup_failures(answers: Vec<Answer>) -> Result<(), RequestError> {
    let failures: Vec<String> = answers
        .iter()
        .filter_map(|Answer { need, answer }| {
            answer.as_ref().err().map(|e| {
                format!(
                    "container {} needs the ENTRYPOINT/CMD of image {} ({}): {e}",
                    need.container, need.image, need.platform
                )
            })
        })
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(RequestError::Lookups(failures))
    }
}
