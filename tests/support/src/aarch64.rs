//! The workspace's binaries built for aarch64 (Graviton) on this x86_64 machine, and run here:
//! `tests/aarch64/cargo.sh` (Debian's cross toolchain, static glibc), then `qemu-aarch64` (user
//! mode) for programs that need no ptrace or seccomp. `tests/aarch64/setup.sh` installs both
//! (tests/run.sh runs it); a missing piece fails the test.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::hermetic;

pub const TARGET: &str = "aarch64-unknown-linux-gnu";

/// The repository root (this crate is tests/support).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

static BUILD: Mutex<()> = Mutex::new(());

/// Build `package` for aarch64 (release, static) and return the path of its binary `bin`.
pub fn build(package: &str, bin: &str) -> PathBuf {
    let _one_at_a_time = BUILD.lock().unwrap_or_else(|p| p.into_inner());
    let root = root();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .expect("CARGO_HOME or HOME");
    let mut cmd = hermetic::command("bash");
    cmd.current_dir(&root)
        .env("CARGO_HOME", cargo_home)
        .arg(root.join("tests/aarch64/cargo.sh"))
        .args(["build", "--locked", "--offline", "--release", "-p", package]);
    if let Some(c) = std::env::var_os("KILTX_AARCH64_CACHE") {
        cmd.env("KILTX_AARCH64_CACHE", c);
    }
    let out = cmd.output().expect("bash");
    assert!(
        out.status.success(),
        "building {package} for aarch64 (tests/aarch64/cargo.sh) failed; run tests/aarch64/setup.sh \
         (tests/run.sh does):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let b = root
        .join("target/aarch64-cross")
        .join(TARGET)
        .join("release")
        .join(bin);
    assert!(b.is_file(), "{} was not built", b.display());
    b
}

/// `qemu-aarch64 BINARY` with the fixed environment of [`hermetic::command`]; add the
/// program's arguments.
pub fn qemu_user(binary: &Path) -> Command {
    let mut c = hermetic::tool(
        "qemu-aarch64",
        "bash tests/aarch64/setup.sh (qemu-user from bookworm-backports)",
    );
    c.arg(binary);
    c
}

/// The ELF machine of a file (`e_machine`: 62 x86_64, 183 aarch64).
pub fn elf_machine(path: &Path) -> Option<u16> {
    let b = std::fs::read(path).ok()?;
    (b.len() > 20 && b[..4] == *b"\x7fELF").then(|| u16::from_le_bytes([b[18], b[19]]))
}
