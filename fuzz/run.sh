#!/usr/bin/env bash
# Build the parse_patch fuzz target with libFuzzer on the stable toolchain and run it.
#
#   fuzz/run.sh [SECONDS]          fuzz for SECONDS (default 600), then print stats
#   fuzz/run.sh --build            only build
#   fuzz/run.sh --replay FILE...   run the target once on each FILE (reproduce a crash)
#   fuzz/run.sh --minimize FILE    shrink a crashing input (writes fuzz/artifacts/parse_patch/minimized-*)
#
# Environment: FUZZ_JOBS (parallel workers, default 1), FUZZ_STOP_ON_CRASH (1: stop at the
# first crash; default: save it and keep going), FUZZ_MAX_LEN (default 16384),
# FUZZ_ARGS (extra libFuzzer flags), PEER (fixture root, default ../shared/peer).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
target=x86_64-unknown-linux-gnu
bin="$here/target/$target/release/parse_patch"
corpus="$here/corpus/parse_patch"
artifacts="$here/artifacts/parse_patch"
peer=${PEER:-$root/../shared/peer}

build() {
    # The same instrumentation cargo-fuzz asks rustc for, minus the sanitizer (which needs
    # nightly): SanitizerCoverage for libFuzzer's feedback, plus debug assertions and overflow
    # checks. Every flag here is accepted by stable rustc.
    local flags=(
        -Cpasses=sancov-module
        -Cllvm-args=-sanitizer-coverage-level=4
        -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
        -Cllvm-args=-sanitizer-coverage-pc-table
        -Cllvm-args=-sanitizer-coverage-trace-compares
        -Cllvm-args=-sanitizer-coverage-stack-depth
        --cfg fuzzing
        -Cdebug-assertions
        -Coverflow-checks
    )
    (cd "$here" && RUSTFLAGS="${flags[*]}" nice -n 19 cargo build --release \
        --target "$target" --bin parse_patch)
}

# Seed corpus: every fixture (peer JSON fixtures and fuzz/seeds/*) once per selector byte
# 0..4 (auto-detect, then each shape forced). Rebuilt on every run; files the fuzzer added are
# kept.
seed() {
    mkdir -p "$corpus" "$artifacts"
    local n=0 f sel base
    shopt -s nullglob globstar
    local files=("$here"/seeds/*)
    if [ -d "$peer" ]; then
        files+=("$peer"/agent-kilt/fixtures/**/*.json "$peer"/sysdig-terraform/testfiles/*.json)
    else
        echo "run.sh: $peer not found; seeding from fuzz/seeds only" >&2
    fi
    for f in "${files[@]}"; do
        base=${f#"$root/"}
        base=${base//\//_}
        base=${base//../up}
        for sel in 0 1 2 3 4; do
            { printf "\\x0$sel"; cat "$f"; } > "$corpus/seed-$sel-$base"
            n=$((n + 1))
        done
    done
    echo "run.sh: $n seed inputs in ${corpus#"$root/"}" >&2
}

case "${1:-}" in
    --build)
        build
        ;;
    --replay)
        shift
        build
        "$bin" -runs=1 "$@"
        ;;
    --minimize)
        shift
        build
        mkdir -p "$artifacts"
        "$bin" -minimize_crash=1 -max_total_time="${FUZZ_MIN_TIME:-60}" \
            -exact_artifact_path="$artifacts/minimized-$(basename "$1")" "$1"
        ;;
    *)
        secs=${1:-600}
        build
        seed
        # By default keep going after a crash (libFuzzer's fork mode: each crash is saved under
        # fuzz/artifacts/parse_patch/ and fuzzing continues); FUZZ_STOP_ON_CRASH=1 stops at
        # the first one instead.
        extra=()
        if [ "${FUZZ_STOP_ON_CRASH:-0}" != 1 ]; then
            extra=(-fork="${FUZZ_JOBS:-1}" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
        elif [ "${FUZZ_JOBS:-1}" -gt 1 ]; then
            extra=(-fork="$FUZZ_JOBS")
        fi
        # shellcheck disable=SC2086
        nice -n 19 "$bin" "$corpus" \
            -dict="$here/parse_patch.dict" \
            -artifact_prefix="$artifacts/" \
            -max_len="${FUZZ_MAX_LEN:-16384}" \
            -max_total_time="$secs" \
            -timeout=10 \
            -rss_limit_mb=2048 \
            -print_final_stats=1 \
            "${extra[@]}" ${FUZZ_ARGS:-}
        ;;
esac
