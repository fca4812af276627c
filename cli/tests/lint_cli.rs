//! `kiltx lint` as users and CI meet it: exit statuses, many files, directories and globs,
//! the output formats (SARIF validated against the SARIF 2.1.0 JSON schema), and "a file
//! patched by kiltx lints clean".

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use crate::common::kiltx_in;
use kiltx_testsupport::hermetic::command as hermetic;
use serde_json::Value;

fn kiltx(args: &[&str]) -> Output {
    kiltx_in(&fixtures(), args)
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kiltx-lint-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

const UNPATCHED: &str = "lint/KX001-fail/input.json";
const CLEAN: &str = "lint/KX001-pass/input.json";
const WARNING_ONLY: &str = "lint/KX007-fail/input.json";

#[test]
fn exit_status_follows_fail_on() {
    let o = kiltx(&["lint", CLEAN]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(o.stdout.is_empty());
    let o = kiltx(&["lint", UNPATCHED]);
    assert_eq!(o.status.code(), Some(1));
    let o = kiltx(&["lint", WARNING_ONLY]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "a warning does not fail by default"
    );
    assert!(text(&o.stdout).contains("warning[KX007]"));
    let o = kiltx(&["lint", "--fail-on", "warning", WARNING_ONLY]);
    assert_eq!(o.status.code(), Some(1));
    let o = kiltx(&[
        "lint",
        "--ignore",
        "KX007",
        "--fail-on",
        "warning",
        WARNING_ONLY,
    ]);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn bad_input_is_exit_2_and_the_rest_is_still_linted() {
    let o = kiltx(&[
        "lint",
        "patch/err-malformed-json/input.json",
        UNPATCHED,
        "no/such/file.json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("patch/err-malformed-json/input.json:4:20: JSON syntax error"),
        "{err}"
    );
    assert!(err.contains("no/such/file.json"), "{err}");
    assert!(text(&o.stdout).contains("KX001-fail/input.json:10:5: error[KX001]"));
    // Usage errors.
    assert_eq!(kiltx(&["lint"]).status.code(), Some(2));
    assert_eq!(
        kiltx(&["lint", "--format", "xml", CLEAN]).status.code(),
        Some(2)
    );
    assert_eq!(
        kiltx(&["lint", "--explain", "KX999"]).status.code(),
        Some(2)
    );
}

#[test]
fn unknown_rule_in_ignore_is_a_warning() {
    let o = kiltx(&["lint", "--ignore", "KX999", CLEAN]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        text(&o.stdout).contains("warning[KX090] --ignore KX999"),
        "{}",
        text(&o.stdout)
    );
    let o = kiltx(&["lint", "--ignore", "KX999", "--fail-on", "warning", CLEAN]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn stdin_and_explain_and_list() {
    let mut child = hermetic(env!("CARGO_BIN_EXE_kiltx"))
        // These tests use --image-config and no registry.
        .env("KILTX_OFFLINE", "1")
        .args(["lint", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let input = fs::read(fixtures().join(UNPATCHED)).unwrap();
        child.stdin.take().unwrap().write_all(&input).unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).starts_with("<stdin>:10:5: error[KX001]"));
    let o = kiltx(&["lint", "--explain", "ptrace-missing"]);
    assert!(o.status.success());
    assert!(text(&o.stdout).starts_with("KX005 ptrace-missing (error)"));
    let o = kiltx(&["lint", "--list-rules"]);
    assert!(text(&o.stdout).lines().count() >= 20);
}

#[test]
fn directories_and_globs() {
    let d = tmpdir("dirs");
    fs::create_dir_all(d.join("infra/nested")).unwrap();
    fs::create_dir_all(d.join(".git")).unwrap();
    fs::create_dir_all(d.join("node_modules/x")).unwrap();
    let unpatched = fs::read_to_string(fixtures().join(UNPATCHED)).unwrap();
    let clean = fs::read_to_string(fixtures().join(CLEAN)).unwrap();
    fs::write(d.join("infra/a.json"), &unpatched).unwrap();
    fs::write(d.join("infra/nested/b.json"), &clean).unwrap();
    fs::write(
        d.join("infra/nested/c.yaml"),
        fs::read_to_string(fixtures().join("lint/KX011-fail/input.yaml")).unwrap(),
    )
    .unwrap();
    // Not task definitions: skipped without a word.
    fs::write(
        d.join("infra/package.json"),
        r#"{"name": "x", "version": "1.0.0"}"#,
    )
    .unwrap();
    fs::write(d.join("infra/workflow.yml"), "on: push\njobs: {}\n").unwrap();
    fs::write(d.join("infra/broken-but-irrelevant.json"), "{ nope").unwrap();
    fs::write(d.join("infra/notes.txt"), &unpatched).unwrap();
    fs::write(d.join(".git/x.json"), &unpatched).unwrap();
    fs::write(d.join("node_modules/x/y.json"), &unpatched).unwrap();

    let o = kiltx_in(&d, &["lint", "infra"]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}{}", text(&o.stderr));
    assert!(out.contains("infra/a.json:10:5: error[KX001]"), "{out}");
    assert!(out.contains("infra/nested/c.yaml:"), "{out}");
    for skipped in [
        "package.json",
        "workflow",
        "notes",
        ".git",
        "node_modules",
        "broken",
    ] {
        assert!(!out.contains(skipped), "{skipped}: {out}");
    }
    assert!(
        text(&o.stderr).contains("in 3 files checked"),
        "{}",
        text(&o.stderr)
    );

    // A glob (quoted, as CI passes it), and a plain file next to it.
    let o = kiltx_in(&d, &["lint", "infra/**/*.json", "infra/nested/c.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("in 3 files checked"),
        "{}",
        text(&o.stderr)
    );
    let o = kiltx_in(&d, &["lint", "infra/**/*.nothing"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no file matches"));
    let _ = fs::remove_dir_all(&d);
}

#[test]
fn json_format_is_the_documented_array() {
    let o = kiltx(&["lint", "--format", "json", UNPATCHED, CLEAN]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let a = v.as_array().unwrap();
    assert_eq!(a.len(), 1);
    let f = &a[0];
    let keys: Vec<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["file", "line", "column", "path", "resource", "rule", "name", "severity", "message"]
    );
    assert_eq!(f["file"], UNPATCHED);
    assert_eq!(f["line"], 10);
    assert_eq!(f["column"], 5);
    assert_eq!(f["path"], "containerDefinitions[0]");
    assert_eq!(f["rule"], "KX001");
    assert_eq!(f["name"], "not-instrumented");
    assert_eq!(f["severity"], "error");
    // No finding: an empty array.
    let o = kiltx(&["lint", "--format", "json", CLEAN]);
    assert_eq!(text(&o.stdout).trim(), "[]");
}

#[test]
fn github_format_is_workflow_commands() {
    let o = kiltx(&["lint", "--format", "github", UNPATCHED, WARNING_ONLY]);
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with(&format!(
            "::error file={UNPATCHED},line=10,col=5,title=KX001 not-instrumented::container \"web\""
        )),
        "{out}"
    );
    assert!(lines[0].ends_with("(containerDefinitions[0])"));
    assert!(lines[1].starts_with("::warning file="), "{out}");
}

/// The SARIF 2.1.0 schema, fetched by the test command (tests/run.sh) from the npm package
/// @microsoft/jest-sarif, which ships it.
fn sarif_schema() -> PathBuf {
    let p = match std::env::var_os("KILTX_SARIF_SCHEMA") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target/sarif-schema/package/lib/schemas/sarif-2.1.0-rtm.5.json"),
    };
    assert!(
        p.is_file(),
        "the SARIF 2.1.0 schema is missing at {}: run the test command (bash tests/run.sh), which fetches it",
        p.display()
    );
    p
}

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let schema = sarif_schema();
    let d = tmpdir("sarif");
    // Every fixture at once: every rule fires somewhere; plus a command-line finding (no file).
    let o = kiltx(&["lint", "--format", "sarif", "--ignore", "KX999", "lint"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let sarif = d.join("out.sarif");
    fs::write(&sarif, &o.stdout).unwrap();
    let check = kiltx_testsupport::hermetic::tool("python3", "apt-get install python3")
        .arg("-c")
        .arg(
            "import json, sys, jsonschema\n\
             schema = json.load(open(sys.argv[1]))\n\
             log = json.load(open(sys.argv[2]))\n\
             cls = jsonschema.validators.validator_for(schema)\n\
             cls.check_schema(schema)\n\
             errors = sorted(cls(schema).iter_errors(log), key=str)\n\
             for e in errors[:10]: print(list(e.absolute_path), e.message)\n\
             sys.exit(1 if errors else 0)\n",
        )
        .arg(&schema)
        .arg(&sarif)
        .output()
        .expect("python3 with jsonschema (installed by tests/run.sh)");
    assert!(
        check.status.success(),
        "SARIF does not validate:\n{}{}",
        text(&check.stdout),
        text(&check.stderr)
    );
    // What GitHub code scanning relies on.
    let log: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.len() >= 20);
    for r in rules {
        assert!(r["help"]["text"].as_str().unwrap().len() > 80, "{r}");
        assert!(r["shortDescription"]["text"].is_string());
    }
    let results = run["results"].as_array().unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for res in results {
        let id = res["ruleId"].as_str().unwrap();
        seen.insert(id.to_string());
        let idx = res["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], id);
        if let Some(loc) = res["locations"].get(0) {
            let uri = loc["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap();
            assert!(uri.starts_with("lint/") && !uri.contains('\\'), "{uri}");
            assert!(
                loc["physicalLocation"]["region"]["startLine"]
                    .as_u64()
                    .unwrap()
                    >= 1
            );
        }
    }
    // An absolute path is a file:// URI.
    let abs = fixtures().join(UNPATCHED);
    let o = kiltx(&["lint", "--format", "sarif", abs.to_str().unwrap()]);
    let log2: Value = serde_json::from_slice(&o.stdout).unwrap();
    let uri = &log2["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
        ["artifactLocation"]["uri"];
    assert_eq!(
        uri.as_str(),
        Some(format!("file://{}", abs.display()).as_str())
    );
    // Every rule but those that need options (KX009 needs --image-config, KX050 a definition
    // whose sidecar is x86_64-only: the built-in one is built for both).
    let need_options = ["KX009", "KX050"];
    for r in rules {
        let id = r["id"].as_str().unwrap();
        assert!(
            need_options.contains(&id) || seen.contains(id),
            "no result for {id}: {seen:?}"
        );
    }
    let _ = fs::remove_dir_all(&d);
}

/// The instrumentation rules: what `kiltx patch` fixes.
const INSTRUMENTATION: &[&str] = &[
    "KX001", "KX002", "KX003", "KX004", "KX005", "KX006", "KX007", "KX008", "KX010", "KX011",
    "KX012",
];

fn rules_of(o: &Output) -> std::collections::BTreeSet<String> {
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["rule"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_fixture_patched_by_kiltx_lints_clean() {
    let mut cases: Vec<PathBuf> = Vec::new();
    for group in ["patch", "lint"] {
        for e in fs::read_dir(fixtures().join(group)).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with("err-") {
                cases.push(p);
            }
        }
    }
    cases.sort();
    let mut errors = Vec::new();
    let mut patched_count = 0;
    for dir in &cases {
        let name = dir.display().to_string();
        let input = crate::common::input_name(dir);
        let args: Vec<String> = crate::common::case_args(dir);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let patched = kiltx_in(dir, &[&["patch"], &args[..], &[input]].concat());
        // A sidecar that patch could give no log configuration (no traced container has one)
        // is said in patch's summary, and is lint's KX042 warning.
        let said_no_logs = text(&patched.stderr)
            .contains("has no log configuration, and neither has any traced container");
        if !patched.status.success() {
            continue; // Inputs kiltx refuses to patch (KX010, KX011, KX012, KX025 cases).
        }
        patched_count += 1;
        let tmp = tmpdir("patched");
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            fs::copy(&p, tmp.join(p.file_name().unwrap())).unwrap();
        }
        fs::write(tmp.join(input), &patched.stdout).unwrap();
        let before = kiltx_in(
            dir,
            &[&["lint", "--format", "json"], &args[..], &[input]].concat(),
        );
        let after = kiltx_in(
            &tmp,
            &[&["lint", "--format", "json"], &args[..], &[input]].concat(),
        );
        let _ = fs::remove_dir_all(&tmp);
        if after.status.code() == Some(2) {
            errors.push(format!(
                "{name}: lint of the patched file failed: {}",
                text(&after.stderr)
            ));
            continue;
        }
        let (b, a) = (rules_of(&before), rules_of(&after));
        for r in &a {
            // A lost argv cannot be restored by patching (the engine leaves it, and says so).
            let unfixable = ["KX008", "KX009"].contains(&r.as_str()) && b.contains(r);
            if INSTRUMENTATION.contains(&r.as_str()) && !unfixable {
                errors.push(format!(
                    "{name}: the patched file still has {r}:\n{}",
                    text(&after.stdout)
                ));
            } else if !(b.contains(r) || r == "KX042" && said_no_logs) {
                errors.push(format!(
                    "{name}: patching introduced {r}:\n{}",
                    text(&after.stdout)
                ));
            }
        }
    }
    assert!(patched_count >= 40, "only {patched_count} fixtures patched");
    assert!(errors.is_empty(), "{}", errors.join("\n\n"));
}

/// pre-commit, installed by the test command in target/pre-commit-venv.
fn pre_commit() -> PathBuf {
    let p = match std::env::var_os("KILTX_PRE_COMMIT") {
        Some(p) => PathBuf::from(p),
        None => {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/pre-commit-venv/bin/pre-commit")
        }
    };
    assert!(
        p.is_file(),
        "pre-commit is missing at {}: run the test command (bash tests/run.sh), which installs it",
        p.display()
    );
    p
}

#[test]
fn the_pre_commit_hook_runs_kiltx_lint() {
    let pre_commit = pre_commit();
    let repo_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let d = tmpdir("pre-commit");
    let work = d.join("work");
    fs::create_dir_all(&work).unwrap();
    let git = |args: &[&str]| {
        let o = hermetic("git")
            .current_dir(&work)
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "git {args:?}: {}", text(&o.stderr));
    };
    git(&["init", "-q"]);
    git(&["config", "user.email", "test@example.com"]);
    git(&["config", "user.name", "test"]);
    fs::copy(fixtures().join(UNPATCHED), work.join("taskdef.json")).unwrap();
    fs::copy(fixtures().join(CLEAN), work.join("patched.json")).unwrap();
    fs::write(work.join("package.json"), r#"{"name": "x"}"#).unwrap();
    git(&["add", "."]);
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_kiltx"))
        .parent()
        .unwrap()
        .to_path_buf();
    // kiltx from this build first, then the system's directories (git); nothing inherited
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        kiltx_testsupport::hermetic::PATH
    );
    let run = |files: &[&str]| {
        hermetic(&pre_commit)
            .current_dir(&work)
            .env("KILTX_OFFLINE", "1")
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", d.join("cache"))
            .args(["try-repo"])
            .arg(&repo_root)
            .args(["kiltx-lint", "--files"])
            .args(files)
            .output()
            .expect("run pre-commit")
    };
    let o = run(&["taskdef.json", "package.json"]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}{}", text(&o.stderr));
    assert!(
        out.contains("kiltx lint....") && out.contains("Failed"),
        "{out}"
    );
    assert!(out.contains("taskdef.json:10:5: error[KX001]"), "{out}");
    let o = run(&["patched.json", "package.json"]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", text(&o.stderr));
    assert!(out.contains("Passed"), "{out}");
    let _ = fs::remove_dir_all(&d);
}
