#!/usr/bin/env bash
# Installs and caches, idempotently, what building for and running on aarch64 needs on this
# x86_64 Debian bookworm machine (tests/run.sh calls it; so may anyone):
#
# - the cross toolchain: Debian's rustc-web/cargo-web/rust-web-clippy (bookworm-security) and the aarch64
#   standard library of exactly the same version (libstd-rust-web-dev:arm64, downloaded and
#   unpacked, not installed), gcc-aarch64-linux-gnu and libc6-dev-arm64-cross (static glibc);
# - the emulators: qemu-system-arm and qemu-user from bookworm-backports (bookworm's own 7.2
#   conflicts with the qemu-utils 10 that this machine image ships);
# - the guest: Debian's cloud-arm64 kernel (the version the linux-image-cloud-arm64 metapackage
#   names), busybox-static:arm64, strace:arm64 and the libc6:arm64 it needs, unpacked into the
#   cache.
#
# The arm64 packages come through an apt configuration of the cache's own (APT::Architecture
# arm64, its own lists), so the machine's dpkg gets no foreign architecture.
#
# Cache: $KILTX_AARCH64_CACHE (default /var/cache/kiltx-aarch64). Prints nothing but progress on
# stderr; the last line on stdout is the cache directory. With --toolchain-only, only what
# building needs (tests/aarch64/cargo.sh, tracer/image/build.sh): no qemu, no guest.
set -euo pipefail
toolchain_only=false
case ${1:-} in
    --toolchain-only) toolchain_only=true ;;
    "") ;;
    *) echo "tests/aarch64/setup.sh: unknown argument '$1' (usage: setup.sh [--toolchain-only])" >&2; exit 2 ;;
esac

cache=${KILTX_AARCH64_CACHE:-/var/cache/kiltx-aarch64}
mkdir -p "$cache"
log() { echo "tests/aarch64/setup.sh: $*" >&2; }
# One run at a time: tests run it concurrently (tracer/image/build.sh from two e2e tests), and
# the arm64 apt configuration works without apt's own locks (Debug::NoLocking), so two updates
# of its lists at once corrupted its package cache ("The package cache file is corrupted").
exec 9>"$cache/.lock"
flock 9

# --- host packages -------------------------------------------------------------------------
installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }

backports=/etc/apt/sources.list.d/kiltx-bookworm-backports.sources
if [[ ! -f $backports ]] && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    log "adding bookworm-backports (for qemu-system-arm 10)"
    cat >"$backports" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    apt-get update -qq
fi

# rust-web-clippy: clippy for the aarch64-only code (tests/run.sh).
# binutils-arm-linux-gnueabihf: the assembler for the AArch32 test program (tests/progs/arm32.S).
host_pkgs=(rustc-web cargo-web rust-web-clippy gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-arm-linux-gnueabihf)
missing=()
for p in "${host_pkgs[@]}"; do installed "$p" || missing+=("$p"); done
if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2 \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2; }
fi
# The emulators (tests only), from backports: qemu-system-arm (its qemu-system-common must match
# qemu-utils 10) for the tracer's tests, qemu-user (qemu-aarch64, no binfmt registration) for
# kiltx's and the macro's.
for p in qemu-system-arm qemu-user; do
    if ! $toolchain_only && { ! installed $p || [[ $(dpkg-query -W -f='${Version}' $p) != 1:10* ]]; }; then
        log "installing $p from bookworm-backports"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            -t bookworm-backports $p >&2 \
            || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                --no-install-recommends -t bookworm-backports $p >&2; }
    fi
done

# --- arm64 packages through the cache's own apt configuration -------------------------------
apt_dir=$cache/apt
mkdir -p "$apt_dir"/lists/partial "$apt_dir"/archives/partial "$apt_dir"/debs
cat >"$apt_dir/sources.list" <<'SRC'
deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main
SRC
apt_arm64=(apt-get -q -o APT::Sandbox::User=root -o APT::Architecture=arm64 -o APT::Architectures::=arm64
    -o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent
    -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache"
    -o Dir::State::status=/dev/null -o Debug::NoLocking=1)
