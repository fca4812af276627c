#!/usr/bin/env bash
# Build the kiltx-tracer sidecar image without a container engine, as an OCI image layout: a
# multi-platform image (an OCI image index) for linux/amd64 and linux/arm64 (Graviton).
#
#   tracer/image/build.sh [--binary PATH] [--binary-arm64 PATH] [--layout DIR]
#                         [--push REF [--insecure]]
#
# Each platform's image holds one file, the static tracer of its architecture at
# /kiltx/bin/kiltx-tracer; /kiltx is a declared VOLUME (task definitions mount it with
# volumesFrom) and the entrypoint runs the collector:
#   kiltx-tracer collect --listen unix:/kiltx/run/events.sock --rules default
# The index is named kiltx/kiltx-tracer:VERSION (VERSION from `kiltx-tracer --version`), which
# is the image kiltx's built-in definition injects; the layout also names each platform's
# image VERSION-amd64 and VERSION-arm64. The same inputs give the same digests
# (SOURCE_DATE_EPOCH, default 0, is every file's mtime). tracer/image/Containerfile builds the
# same per-platform images with a container engine.
#
#   --binary PATH        the x86_64 tracer (default: cargo build --release -p kiltx-tracer)
#   --binary-arm64 PATH  the aarch64 tracer (default: tests/aarch64/cargo.sh build --release
#                        -p kiltx-tracer, which installs Debian's cross toolchain first)
#   --layout DIR         where to write the OCI layout (default: target/kiltx-tracer-image)
#   --push REF           then copy the index and both images to a registry with skopeo, e.g.
#                        123456789012.dkr.ecr.eu-west-1.amazonaws.com/kiltx/kiltx-tracer:0.1.0
#   --insecure           push over plain HTTP / without TLS verification (local registries)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

die() { echo "tracer/image/build.sh: error: $*" >&2; exit 2; }

binary="" binary_arm64="" layout="$root/target/kiltx-tracer-image" push="" tls=true
while (($#)); do
    case $1 in
        --binary) binary=${2:?--binary needs a PATH}; shift 2 ;;
        --binary-arm64) binary_arm64=${2:?--binary-arm64 needs a PATH}; shift 2 ;;
        --layout) layout=${2:?--layout needs a DIR}; shift 2 ;;
        --push) push=${2:?--push needs an image reference}; shift 2 ;;
        --insecure) tls=false; shift ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done

if [[ -z $binary ]]; then
    (cd "$root" && cargo build --release --locked -p kiltx-tracer)
    binary="$root/target/release/kiltx-tracer"
fi
if [[ -z $binary_arm64 ]]; then
    bash "$root/tests/aarch64/cargo.sh" build --release --locked -p kiltx-tracer
    binary_arm64="$root/target/aarch64-cross/aarch64-unknown-linux-gnu/release/kiltx-tracer"
fi
# check BINARY OPTION MACHINE: an executable, static (the tracer runs inside every application
# image, whatever its libc), of the platform's architecture (readelf's Machine).
check() {
    [[ -f $1 && -x $1 ]] || die "$2 $1: not an executable file"
    local machine
    machine=$(LC_ALL=C readelf -hW "$1" 2>/dev/null | awk -F: '/Machine:/ {gsub(/^ +/, "", $2); print $2}')
    [[ $machine == "$3" ]] || die "$2 $1: built for '${machine:-not an ELF file}', expected '$3'"
    if LC_ALL=C readelf -lW "$1" 2>/dev/null | grep -q 'program interpreter'; then
        die "$2 $1 is dynamically linked; build it static (cargo build --release -p kiltx-tracer, tests/aarch64/cargo.sh)"
    fi
}
check "$binary" --binary "Advanced Micro Devices X86-64"
check "$binary_arm64" --binary-arm64 "AArch64"
version=$("$binary" --version | awk '{print $2}')
[[ $version =~ ^[0-9A-Za-z._-]+$ ]] || die "cannot read the version of $binary (got '$version')"
# The arm64 binary cannot run here: it must at least say the same version.
grep -aq "$version" "$binary_arm64" || die "--binary-arm64 $binary_arm64 is not version $version"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
for arch in amd64 arm64; do
    bin=$binary
    [[ $arch == arm64 ]] && bin=$binary_arm64
    install -D -m 0755 "$bin" "$stage/$arch/kiltx/bin/kiltx-tracer"
    python3 "$here/oci-image.py" --rootfs "$stage/$arch" --layout "$layout" --tag "$version-$arch" \
        --arch "$arch" \
        --entrypoint '["/kiltx/bin/kiltx-tracer","collect","--listen","unix:/kiltx/run/events.sock","--rules","default"]' \
        --volume /kiltx \
        --label "org.opencontainers.image.title=kiltx-tracer" \
        --label "org.opencontainers.image.version=$version" \
        --label "org.opencontainers.image.description=kiltx tracer sidecar: /kiltx/bin/kiltx-tracer and its collector" \
        >/dev/null
done
python3 "$here/oci-image.py" --layout "$layout" --tag "$version" \
    --index-of "$version-amd64,$version-arm64" >/dev/null
echo "built oci:$layout:$version (kiltx/kiltx-tracer:$version, linux/amd64 and linux/arm64)"

if [[ -n $push ]]; then
    command -v skopeo >/dev/null || die "--push needs skopeo (apt-get install skopeo)"
    skopeo copy --quiet --all --dest-tls-verify="$tls" "oci:$layout:$version" "docker://$push"
    echo "pushed $push"
fi
