//! `kiltx definition`: show, validate and convert definitions (what kiltx injects).

use std::path::{Path, PathBuf};

use clap::Subcommand;

use crate::engine::{load_definition, DefinitionFormat};
use crate::error::CliError;
use crate::recipe::{read_recipe, recipe_config};

#[derive(Subcommand)]
pub enum DefinitionCommand {
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

pub fn run(command: &DefinitionCommand) -> Result<u8, CliError> {
    match command {
        DefinitionCommand::Show {
            definition,
            tracer_image,
        } => {
            let d = load_definition(definition.as_deref(), tracer_image.as_deref())?;
            print!("{}", d.to_yaml());
            Ok(0)
        }
        DefinitionCommand::Validate { files } => files
            .iter()
            .try_for_each(|f| {
                if DefinitionFormat::Auto.is_recipe(f) {
                    // Kilt recipes: syntax and keys; substitutions resolve when patching.
                    read_recipe(f, None).map(|_| ())
                } else {
                    load_definition(Some(f), None).map(|_| ())
                }
            })
            .map(|()| 0),
        DefinitionCommand::Convert {
            file,
            recipe_config,
        } => convert(file, recipe_config.as_deref()),
    }
}

/// `kiltx definition convert`.
fn convert(file: &Path, config: Option<&str>) -> Result<u8, CliError> {
    let config = recipe_config(config)?;
    let recipe = read_recipe(file, config.as_ref())?;
    let def = recipe.convert().map_err(CliError::engine("kiltx"))?;
    print!(
        "# Converted from the Kilt recipe {} by kiltx definition convert.\n# Kilt also gives each sidecar the environment variables of the containers it serves;\n# kiltx definitions do not (patch with --definition {} to keep that).\n{}",
        file.display(),
        file.display(),
        def.to_yaml()
    );
    Ok(0)
}
