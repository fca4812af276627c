#!/usr/bin/env bash
# The test command: installs what the tests need (idempotently, on a fresh Debian machine with
# the Rust toolchain) and runs every test, then the format and lint checks.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(strace gcc)
missing=()
for p in "${apt_packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "tests/run.sh: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# Validators: cfn-lint (CloudFormation), botocore (ECS API shapes), checkov (the macro's stack).
# One pip run, so that pip resolves their shared dependencies together.
if ! python3 -c 'import cfnlint, botocore, checkov' >/dev/null 2>&1 || ! command -v cfn-lint >/dev/null || ! command -v checkov >/dev/null; then
    echo "tests/run.sh: installing cfn-lint, botocore, checkov"
    python3 -m pip install -q --root-user-action=ignore 'cfn-lint>=1,<2' 'botocore>=1.34' 'checkov>=3,<4'
fi

cargo build --workspace --all-targets --locked
cargo test --workspace --locked
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
