#!/usr/bin/env bash
# cargo for aarch64-unknown-linux-gnu, static, with Debian's toolchain (installed and cached by
# tests/aarch64/setup.sh --toolchain-only, which this runs first):
#
#   tests/aarch64/cargo.sh build --release -p kiltx-tracer
#   -> target/aarch64-cross/aarch64-unknown-linux-gnu/release/kiltx-tracer
#
# Debian's cargo and rustc (rustc-web) are called by their full paths: rustup's come first in
# PATH and cannot use Debian's aarch64 standard library (E0514). The build has a target
# directory of its own, so that the two compilers never share one.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cache=$(bash "$root/tests/aarch64/setup.sh" --toolchain-only)
cd "$root"
RUSTC=/usr/bin/rustc exec /usr/bin/cargo "$@" --target aarch64-unknown-linux-gnu \
    --target-dir "$root/target/aarch64-cross" --config "$cache/cargo-config.toml"
