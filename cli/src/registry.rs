//! How to reach registries (the options every command that looks images up shares), and the
//! lookups of what the engine needs.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use kiltx_images::{Answer, Credentials, Lookup, Options, Registries, Resolved};

use crate::error::CliError;

/// How to reach registries (shared by `patch`, `lint` and `image-config`).
#[derive(Args, Debug, Clone)]
pub struct RegistryArgs {
    /// A registry reached over plain HTTP (loopback registries always are), repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,
    /// Reach the registry HOST at URL instead (a mirror, a pull-through cache, a test server);
    /// credentials, ECR tokens included, are still those of HOST. Repeatable.
    #[arg(long = "registry-endpoint", value_name = "HOST=URL")]
    pub registry_endpoints: Vec<String>,
    /// A docker config.json with registry credentials ("auths"). Default: $DOCKER_AUTH_CONFIG
    /// (the JSON itself), else $DOCKER_CONFIG/config.json, else ~/.docker/config.json if present.
    #[arg(long, value_name = "FILE", env = "REGISTRY_AUTH_FILE")]
    pub registry_auth: Option<PathBuf>,
    /// Seconds each registry request may take.
    #[arg(long, value_name = "SECS", default_value_t = 20)]
    pub registry_timeout: u64,
    /// Seconds all registry lookups of a run may take together.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub registry_deadline: u64,
}

impl RegistryArgs {
    fn options(&self) -> Result<Options, CliError> {
        let usage = |e: kiltx_images::Error| CliError::Usage(e.to_string());
        let mut opts = Options {
            insecure_registries: self.insecure_registries.clone(),
            credentials: self.credentials()?,
            request_timeout: Duration::from_secs(self.registry_timeout.max(1)),
            ..Options::default()
        };
        for e in &self.registry_endpoints {
            opts.add_endpoint(e).map_err(usage)?;
        }
        Ok(opts)
    }

    /// The registry client the options describe.
    pub fn client(&self) -> Result<Box<Registries>, CliError> {
        Registries::new(self.options()?)
            .map(Box::new)
            .map_err(|e| CliError::Usage(e.to_string()))
    }

    fn credentials(&self) -> Result<Credentials, CliError> {
        let read = |path: PathBuf| -> Result<Credentials, CliError> {
            let text = std::fs::read_to_string(&path).map_err(|source| CliError::Read {
                path: path.clone(),
                source,
            })?;
            Credentials::from_docker_config(&text, &path.display().to_string())
                .map_err(|e| CliError::Usage(e.to_string()))
        };
        if let Some(p) = &self.registry_auth {
            return read(p.clone());
        }
        if let Ok(text) = std::env::var("DOCKER_AUTH_CONFIG") {
            return Credentials::from_docker_config(&text, "$DOCKER_AUTH_CONFIG")
                .map_err(|e| CliError::Usage(e.to_string()));
        }
        let file = match std::env::var_os("DOCKER_CONFIG") {
            Some(dir) => Some(PathBuf::from(dir).join("config.json")),
            None => std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".docker/config.json"))
                .filter(|p| p.is_file()),
        };
        match file {
            Some(f) => read(f),
            None => Ok(Credentials::new()),
        }
    }

    /// How long all registry lookups of a run may take together.
    pub fn deadline(&self) -> Duration {
        Duration::from_secs(self.registry_deadline.max(1))
    }
}

/// What the lookups of `origin`'s needs answered: the configurations found are already in the
/// engine's images ([`kiltx_images::find_look_up_patch`]); this says which image a
/// multi-platform index gave (unless `quiet`) and returns a message for each lookup that failed.
pub fn failures(origin: &str, answers: &[Answer], quiet: bool) -> Vec<String> {
    let mut failures = Vec::new();
    for Answer { need, answer } in answers {
        match answer {
            Ok(r) => {
                if !quiet && r.from_index {
                    eprintln!(
                        "kiltx: {origin}: {}: image {} resolved for {} (runtimePlatform) from its multi-platform index",
                        need.container, need.image, r.platform
                    );
                }
            }
            Err(e) => failures.push(format!(
                "{origin}: container {} needs image {} ({}): {e}",
                need.container, need.image, need.platform
            )),
        }
    }
    failures
}

/// Run `lookups` with a client made from the registry options, within their deadline.
pub fn look_up(
    args: &RegistryArgs,
    lookups: &[Lookup],
) -> Result<Vec<Result<Resolved, kiltx_images::Error>>, CliError> {
    Ok(kiltx_images::resolve_all_blocking(
        &*args.client()?,
        lookups,
        kiltx_images::DEFAULT_CONCURRENCY,
        args.deadline(),
    ))
}
