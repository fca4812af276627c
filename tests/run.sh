#!/usr/bin/env bash
# The test command: installs what the tests need (idempotently, on a fresh Debian machine with
# the Rust toolchain) and runs every test, then the format and lint checks.
set -euo pipefail
cd "$(dirname "$0")/.."

# docker-registry, apache2-utils (htpasswd), openssl: the registry tests' servers and keys.
apt_packages=(strace gcc docker-registry apache2-utils openssl)
missing=()
for p in "${apt_packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "tests/run.sh: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# Validators for the outputs: cfn-lint (CloudFormation) and botocore (ECS API shapes).
if ! python3 -c 'import cfnlint, botocore' >/dev/null 2>&1 || ! command -v cfn-lint >/dev/null; then
    echo "tests/run.sh: installing cfn-lint and botocore"
    python3 -m pip install -q --root-user-action=ignore 'cfn-lint>=1,<2' 'botocore>=1.34'
fi

# moto's server: the ECR API for the registry tests.
if ! command -v moto_server >/dev/null || ! python3 -c 'import moto.server' >/dev/null 2>&1; then
    echo "tests/run.sh: installing moto[server]"
    python3 -m pip install -q --root-user-action=ignore 'moto[server]>=5,<6'
fi

cargo build --workspace --all-targets --locked
cargo test --workspace --locked
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
