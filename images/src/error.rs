//! What can go wrong while asking a registry, said so that a person knows what to do.

/// One failed lookup. Every variant names the registry and says what it answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("{0}; fix the container's image, or set entryPoint/command on the container")]
    Reference(#[from] kilt_defs::reference::ReferenceError),

    /// The registry answered with an HTTP error status.
    #[error("registry {registry} answered {status} to GET {url}{answer}; {hint}", answer = if answer.is_empty() { String::new() } else { format!(": {answer}") })]
    Status {
        registry: String,
        url: String,
        status: u16,
        answer: String,
        hint: String,
    },

    /// The registry could not be reached, or the connection failed (DNS, TCP, TLS).
    #[error("registry {registry} could not be reached at {url}: {detail}; {hint}")]
    Transport {
        registry: String,
        url: String,
        detail: String,
        hint: String,
    },

    #[error("registry {registry} did not answer GET {url} within {secs}s (--registry-timeout); check the network, or raise the timeout")]
    Timeout {
        registry: String,
        url: String,
        secs: u64,
    },

    #[error("the lookups did not finish within the {secs}s deadline (--registry-deadline); raise it, or pin the image's configuration with --image-config FILE")]
    Deadline { secs: u64 },

    /// Content whose digest is not what it should be.
    #[error("registry {registry} sent content for {what} whose digest is {actual}, not {expected}; the registry or something between us is corrupting data: try again, or check the proxy")]
    Digest {
        registry: String,
        what: String,
        expected: String,
        actual: String,
    },

    /// A manifest or config we cannot read.
    #[error("registry {registry} sent {what} that kiltx cannot read: {detail}; {hint}")]
    Content {
        registry: String,
        what: String,
        detail: String,
        hint: String,
    },

    /// The image exists, but not for the platform the task runs on.
    #[error("registry {registry} has no {wanted} image for it (available: {}); set runtimePlatform.cpuArchitecture to match, or use a multi-platform image", if available.is_empty() { "none".to_string() } else { available.join(", ") })]
    Platform {
        registry: String,
        wanted: String,
        available: Vec<String>,
    },

    /// Amazon ECR's API refused or failed to give a registry token.
    #[error("ECR GetAuthorizationToken for registry {registry} (account {account}, region {region}) failed: {detail}; check the AWS credentials (aws sts get-caller-identity) and that they allow ecr:GetAuthorizationToken")]
    Ecr {
        registry: String,
        account: String,
        region: String,
        detail: String,
    },

    /// Credentials given to kiltx that cannot be read.
    #[error("{origin}: {detail}")]
    Credentials { origin: String, detail: String },

    /// A command-line setting that makes no sense.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// Hint for an HTTP error status from a registry.
    pub(crate) fn status_hint(status: u16, has_credentials: bool) -> String {
        match status {
            401 if has_credentials => "the credentials given were refused: check them (--registry-auth FILE, a docker config.json)".into(),
            401 => "the registry wants credentials: give a docker config.json with --registry-auth FILE (or DOCKER_CONFIG / DOCKER_AUTH_CONFIG), or pin the image's configuration with --image-config FILE".into(),
            403 => "the credentials are not allowed to pull this image: check the repository's permissions (for ECR: ecr:BatchGetImage, ecr:GetDownloadUrlForLayer and the repository policy)".into(),
            404 => "check that the repository and tag exist (a typo, or the image was not pushed yet), or pin the image's configuration with --image-config FILE".into(),
            429 => "the registry is rate-limiting: try again later, log in (--registry-auth FILE), or use a pull-through cache (--registry-endpoint HOST=URL)".into(),
            s if s >= 500 => "the registry failed: try again later".into(),
            _ => "pin the image's configuration with --image-config FILE, or set entryPoint/command on the container".into(),
        }
    }
}
