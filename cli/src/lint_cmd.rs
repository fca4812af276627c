//! `kiltx lint`: find the task definitions in files, directories and globs, lint each, and
//! print the findings for people (`human`), programs (`json`), code scanning (`sarif`) or
//! GitHub Actions annotations (`github`).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde_json::{json, Value};

use kilt_defs::lint::{self, rules, Finding, Rule, Severity, RULES};
use kilt_defs::patch::Options;
use kilt_defs::shape::Shape;
use kilt_defs::source::render_path;

use crate::error::CliError;
use crate::io::read_input;
use crate::patch_cmd::{load_definition, load_image_configs, parse_parameters};

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
    /// Definition file (YAML or JSON): what instrumented looks like; default: the built-in one.
    #[arg(long, value_name = "FILE")]
    pub definition: Option<PathBuf>,
    /// Image of the tracer sidecar (the definition's first sidecar). Also KILTX_TRACER_IMAGE.
    #[arg(long, value_name = "IMAGE", env = "KILTX_TRACER_IMAGE")]
    pub tracer_image: Option<String>,
    /// Only task definitions tagged kilt-include (or kilt-include-containers) must be instrumented.
    #[arg(long)]
    pub opt_in: bool,
    /// Also expect task definitions that do not require FARGATE to be instrumented.
    #[arg(long)]
    pub include_ec2: bool,
    /// Never use the network: images' ENTRYPOINT/CMD come only from the task definitions and
    /// --image-config (without it, missing ones are read from their registries, and one that
    /// stays unknown is a finding). Also KILTX_OFFLINE=1.
    #[arg(long, env = "KILTX_OFFLINE", value_parser = clap::builder::BoolishValueParser::new())]
    pub offline: bool,
    #[command(flatten)]
    pub registry: crate::image_cmd::RegistryArgs,
    /// JSON map from image to its configuration: {"IMAGE": {"entrypoint": [...], "cmd": [...]}}.
    #[arg(long, value_name = "FILE")]
    pub image_config: Vec<PathBuf>,
    /// A template parameter's value, for images given as Ref/Fn::Sub (repeatable).
    #[arg(long = "parameter", value_name = "KEY=VALUE")]
    pub parameters: Vec<String>,
    /// The inputs' shape, when detection is not wanted.
    #[arg(long, value_name = "SHAPE", value_parser = ["auto", "cloudformation", "register", "describe", "containers"], default_value = "auto")]
    pub input_format: String,
    /// Quietly skip named files that are not templates or task definitions, as files found in
    /// directories are (for pre-commit, which passes every changed file).
    #[arg(long)]
    pub skip_other_files: bool,
    /// Refuse inputs larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = kilt_defs::DEFAULT_MAX_INPUT)]
    pub max_input_size: usize,
}

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
    let def = load_definition(args.definition.as_deref(), args.tracer_image.as_deref())?;
    let images = load_image_configs(&args.image_config)?;
    let opts = Options {
        opt_in: args.opt_in,
        include_ec2: args.include_ec2,
        parameters: parse_parameters(&args.parameters)?,
        ..Options::default()
    };
    let shape = crate::patch_cmd::forced_shape(&args.input_format)?;
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
        match lint_one(input, args, shape, &def, &opts, &images, &ignore) {
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
        Format::Human => human(&reports),
        Format::Json => json_format(&reports),
        Format::Sarif => sarif(&reports),
        Format::Github => github(&reports),
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
    shape: Option<Shape>,
    def: &kilt_defs::definition::Definition,
    opts: &Options,
    images: &kilt_defs::image::ImageConfigs,
    ignore: &BTreeSet<&'static str>,
) -> Result<Option<Vec<Finding>>, CliError> {
    let text = read_input(&input.source, args.max_input_size)?;
    if input.discovered && !looks_like_task_definitions(&text) {
        return Ok(None);
    }
    let doc = kilt_defs::parse_document(&text).map_err(CliError::engine(input.name.clone()))?;
    if input.discovered && shape.is_none() && Shape::detect(&doc.value).is_err() {
        return Ok(None);
    }
    // Images the task definitions and --image-config leave unknown are asked of registries; one
    // that stays unknown is reported by the lint (image-config-unknown), with why on stderr.
    let mut found = kilt_defs::image::ImageConfigs::new();
    if !args.offline {
        if let Ok(needs) = kilt_defs::document::needed_images(&text, shape, def, opts, images) {
            if !needs.is_empty() {
                let (configs, failures) =
                    crate::image_cmd::resolve_some(&args.registry, &input.name, &needs, true)?;
                for f in failures {
                    eprintln!("kiltx lint: {f}");
                }
                found = configs;
            }
        }
    }
    let looked_up;
    let images = if found.is_empty() {
        images
    } else {
        let mut all = images.clone();
        all.extend(found);
        looked_up = all;
        &looked_up
    };
    lint::lint(&doc, shape, def, opts, images, ignore)
        .map(Some)
        .map_err(CliError::engine(input.name.clone()))
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

fn human(reports: &[Report]) -> String {
    let mut out = String::new();
    for r in reports {
        for f in &r.findings {
            match &r.file {
                Some(file) => out.push_str(&format!(
                    "{file}:{}:{}: {}[{}] {}: {}\n",
                    f.line,
                    f.column,
                    f.rule.severity.as_str(),
                    f.rule.id,
                    render_path(&f.path),
                    f.message
                )),
                None => out.push_str(&format!(
                    "kiltx: {}[{}] {}\n",
                    f.rule.severity.as_str(),
                    f.rule.id,
                    f.message
                )),
            }
        }
    }
    out
}

/// The documented JSON format: an array of findings, in file then source order.
fn json_format(reports: &[Report]) -> String {
    let items: Vec<Value> = reports
        .iter()
        .flat_map(|r| {
            r.findings.iter().map(move |f| {
                json!({
                    "file": r.file,
                    "line": (f.line > 0).then_some(f.line),
                    "column": (f.column > 0).then_some(f.column),
                    "path": (!f.path.is_empty()).then(|| render_path(&f.path)),
                    "resource": f.resource,
                    "rule": f.rule.id,
                    "name": f.rule.name,
                    "severity": f.rule.severity.as_str(),
                    "message": f.message,
                })
            })
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&Value::Array(items)).unwrap_or_default();
    s.push('\n');
    s
}

fn sarif_level(r: &Rule) -> &'static str {
    match r.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// SARIF 2.1.0, as GitHub code scanning reads it.
fn sarif(reports: &[Report]) -> String {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.name,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.help},
                "help": {
                    "text": r.help,
                    "markdown": format!("**{} {}**\n\n{}", r.id, r.name, r.help),
                },
                "defaultConfiguration": {"level": sarif_level(r)},
                "properties": {"tags": ["security", "ecs", "fargate"]},
            })
        })
        .collect();
    let mut results = Vec::new();
    for r in reports {
        for f in &r.findings {
            let index = RULES.iter().position(|x| x.id == f.rule.id).unwrap_or(0);
            let mut result = json!({
                "ruleId": f.rule.id,
                "ruleIndex": index,
                "level": sarif_level(f.rule),
                "message": {"text": f.message},
            });
            if let Some(file) = &r.file {
                let mut location = json!({
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(file)},
                        "region": {"startLine": f.line.max(1), "startColumn": f.column.max(1)},
                    }
                });
                if !f.path.is_empty() {
                    location["logicalLocations"] =
                        json!([{"fullyQualifiedName": render_path(&f.path), "kind": "member"}]);
                }
                result["locations"] = json!([location]);
                result["partialFingerprints"] = json!({
                    "kiltxPath/v1": format!("{}:{}:{}", file, f.rule.id, render_path(&f.path)),
                });
            }
            results.push(result);
        }
    }
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "kiltx",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&log).unwrap_or_default();
    s.push('\n');
    s
}

/// A URI reference for a path: relative as given (what code scanning resolves against the
/// checkout), `file://` for an absolute one; spaces and other specials percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::new();
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// GitHub Actions workflow commands: one annotation per finding.
fn github(reports: &[Report]) -> String {
    fn data(s: &str) -> String {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    }
    fn prop(s: &str) -> String {
        data(s).replace(':', "%3A").replace(',', "%2C")
    }
    let mut out = String::new();
    for r in reports {
        for f in &r.findings {
            let level = match f.rule.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let title = prop(&format!("{} {}", f.rule.id, f.rule.name));
            let message = if f.path.is_empty() {
                f.message.clone()
            } else {
                format!("{} ({})", f.message, render_path(&f.path))
            };
            match &r.file {
                Some(file) => out.push_str(&format!(
                    "::{level} file={},line={},col={},title={title}::{}\n",
                    prop(file),
                    f.line,
                    f.column,
                    data(&message)
                )),
                None => out.push_str(&format!("::{level} title={title}::{}\n", data(&message))),
            }
        }
    }
    out
}
