//! The engine's options, shared by every command that runs the engine (`patch`, `lint`):
//! [`EngineArgs`] is flattened into each command's arguments, so that a flag means the same
//! thing everywhere, and [`EngineArgs::engine`] turns them into what the engine takes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, ValueEnum};
use kilt_defs::definition::Definition;
use kilt_defs::image::ImageConfigs;
use kilt_defs::kilt::{KiltRecipe, Knobs, KnobsTailor};
use kilt_defs::patch::{Options, Tailor};
use kilt_defs::shape::Shape;

use crate::error::CliError;
use crate::recipe;
use crate::registry::RegistryArgs;

/// `--input-format`: the inputs' shape, or `auto` to detect it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    Auto,
    Cloudformation,
    Register,
    Describe,
    Containers,
}

impl InputFormat {
    /// The shape this forces: `None` for `auto`.
    pub fn shape(self) -> Option<Shape> {
        match self {
            InputFormat::Auto => None,
            InputFormat::Cloudformation => Some(Shape::CloudFormation),
            InputFormat::Register => Some(Shape::Register),
            InputFormat::Describe => Some(Shape::Describe),
            InputFormat::Containers => Some(Shape::Containers),
        }
    }
}

/// `--definition-format`: how to read `--definition`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DefinitionFormat {
    // (No doc comments on the variants: clap would list them in --help in place of the
    // one-line `[possible values: ...]`; the option's help says what each means.)
    Auto,
    Kiltx,
    Kilt,
}

impl DefinitionFormat {
    /// Whether `path` is to be read as a Kilt recipe.
    pub fn is_recipe(self, path: &Path) -> bool {
        match self {
            DefinitionFormat::Kilt => true,
            DefinitionFormat::Kiltx => false,
            DefinitionFormat::Auto => kilt_defs::kilt::is_recipe_path(&path.to_string_lossy()),
        }
    }
}

/// What to inject, into which task definitions, and where images' ENTRYPOINT/CMD come from.
#[derive(Args)]
pub struct EngineArgs {
    /// Definition file saying what to inject (what instrumented looks like): a kiltx definition
    /// (YAML or JSON) or a Kilt recipe (see --definition-format); default: the built-in one.
    #[arg(long, value_name = "FILE")]
    pub definition: Option<PathBuf>,
    /// Image of the tracer sidecar (the definition's first sidecar). Also KILTX_TRACER_IMAGE.
    #[arg(long, value_name = "IMAGE", env = "KILTX_TRACER_IMAGE")]
    pub tracer_image: Option<String>,
    /// Patch (lint: expect instrumented) only task definitions tagged kilt-include (or
    /// kilt-include-containers).
    #[arg(long)]
    pub opt_in: bool,
    /// Also patch (lint: expect instrumented) task definitions that do not require FARGATE (EC2,
    /// EXTERNAL).
    #[arg(long)]
    pub include_ec2: bool,
    /// When the sidecar's cpu/memoryReservation do not fit a Fargate task's size, raise the task
    /// to the smallest valid Fargate size that fits them, instead of lowering the requests (the
    /// task's cpu and memory must be plain values; see docs/patch.md).
    #[arg(long)]
    pub grow_task: bool,
    /// Never use the network: images' ENTRYPOINT/CMD come only from the task definitions and
    /// --image-config (without it, missing ones are read from their registries; for lint, one
    /// that stays unknown is a finding). Also KILTX_OFFLINE=1.
    #[arg(long, env = "KILTX_OFFLINE", value_parser = clap::builder::BoolishValueParser::new())]
    pub offline: bool,
    /// JSON map from image to its configuration: {"IMAGE": {"entrypoint": [...], "cmd": [...]}}.
    #[arg(long, value_name = "FILE")]
    pub image_config: Vec<PathBuf>,
    /// A template parameter's value (over its Default), or a pseudo parameter's
    /// (AWS::Region, AWS::AccountId): every field kiltx reads is evaluated with them — images,
    /// launch types, architectures, task sizes (repeatable; see docs/patch.md).
    #[arg(long = "parameter", value_name = "KEY=VALUE")]
    pub parameters: Vec<String>,
    /// The inputs' shape, when detection is not wanted.
    #[arg(long, value_name = "SHAPE", value_enum, default_value_t = InputFormat::Auto)]
    pub input_format: InputFormat,
    /// Refuse inputs larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = kilt_defs::DEFAULT_MAX_INPUT)]
    pub max_input_size: usize,
    /// How to read --definition: a kiltx definition (YAML/JSON), a Kilt recipe (HOCON), or by
    /// its name (`*.kilt.cfg`, `*.cfg`, `*.conf` are Kilt recipes).
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = DefinitionFormat::Auto)]
    pub definition_format: DefinitionFormat,
    /// Kilt recipes: the recipe's configuration (`config.*`), as JSON or @FILE.
    #[arg(long, value_name = "JSON")]
    pub recipe_config: Option<String>,
    /// Send the sidecars' logs to this CloudWatch log group (awslogs driver); empty for none.
    #[arg(long, value_name = "NAME")]
    pub log_group: Option<String>,
    /// Region of --log-group (default in templates: the stack's region, `Ref: AWS::Region`).
    #[arg(long, value_name = "REGION", requires = "log_group")]
    pub log_region: Option<String>,
    /// Stream prefix for --log-group (default in templates: the task definition's logical ID).
    #[arg(long, value_name = "PREFIX", requires = "log_group")]
    pub log_stream_prefix: Option<String>,
    /// Secret (ARN) with the registry credentials for the sidecars' images
    /// (repositoryCredentials).
    #[arg(long, value_name = "ARN")]
    pub image_auth_secret: Option<String>,
    /// Kilt recipes, templates: the recipe's environment variables become template Parameters
    /// (defaults: the recipe's values), referenced with Ref.
    #[arg(long)]
    pub parameterize_env: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// The engine as the options set it up, checked before any input is read.
