//! The function's configuration, read once from its environment (and the definition, from S3
//! when `KILTX_DEFINITION_URI` names an object): [`Config`], the registry settings, and the
//! [`Function`] state made of them.

use std::time::Duration;

use kilt_defs::definition::Definition;
use kilt_defs::kilt::{KiltRecipe, Knobs};
use kilt_defs::patch::Tailor;
use serde_json::Value;

use crate::error::{BadBool, ConfigError};

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
) -> Result<(Definition, KiltSetup), ConfigError> {
    let config = match var(env::RECIPE_CONFIG).filter(|s| !s.trim().is_empty()) {
        Some(c) => {
            Some(
                serde_json::from_str::<Value>(&c).map_err(|e| ConfigError::RecipeConfig {
                    detail: e.to_string(),
                })?,
            )
        }
        None => None,
    };
    let recipe = KiltRecipe::parse(text, env::DEFINITION, config.as_ref())?;
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
    let (definition, tailor) = recipe.clone().tailor(knobs)?;
    Ok((
        definition,
        KiltSetup {
            recipe,
            tailor,
            parameterize_env,
        },
    ))
}

pub(crate) fn parse_bool(name: &str, v: &str) -> Result<bool, BadBool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" | "" => Ok(false),
        other => Err(BadBool {
            name: name.to_string(),
            value: other.to_string(),
        }),
    }
}

impl Config {
    /// Read the configuration; `var` looks up an environment variable.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let text = var(env::DEFINITION).filter(|s| !s.trim().is_empty());
        let format = var(env::DEFINITION_FORMAT).unwrap_or_default();
        let kilt = match (format.trim(), &text) {
            ("kilt", Some(_)) => true,
            ("kilt", None) => return Err(ConfigError::KiltWithoutRecipe),
            ("" | "auto", Some(t)) => looks_like_recipe(t),
            ("" | "auto" | "kiltx", _) => false,
            (other, _) => {
                return Err(ConfigError::DefinitionFormat {
                    value: other.to_string(),
                })
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
            Some(text) => Definition::parse(&text, env::DEFINITION)?,
            None => Definition::builtin(),
        };
        if let Some(image) = var(env::TRACER_IMAGE).filter(|s| !s.trim().is_empty()) {
            definition
                .set_tracer_image(&image)
                .map_err(|e| ConfigError::TracerImage(Box::new(e)))?;
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
            return Err(ConfigError::ParameterizeNeedsRecipe);
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

/// Registry settings from the environment (see [`env`]).
pub fn registry_options(
    var: impl Fn(&str) -> Option<String>,
) -> Result<kiltx_images::Options, ConfigError> {
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
            .map_err(|e| ConfigError::RegistryEndpoint(Box::new(e)))?;
    }
    o.insecure_registries = list(env::INSECURE_REGISTRIES);
    if let Some(t) = var(env::REGISTRY_TIMEOUT).filter(|t| !t.trim().is_empty()) {
        let secs: u64 = t
            .trim()
            .parse()
            .map_err(|_| ConfigError::RegistryTimeout { value: t.clone() })?;
        o.request_timeout = Duration::from_secs(secs.max(1));
    }
    Ok(o)
}

/// The function's state, made once per runtime.
pub struct Function {
    pub config: Result<Config, ConfigError>,
    pub registries: Result<kiltx_images::Registries, ConfigError>,
}

impl Function {
    pub fn from_env(var: impl Fn(&str) -> Option<String> + Copy) -> Function {
        let config = Config::from_env(var);
        let registries = registry_options(var).and_then(|o| {
            kiltx_images::Registries::new(o).map_err(|e| ConfigError::Registries(Box::new(e)))
        });
        Function { config, registries }
    }

    /// [`Function::from_env`], reading the definition from S3 first when
    /// `KILTX_DEFINITION_URI` names an object.
    pub async fn load(var: impl Fn(&str) -> Option<String> + Copy) -> Function {
        let Some(uri) = var(env::DEFINITION_URI).filter(|u| !u.trim().is_empty()) else {
            return Function::from_env(var);
        };
        let fetched = if var(env::DEFINITION).is_some_and(|d| !d.trim().is_empty()) {
            Err(ConfigError::TwoDefinitions)
        } else {
            crate::s3::fetch(uri.trim()).await.map_err(ConfigError::S3)
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
                f.config = f.config.map_err(|e| ConfigError::InS3 {
                    uri: uri.clone(),
                    source: Box::new(e),
                });
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
