#!/usr/bin/env bash
# cargo for aarch64-unknown-linux-gnu, static, with Debian's toolchain (installed and cached by
# tests/aarch64/setup.sh --toolchain-only, which this runs first):
#
#   tests/aarch64/cargo.sh build --release -p kiltx-tracer
#   -> target/aarch64-cross/aarch64-unknown-linux-gnu/release/kiltx-tracer
#   tests/aarch64/cargo.sh clippy -p kiltx-tracer -- -D warnings   (Debian's rust-web-clippy)
#
# Debian's cargo and rustc (rustc-web) are called by their full paths, and /usr/bin goes first
# in PATH for cargo's subcommands (cargo-clippy): rustup's come first otherwise and cannot use
# Debian's aarch64 standard library (E0514). The build has a target directory of its own, so
# that the two compilers never share one.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cache=$(bash "$root/tests/aarch64/setup.sh" --toolchain-only)
cd "$root"
# The subcommand first, then this script's options, then the caller's: arguments after a `--`
# (clippy's lints, a test binary's filters) stay last.
sub=${1:?usage: tests/aarch64/cargo.sh SUBCOMMAND [ARGS...]}
shift
PATH=/usr/bin:$PATH RUSTC=/usr/bin/rustc exec /usr/bin/cargo "$sub" --target aarch64-unknown-linux-gnu \
    --target-dir "$root/target/aarch64-cross" --config "$cache/cargo-config.toml" "$@"
