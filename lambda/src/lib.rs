//! The kiltx CloudFormation macro: a Lambda function that patches the template (or, with
//! `Fn::Transform`, one task definition's properties) it is given.
//!
//! `main` only wires [`handler`] into the Lambda runtime; everything here is plain functions
//! over typed values, tested directly.

use std::collections::BTreeMap;

use kilt_defs::definition::{Definition, LogConfiguration};
use kilt_defs::image::ImageConfigs;
use kilt_defs::kilt::{KiltRecipe, Knobs};
use kilt_defs::patch::{self, Options, Tailor};
use kilt_defs::shape::{Dialect, Shape, Site};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A CloudFormation macro request.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MacroRequest {
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub account_id: String,
    #[serde(default)]
    pub fragment: Value,
    #[serde(default)]
    pub transform_id: String,
    #[serde(default)]
    pub params: Value,
    #[serde(default)]
    pub request_id: String,
    #[serde(default)]
    pub template_parameter_values: Map<String, Value>,
}

/// The macro's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MacroResponse {
    pub request_id: String,
    /// `success` or `failure`.
    pub status: String,
    /// Always returned: the patched fragment, or on failure the fragment as it came.
    pub fragment: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

impl MacroResponse {
    fn success(request_id: String, fragment: Value) -> Self {
        MacroResponse {
            request_id,
            status: "success".into(),
            fragment,
            error_message: None,
        }
    }

    fn failure(request_id: String, fragment: Value, message: String) -> Self {
        MacroResponse {
            request_id,
            status: "failure".into(),
            fragment,
            error_message: Some(message),
        }
    }
}

/// The function's configuration, read once from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub definition: Definition,
    pub opt_in: bool,
    pub include_ec2: bool,
    /// Log group for the sidecars' awslogs driver (region: the request's).
    pub log_group: Option<String>,
    /// A Kilt recipe as the definition (`KILTX_DEFINITION_FORMAT=kilt`).
    pub kilt: Option<KiltSetup>,
}

/// A Kilt recipe, applied per task definition (see `kilt_defs::kilt`).
#[derive(Debug, Clone)]
pub struct KiltSetup {
    pub recipe: KiltRecipe,
    pub tailor: std::sync::Arc<dyn Tailor>,
    /// The recipe's variables become template Parameters (`KILTX_PARAMETERIZE_ENV`).
    pub parameterize_env: bool,
}

/// Environment variables the function reads.
pub mod env {
    /// A definition, inline (YAML or JSON).
    pub const DEFINITION: &str = "KILTX_DEFINITION";
    /// Patch only task definitions tagged `kilt-include`: `true` or `false`.
    pub const OPT_IN: &str = "KILTX_OPT_IN";
    /// Also patch task definitions that do not require FARGATE: `true` or `false`.
    pub const INCLUDE_EC2: &str = "KILTX_INCLUDE_EC2";
    /// The tracer sidecar's image.
    pub const TRACER_IMAGE: &str = "KILTX_TRACER_IMAGE";
    /// Send the sidecars' output to this CloudWatch log group.
    pub const LOG_GROUP: &str = "KILTX_LOG_GROUP";
    /// How to read KILTX_DEFINITION: `kiltx` (YAML/JSON), `kilt` (a Kilt recipe, HOCON), or
    /// `auto` (a recipe when it starts with `build` or `task`).
    pub const DEFINITION_FORMAT: &str = "KILTX_DEFINITION_FORMAT";
    /// Kilt recipes: the recipe's configuration (`config.*`), a JSON object.
    pub const RECIPE_CONFIG: &str = "KILTX_RECIPE_CONFIG";
    /// Secret ARN for the sidecars' repositoryCredentials.
    pub const IMAGE_AUTH_SECRET: &str = "KILTX_IMAGE_AUTH_SECRET";
    /// Kilt recipes: the recipe's environment variables become template Parameters.
    pub const PARAMETERIZE_ENV: &str = "KILTX_PARAMETERIZE_ENV";
}

