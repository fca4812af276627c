//! `kiltx`: instrument ECS Fargate task definitions with the kiltx tracer.

mod error;
mod image_cmd;
mod io;
mod patch_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "kiltx",
    version,
    about = "Instrument ECS Fargate task definitions with the kiltx tracer",
    long_about = "kiltx rewrites ECS task definitions so that their containers run under kiltx-tracer: \
it adds the tracer sidecar, the SYS_PTRACE capability, volumesFrom, and wraps each container's \
original command line.\n\nInputs: CloudFormation templates (JSON or YAML), register-task-definition \
JSON, describe-task-definition output, or a bare containerDefinitions array.\n\nExit status: 0 success, \
1 --check found changes, 2 bad input or usage."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Patch task definitions so that their containers are traced.
    Patch(PatchArgs),
    /// Show or check definitions (what kiltx injects).
    #[command(subcommand)]
    Definition(DefinitionCommand),
    /// Print images' ENTRYPOINT and CMD as their registries give them (--image-config format).
    #[command(
        after_help = "Examples:\n  kiltx image-config nginx:1.27\n  kiltx image-config --platform linux/arm64 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1 > images.json\n  kiltx patch --offline --image-config images.json template.yaml"
    )]
    ImageConfig {
        /// Image references (`nginx`, `ghcr.io/org/app:tag`, `host:5000/app@sha256:...`).
        #[arg(required = true, value_name = "IMAGE")]
        images: Vec<String>,
        /// The platform to resolve multi-platform images for.
        #[arg(long, value_name = "OS/ARCH", default_value = image_cmd::DEFAULT_IMAGE_PLATFORM)]
        platform: String,
        #[command(flatten)]
        registry: image_cmd::RegistryArgs,
    },
}

#[derive(Args)]
#[command(
    after_help = "Examples:\n  kiltx patch template.yaml -o template.patched.yaml\n  kiltx patch --in-place taskdef.json --tracer-image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/kiltx-tracer:0.1.0\n  aws ecs describe-task-definition --task-definition app | kiltx patch - > register.json\n  kiltx patch --check template.json   # in CI: exit 1 if not patched"
)]
pub struct PatchArgs {
    /// Input file, or `-` for standard input.
    #[arg(value_name = "FILE|-", default_value = "-")]
    pub input: String,
    /// Write the patched document here instead of standard output.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "OUT",
        conflicts_with = "in_place"
    )]
    pub output: Option<PathBuf>,
    /// Replace the input file (atomically) with the patched document.
    #[arg(long)]
    pub in_place: bool,
    /// Definition file (YAML or JSON) saying what to inject; default: the built-in one.
    #[arg(long, value_name = "FILE")]
    pub definition: Option<PathBuf>,
    /// Image of the tracer sidecar (the definition's first sidecar). Also KILTX_TRACER_IMAGE.
    #[arg(long, value_name = "IMAGE", env = "KILTX_TRACER_IMAGE")]
    pub tracer_image: Option<String>,
    /// Patch only task definitions tagged kilt-include (or kilt-include-containers).
    #[arg(long)]
    pub opt_in: bool,
    /// Also patch task definitions that do not require FARGATE (EC2, EXTERNAL).
    #[arg(long)]
    pub include_ec2: bool,
    /// Never use the network: images' ENTRYPOINT/CMD come only from the task definition and
    /// --image-config (without it, missing ones are read from their registries).
    #[arg(long)]
    pub offline: bool,
    /// JSON map from image to its configuration: {"IMAGE": {"entrypoint": [...], "cmd": [...]}}.
    #[arg(long, value_name = "FILE")]
    pub image_config: Vec<PathBuf>,
    /// A template parameter's value, for images given as Ref/Fn::Sub (repeatable).
    #[arg(long = "parameter", value_name = "KEY=VALUE")]
    pub parameters: Vec<String>,
    /// Write nothing; exit 1 if patching would change the input.
    #[arg(long)]
    pub check: bool,
    /// Print a unified diff of the change (instead of the document, unless -o/--in-place).
    #[arg(long)]
    pub diff: bool,
    /// The input's shape, when detection is not wanted.
    #[arg(long, value_name = "SHAPE", value_parser = ["auto", "cloudformation", "register", "describe", "containers"], default_value = "auto")]
    pub input_format: String,
    /// Refuse inputs larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = kilt_defs::DEFAULT_MAX_INPUT)]
    pub max_input_size: usize,
    /// Print no summary on standard error.
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub registry: image_cmd::RegistryArgs,
}

#[derive(Subcommand)]
enum DefinitionCommand {
    /// Print a definition (default: the built-in one) as YAML.
    Show {
        /// A definition file to show after validation.
        #[arg(long, value_name = "FILE")]
        definition: Option<PathBuf>,
        /// Replace the tracer sidecar's image. Also KILTX_TRACER_IMAGE.
        #[arg(long, value_name = "IMAGE", env = "KILTX_TRACER_IMAGE")]
        tracer_image: Option<String>,
    },
    /// Check definition files; exit 2 with the problem if one is invalid.
    Validate {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Patch(args) => patch_cmd::run(&args),
        Command::Definition(DefinitionCommand::Show {
            definition,
            tracer_image,
        }) => patch_cmd::load_definition(definition.as_deref(), tracer_image.as_deref()).map(|d| {
            print!("{}", d.to_yaml());
            0
        }),
        Command::ImageConfig {
            images,
            platform,
            registry,
        } => image_cmd::run(&images, &platform, &registry),
        Command::Definition(DefinitionCommand::Validate { files }) => files
            .iter()
            .try_for_each(|f| patch_cmd::load_definition(Some(f), None).map(|_| ()))
            .map(|()| 0),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("{}", e.render());
            ExitCode::from(e.exit_code())
        }
    }
}
