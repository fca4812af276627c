//! `kiltx`: instrument ECS Fargate task definitions with the kiltx tracer.
//!
//! `main` parses the command line and dispatches to the command's module (`cmd::*`, each with
//! its own arguments); the options of the engine that `patch` and `lint` share are one struct
//! (`engine::EngineArgs`), the registry options another (`registry::RegistryArgs`).

mod cmd;
mod engine;
mod error;
mod io;
mod recipe;
mod registry;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use cmd::{definition, image, lint, patch};

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
    Patch(Box<patch::PatchArgs>),
    /// Check that task definitions are instrumented, and instrumented correctly (CI).
    Lint(Box<lint::LintArgs>),
    /// Show or check definitions (what kiltx injects).
    #[command(subcommand)]
    Definition(definition::DefinitionCommand),
    /// Print images' ENTRYPOINT and CMD as their registries give them (--image-config format).
    ImageConfig(image::ImageConfigArgs),
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
    let result = match &cli.command {
        Command::Patch(args) => patch::run(args),
        Command::Lint(args) => lint::run(args),
        Command::Definition(command) => definition::run(command),
        Command::ImageConfig(args) => image::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("{}", e.render());
            ExitCode::from(e.exit_code())
        }
    }
}
