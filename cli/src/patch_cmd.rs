//! `kiltx patch` and the definition loading it shares with `kiltx definition`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use kilt_defs::definition::Definition;
use kilt_defs::image::ImageConfigs;
use kilt_defs::patch::{self, Options, TaskStatus};
use kilt_defs::shape::Shape;

use crate::error::CliError;
use crate::io::{read_input, write_atomic};
use crate::PatchArgs;

/// The definition to use: a file, or the built-in one; then the tracer image override.
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

pub fn load_image_configs(files: &[PathBuf]) -> Result<ImageConfigs, CliError> {
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

pub fn parse_parameters(params: &[String]) -> Result<BTreeMap<String, String>, CliError> {
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

/// The shape `--input-format` forces: `None` for `auto`.
pub fn forced_shape(input_format: &str) -> Result<Option<Shape>, CliError> {
    match input_format {
        "auto" => Ok(None),
        name => Shape::from_name(name)
            .map(Some)
            .ok_or_else(|| CliError::Usage(format!("unknown --input-format {name}"))),
    }
}

pub fn run(args: &PatchArgs) -> Result<u8, CliError> {
    if args.in_place && args.input == "-" {
        return Err(CliError::Usage(
            "--in-place needs a file, not standard input".into(),
        ));
    }
    let origin = if args.input == "-" {
        "<stdin>".to_string()
    } else {
        args.input.clone()
    };
    // Everything that can be wrong with the options is checked before the input is read.
    let crate::kilt_cmd::ForPatch {
        definition: def,
        tailor,
        recipe,
    } = crate::kilt_cmd::for_patch(args)?;
    let mut images = load_image_configs(&args.image_config)?;
    let opts = Options {
        opt_in: args.opt_in,
        include_ec2: args.include_ec2,
        parameters: parse_parameters(&args.parameters)?,
        tailor,
        ..Options::default()
    };
    let forced = forced_shape(&args.input_format)?;
    let text = read_input(&args.input, args.max_input_size)?;
    if !args.offline {
        // What the task definitions and --image-config leave unknown is asked of registries.
        // (An error here is reported, with its position, by the patch below.)
        if let Ok(needs) = kilt_defs::document::needed_images(&text, forced, &def, &opts, &images) {
            if !needs.is_empty() {
                let found = crate::image_cmd::resolve(&args.registry, &origin, &needs, args.quiet)?;
                images.extend(found);
            }
        }
    }
    let (output, report) = if args.parameterize_env {
        // Recipe variables become template Parameters: a change at the template's top level,
        // made through the value model.
        let doc = kilt_defs::parse_document(&text).map_err(CliError::engine(origin.clone()))?;
        let shape = match forced {
            Some(s) => s,
            None => Shape::detect(&doc.value).map_err(CliError::engine(origin.clone()))?,
        };
        let mut value = doc.value.clone();
        let report = patch::patch(&mut value, shape, &def, &opts, &images)
            .map_err(|e| e.locate(&doc))
            .map_err(CliError::engine(origin.clone()))?;
        crate::kilt_cmd::add_parameters(
            &mut value,
            shape,
            recipe.as_ref(),
            args,
            report
                .tasks
                .iter()
                .any(|t| matches!(t.status, TaskStatus::Patched { .. })),
        )?;
        let output = if shape == Shape::Describe {
            kilt_defs::json::to_string_styled(&value, &kilt_defs::json::Style::detect(&text))
        } else {
            kilt_defs::emit_document(&doc, &value)
        };
        (output, report)
    } else {
        // JSON is patched one task definition at a time, spliced into the original text.
        let patched = kilt_defs::document::patch_document(&text, forced, &def, &opts, &images)
            .map_err(CliError::engine(origin.clone()))?;
        (patched.text, patched.report)
    };
    let changed = output != text;

    if !args.quiet {
        summarize(&origin, &report);
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.diff {
        let diff = similar::TextDiff::from_lines(&text, &output);
        let patched_name = format!("{origin} (patched)");
        write!(
            out,
            "{}",
            diff.unified_diff().header(&origin, &patched_name)
        )
        .map_err(CliError::stdout)?;
    }
    if args.check {
        return Ok(u8::from(changed));
    }
    if args.in_place {
        if changed {
            write_atomic(Path::new(&args.input), &output)?;
        }
    } else if let Some(o) = &args.output {
        write_atomic(o, &output)?;
    } else if !args.diff {
        out.write_all(output.as_bytes()).map_err(CliError::stdout)?;
    }
    out.flush().map_err(CliError::stdout)?;
    Ok(0)
}

fn summarize(origin: &str, report: &patch::Report) {
    let mut lines = Vec::new();
    for t in &report.tasks {
        match &t.status {
            TaskStatus::Patched {
                wrapped,
                already,
                notes,
            } => {
                let mut parts = Vec::new();
                if !wrapped.is_empty() {
                    parts.push(format!("wrapped {}", wrapped.join(", ")));
                }
                if !already.is_empty() {
                    parts.push(format!("already wrapped: {}", already.join(", ")));
                }
                parts.extend(notes.iter().cloned());
                lines.push(format!(
                    "kiltx: {origin}: {}: {}",
                    t.label,
                    parts.join("; ")
                ));
            }
            TaskStatus::Skipped(why) => {
                lines.push(format!("kiltx: {origin}: {}: skipped: {why}", t.label))
            }
        }
    }
    if report.tasks.is_empty() {
        lines.push(format!("kiltx: {origin}: no task definitions found"));
    }
    eprintln!("{}", lines.join("\n"));
}
