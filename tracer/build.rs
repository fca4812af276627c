//! Link `kiltx-tracer` as a fully static glibc binary (static-pie), so that it
//! can be dropped into any container image through a shared volume.
//!
//! `-C target-feature=+crt-static` cannot be set for one crate only (setting it
//! for the host target breaks proc-macro crates elsewhere in the workspace), so
//! this build script passes `-static-pie` to the linker for this crate's
//! binaries only. rustc still asks for `-lgcc_s` (a shared library); to keep the
//! result static, a search directory is put first that holds `libgcc_s.a`, a copy
//! of gcc's static unwinder `libgcc_eh.a`, and copies of glibc's static archives
//! (`libc.a`, `libm.a`, ...) that rustc would otherwise take as shared libraries.
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let out = match std::env::var_os("OUT_DIR") {
        Some(o) => PathBuf::from(o),
        None => return,
    };
    let target = std::env::var("TARGET").unwrap_or_default();
    if !target.ends_with("linux-gnu") {
        return;
    }
    // A target built with `+crt-static` (the aarch64 cross build,
    // tests/aarch64/setup.sh) is linked statically by rustc itself, with that
    // target's own libraries.
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    if features.split(',').any(|f| f == "crt-static") {
        return;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    match find_file(&cc, "libgcc_eh.a") {
        Some(p) => {
            let dir = out.join("static-gcc");
            let _ = std::fs::create_dir_all(&dir);
            let mut ok = std::fs::copy(&p, dir.join("libgcc_s.a")).is_ok();
            // rustc also links libc & co. after `-Bdynamic`; make the static
            // archives the first ones found.
            for lib in ["c", "m", "pthread", "dl", "rt", "util"] {
                let name = format!("lib{lib}.a");
                match find_file(&cc, &name) {
                    Some(f) => ok &= std::fs::copy(&f, dir.join(&name)).is_ok(),
                    None => ok = false,
                }
            }
            if ok {
                // -L as a link argument of the binaries only: test harnesses
                // and other targets keep the normal dynamic libraries.
                println!("cargo:rustc-link-arg-bins=-L{}", dir.display());
                println!("cargo:rustc-link-arg-bins=-static-pie");
            } else {
                println!("cargo:warning=could not copy libgcc_eh.a; kiltx-tracer will be dynamic");
            }
        }
        None => println!("cargo:warning=libgcc_eh.a not found; kiltx-tracer will be dynamic"),
    }
}

/// The file the C compiler would link for `name` (`cc -print-file-name=NAME`),
/// if it answers with an absolute path that exists.
fn find_file(cc: &str, name: &str) -> Option<PathBuf> {
    Command::new(cc)
        .arg(format!("-print-file-name={name}"))
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| PathBuf::from(s.trim()))
        .filter(|p| p.is_absolute() && p.exists())
}
