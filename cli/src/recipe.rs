//! Kilt recipes as the CLI reads them: `--definition FILE.kilt.cfg` and its `--recipe-config`
//! (used by the engine options and by `kiltx definition`).

use std::path::Path;

use kilt_defs::kilt::KiltRecipe;
use serde_json::Value;

use crate::error::CliError;

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

pub fn read_recipe(path: &Path, config: Option<&Value>) -> Result<KiltRecipe, CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    KiltRecipe::parse(&text, &path.display().to_string(), config).map_err(CliError::engine("kiltx"))
}
