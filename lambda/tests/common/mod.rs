//! Helpers shared by the tests that run the real `bootstrap` binary.

use std::process::{Child, Stdio};

use kiltx_bench::runtime_api::RuntimeApi;

/// A running `bootstrap`, killed when dropped.
pub struct Bootstrap(pub Child);
impl Drop for Bootstrap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `bootstrap` against `api` with a Lambda environment and nothing else but `extra_env`.
pub fn bootstrap(api: &RuntimeApi, extra_env: &[(&str, &str)]) -> Bootstrap {
    // nothing inherited but the fixed PATH, locale and HOME (kiltx_testsupport::hermetic)
    let cmd = kiltx_testsupport::hermetic::command(env!("CARGO_BIN_EXE_bootstrap"));
    bootstrap_with(cmd, api, extra_env)
}

/// Start `cmd` (a `bootstrap`, e.g. the aarch64 one under qemu-aarch64) as [`bootstrap`] does.
pub fn bootstrap_with(
    mut cmd: std::process::Command,
    api: &RuntimeApi,
    extra_env: &[(&str, &str)],
) -> Bootstrap {
    cmd.env("AWS_LAMBDA_RUNTIME_API", &api.addr)
        .env("AWS_LAMBDA_FUNCTION_NAME", "kiltx")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    Bootstrap(cmd.spawn().expect("start bootstrap"))
}
