#!/usr/bin/env bash
# The test command: installs what the tests need (idempotently, on a fresh Debian machine with
# the Rust toolchain) and runs every test, then the format and lint checks.
set -euo pipefail
cd "$(dirname "$0")/.."

# docker-registry, apache2-utils (htpasswd), openssl: the registry tests' servers and keys.
# podman, runc, catatonit (the pods' infra), iptables (pod networking), skopeo (pushes OCI
# layouts), busybox-static (the demo application's rootfs), python3 and binutils (readelf) for
# tracer/image/build.sh: the end-to-end tests (tests/e2e).
apt_packages=(strace gcc libc6-dev util-linux nodejs docker-registry apache2-utils openssl
    podman runc catatonit iptables skopeo busybox-static python3 binutils)
missing=()
for p in "${apt_packages[@]}"; do
    [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "tests/run.sh: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# aarch64: the cross toolchain (Debian's rustc-web/cargo-web with their arm64 standard library,
# gcc-aarch64-linux-gnu), qemu-system-arm 10 from bookworm-backports, and the arm64 guest
# (Debian's cloud-arm64 kernel, busybox-static, strace), cached in /var/cache/kiltx-aarch64:
# the tracer's aarch64 tests (tracer/tests/aarch64.rs) and the sidecar image's arm64 half.
bash tests/aarch64/setup.sh >/dev/null

# Validators: cfn-lint (CloudFormation), botocore (ECS API shapes), checkov (the macro's stack);
# moto's server (the ECR API for the registry tests). One pip run, so that pip resolves their
# shared dependencies (botocore) together.
if ! python3 -c 'import cfnlint, botocore, checkov, moto.server' >/dev/null 2>&1 \
    || ! command -v cfn-lint >/dev/null || ! command -v checkov >/dev/null || ! command -v moto_server >/dev/null; then
    echo "tests/run.sh: installing cfn-lint, botocore, checkov, moto[server]"
    python3 -m pip install -q --root-user-action=ignore 'cfn-lint>=1,<2' 'botocore>=1.34' 'checkov>=3,<4' 'moto[server]>=5,<6'
fi

# The SARIF 2.1.0 JSON schema, for `kiltx lint --format sarif` (cli/tests/lint_cli.rs): shipped
# by the npm package @microsoft/jest-sarif (MIT); validated with python3's jsonschema.
sarif_dir=target/sarif-schema
if [[ ! -f $sarif_dir/package/lib/schemas/sarif-2.1.0-rtm.5.json ]]; then
    command -v npm >/dev/null || {
        echo "tests/run.sh: installing npm"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm
    }
    echo "tests/run.sh: fetching the SARIF 2.1.0 schema (npm package @microsoft/jest-sarif)"
    mkdir -p "$sarif_dir"
    (cd "$sarif_dir" && npm pack --silent @microsoft/jest-sarif@1.0.0-beta.0 >/dev/null \
        && tar xzf microsoft-jest-sarif-1.0.0-beta.0.tgz package/lib/schemas package/package.json)
fi
python3 -c 'import jsonschema' 2>/dev/null || python3 -m pip install -q --root-user-action=ignore 'jsonschema>=4'

# pre-commit, to run the repository's .pre-commit-hooks.yaml for real (cli/tests/lint_cli.rs);
# in a virtual environment of its own, so that its dependencies touch nothing else.
if [[ ! -x target/pre-commit-venv/bin/pre-commit ]]; then
    echo "tests/run.sh: installing pre-commit (in target/pre-commit-venv)"
    python3 -m venv target/pre-commit-venv
    target/pre-commit-venv/bin/pip install -q 'pre-commit>=3,<5'
fi

# Every step runs, whatever failed before it, so that one failure does not hide another; the
# command exits non-zero if any step failed, naming them. The tests start every program they
# run from a fixed environment (tests/support/src/hermetic.rs), not from this shell's.
failed=()
step() {
    echo "tests/run.sh: $*"
    "$@" || failed+=("$*")
}
# Every crate of the lock file, for every platform: the aarch64 builds inside the tests run
# --offline (tests contact nothing but 127.0.0.1) and may need crates the x86_64 build does not.
step cargo fetch --locked
step cargo build --workspace --all-targets --locked
step cargo test --workspace --locked --no-fail-fast
# Every input the fuzzer ever broke, replayed (fuzz/ is a workspace of its own).
step cargo test --manifest-path fuzz/Cargo.toml --locked --no-fail-fast
step cargo fmt --all -- --check
step cargo clippy --workspace --all-targets --locked -- -D warnings
# The same lints over the code only aarch64 compiles (tracer/src/arch/aarch64.rs and what cfg
# selects with it), with Debian's clippy for the cross toolchain.
step bash tests/aarch64/cargo.sh clippy --locked --offline -p kiltx-tracer --lib --bins -- -D warnings
if ((${#failed[@]})); then
    printf 'tests/run.sh: FAILED: %s\n' "${failed[@]}" >&2
    exit 1
fi
echo "tests/run.sh: every step passed"