/// Whether an inline definition is a Kilt recipe (its first key is `build` or `task`).
fn looks_like_recipe(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("//"))
        .is_some_and(|l| {
            let rest = l
                .strip_prefix("build")
                .or_else(|| l.strip_prefix("task"))
                .map(str::trim_start);
            rest.is_some_and(|r| r.starts_with(['{', '.', ':', '=']))
        })
}

/// Read a Kilt recipe configuration from the environment.
fn kilt_from_env(
    text: &str,
    var: &impl Fn(&str) -> Option<String>,
) -> Result<(Definition, KiltSetup), String> {
    let config = match var(env::RECIPE_CONFIG).filter(|s| !s.trim().is_empty()) {
        Some(c) => Some(
            serde_json::from_str::<Value>(&c)
                .map_err(|e| format!("{}: not JSON: {e}", env::RECIPE_CONFIG))?,
        ),
        None => None,
    };
    let recipe =
        KiltRecipe::parse(text, env::DEFINITION, config.as_ref()).map_err(|e| e.to_string())?;
    let parameterize_env = parse_bool(
        env::PARAMETERIZE_ENV,
        &var(env::PARAMETERIZE_ENV).unwrap_or_default(),
    )?;
    let knobs = Knobs {
        log_group: var(env::LOG_GROUP).filter(|s| !s.trim().is_empty()),
        image_auth_secret: var(env::IMAGE_AUTH_SECRET).filter(|s| !s.trim().is_empty()),
        parameterize_env,
        tracer_image: var(env::TRACER_IMAGE).filter(|s| !s.trim().is_empty()),
        ..Knobs::default()
    };
    let (definition, tailor) = recipe.clone().tailor(knobs).map_err(|e| e.to_string())?;
    Ok((
        definition,
        KiltSetup {
            recipe,
            tailor,
            parameterize_env,
        },
    ))
}

fn parse_bool(name: &str, v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" | "" => Ok(false),
        other => Err(format!("{name}={other:?}: expected true or false")),
    }
}

impl Config {
    /// Read the configuration; `var` looks up an environment variable.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let text = var(env::DEFINITION).filter(|s| !s.trim().is_empty());
        let format = var(env::DEFINITION_FORMAT).unwrap_or_default();
        let kilt = match (format.trim(), &text) {
            ("kilt", Some(_)) => true,
            ("kilt", None) => {
                return Err(format!(
                    "{}=kilt, but {} has no recipe",
                    env::DEFINITION_FORMAT,
                    env::DEFINITION
                ))
            }
            ("" | "auto", Some(t)) => looks_like_recipe(t),
            ("" | "auto" | "kiltx", _) => false,
            (other, _) => {
                return Err(format!(
                    "{}={other:?}: expected kiltx, kilt or auto",
                    env::DEFINITION_FORMAT
                ))
            }
        };
        if let (true, Some(t)) = (kilt, &text) {
            let (definition, setup) = kilt_from_env(t, &var)?;
            let opt_in = parse_bool(env::OPT_IN, &var(env::OPT_IN).unwrap_or_default())?;
            let include_ec2 =
                parse_bool(env::INCLUDE_EC2, &var(env::INCLUDE_EC2).unwrap_or_default())?;
            return Ok(Config {
                definition,
                opt_in,
                include_ec2,
                // The recipe's tailor sets the log configuration (Kilt's: Ref AWS::Region, the
                // task's logical ID as the stream prefix).
                log_group: None,
                kilt: Some(setup),
            });
        }
        let mut definition = match text {
            Some(text) => Definition::parse(&text, env::DEFINITION).map_err(|e| e.to_string())?,
            None => Definition::builtin(),
        };
        if let Some(image) = var(env::TRACER_IMAGE).filter(|s| !s.trim().is_empty()) {
            definition
                .set_tracer_image(&image)
                .map_err(|e| format!("{}: {e}", env::TRACER_IMAGE))?;
        }
        let opt_in = parse_bool(env::OPT_IN, &var(env::OPT_IN).unwrap_or_default())?;
        let include_ec2 = parse_bool(env::INCLUDE_EC2, &var(env::INCLUDE_EC2).unwrap_or_default())?;
        let log_group = var(env::LOG_GROUP).filter(|s| !s.trim().is_empty());
        Knobs {
            image_auth_secret: var(env::IMAGE_AUTH_SECRET).filter(|s| !s.trim().is_empty()),
            ..Knobs::default()
        }
        .apply_static(&mut definition);
        if parse_bool(
            env::PARAMETERIZE_ENV,
            &var(env::PARAMETERIZE_ENV).unwrap_or_default(),
        )? {
            return Err(format!(
                "{} applies to Kilt recipes ({}=kilt)",
                env::PARAMETERIZE_ENV,
                env::DEFINITION_FORMAT
            ));
        }
        Ok(Config {
            definition,
            opt_in,
            include_ec2,
            log_group,
            kilt: None,
        })
    }
}

