//! The kiltx CloudFormation macro: a Lambda function that patches the template (or, with
//! `Fn::Transform`, one task definition's properties) it is given.
//!
//! `main` only wires [`handler`] into the Lambda runtime; everything here is plain functions
//! over typed values, tested directly.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Duration;

use kilt_defs::definition::{Definition, LogConfiguration};
use kilt_defs::image::ImageConfigs;
use kilt_defs::kilt::{KiltRecipe, Knobs};
use kilt_defs::patch::{self, NeededImage, Options, Tailor};
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
    /// A definition in S3: `s3://BUCKET/KEY` (read once, when the function starts).
    pub const DEFINITION_URI: &str = "KILTX_DEFINITION_URI";
    /// Registry hosts reached at other addresses: `HOST=URL[,HOST=URL]`.
    pub const REGISTRY_ENDPOINTS: &str = "KILTX_REGISTRY_ENDPOINTS";
    /// Registries reached over plain HTTP: `HOST[:PORT][,...]` (loopback always is).
    pub const INSECURE_REGISTRIES: &str = "KILTX_INSECURE_REGISTRIES";
    /// Timeout of each registry request, in seconds (default 20).
    pub const REGISTRY_TIMEOUT: &str = "KILTX_REGISTRY_TIMEOUT";
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

/// What one request asks for: the definition and options after the configuration and the
/// request's `params`, and whether the fragment is a whole template or one task definition's
/// properties.
struct Plan {
    def: Definition,
    opts: Options,
    snippet: bool,
}

/// Work out the plan for `request`; `Err` is the failure message.
fn plan(config: &Result<Config, String>, request: &MacroRequest) -> Result<Plan, String> {
    let config = config.as_ref().map_err(|e| {
        format!(
            "kiltx macro configuration is invalid: {e}. Fix the function's environment variables."
        )
    })?;
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
        parameters: parameter_values(&request.template_parameter_values),
        tailor: config.kilt.as_ref().map(|k| k.tailor.clone()),
        ..Options::default()
    };
    let snippet = is_task_definition_properties(fragment);
    if snippet && config.kilt.as_ref().is_some_and(|k| k.parameterize_env) {
        return Err(format!("kiltx macro: {} adds template Parameters, so it needs the macro at the template level (Transform: [Kiltx]), not Fn::Transform on one task definition", env::PARAMETERIZE_ENV));
    }
    if snippet {
        // An explicit Fn::Transform on one task definition selects it.
        opts.opt_in = false;
        opts.include_ec2 = true;
    } else if fragment.get("Resources").is_none() {
        return Err("kiltx macro: the fragment is neither a template (no Resources) nor the Properties of an AWS::ECS::TaskDefinition (no ContainerDefinitions). Use Transform: [Kiltx] at the top of the template, or Fn::Transform inside a task definition's Properties.".into());
    }
    apply_params(&request.params, &mut def, &mut opts).map_err(|e| format!("kiltx macro: {e}"))?;
    Ok(Plan { def, opts, snippet })
}

