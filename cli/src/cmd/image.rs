//! `kiltx image-config`: print images' ENTRYPOINT and CMD as their registries give them.

use clap::Args;
use kilt_defs::image::{ImageConfig, DEFAULT_PLATFORM};
use kiltx_images::{Lookup, Resolved};
use serde_json::{json, Value};

use crate::error::CliError;
use crate::registry::{look_up, RegistryArgs};

#[derive(Args)]
#[command(
    after_help = "Examples:\n  kiltx image-config nginx:1.27\n  kiltx image-config --platform linux/arm64 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1 > images.json\n  kiltx patch --offline --image-config images.json template.yaml"
)]
pub struct ImageConfigArgs {
    /// Image references (`nginx`, `ghcr.io/org/app:tag`, `host:5000/app@sha256:...`).
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
    /// The platform to resolve multi-platform images for.
    #[arg(long, value_name = "OS/ARCH", default_value = DEFAULT_PLATFORM)]
    pub platform: String,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `kiltx image-config IMAGE...`: print what the registry says, in `--image-config` format.
pub fn run(args: &ImageConfigArgs) -> Result<u8, CliError> {
    let (images, platform) = (&args.images, args.platform.as_str());
    if !matches!(platform, "linux/amd64" | "linux/arm64") {
        return Err(CliError::Usage(format!(
            "--platform {platform:?}: expected linux/amd64 or linux/arm64 (what ECS Fargate runs)"
        )));
    }
    let lookups: Vec<Lookup> = images
        .iter()
        .map(|i| Lookup {
            image: i.clone(),
            platform: platform.to_string(),
        })
        .collect();
    let answers = look_up(&args.registry, &lookups)?;
    let mut out = serde_json::Map::new();
    let mut failures = Vec::new();
    for (image, answer) in images.iter().zip(answers) {
        match answer {
            Ok(Resolved { config, .. }) => {
                out.insert(image.clone(), config_json(&config));
            }
            Err(e) => failures.push(format!("image {image} ({platform}): {e}")),
        }
    }
    if !failures.is_empty() {
        return Err(CliError::Images(failures));
    }
    let text = serde_json::to_string_pretty(&Value::Object(out))
        .map_err(|e| CliError::Usage(e.to_string()))?;
    println!("{text}");
    Ok(0)
}

fn config_json(c: &ImageConfig) -> Value {
    json!({"entrypoint": c.entrypoint, "cmd": c.cmd})
}
