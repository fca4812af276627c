//! `kiltx lint`: find the task definitions in files, directories and globs, lint each, and
//! print the findings for people (`human`), programs (`json`), code scanning (`sarif`) or
//! GitHub Actions annotations (`github`).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use kilt_defs::lint::{self, rules, Finding, Severity, RULES};
use kilt_defs::shape::Shape;

use crate::engine::{Engine, EngineArgs};
use crate::error::CliError;
use crate::io::read_input;

mod github;
mod human;
mod json;
mod sarif;

#[derive(Args)]
#[command(
    after_help = "Rules: `kiltx lint --list-rules`; one rule's explanation and fix: `kiltx lint --explain KX001`.

Suppress a rule for one CloudFormation resource (or, at the top of the template, the whole file):
  Metadata:
    kiltx:
      ignore: [KX040]

Examples:
  kiltx lint template.yaml
  kiltx lint infra/ 'services/**/taskdef*.json' --fail-on warning
  kiltx lint --format sarif infra/ > kiltx.sarif
  kiltx lint --format github infra/      # annotations in a GitHub Actions run

Exit status: 0 no finding at or above --fail-on, 1 some finding is, 2 bad input or usage."
)]
pub struct LintArgs {
    /// Files, directories (searched for templates and task definitions) and glob patterns
    /// (`'infra/**/*.yaml'`); `-` reads standard input.
    #[arg(value_name = "FILE|DIR|GLOB", required_unless_present_any = ["list_rules", "explain"])]
    pub inputs: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Exit 1 when a finding of this severity or worse is reported.
    #[arg(long, value_enum, default_value_t = FailOn::Error, value_name = "SEVERITY")]
    pub fail_on: FailOn,
    /// Suppress a rule (ID or name) for this run; repeatable, or comma-separated.
    #[arg(long, value_name = "RULE")]
    pub ignore: Vec<String>,
    /// List the rules and exit.
    #[arg(long)]
    pub list_rules: bool,
    /// Explain a rule (ID or name) and exit.
    #[arg(long, value_name = "RULE")]
    pub explain: Option<String>,
    /// Quietly skip named files that are not templates or task definitions, as files found in
    /// directories are (for pre-commit, which passes every changed file).
    #[arg(long)]
    pub skip_other_files: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// `--format`: one module each.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Github,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
}

/// One input to lint.
struct Input {
    /// As shown in findings (the path as given or found, `<stdin>`).
    name: String,
    /// `-` or a path.
    source: String,
    /// Found in a directory or by a glob: skipped quietly when it is not a task definition.
    discovered: bool,
}

/// The findings of one input (or, with `file: None`, of the command line).
struct Report {
    file: Option<String>,
    findings: Vec<Finding>,
}