/// Patch `fragment` by the plan (recording missing image configurations in `needs`, if given).
fn apply(
    plan: &Plan,
    config: &Result<Config, String>,
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
        let params = patch::template_parameters(None, opts);
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
    config: &Result<Config, String>,
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
    config: &Result<Config, String>,
    request: MacroRequest,
    images: &ImageConfigs,
) -> MacroResponse {
    let plan = match plan(config, &request) {
        Ok(p) => p,
        Err(message) => {
            return MacroResponse::failure(request.request_id, request.fragment, message)
        }
    };
    let mut patched = request.fragment.clone();
    match apply(&plan, config, &mut patched, images, None) {
        Ok(()) => MacroResponse::success(request.request_id, patched),
        Err(e) => {
            let message = e
                .flatten()
                .iter()
                .map(|e| e.to_string().replace("\n  help: ", " — "))
                .collect::<Vec<_>>()
                .join("; ");
            MacroResponse::failure(
                request.request_id,
                request.fragment,
                format!("kiltx macro: {message}"),
            )
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

/// Registry settings from the environment (see [`env`]).
pub fn registry_options(
    var: impl Fn(&str) -> Option<String>,
) -> Result<kiltx_images::Options, String> {
    let mut o = kiltx_images::Options::default();
    let list = |k: &str| -> Vec<String> {
        var(k)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(String::from)
            .collect()
    };
    for spec in list(env::REGISTRY_ENDPOINTS) {
        o.add_endpoint(&spec)
            .map_err(|e| format!("{}: {e}", env::REGISTRY_ENDPOINTS))?;
    }
    o.insecure_registries = list(env::INSECURE_REGISTRIES);
    if let Some(t) = var(env::REGISTRY_TIMEOUT).filter(|t| !t.trim().is_empty()) {
        let secs: u64 = t.trim().parse().map_err(|_| {
            format!(
                "{}={t:?}: expected a number of seconds",
                env::REGISTRY_TIMEOUT
            )
        })?;
        o.request_timeout = Duration::from_secs(secs.max(1));
    }
    Ok(o)
}

/// The function's state, made once per runtime.
pub struct Function {
    pub config: Result<Config, String>,
    pub registries: Result<kiltx_images::Registries, String>,
}

impl Function {
    pub fn from_env(var: impl Fn(&str) -> Option<String> + Copy) -> Function {
        let config = Config::from_env(var);
        let registries = registry_options(var)
            .and_then(|o| kiltx_images::Registries::new(o).map_err(|e| e.to_string()));
        Function { config, registries }
    }

    /// [`Function::from_env`], reading the definition from S3 first when
    /// `KILTX_DEFINITION_URI` names an object.
    pub async fn load(var: impl Fn(&str) -> Option<String> + Copy) -> Function {
        let Some(uri) = var(env::DEFINITION_URI).filter(|u| !u.trim().is_empty()) else {
            return Function::from_env(var);
        };
        let fetched = if var(env::DEFINITION).is_some_and(|d| !d.trim().is_empty()) {
            Err(format!(
                "both {} and {} are set; give the definition one way",
                env::DEFINITION,
                env::DEFINITION_URI
            ))
        } else {
            fetch_s3(uri.trim()).await
        };
        match fetched {
            Ok(text) => {
                let mut f = Function::from_env(|k| {
                    if k == env::DEFINITION {
                        Some(text.clone())
                    } else {
                        var(k)
                    }
                });
                f.config = f.config.map_err(|e| format!("{uri}: {e}"));
                f
            }
            Err(e) => {
                let mut f = Function::from_env(var);
                f.config = Err(e);
                f
            }
        }
    }
}

/// Read an `s3://BUCKET/KEY` object as text, with the function's credentials (the SDK's
/// default chain). With a custom S3 endpoint (`AWS_ENDPOINT_URL_S3`), path-style addressing.
async fn fetch_s3(uri: &str) -> Result<String, String> {
    let (bucket, key) = uri
        .strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
        .ok_or_else(|| format!("{}={uri:?}: expected s3://BUCKET/KEY", env::DEFINITION_URI))?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let custom_endpoint = std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL").is_some();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(custom_endpoint)
            .build(),
    );
    let read = async {
        let object = s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "{uri}: cannot read the definition: {}",
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                )
            })?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| format!("{uri}: cannot read the definition: {e}"))?
            .into_bytes();
        String::from_utf8(bytes.to_vec())
            .map_err(|_| format!("{uri}: the definition is not UTF-8 text"))
    };
    match tokio::time::timeout(Duration::from_secs(20), read).await {
        Ok(r) => r.map_err(|e| format!("{e} (the function's role needs s3:GetObject on it)")),
        Err(_) => Err(format!("{uri}: reading the definition took more than 20 s")),
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

/// Look up what `request` needs from registries, within `budget`. `Err` is the failure message.
pub async fn look_up(
    function: &Function,
    request: &MacroRequest,
    budget: Duration,
) -> Result<ImageConfigs, String> {
    let mut images = ImageConfigs::new();
    let needs = needed_images(&function.config, request, &images);
    if needs.is_empty() {
        return Ok(images);
    }
    let registries = function.registries.as_ref().map_err(|e| {
        format!(
            "kiltx macro configuration is invalid: {e}. Fix the function's environment variables."
        )
    })?;
    let lookups: Vec<kiltx_images::Lookup> = needs.iter().map(kiltx_images::Lookup::from).collect();
    let answers = kiltx_images::resolve_all(
        registries,
        &lookups,
        kiltx_images::DEFAULT_CONCURRENCY,
        budget,
    )
    .await;
    let mut failures = Vec::new();
    for (need, answer) in needs.iter().zip(answers) {
        match answer {
            Ok(r) => images.insert_for(&need.image, &need.platform, r.config),
            Err(e) => failures.push(format!(
                "container {} needs the ENTRYPOINT/CMD of image {} ({}): {e}",
                need.container, need.image, need.platform
            )),
        }
    }
    if failures.is_empty() {
        Ok(images)
    } else {
        Err(format!(
            "kiltx macro: {} (or set EntryPoint/Command on the container)",
            failures.join("; ")
        ))
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Bytes of memory the macro needs per unit of [`weight`] of the fragment: the decoded event,
/// the copies handling makes (the fragment as it came, the patched one, a scratch copy for the
/// image lookups) and the answer's JSON. Measured in `tests/budget.rs`, with room to spare.
pub const BYTES_PER_WEIGHT: u64 = 48;

/// Memory the runtime itself needs, besides the request.
pub const BASE_MEMORY: u64 = 48 << 20;

/// What a fragment weighs: its size as JSON text, about (the engine's cost is proportional to
/// it).
pub fn weight(v: &Value) -> u64 {
    let mut total = 0u64;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        total += match v {
            Value::Null | Value::Bool(_) | Value::Number(_) => 8,
            Value::String(s) => 8 + s.len() as u64,
            Value::Array(items) => {
                stack.extend(items);
                8
            }
            Value::Object(m) => {
                for (k, x) in m {
                    total += 8 + k.len() as u64;
                    stack.push(x);
                }
                8
            }
        };
    }
    total
}

/// Whether handling `request` fits the function: its memory (`memory_mb`, the function's
/// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`) and the time left before the invocation's deadline.
/// `Err` is the failure message, naming which limit and what to do.
pub fn check_budget(
    request: &MacroRequest,
    memory_mb: Option<u64>,
    time_left: Option<Duration>,
) -> Result<(), String> {
    let w = weight(&request.fragment);
    let need = w
        .saturating_mul(BYTES_PER_WEIGHT)
        .saturating_add(BASE_MEMORY);
    if let Some(mb) = memory_mb {
        if need > mb << 20 {
            return Err(format!(
                "kiltx macro: the template is too large for this function's memory: patching it needs about {} MB, the function has {mb} MB (AWS_LAMBDA_FUNCTION_MEMORY_SIZE). Raise the function's MemorySize to at least {} MB, or split the template.",
                need.div_ceil(1 << 20),
                need.div_ceil(1 << 20)
            ));
        }
    }
    // Patching runs at well over 1 MB/s of template on the smallest function; allow 1 s/MB.
    let time_needed = Duration::from_micros(w);
    if let Some(left) = time_left {
        if time_needed > left {
            return Err(format!(
                "kiltx macro: the template is too large to patch in the time left ({} ms): it needs about {} ms. Raise the function's Timeout, or split the template.",
                left.as_millis(),
                time_needed.as_millis()
            ));
        }
    }
    Ok(())
}

fn memory_size() -> Option<u64> {
    std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        .ok()
        .and_then(|v| v.trim().parse().ok())
}

/// The Lambda handler: decode, check the request fits the function's memory and time, look
/// images up (within the invocation's deadline), handle, answer.
pub async fn handler(
    function: &Function,
    event: lambda_runtime::LambdaEvent<Value>,
) -> Result<MacroResponse, lambda_runtime::Error> {
    let budget = lookup_budget(event.context.deadline, now_ms());
    let request = match decode(event.payload) {
        Ok(r) => r,
        Err(answer) => return Ok(*answer),
    };
    let time_left = (event.context.deadline != 0)
        .then(|| Duration::from_millis(event.context.deadline.saturating_sub(now_ms())));
    if let Err(message) = check_budget(&request, memory_size(), time_left) {
        return Ok(MacroResponse::failure(
            request.request_id,
            request.fragment,
            message,
        ));
    }
    let images = match look_up(function, &request, budget).await {
        Ok(i) => i,
        Err(message) => {
            return Ok(MacroResponse::failure(
                request.request_id,
                request.fragment,
                message,
            ))
        }
    };
    Ok(handle(&function.config, request, &images))
}
