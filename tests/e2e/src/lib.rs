//! End-to-end harness: build images without a container engine, push them to a registry on
//! 127.0.0.1, and run ECS task definitions with podman the way Fargate runs them.
//!
//! - [`task`]: the task definition model (register JSON, describe output, CloudFormation
//!   Properties); what the harness cannot reproduce is an error.
//! - [`podman`]: the task → podman translation and the task life cycle (dependsOn, essential,
//!   stopTimeout, StopTask).
//! - this module: images — the sidecar image built by `tracer/image/build.sh`, application
//!   images from a busybox rootfs via `tracer/image/oci-image.py`, pushed with skopeo.

pub mod podman;
pub mod task;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use kiltx_testsupport::hermetic;

pub use kiltx_testsupport::{require, TempDir};

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

/// A binary of this workspace built in the same profile as the running test
/// (`target/debug/NAME` for `cargo test`).
pub fn workspace_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    // target/<profile>/deps/<test>-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from target/<profile>/deps");
    let bin = profile_dir.join(name);
    assert!(
        bin.is_file(),
        "{} is not built; run `cargo build --workspace` first (tests/run.sh does)",
        bin.display()
    );
    bin
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Build the sidecar image with `tracer/image/build.sh` (which builds the release tracer) into
/// the OCI layout `layout`; the tag it was given (the tracer's version).
pub fn build_tracer_image(layout: &Path) -> String {
    require("python3", "apt-get install python3");
    let script = repo_root().join("tracer/image/build.sh");
    // The build step keeps the inherited environment: it runs cargo, which needs the
    // toolchain's (CARGO_HOME, RUSTUP_HOME, PATH); what it builds does not depend on it.
    let out = run(
        Command::new("bash")
            .arg(&script)
            .arg("--layout")
            .arg(layout),
        "tracer/image/build.sh",
    );
    // "built oci:LAYOUT:TAG (kiltx/kiltx-tracer:TAG)"
    let tag = out
        .lines()
        .find_map(|l| l.strip_prefix("built oci:"))
        .and_then(|l| l.split(' ').next())
        .and_then(|l| l.rsplit(':').next())
        .unwrap_or_else(|| panic!("build.sh did not say what it built: {out}"));
    tag.to_string()
}

/// A root filesystem with busybox-static as `/bin/busybox` and the applets a shell script
/// needs, plus `files` (path relative to the root, content, mode).
pub fn busybox_rootfs(dir: &Path, files: &[(&str, &str, u32)]) {
    use std::os::unix::fs::PermissionsExt;
    let busybox = Path::new("/bin/busybox");
    assert!(
        busybox.is_file(),
        "/bin/busybox is missing; install it with: apt-get install busybox-static (tests/run.sh does)"
    );
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).expect("rootfs/bin");
    fs::create_dir_all(dir.join("tmp")).expect("rootfs/tmp");
    fs::set_permissions(dir.join("tmp"), fs::Permissions::from_mode(0o1777)).expect("chmod /tmp");
    fs::copy(busybox, bin.join("busybox")).expect("copy busybox");
    for applet in [
        "sh", "echo", "cat", "ls", "mv", "rm", "mkdir", "sleep", "true", "false", "id", "env",
    ] {
        std::os::unix::fs::symlink("busybox", bin.join(applet)).expect("applet link");
    }
    for (path, content, mode) in files {
        let p = dir.join(path);
        fs::create_dir_all(p.parent().expect("a file in a directory")).expect("mkdir");
        fs::write(&p, content).expect("write a rootfs file");
        fs::set_permissions(&p, fs::Permissions::from_mode(*mode)).expect("chmod");
    }
}

/// Write `rootfs` as image `tag` of the OCI layout `layout`, with ENTRYPOINT/CMD.
pub fn oci_image(
    rootfs: &Path,
    layout: &Path,
    tag: &str,
    entrypoint: Option<&[&str]>,
    cmd: Option<&[&str]>,
) {
    let script = repo_root().join("tracer/image/oci-image.py");
    let mut c = hermetic::tool("python3", "apt-get install python3");
    c.arg(script)
        .arg("--rootfs")
        .arg(rootfs)
        .arg("--layout")
        .arg(layout)
        .args(["--tag", tag]);
    if let Some(e) = entrypoint {
        c.args(["--entrypoint", &serde_json::to_string(e).expect("JSON")]);
    }
    if let Some(e) = cmd {
        c.args(["--cmd", &serde_json::to_string(e).expect("JSON")]);
    }
    run(&mut c, "oci-image.py");
}

/// `skopeo copy --all oci:LAYOUT:TAG docker://DEST` (every platform of an image index; plain
/// HTTP: DEST is a registry on 127.0.0.1).
pub fn push(layout: &Path, tag: &str, dest: &str) {
    run(
        hermetic::tool("skopeo", "apt-get install skopeo")
            .args(["copy", "--quiet", "--all", "--dest-tls-verify=false"])
            .arg(format!("oci:{}:{tag}", layout.display()))
            .arg(format!("docker://{dest}")),
        "skopeo copy",
    );
}
