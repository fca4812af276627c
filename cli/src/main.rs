//! `kiltx`: instrument ECS Fargate task definitions with the kiltx tracer.

mod error;
mod image_cmd;
mod io;
mod kilt_cmd;
mod lint_cmd;
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
1 --check found changes (patch) or findings (lint), 2 bad input or usage."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Patch task definitions so that their containers are traced.
    Patch(Box<PatchArgs>),
    /// Check that task definitions are instrumented, and instrumented correctly (CI).
    Lint(lint_cmd::LintArgs),
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
    /// --image-config (without it, missing ones are read from their registries). Also
    /// KILTX_OFFLINE=1.
    #[arg(long, env = "KILTX_OFFLINE", value_parser = clap::builder::BoolishValueParser::new())]
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
    /// How to read --definition: a kiltx definition (YAML/JSON), a Kilt recipe (HOCON), or by
    /// its name (`*.kilt.cfg`, `*.cfg`, `*.conf` are Kilt recipes).
    #[arg(long, value_name = "FORMAT", value_parser = ["auto", "kiltx", "kilt"], default_value = "auto")]
    pub definition_format: String,
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
    /// Check definition files (and Kilt recipes' syntax and keys); exit 2 with the problem if
    /// one is invalid.
    Validate {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Print the kiltx definition equivalent to a Kilt recipe (.kilt.cfg).
    Convert {
        #[arg(value_name = "FILE.kilt.cfg")]
        file: PathBuf,
        /// The recipe's configuration (`config.*`), as JSON or @FILE.
        #[arg(long, value_name = "JSON")]
        recipe_config: Option<String>,
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
        Command::Lint(args) => lint_cmd::run(&args),
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
            .try_for_each(|f| {
                if kilt_cmd::is_recipe(f, "auto") {
                    // Kilt recipes: syntax and keys; substitutions resolve when patching.
                    kilt_cmd::read_recipe(f, None).map(|_| ())
                } else {
                    patch_cmd::load_definition(Some(f), None).map(|_| ())
                }
            })
            .map(|()| 0),
        Command::Definition(DefinitionCommand::Convert {
            file,
            recipe_config,
        }) => kilt_cmd::convert(&file, recipe_config.as_deref()),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("{}", e.render());
            ExitCode::from(e.exit_code())
        }
    }
}
