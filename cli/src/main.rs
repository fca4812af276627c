//! `kiltx`: instrument ECS Fargate task definitions with the kiltx tracer.

mod error;
mod io;
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
    Patch(PatchArgs),
    /// Check that task definitions are instrumented, and instrumented correctly (CI).
    Lint(lint_cmd::LintArgs),
    /// Show or check definitions (what kiltx injects).
    #[command(subcommand)]
    Definition(DefinitionCommand),
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
    /// Never use the network. (This version never does: image configurations come only from
    /// the task definition and --image-config.)
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
        Command::Lint(args) => lint_cmd::run(&args),
        Command::Definition(DefinitionCommand::Show {
            definition,
            tracer_image,
        }) => patch_cmd::load_definition(definition.as_deref(), tracer_image.as_deref()).map(|d| {
            print!("{}", d.to_yaml());
            0
        }),
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
