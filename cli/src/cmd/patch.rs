//! `kiltx patch`: patch task definitions so that their containers are traced.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use kilt_defs::definition::Definition;
use kilt_defs::image::ImageConfigs;
use kilt_defs::kilt::KiltRecipe;
use kilt_defs::patch::{self, Options, TaskStatus};
use kilt_defs::shape::Shape;

use crate::engine::{Engine, EngineArgs};
use crate::error::CliError;
use crate::io::{read_input, write_atomic};

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
    /// Write nothing; exit 1 if patching would change the input.
    #[arg(long)]
    pub check: bool,
    /// Print a unified diff of the change (instead of the document, unless -o/--in-place).
    #[arg(long)]
    pub diff: bool,
    /// Print no summary on standard error.
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
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
    let Engine {
        definition: def,
        options: opts,
        shape: forced,
        images,
        parameterize,
    } = args.engine.engine()?;
    let text = read_input(&args.input, args.engine.max_input_size)?;
    let registry = &args.engine.registry;
    let (output, report) = kiltx_images::find_look_up_patch_blocking(
        (),
        &images,
        |(), known| {
            // What the task definitions and --image-config leave unknown is asked of
            // registries. (An error here is reported, with its position, by the patch.)
            if args.engine.offline {
                return Vec::new();
            }
            kilt_defs::document::needed_images(&text, forced, &def, &opts, known)
                .unwrap_or_default()
        },
        || registry.client(),
        registry.deadline(),
        |(), images, answers| {
            let failures = crate::registry::failures(&origin, &answers?, args.quiet);
            if !failures.is_empty() {
                return Err(CliError::Images(failures));
            }
            patch_text(
                &text,
                &origin,
                forced,
                &def,
                &opts,
                images,
                parameterize.as_ref(),
            )
        },
    )?;
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

/// Patch `text`: spliced into the original (JSON) or, when a recipe's variables become template
/// Parameters, through the value model.
fn patch_text(
    text: &str,
    origin: &str,
    forced: Option<Shape>,
    def: &Definition,
    opts: &Options,
    images: &ImageConfigs,
    parameterize: Option<&KiltRecipe>,
) -> Result<(String, patch::Report), CliError> {
    Ok(if let Some(recipe) = parameterize {
        // Recipe variables become template Parameters: a change at the template's top level,
        // made through the value model.
        let doc = kilt_defs::parse_document(text).map_err(CliError::engine(origin))?;
        let shape = match forced {
            Some(s) => s,
            None => Shape::detect(&doc.value).map_err(CliError::engine(origin))?,
        };
        let mut value = doc.value.clone();
        let report = patch::patch(&mut value, shape, def, opts, images)
            .map_err(|e| e.locate(&doc))
            .map_err(CliError::engine(origin))?;
        crate::engine::parameterize_needs_cloudformation(shape)?;
        if report
            .tasks
            .iter()
            .any(|t| matches!(t.status, TaskStatus::Patched { .. }))
        {
            recipe
                .add_template_parameters(&mut value)
                .map_err(CliError::engine("kiltx"))?;
        }
        let output = if shape == Shape::Describe {
            kilt_defs::json::to_string_styled(&value, &kilt_defs::json::Style::detect(text))
        } else {
            kilt_defs::emit_document(&doc, &value)
        };
        (output, report)
    } else {
        // JSON is patched one task definition at a time, spliced into the original text.
        let patched = kilt_defs::document::patch_document(text, forced, def, opts, images)
            .map_err(CliError::engine(origin))?;
        (patched.text, patched.report)
    })
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