pub fn run(args: &LintArgs) -> Result<u8, CliError> {
    let mut stdout = std::io::stdout().lock();
    if args.list_rules {
        for r in RULES {
            writeln!(
                stdout,
                "{}  {:<8} {:<32} {}",
                r.id,
                r.severity.as_str(),
                r.name,
                r.summary
            )
            .map_err(CliError::stdout)?;
        }
        return Ok(0);
    }
    if let Some(id) = &args.explain {
        let r = rules::find(id).ok_or_else(|| {
            CliError::Usage(format!(
                "--explain {id}: no such rule (kiltx lint --list-rules lists them)"
            ))
        })?;
        writeln!(
            stdout,
            "{} {} ({})\n\n{}\n\n{}",
            r.id,
            r.name,
            r.severity.as_str(),
            r.summary,
            r.help
        )
        .map_err(CliError::stdout)?;
        return Ok(0);
    }

    // Everything that can be wrong with the options is checked before any input is read.
    let engine = args.engine.engine()?;
    let (ignore, unknown) = lint::parse_suppressions(args.ignore.iter().map(String::as_str));

    let mut reports = Vec::new();
    if !unknown.is_empty() && !ignore.contains(rules::BAD_SUPPRESSION.id) {
        reports.push(Report {
            file: None,
            findings: unknown
                .iter()
                .map(|u| Finding {
                    rule: rules::BAD_SUPPRESSION,
                    message: format!("--ignore {u}: not a kiltx lint rule"),
                    path: vec![],
                    resource: None,
                    line: 0,
                    column: 0,
                })
                .collect(),
        });
    }
    let mut problems: Vec<CliError> = Vec::new();
    let mut inputs = expand(&args.inputs, &mut problems);
    if args.skip_other_files {
        for i in &mut inputs {
            i.discovered = true;
        }
    }
    let mut checked = 0usize;
    for input in &inputs {
        match lint_one(input, args, &engine, &ignore) {
            Ok(Some(findings)) => {
                checked += 1;
                reports.push(Report {
                    file: Some(input.name.clone()),
                    findings,
                });
            }
            Ok(None) => {}
            Err(e) => problems.push(e),
        }
    }

    let text = match args.format {
        Format::Human => human::render(&reports),
        Format::Json => json::render(&reports),
        Format::Sarif => sarif::render(&reports),
        Format::Github => github::render(&reports),
    };
    stdout
        .write_all(text.as_bytes())
        .map_err(CliError::stdout)?;
    stdout.flush().map_err(CliError::stdout)?;

    for p in &problems {
        eprintln!("{}", p.render());
    }
    let all = || reports.iter().flat_map(|r| &r.findings);
    let count = |s: Severity| all().filter(|f| f.rule.severity == s).count();
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    if args.format == Format::Human {
        eprintln!(
            "kiltx lint: {} error{}, {} warning{} in {checked} file{} checked",
            errors,
            plural(errors),
            warnings,
            plural(warnings),
            plural(checked)
        );
        if errors + warnings > 0 {
            eprintln!("  what each rule means and how to fix it: kiltx lint --explain KXnnn");
        }
    }
    if !problems.is_empty() {
        return Ok(2);
    }
    let threshold = match args.fail_on {
        FailOn::Error => Severity::Error,
        FailOn::Warning => Severity::Warning,
    };
    Ok(u8::from(all().any(|f| f.rule.severity >= threshold)))
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Lint one input; `None` when a discovered file is not a task definition.
fn lint_one(
    input: &Input,
    args: &LintArgs,
    engine: &Engine,
    ignore: &BTreeSet<&'static str>,
) -> Result<Option<Vec<Finding>>, CliError> {
    let Engine {
        definition: def,
        options: opts,
        shape,
        images,
        ..
    } = engine;
    let shape = *shape;
    let text = read_input(&input.source, args.engine.max_input_size)?;
    if input.discovered && !looks_like_task_definitions(&text) {
        return Ok(None);
    }
    let doc = kilt_defs::parse_document(&text).map_err(CliError::engine(input.name.clone()))?;
    if input.discovered && shape.is_none() && Shape::detect(&doc.value).is_err() {
        return Ok(None);
    }
    if opts.tailor.is_some() {
        // A Kilt recipe or the log/credential options make each task definition's sidecars
        // (a tailor), which can refuse a task definition (`--log-group` outside a template
        // without `--log-region`, a recipe's unresolved substitution). The lint does not tailor,
        // so it patches a copy to refuse what `patch` refuses; images left unknown are
        // recorded, not errors: the lint reports them as findings.
        let detected = match shape {
            Some(s) => s,
            None => Shape::detect(&doc.value)
                .map_err(|e| e.locate(&doc))
                .map_err(CliError::engine(input.name.clone()))?,
        };
        let unknown = std::cell::RefCell::new(Vec::new());
        kilt_defs::patch::patch_recording(
            &mut doc.value.clone(),
            detected,
            def,
            opts,
            images,
            Some(&unknown),
        )
        .map_err(|e| e.locate(&doc))
        .map_err(CliError::engine(input.name.clone()))?;
        engine.check_shape(detected)?;
    }
    // Images the task definitions and --image-config leave unknown are asked of registries; one
    // that stays unknown is reported by the lint (image-config-unknown), with why on stderr.
    let registry = &args.engine.registry;
    kiltx_images::find_look_up_patch_blocking(
        (),
        images,
        |(), known| {
            if args.engine.offline {
                return Vec::new();
            }
            kilt_defs::document::needed_images(&text, shape, def, opts, known).unwrap_or_default()
        },
        || registry.client(),
        registry.deadline(),
        |(), images, answers| {
            for f in crate::registry::failures(&input.name, &answers?, true) {
                eprintln!("kiltx lint: {f}");
            }
            lint::lint(&doc, shape, def, opts, images, ignore)
                .map(Some)
                .map_err(CliError::engine(input.name.clone()))
        },
    )
}

/// A cheap test for files found in directories: could this hold task definitions?
fn looks_like_task_definitions(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.contains("containerdefinitions")
        || (lower.trim_start().starts_with('[') && lower.contains("\"image\""))
}

const EXTENSIONS: &[&str] = &["json", "yaml", "yml", "template"];

/// Files, directories and globs to inputs, in the order given (a directory's files sorted).
fn expand(args: &[String], problems: &mut Vec<CliError>) -> Vec<Input> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut add = |out: &mut Vec<Input>, path: &Path, discovered: bool| {
        let name = display(path);
        if seen.insert(name.clone()) {
            out.push(Input {
                source: path.to_string_lossy().into_owned(),
                name,
                discovered,
            });
        }
    };
    for a in args {
        if a == "-" {
            out.push(Input {
                name: "<stdin>".into(),
                source: "-".into(),
                discovered: false,
            });
            continue;
        }
        let p = Path::new(a);
        if p.is_dir() {
            let mut files = Vec::new();
            walk(p, &mut files);
            files.sort();
            for f in files {
                add(&mut out, &f, true);
            }
        } else if p.exists() || !a.contains(['*', '?', '[']) {
            add(&mut out, p, false);
        } else {
            match glob::glob(a) {
                Ok(paths) => {
                    let mut files: Vec<PathBuf> = paths
                        .filter_map(Result::ok)
                        .filter(|p| p.is_file())
                        .collect();
                    files.sort();
                    if files.is_empty() {
                        problems.push(CliError::Usage(format!("{a}: no file matches")));
                    }
                    for f in files {
                        add(&mut out, &f, true);
                    }
                }
                Err(e) => problems.push(CliError::Usage(format!("{a}: bad pattern: {e}"))),
            }
        }
    }
    out
}

/// Files under `dir` with a template-like extension; hidden directories, `target` and
/// `node_modules` are skipped.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            if name != "target" && name != "node_modules" {
                walk(&p, out);
            }
        } else if ft.is_file()
            && p.extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| EXTENSIONS.contains(&x.to_ascii_lowercase().as_str()))
        {
            out.push(p);
        }
    }
}

/// A path as findings show it: as given, without a leading `./`, with forward slashes.
fn display(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map(String::from).unwrap_or(s)
}