/// Per-request overrides from the macro's `params` (for `Fn::Transform` on one resource).
fn apply_params(params: &Value, def: &mut Definition, opts: &mut Options) -> Result<(), String> {
    let Some(map) = params.as_object() else {
        return match params {
            Value::Null => Ok(()),
            _ => Err("params: expected an object of parameters".into()),
        };
    };
    let string = |k: &str, v: &Value| -> Result<String, String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Bool(b) => Ok(b.to_string()),
            _ => Err(format!("params.{k}: expected a string")),
        }
    };
    let names = |k: &str, v: &Value| -> Result<Vec<String>, String> {
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
            "OptIn" => opts.opt_in = parse_bool("params.OptIn", &string(k, v)?)?,
            "IncludeEc2" => opts.include_ec2 = parse_bool("params.IncludeEc2", &string(k, v)?)?,
            "TracerImage" => def
                .set_tracer_image(&string(k, v)?)
                .map_err(|e| format!("params.TracerImage: {e}"))?,
            "IncludeContainers" => opts.include_containers = Some(names(k, v)?),
            "IgnoreContainers" => opts.ignore_containers = names(k, v)?,
            other => {
                return Err(format!(
                    "params.{other}: unknown parameter (known: OptIn, IncludeEc2, TracerImage, IncludeContainers, IgnoreContainers)"
                ))
            }
        }
    }
    Ok(())
}

