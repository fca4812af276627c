//! What can go wrong in the macro, each said so that whoever deploys or uses it knows what to
//! do. A configuration error fails every invocation (with its message) instead of
//! crash-looping the runtime; a request error is one `failure` answer.

use crate::config::env;

/// A setting that is not `true` or `false`.
#[derive(Debug, thiserror::Error)]
#[error("{name}={value:?}: expected true or false")]
pub struct BadBool {
    pub name: String,
    pub value: String,
}

/// The function's configuration (its environment, or the definition in S3) is invalid.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: not JSON: {detail}", env::RECIPE_CONFIG)]
    RecipeConfig { detail: String },
    /// The definition or the recipe (parse, substitutions, tailoring).
    #[error("{0}")]
    Definition(Box<kilt_defs::Error>),
    #[error(transparent)]
    Bool(#[from] BadBool),
    #[error(
        "{}=kilt, but {} has no recipe",
        env::DEFINITION_FORMAT,
        env::DEFINITION
    )]
    KiltWithoutRecipe,
    #[error("{}={value:?}: expected kiltx, kilt or auto", env::DEFINITION_FORMAT)]
    DefinitionFormat { value: String },
    #[error("{}: {}", env::TRACER_IMAGE, .0)]
    TracerImage(Box<kilt_defs::Error>),
    #[error(
        "{} applies to Kilt recipes ({}=kilt)",
        env::PARAMETERIZE_ENV,
        env::DEFINITION_FORMAT
    )]
    ParameterizeNeedsRecipe,
    #[error("{}: {}", env::REGISTRY_ENDPOINTS, .0)]
    RegistryEndpoint(Box<kiltx_images::Error>),
    #[error("{}={value:?}: expected a number of seconds", env::REGISTRY_TIMEOUT)]
    RegistryTimeout { value: String },
    /// The registry client could not be made.
    #[error("{0}")]
    Registries(Box<kiltx_images::Error>),
    #[error(
        "both {} and {} are set; give the definition one way",
        env::DEFINITION,
        env::DEFINITION_URI
    )]
    TwoDefinitions,
    #[error(transparent)]
    S3(#[from] S3Error),
    /// The definition read from S3 is invalid.
    #[error("{uri}: {source}")]
    InS3 {
        uri: String,
        source: Box<ConfigError>,
    },
}

impl From<kilt_defs::Error> for ConfigError {
    fn from(e: kilt_defs::Error) -> ConfigError {
        ConfigError::Definition(Box::new(e))
    }
}

/// The definition could not be read from S3.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    #[error("{}={uri:?}: expected s3://BUCKET/KEY", env::DEFINITION_URI)]
    Uri { uri: String },
    #[error("{uri}: cannot read the definition: {detail} (the function's role needs s3:GetObject on it)")]
    Read { uri: String, detail: String },
    #[error(
        "{uri}: the definition is not UTF-8 text (the function's role needs s3:GetObject on it)"
    )]
    NotUtf8 { uri: String },
    #[error("{uri}: reading the definition took more than 20 s")]
    Timeout { uri: String },
}

/// The macro's `params` (for `Fn::Transform` on one resource) are invalid.
#[derive(Debug, thiserror::Error)]
pub enum ParamsError {
    #[error("params: expected an object of parameters")]
    NotAnObject,
    #[error("params.{key}: expected a string")]
    NotAString { key: String },
    #[error(transparent)]
    Bool(#[from] BadBool),
    #[error("params.TracerImage: {0}")]
    TracerImage(kilt_defs::Error),
    #[error("params.{key}: unknown parameter (known: OptIn, IncludeEc2, GrowTask, TracerImage, IncludeContainers, IgnoreContainers)")]
    Unknown { key: String },
}

/// Why one request fails: the `errorMessage` of its `failure` answer.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The configuration (or the registry settings) is invalid: its message.
    #[error(
        "kiltx macro configuration is invalid: {0}. Fix the function's environment variables."
    )]
    InvalidConfig(String),
    #[error("kiltx macro: {} adds template Parameters, so it needs the macro at the template level (Transform: [Kiltx]), not Fn::Transform on one task definition", env::PARAMETERIZE_ENV)]
    ParameterizeOnSnippet,
    #[error("kiltx macro: the fragment is neither a template (no Resources) nor the Properties of an AWS::ECS::TaskDefinition (no ContainerDefinitions). Use Transform: [Kiltx] at the top of the template, or Fn::Transform inside a task definition's Properties.")]
    NotATemplate,
    #[error("kiltx macro: {0}")]
    Params(#[from] ParamsError),
    /// The engine refused the fragment; every problem, `help:` inline.
    #[error("kiltx macro: {}", .0.flatten().iter().map(|e| e.to_string().replace("\n  help: ", " — ")).collect::<Vec<_>>().join("; "))]
    Patch(kilt_defs::Error),
    /// Image lookups that failed, one message each.
    #[error("kiltx macro: {} (or set EntryPoint/Command on the container)", .0.join("; "))]
    Lookups(Vec<String>),
    #[error("kiltx macro: the event has no fragment; is this function invoked as a CloudFormation macro?")]
    NoFragment,
    #[error("kiltx macro: the event is not a macro request: {0}")]
    NotARequest(serde_json::Error),
    /// The event's JSON nests deeper than the reader goes (serde_json's limit, which keeps
    /// the function's stack safe).
    #[error("kiltx macro: the template nests objects and arrays more than {limit} levels deep ({0}), which kiltx does not read: no CloudFormation template needs that depth; look for generated or corrupted structure in the template", limit = crate::request::MAX_EVENT_DEPTH)]
    TooDeep(serde_json::Error),
    /// JSON that serde_json makes no value of (a number out of range).
    #[error("kiltx macro: the event is JSON that kiltx cannot read: {0}")]
    NotJson(serde_json::Error),
    #[error("kiltx macro: the template is too large for this function's memory: patching it needs about {need_mb} MB, the function has {have_mb} MB (AWS_LAMBDA_FUNCTION_MEMORY_SIZE). Raise the function's MemorySize to at least {need_mb} MB, or split the template.")]
    TooLargeForMemory { need_mb: u64, have_mb: u64 },
    #[error("kiltx macro: the template is too large to patch in the time left ({left_ms} ms): it needs about {need_ms} ms. Raise the function's Timeout, or split the template.")]
    TooLargeForTime { left_ms: u128, need_ms: u128 },
}
