//! What the engine knows about images: their ENTRYPOINT and CMD, keyed by reference.
//!
//! The patch engine is pure; callers fill an [`ImageConfigs`] before patching (from a
//! `--image-config` file, a registry lookup, a test).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::error::Error;
use crate::source::PathStep;

/// An image's default process: Docker's `config.Entrypoint` and `config.Cmd`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageConfig {
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
}

/// The platform used when a task definition does not say (`runtimePlatform`).
pub const DEFAULT_PLATFORM: &str = "linux/amd64";

/// Image configurations by normalised reference, for every platform or for one.
#[derive(Debug, Clone, Default)]
pub struct ImageConfigs {
    by_ref: BTreeMap<String, ImageConfig>,
    by_platform: BTreeMap<(String, String), ImageConfig>,
}

impl ImageConfigs {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, image: &str, config: ImageConfig) {
        self.by_ref.insert(normalize(image), config);
    }

    /// An answer for one platform (`linux/arm64`): a registry lookup's.
    pub fn insert_for(&mut self, image: &str, platform: &str, config: ImageConfig) {
        self.by_platform
            .insert((normalize(image), platform.to_string()), config);
    }

    /// The configuration of `image` on any platform (answers given for every platform only).
    pub fn get(&self, image: &str) -> Option<&ImageConfig> {
        self.by_ref.get(&normalize(image))
    }

    /// The configuration of `image` on `platform`: an answer for that platform, else one for
    /// every platform.
    pub fn get_for(&self, image: &str, platform: &str) -> Option<&ImageConfig> {
        let key = normalize(image);
        self.by_platform
            .get(&(key.clone(), platform.to_string()))
            .or_else(|| self.by_ref.get(&key))
    }

    /// Add every entry of `other` (its answers win).
    pub fn extend(&mut self, other: ImageConfigs) {
        self.by_ref.extend(other.by_ref);
        self.by_platform.extend(other.by_platform);
    }

    pub fn len(&self) -> usize {
        self.by_ref.len() + self.by_platform.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Read an image-config map: JSON `{"IMAGE": {"entrypoint": [...] | null, "cmd": [...] | null}}`.
    pub fn from_json(text: &str, origin: &str) -> Result<ImageConfigs, Error> {
        let doc = crate::json::parse(text).map_err(|e| match e {
            Error::Syntax {
                line,
                column,
                message,
                ..
            } => Error::invalid_hint(
                vec![],
                format!("{origin}:{line}:{column}: JSON syntax error: {message}"),
                "an image-config file is a JSON object: {\"IMAGE\": {\"entrypoint\": [...], \"cmd\": [...]}}",
            ),
            other => other,
        })?;
        let Value::Object(map) = &doc.value else {
            return Err(Error::invalid_hint(
                vec![],
                format!("{origin}: expected a JSON object mapping image references to their configuration"),
                "an image-config file is a JSON object: {\"IMAGE\": {\"entrypoint\": [...], \"cmd\": [...]}}",
            ));
        };
        let mut out = ImageConfigs::new();
        for (image, v) in map {
            let config: ImageConfig = serde_path_to_error::deserialize(v).map_err(|e| {
                let mut path = vec![PathStep::Key(image.clone())];
                path.extend(crate::definition::to_path(e.path()));
                let (line, col) = doc.position(&path);
                Error::invalid(
                    path,
                    format!("{origin}:{line}:{col}: {} (expected {{\"entrypoint\": [strings] or null, \"cmd\": [strings] or null}})", e.inner()),
                )
            })?;
            out.insert(image, config);
        }
        Ok(out)
    }
}

/// Normalise an image reference the way Docker resolves short names: `nginx` and
/// `docker.io/library/nginx:latest` are the same image. A malformed reference is kept as it is
/// (trimmed): it matches only itself, and the registry lookup reports it.
pub fn normalize(image: &str) -> String {
    match crate::reference::Reference::parse(image) {
        Ok(r) => r.to_string(),
        Err(_) => image.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_docker() {
        assert_eq!(normalize("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(
            normalize("docker.io/library/nginx:latest"),
            "docker.io/library/nginx:latest"
        );
        assert_eq!(
            normalize("index.docker.io/nginx"),
            "docker.io/library/nginx:latest"
        );
        assert_eq!(normalize("org/app:1"), "docker.io/org/app:1");
        assert_eq!(normalize("localhost:5000/app"), "localhost:5000/app:latest");
        assert_eq!(
            normalize("host:5000/ns/app@sha256:ab"),
            "host:5000/ns/app@sha256:ab",
            "malformed: kept as it is"
        );
        assert_eq!(
            normalize("123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo:tag"),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo:tag"
        );
    }

    #[test]
    fn reads_image_config_files() {
        let c = ImageConfigs::from_json(
            r#"{"nginx": {"entrypoint": ["/docker-entrypoint.sh"], "cmd": ["nginx"]}, "busybox": {"cmd": ["sh"]}}"#,
            "f.json",
        )
        .unwrap();
        assert_eq!(
            c.get("docker.io/library/nginx").unwrap().cmd,
            Some(vec!["nginx".to_string()])
        );
        assert_eq!(c.get("busybox:latest").unwrap().entrypoint, None);
        let e = ImageConfigs::from_json(r#"{"nginx": {"cmd": "sh"}}"#, "f.json").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("nginx.cmd: f.json:1:19: invalid type"),
            "{e}"
        );
    }
}
