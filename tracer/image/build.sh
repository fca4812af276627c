#!/usr/bin/env bash
# Build the kiltx-tracer sidecar image without a container engine, as an OCI image layout.
#
#   tracer/image/build.sh [--binary PATH] [--layout DIR] [--push REF [--insecure]]
#
# The image holds one file, the static tracer at /kiltx/bin/kiltx-tracer; /kiltx is a declared
# VOLUME (task definitions mount it with volumesFrom) and the entrypoint runs the collector:
#   kiltx-tracer collect --listen unix:/kiltx/run/events.sock --rules default
# Its name is kiltx/kiltx-tracer:VERSION (VERSION from `kiltx-tracer --version`), which is the
# image kiltx's built-in definition injects. tracer/image/Containerfile builds the same image
# with a container engine.
#
#   --binary PATH   the tracer to package (default: cargo build --release -p kiltx-tracer)
#   --layout DIR    where to write the OCI layout (default: target/kiltx-tracer-image)
#   --push REF      then copy it to a registry with skopeo, e.g.
#                   123456789012.dkr.ecr.eu-west-1.amazonaws.com/kiltx/kiltx-tracer:0.1.0
#   --insecure      push over plain HTTP / without TLS verification (local registries)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

die() { echo "tracer/image/build.sh: error: $*" >&2; exit 2; }

binary="" layout="$root/target/kiltx-tracer-image" push="" tls=true
while (($#)); do
    case $1 in
        --binary) binary=${2:?--binary needs a PATH}; shift 2 ;;
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
[[ -f $binary && -x $binary ]] || die "--binary $binary: not an executable file"
# The tracer runs inside every application image, whatever its libc: it must be static.
if LC_ALL=C readelf -lW "$binary" 2>/dev/null | grep -q 'program interpreter'; then
    die "$binary is dynamically linked; build it with cargo build --release -p kiltx-tracer (static-pie)"
fi
version=$("$binary" --version | awk '{print $2}')
[[ $version =~ ^[0-9A-Za-z._-]+$ ]] || die "cannot read the version of $binary (got '$version')"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
install -D -m 0755 "$binary" "$stage/kiltx/bin/kiltx-tracer"

python3 "$here/oci-image.py" --rootfs "$stage" --layout "$layout" --tag "$version" \
    --entrypoint '["/kiltx/bin/kiltx-tracer","collect","--listen","unix:/kiltx/run/events.sock","--rules","default"]' \
    --volume /kiltx \
    --label "org.opencontainers.image.title=kiltx-tracer" \
    --label "org.opencontainers.image.version=$version" \
    --label "org.opencontainers.image.description=kiltx tracer sidecar: /kiltx/bin/kiltx-tracer and its collector" \
    >/dev/null
echo "built oci:$layout:$version (kiltx/kiltx-tracer:$version)"

if [[ -n $push ]]; then
    command -v skopeo >/dev/null || die "--push needs skopeo (apt-get install skopeo)"
    skopeo copy --quiet --dest-tls-verify="$tls" "oci:$layout:$version" "docker://$push"
    echo "pushed $push"
fi
