#!/usr/bin/env bash
# Build the macro's Lambda package: a static `bootstrap` (glibc, crt-static, so that it runs on
# provided.al2023 whatever glibc built it) zipped as dist/kiltx-lambda-ARCH.zip.
#
#   bash lambda/package.sh            # x86_64
#   bash lambda/package.sh arm64      # Graviton: cross-built with Debian's toolchain by
#                                     # tests/aarch64/cargo.sh (which installs it first)
#
# templates/macro.yaml's Architecture parameter must name the same architecture.
set -euo pipefail
cd "$(dirname "$0")/.."
arch="${1:-x86_64}"
case "$arch" in
    x86_64)
        # With --target, RUSTFLAGS reach only the target's crates, not build scripts or proc macros.
        RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked -p kiltx-lambda \
            --target x86_64-unknown-linux-gnu
        bin="target/x86_64-unknown-linux-gnu/release/bootstrap" ;;
    arm64)
        bash tests/aarch64/cargo.sh build --release --locked -p kiltx-lambda
        bin="target/aarch64-cross/aarch64-unknown-linux-gnu/release/bootstrap" ;;
    *) echo "usage: $0 [x86_64|arm64]" >&2; exit 2 ;;
esac
mkdir -p dist
out="dist/kiltx-lambda-$arch.zip"
python3 - "$bin" "$out" <<'PY'
import sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
    info = zipfile.ZipInfo("bootstrap")
    info.external_attr = 0o755 << 16  # executable
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(src, "rb") as f:
        z.writestr(info, f.read())
PY
echo "$out ($(du -h "$out" | cut -f1)): upload it and deploy templates/macro.yaml with CodeBucket/CodeKey and Architecture=$arch"
