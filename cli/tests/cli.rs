//! The `kiltx` command line: output modes, exit statuses, and that nothing is written on error.

use kiltx_testsupport::hermetic::command as hermetic;
use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Output, Stdio};

fn kiltx(args: &[&str]) -> Output {
    hermetic(env!("CARGO_BIN_EXE_kiltx"))
        .args(args)
        .output()
        .expect("run kiltx")
}

fn kiltx_stdin(args: &[&str], input: &str) -> Output {
    let mut child = hermetic(env!("CARGO_BIN_EXE_kiltx"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kiltx");
    // kiltx may refuse its arguments before reading standard input.
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    child.wait_with_output().unwrap()
}

struct Tmp(PathBuf);
impl Tmp {
    fn new(name: &str) -> Tmp {
        let p = std::env::temp_dir().join(format!("kiltx-cli-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Tmp(p)
    }
    fn file(&self, name: &str, text: &str) -> String {
        let p = self.0.join(name);
        fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    }
    fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}
impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const TASK: &str = r#"{
  "family": "web",
  "containerDefinitions": [
    {"name": "web", "image": "nginx", "entryPoint": ["/docker-entrypoint.sh"], "command": ["nginx"]}
  ]
}
"#;

const BROKEN: &str = r#"{
  "family": "web",
  "containerDefinitions": [
    {"name": "web", "image": "nginx"}
  ]
}
"#;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn check_exits_1_when_patching_would_change_and_0_when_not() {
    let t = Tmp::new("check");
    let f = t.file("task.json", TASK);
    let out = kiltx(&["patch", "--check", &f]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    assert_eq!(
        fs::read_to_string(&f).unwrap(),
        TASK,
        "--check wrote to the file"
    );
    let patched = kiltx(&["patch", &f]);
    let g = t.file("patched.json", &text(&patched.stdout));
    let out = kiltx(&["patch", "--check", &g]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("already wrapped: web"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn diff_prints_a_unified_diff() {
    let t = Tmp::new("diff");
    let f = t.file("task.json", TASK);
    let out = kiltx(&["patch", "--diff", &f]);
    assert_eq!(out.status.code(), Some(0));
    let d = text(&out.stdout);
    assert!(
        d.starts_with(&format!("--- {f}\n+++ {f} (patched)\n@@")),
        "{d}"
    );
    assert!(d.contains("\n-    {\"name\": \"web\", \"image\": \"nginx\", \"entryPoint\": [\"/docker-entrypoint.sh\"]"), "{d}");
    // The new sidecar follows the one-line layout of the container before it.
    assert!(
        d.contains("\n+    {\"name\": \"kiltx-tracer\", \"image\": \"kiltx/kiltx-tracer:0.1.0\""),
        "{d}"
    );
    assert!(
        !d.contains("\n \"family\""),
        "unchanged lines are context, not changes: {d}"
    );
    // --diff with --check: the diff, and exit 1.
    let out = kiltx(&["patch", "--diff", "--check", &f]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("+++"));
}

#[test]
fn in_place_replaces_the_file_and_leaves_no_temporary() {
    let t = Tmp::new("inplace");
    let f = t.file("task.json", TASK);
    let expected = kiltx(&["patch", &f]).stdout;
    let out = kiltx(&["patch", "--in-place", &f]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    assert_eq!(fs::read(&f).unwrap(), expected);
    assert_eq!(t.entries(), vec!["task.json"]);
}

/// `-o` and `--in-place` replace a regular file atomically, but never replace what is not one:
/// a FIFO (or /dev/null, /dev/stdout) is written into, and a symbolic link is followed (the
/// file it names is replaced, the link stays). Renaming over `-o /dev/null` once turned the
/// machine's /dev/null into a regular file.
#[test]
fn outputs_that_are_not_regular_files_are_written_into_not_replaced() {
    use std::os::unix::fs::FileTypeExt;
    // (A FIFO stands for every non-regular file: the test must not risk the machine's
    // /dev/null.)
    let t = Tmp::new("special");
    let f = t.file("task.json", TASK);
    let expected = kiltx(&["patch", "-q", &f]).stdout;
    // A FIFO, read by another thread.
    let fifo = t.0.join("out.fifo");
    let st = hermetic("/usr/bin/mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read(fifo).unwrap())
    };
    let out = kiltx(&["patch", "-q", &f, "-o", fifo.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // (Checked first: had kiltx renamed a file over it, the reader would wait forever.)
    assert!(
        fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(),
        "still a FIFO"
    );
    assert_eq!(reader.join().unwrap(), expected);
    // A symbolic link: the file it names gets the output.
    let real = t.file("real.json", "old");
    let link = t.0.join("link.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let out = kiltx(&["patch", "-q", &f, "-o", link.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "still a link"
    );
    assert_eq!(fs::read(&real).unwrap(), expected);
}

#[test]
fn nothing_is_written_on_error() {
    let t = Tmp::new("error");
    let f = t.file("task.json", BROKEN);
    let out_path = t.0.join("out.json");
    let o = out_path.to_string_lossy().into_owned();
    for args in [
        vec!["patch", "--offline", "--in-place", &f],
        vec!["patch", "--offline", &f, "-o", &o],
        vec!["patch", "--offline", &f],
    ] {
        let out = kiltx(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?} wrote to stdout");
        assert!(
            text(&out.stderr).contains("cannot patch container \"web\""),
            "{}",
            text(&out.stderr)
        );
    }
    assert_eq!(fs::read_to_string(&f).unwrap(), BROKEN);
    assert_eq!(
        t.entries(),
        vec!["task.json"],
        "no output file, no temporary"
    );
}

#[test]
fn output_file_and_stdin() {
    let t = Tmp::new("stdin");
    let o = t.0.join("out.json").to_string_lossy().into_owned();
    let out = kiltx_stdin(&["patch", "-", "-o", &o], TASK);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = fs::read_to_string(&o).unwrap();
    assert!(written.contains("\"kiltx-tracer\""));
    let out = kiltx_stdin(&["patch"], TASK);
    assert_eq!(text(&out.stdout), written);
    let out = kiltx_stdin(&["patch", "--in-place", "-"], TASK);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--in-place needs a file"));
}

#[test]
fn tracer_image_from_flag_and_environment() {
    let t = Tmp::new("image");
    let f = t.file("task.json", TASK);
    let out = kiltx(&[
        "patch",
        "--tracer-image",
        "registry.example/kiltx-tracer:9",
        &f,
    ]);
    assert!(text(&out.stdout).contains("\"image\": \"registry.example/kiltx-tracer:9\""));
    let out = hermetic(env!("CARGO_BIN_EXE_kiltx"))
        .env("KILTX_TRACER_IMAGE", "env.example/tracer:1")
        .args(["patch", &f])
        .output()
        .unwrap();
    assert!(text(&out.stdout).contains("\"image\": \"env.example/tracer:1\""));
    let out = hermetic(env!("CARGO_BIN_EXE_kiltx"))
        .env("KILTX_TRACER_IMAGE", "env.example/tracer:1")
        .args(["definition", "show"])
        .output()
        .unwrap();
    assert!(
        text(&out.stdout).contains("image: env.example/tracer:1"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn definition_show_and_validate() {
    let out = kiltx(&["definition", "show"]);
    assert_eq!(out.status.code(), Some(0));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("name: kiltx-tracer") && shown.contains("splice: argv"),
        "{shown}"
    );
    let t = Tmp::new("def");
    let good = t.file("good.yaml", &shown);
    assert_eq!(
        kiltx(&["definition", "validate", &good]).status.code(),
        Some(0)
    );
    let bad = t.file("bad.yaml", "version: 1\ncontainers:\n  entryPoint: [x]\n");
    let out = kiltx(&["definition", "validate", &good, &bad]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("original argv exactly once"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["patch", "--no-such-flag"],
        vec!["patch", "--parameter", "novalue", "x.json"],
        vec!["patch", "--input-format", "xml", "x.json"],
        vec!["patch", "/nonexistent/task.json"],
        vec!["patch", "--in-place", "a.json", "-o", "b.json"],
        vec!["frobnicate"],
    ] {
        let out = kiltx(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(!text(&out.stderr).is_empty());
        assert!(!text(&out.stderr).contains("panicked"));
    }
    let out = kiltx(&["patch", "--parameter", "novalue", "x.json"]);
    assert!(text(&out.stderr).contains("expected KEY=VALUE"));
    assert_eq!(kiltx(&["--help"]).status.code(), Some(0));
}

#[test]
fn non_utf8_input_is_a_clear_error() {
    let t = Tmp::new("utf8");
    let p = t.0.join("bad.json");
    fs::write(&p, b"{\"family\": \"\xff\"}").unwrap();
    let out = kiltx(&["patch", &p.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not UTF-8"),
        "{}",
        text(&out.stderr)
    );
}

/// Issue #18: `: {{{…}}}` (74 bytes) took 12 s and 5 GB, and two more levels killed kiltx. Now
/// a clear error at once, for `patch` and `lint`, nothing written.
#[test]
fn nested_mappings_as_keys_are_refused_at_once() {
    let tmp = Tmp::new("nested-keys");
    let input = format!(": {}{}", "{".repeat(36), "}".repeat(36));
    assert_eq!(input.len(), 74);
    let file = tmp.file("nested.yaml", &input);
    let out_path = tmp.0.join("out.yaml");
    let started = std::time::Instant::now();
    let out = kiltx(&[
        "patch",
        "--offline",
        &file,
        "-o",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("nested.yaml:1:") && err.contains("a mapping or a list used as a key"),
        "{err}"
    );
    assert!(!out_path.exists(), "nothing is written");
    let out = kiltx(&["lint", "--offline", &file]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

/// The Graviton build: `kiltx` built for aarch64 (tests/aarch64/cargo.sh), run by qemu-aarch64
/// (user mode), answers as the x86_64 one, byte for byte and exit status included.
#[test]
fn the_aarch64_kiltx_answers_as_the_x86_64_one() {
    use kiltx_testsupport::aarch64;
    let bin = aarch64::build("kiltx", "kiltx");
    assert_eq!(aarch64::elf_machine(&bin), Some(183), "an aarch64 binary");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let example = root.join("templates/example-task-definition.json");
    let example = example.to_str().unwrap();
    let cases: [&[&str]; 5] = [
        &["patch", example],
        &["patch", "--check", example],
        &["lint", example],
        &["definition", "show"],
        &["patch", "/nonexistent/task.json"],
    ];
    let mut codes = Vec::new();
    for args in cases {
        let native = hermetic(env!("CARGO_BIN_EXE_kiltx"))
            .env("KILTX_OFFLINE", "1")
            .args(args)
            .output()
            .expect("run kiltx");
        let arm = aarch64::qemu_user(&bin)
            .env("KILTX_OFFLINE", "1")
            .args(args)
            .output()
            .expect("run qemu-aarch64");
        assert_eq!(arm.status.code(), native.status.code(), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&arm.stdout),
            String::from_utf8_lossy(&native.stdout),
            "{args:?}"
        );
        assert_eq!(
            String::from_utf8_lossy(&arm.stderr),
            String::from_utf8_lossy(&native.stderr),
            "{args:?}"
        );
        codes.push(native.status.code());
    }
    // what was compared: a success, a finding, an error
    assert!(
        codes.contains(&Some(0)) && codes.contains(&Some(1)) && codes.contains(&Some(2)),
        "{codes:?}"
    );
}