pub struct Engine {
    pub definition: Definition,
    pub options: Options,
    /// The shape `--input-format` forces.
    pub shape: Option<Shape>,
    /// `--image-config`'s configurations.
    pub images: ImageConfigs,
    /// The Kilt recipe given as the definition, when `--parameterize-env` applies it to the
    /// template's Parameters.
    pub parameterize: Option<KiltRecipe>,
}

impl EngineArgs {
    /// Everything that can be wrong with the options is found here, before any input is read.
    pub fn engine(&self) -> Result<Engine, CliError> {
        let (definition, tailor, recipe) = self.definition_and_tailor()?;
        let images = load_image_configs(&self.image_config)?;
        let options = Options {
            opt_in: self.opt_in,
            include_ec2: self.include_ec2,
            grow_task: self.grow_task,
            parameters: parse_parameters(&self.parameters)?,
            tailor,
            ..Options::default()
        };
        Ok(Engine {
            definition,
            options,
            shape: self.input_format.shape(),
            images,
            parameterize: recipe.filter(|_| self.parameterize_env),
        })
    }

    fn knobs(&self) -> Knobs {
        Knobs {
            log_group: self.log_group.clone(),
            log_region: self.log_region.clone(),
            log_stream_prefix: self.log_stream_prefix.clone(),
            image_auth_secret: self.image_auth_secret.clone(),
            parameterize_env: self.parameterize_env,
            tracer_image: self.tracer_image.clone(),
        }
    }

    /// The definition, the per-task tailor (if any) and the Kilt recipe (if one is given).
    #[allow(clippy::type_complexity)]
    fn definition_and_tailor(
        &self,
    ) -> Result<(Definition, Option<Arc<dyn Tailor>>, Option<KiltRecipe>), CliError> {
        let config = recipe::recipe_config(self.recipe_config.as_deref())?;
        let knobs = self.knobs();
        match &self.definition {
            Some(p) if self.definition_format.is_recipe(p) => {
                let recipe = recipe::read_recipe(p, config.as_ref())?;
                let (definition, tailor) = recipe
                    .clone()
                    .tailor(knobs)
                    .map_err(CliError::engine("kiltx"))?;
                Ok((definition, Some(tailor), Some(recipe)))
            }
            other => {
                if config.is_some() {
                    return Err(CliError::Usage(
                        "--recipe-config applies to Kilt recipes (--definition FILE.kilt.cfg)"
                            .into(),
                    ));
                }
                if self.parameterize_env {
                    return Err(CliError::Usage(
                        "--parameterize-env applies to Kilt recipes (--definition FILE.kilt.cfg)"
                            .into(),
                    ));
                }
                let mut definition =
                    load_definition(other.as_deref(), self.tracer_image.as_deref())?;
                knobs.apply_static(&mut definition);
                let tailor =
                    KnobsTailor::new(&definition, &knobs).map(|t| Arc::new(t) as Arc<dyn Tailor>);
                Ok((definition, tailor, None))
            }
        }
    }
}

impl Engine {
    /// `--parameterize-env` adds template Parameters, which only CloudFormation templates have.
    pub fn check_shape(&self, shape: Shape) -> Result<(), CliError> {
        match self.parameterize {
            Some(_) => parameterize_needs_cloudformation(shape),
            None => Ok(()),
        }
    }
}

/// The error of `--parameterize-env` on an input that is not a CloudFormation template.
pub fn parameterize_needs_cloudformation(shape: Shape) -> Result<(), CliError> {
    if shape != Shape::CloudFormation {
        return Err(CliError::Usage(
            "--parameterize-env needs a CloudFormation template (its variables become template Parameters)".into(),
        ));
    }
    Ok(())
}

/// A kiltx definition (YAML or JSON), or the built-in one; then the tracer image override.
pub fn load_definition(
    path: Option<&Path>,
    tracer_image: Option<&str>,
) -> Result<Definition, CliError> {
    let mut def = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|source| CliError::Read {
                path: p.to_path_buf(),
                source,
            })?;
            Definition::parse(&text, &p.display().to_string()).map_err(CliError::engine("kiltx"))?
        }
        None => Definition::builtin(),
    };
    if let Some(image) = tracer_image {
        def.set_tracer_image(image)
            .map_err(CliError::engine("kiltx"))?;
    }
    Ok(def)
}

fn load_image_configs(files: &[PathBuf]) -> Result<ImageConfigs, CliError> {
    let mut all = ImageConfigs::new();
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|source| CliError::Read {
            path: f.clone(),
            source,
        })?;
        let configs = ImageConfigs::from_json(&text, &f.display().to_string())
            .map_err(CliError::engine("--image-config"))?;
        all.extend(configs);
    }
    Ok(all)
}

fn parse_parameters(params: &[String]) -> Result<BTreeMap<String, String>, CliError> {
    let mut out = BTreeMap::new();
    for p in params {
        match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                out.insert(k.to_string(), v.to_string());
            }
            _ => {
                return Err(CliError::Usage(format!(
                    "--parameter {p:?}: expected KEY=VALUE (e.g. --parameter AppImage=nginx:1.27)"
                )))
            }
        }
    }
    Ok(out)
}