mkdir -p "$apt_dir/cache/archives/partial"
arm64_update() {
    log "updating the arm64 package lists (in $apt_dir)"
    "${apt_arm64[@]}" update >&2
}
arm64_version() { # the candidate version of an arm64 package, or nothing
    "${apt_arm64[@]/apt-get/apt-cache}" policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}'
}
# arm64_candidate PKG: its candidate version, updating the lists once if they do not name it
# (lists that are missing, stale or being rewritten); an error if it stays unknown.
arm64_candidate() {
    local v
    v=$(arm64_version "$1")
    if [[ -z $v ]]; then
        arm64_update
        v=$(arm64_version "$1")
    fi
    [[ -n $v ]] || { log "no arm64 package $1 in $apt_dir/sources.list's archives"; exit 1; }
    echo "$v"
}
# arm64_fetch PKG VERSION DIR: download and unpack PKG=VERSION into DIR (once; a stamp says so)
arm64_fetch() {
    local pkg=$1 ver=$2 dir=$3
    [[ -n $ver ]] || { log "arm64_fetch $pkg: no version"; exit 1; }
    [[ -f $dir/.unpacked && $(cat "$dir/.unpacked") == "$pkg=$ver" ]] && return 0
    rm -rf "$dir"
    mkdir -p "$dir"
    log "downloading $pkg=$ver (arm64)"
    (cd "$apt_dir/debs" && rm -f "${pkg}"_*.deb && "${apt_arm64[@]}" download "$pkg=$ver" >&2)
    dpkg -x "$apt_dir/debs/${pkg}_"*.deb "$dir"
    rm -f "$apt_dir/debs/${pkg}_"*.deb
    echo "$pkg=$ver" >"$dir/.unpacked"
}

rust_ver=$(dpkg-query -W -f='${Version}' rustc-web)
[[ -n $(arm64_version libstd-rust-web-dev) ]] || arm64_update
if [[ $(arm64_version libstd-rust-web-dev) != "$rust_ver" ]]; then
    arm64_update
    if [[ $(arm64_version libstd-rust-web-dev) != "$rust_ver" ]]; then
        # The archive moved to a newer rustc-web: follow it on the host too.
        log "upgrading rustc-web/cargo-web to follow the archive"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rustc-web cargo-web rust-web-clippy >&2
        rust_ver=$(dpkg-query -W -f='${Version}' rustc-web)
    fi
fi
arm64_fetch libstd-rust-web-dev "$rust_ver" "$cache/std"

# The cargo configuration for the aarch64 target: static glibc, Debian's arm64 std as sysroot.
cat >"$cache/cargo-config.toml.tmp" <<CFG
[target.aarch64-unknown-linux-gnu]
linker = "aarch64-linux-gnu-gcc"
rustflags = ["--sysroot=$cache/std/usr", "-C", "target-feature=+crt-static"]
CFG
mv "$cache/cargo-config.toml.tmp" "$cache/cargo-config.toml"
if $toolchain_only; then
    echo "$cache"
    exit 0
fi

kernel_meta=$(arm64_version linux-image-cloud-arm64)
[[ -n $kernel_meta ]] || { arm64_update; kernel_meta=$(arm64_version linux-image-cloud-arm64); }
# The metapackage depends on exactly one linux-image-<abi>-cloud-arm64 package.
kernel_pkg=$("${apt_arm64[@]/apt-get/apt-cache}" depends linux-image-cloud-arm64 2>/dev/null \
    | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[[ -n $kernel_pkg ]] || { log "cannot resolve linux-image-cloud-arm64's kernel"; exit 1; }
kernel_ver=$(arm64_candidate "$kernel_pkg")
arm64_fetch "$kernel_pkg" "$kernel_ver" "$cache/kernel"
arm64_fetch busybox-static "$(arm64_candidate busybox-static)" "$cache/busybox"
# strace in the guest (the ground truth), with the C library it is linked with.
arm64_fetch strace "$(arm64_candidate strace)" "$cache/strace"
arm64_fetch libc6 "$(arm64_candidate libc6)" "$cache/libc6"
rm -rf "$cache/libc6/usr" # strace needs only the loader and libc.so.6

# Keep only what is used: the kernel image (vmlinuz) and its config, not the modules.
rm -rf "$cache/kernel/lib" "$cache/kernel/usr/lib/linux-image-"* 2>/dev/null || true
ln -sfn "$(cd "$cache/kernel/boot" && ls vmlinuz-* | head -n1)" "$cache/kernel/boot/vmlinuz"
echo "$cache"