/// Template parameter values as strings (lists joined with commas, as CloudFormation does for
/// `CommaDelimitedList`).
fn parameter_values(values: &Map<String, Value>) -> BTreeMap<String, String> {
    values
        .iter()
        .filter_map(|(k, v)| {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Array(a) => a
                    .iter()
                    .map(|x| {
                        x.as_str()
                            .map(String::from)
                            .unwrap_or_else(|| x.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                _ => return None,
            };
            Some((k.clone(), s))
        })
        .collect()
}

/// Handle one macro request. Never fails: every problem is a `failure` answer with a message.
pub fn handle(
    config: &Result<Config, String>,
    request: MacroRequest,
    images: &ImageConfigs,
) -> MacroResponse {
    let MacroRequest {
        region,
        fragment,
        params,
        request_id,
        template_parameter_values,
        ..
    } = request;
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            return MacroResponse::failure(
                request_id,
                fragment,
                format!("kiltx macro configuration is invalid: {e}. Fix the function's environment variables."),
            )
        }
    };
    let mut def = config.definition.clone();
    if let Some(group) = &config.log_group {
        for s in &mut def.sidecars {
            s.log_configuration = Some(awslogs(group, &region));
        }
    }
    let mut opts = Options {
        opt_in: config.opt_in,
        include_ec2: config.include_ec2,
        parameters: parameter_values(&template_parameter_values),
        tailor: config.kilt.as_ref().map(|k| k.tailor.clone()),
        ..Options::default()
    };
    let snippet = is_task_definition_properties(&fragment);
    if snippet && config.kilt.as_ref().is_some_and(|k| k.parameterize_env) {
        return MacroResponse::failure(
            request_id,
            fragment,
            format!("kiltx macro: {} adds template Parameters, so it needs the macro at the template level (Transform: [Kiltx]), not Fn::Transform on one task definition", env::PARAMETERIZE_ENV),
        );
    }
    if snippet {
        // An explicit Fn::Transform on one task definition selects it.
        opts.opt_in = false;
        opts.include_ec2 = true;
    }
    if let Err(e) = apply_params(&params, &mut def, &mut opts) {
        return MacroResponse::failure(request_id, fragment, format!("kiltx macro: {e}"));
    }
    let mut patched = fragment.clone();
    let result = if snippet {
        let site = Site {
            path: vec![],
            label: "the task definition (Fn::Transform)".into(),
            dialect: Dialect::Pascal,
            shape: Shape::CloudFormation,
        };
        let params = patch::template_parameters(None, &opts);
        patch::patch_site(&mut patched, &site, &def, &opts, images, &params).map(|_| ())
    } else if fragment.get("Resources").is_some() {
        patch::patch(&mut patched, Shape::CloudFormation, &def, &opts, images).and_then(|report| {
            match &config.kilt {
                Some(k)
                    if k.parameterize_env
                        && report
                            .tasks
                            .iter()
                            .any(|t| matches!(t.status, patch::TaskStatus::Patched { .. })) =>
                {
                    k.recipe.add_template_parameters(&mut patched)
                }
                _ => Ok(()),
            }
        })
    } else {
        return MacroResponse::failure(
            request_id,
            fragment,
            "kiltx macro: the fragment is neither a template (no Resources) nor the Properties of an AWS::ECS::TaskDefinition (no ContainerDefinitions). Use Transform: [Kiltx] at the top of the template, or Fn::Transform inside a task definition's Properties.".into(),
        );
    };
    match result {
        Ok(()) => MacroResponse::success(request_id, patched),
        Err(e) => {
            let message = e
                .flatten()
                .iter()
                .map(|e| e.to_string().replace("\n  help: ", " — "))
                .collect::<Vec<_>>()
                .join("; ");
            MacroResponse::failure(request_id, fragment, format!("kiltx macro: {message}"))
        }
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

/// Decode a raw event into a request. An event that is not a macro request still gets an
/// answer (a failure naming the problem), echoing whatever request ID it had.
pub fn decode(mut event: Value) -> Result<MacroRequest, Box<MacroResponse>> {
    let request_id = event
        .get("requestId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    // Take the (possibly large) fragment out, so that it is neither copied nor lost.
    let fragment = event.as_object_mut().and_then(|m| m.remove("fragment"));
    let Some(fragment) = fragment else {
        return Err(Box::new(MacroResponse::failure(
            request_id,
            Value::Null,
            "kiltx macro: the event has no fragment; is this function invoked as a CloudFormation macro?".into(),
        )));
    };
    match serde_json::from_value::<MacroRequest>(event) {
        Ok(mut request) => {
            request.fragment = fragment;
            Ok(request)
        }
        Err(e) => Err(Box::new(MacroResponse::failure(
            request_id,
            fragment,
            format!("kiltx macro: the event is not a macro request: {e}"),
        ))),
    }
}

/// The Lambda handler: decode, handle, answer.
pub async fn handler(
    config: &Result<Config, String>,
    event: lambda_runtime::LambdaEvent<Value>,
) -> Result<MacroResponse, lambda_runtime::Error> {
    let request = match decode(event.payload) {
        Ok(r) => r,
        Err(answer) => return Ok(*answer),
    };
    Ok(handle(config, request, &ImageConfigs::new()))
}
