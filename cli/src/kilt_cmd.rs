//! Kilt compatibility in the CLI: recipes (`--definition FILE.kilt.cfg`), Kilt's knobs
//! (`--log-group`, `--image-auth-secret`, `--parameterize-env`, `--recipe-config`) and
//! `kiltx definition convert`.

use std::path::Path;
use std::sync::Arc;

use kilt_defs::definition::Definition;
use kilt_defs::kilt::{self, KiltRecipe, Knobs, KnobsTailor};
use kilt_defs::patch::Tailor;
use kilt_defs::shape::Shape;
use serde_json::Value;

use crate::error::CliError;
use crate::PatchArgs;

/// `--recipe-config`: inline JSON, or `@FILE`.
pub fn recipe_config(arg: Option<&str>) -> Result<Option<Value>, CliError> {
    let Some(arg) = arg else { return Ok(None) };
    let (text, origin) = match arg.strip_prefix('@') {
        Some(path) => (
            std::fs::read_to_string(path).map_err(|source| CliError::Read {
                path: path.into(),
                source,
            })?,
            path.to_string(),
        ),
        None => (arg.to_string(), "--recipe-config".to_string()),
    };
    let v: Value = serde_json::from_str(&text).map_err(|e| {
        CliError::Usage(format!(
            "{origin}:{}:{}: not JSON: {e} (expected a JSON object such as '{{\"agent_image\": \"...\"}}')",
            e.line(),
            e.column()
        ))
    })?;
    if !v.is_object() {
        return Err(CliError::Usage(format!(
            "{origin}: expected a JSON object of recipe settings (config.*)"
        )));
    }
    Ok(Some(v))
}

/// Whether `path` is to be read as a Kilt recipe.
pub fn is_recipe(path: &Path, format: &str) -> bool {
    match format {
        "kilt" => true,
        "kiltx" => false,
        _ => kilt::is_recipe_path(&path.to_string_lossy()),
    }
}

pub fn read_recipe(path: &Path, config: Option<&Value>) -> Result<KiltRecipe, CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    KiltRecipe::parse(&text, &path.display().to_string(), config).map_err(CliError::engine("kiltx"))
}

/// What `kiltx patch` works with: the definition, the per-task tailor (if any) and the recipe
/// (for `--parameterize-env`).
pub struct ForPatch {
    pub definition: Definition,
    pub tailor: Option<Arc<dyn Tailor>>,
    pub recipe: Option<KiltRecipe>,
}

fn knobs(args: &PatchArgs) -> Knobs {
    Knobs {
        log_group: args.log_group.clone(),
        log_region: args.log_region.clone(),
        log_stream_prefix: args.log_stream_prefix.clone(),
        image_auth_secret: args.image_auth_secret.clone(),
        parameterize_env: args.parameterize_env,
        tracer_image: args.tracer_image.clone(),
    }
}

pub fn for_patch(args: &PatchArgs) -> Result<ForPatch, CliError> {
    let config = recipe_config(args.recipe_config.as_deref())?;
    let knobs = knobs(args);
    match &args.definition {
        Some(p) if is_recipe(p, &args.definition_format) => {
            let recipe = read_recipe(p, config.as_ref())?;
            let (definition, tailor) = recipe
                .clone()
                .tailor(knobs)
                .map_err(CliError::engine("kiltx"))?;
            Ok(ForPatch {
                definition,
                tailor: Some(tailor),
                recipe: Some(recipe),
            })
        }
        other => {
            if config.is_some() {
                return Err(CliError::Usage(
                    "--recipe-config applies to Kilt recipes (--definition FILE.kilt.cfg)".into(),
                ));
            }
            if args.parameterize_env {
                return Err(CliError::Usage(
                    "--parameterize-env applies to Kilt recipes (--definition FILE.kilt.cfg)"
                        .into(),
                ));
            }
            let mut definition =
                crate::patch_cmd::load_definition(other.as_deref(), args.tracer_image.as_deref())?;
            knobs.apply_static(&mut definition);
            let tailor =
                KnobsTailor::new(&definition, &knobs).map(|t| Arc::new(t) as Arc<dyn Tailor>);
            Ok(ForPatch {
                definition,
                tailor,
                recipe: None,
            })
        }
    }
}

/// `--parameterize-env`: add the recipe's environment variables to the template's Parameters
/// (existing parameters of the same name are kept).
pub fn add_parameters(
    value: &mut Value,
    shape: Shape,
    recipe: Option<&KiltRecipe>,
    args: &PatchArgs,
    patched_any: bool,
) -> Result<(), CliError> {
    let (Some(recipe), true) = (recipe, args.parameterize_env) else {
        return Ok(());
    };
    if shape != Shape::CloudFormation {
        return Err(CliError::Usage(
            "--parameterize-env needs a CloudFormation template (its variables become template Parameters)".into(),
        ));
    }
    if !patched_any {
        return Ok(());
    }
    recipe
        .add_template_parameters(value)
        .map_err(CliError::engine("kiltx"))
}

/// `kiltx definition convert`.
pub fn convert(file: &Path, config: Option<&str>) -> Result<u8, CliError> {
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
