#!/usr/bin/env bash
# Build a fuzz target with libFuzzer on the stable toolchain and run it.
#
#   fuzz/run.sh [SECONDS]          fuzz for SECONDS (default 600), then print stats; exits 1 if
#                                  the run found anything (crash, timeout, out-of-memory)
#   fuzz/run.sh --build            only build (every target)
#   fuzz/run.sh --replay FILE...   run the target once on each FILE (reproduce a crash)
#   fuzz/run.sh --minimize FILE    shrink a crashing input (writes fuzz/artifacts/TARGET/minimized-*)
#
# Environment: FUZZ_TARGET (parse_patch (default), lint, hocon, rules, macro_request), FUZZ_JOBS
# (parallel workers, default 1), FUZZ_STOP_ON_CRASH (1: stop at the first finding; default:
# save it and keep going), FUZZ_RUNS (stop after this many executions), FUZZ_MAX_LEN (default
# 16384), FUZZ_TIMEOUT (seconds one input may take, default 5), FUZZ_RSS_MB (memory limit,
# default 1024), FUZZ_ARGS (extra libFuzzer flags), PEER (fixture root, default ../shared/peer).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
target=x86_64-unknown-linux-gnu
name=${FUZZ_TARGET:-parse_patch}
case "$name" in
    parse_patch | lint | hocon | rules | macro_request) ;;
    *)
        echo "run.sh: FUZZ_TARGET=$name: expected parse_patch, lint, hocon, rules or macro_request" >&2
        exit 2
        ;;
esac
bin="$here/target/$target/release/$name"
corpus="$here/corpus/$name"
artifacts="$here/artifacts/$name"
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
    # The Lambda crate (and the AWS SDK under it) only for the target that needs it.
    local features=(--no-default-features)
    [ "${1:-$name}" = macro_request ] || [ "${1:-}" = all ] && features=()
    (cd "$here" && RUSTFLAGS="${flags[*]}" nice -n 19 cargo build --release \
        --target "$target" --bins "${features[@]}")
}

# Seed corpus, rebuilt on every run (files the fuzzer added are kept):
# - parse_patch, lint: every document fixture (peer JSON fixtures and fuzz/seeds/*) once per
#   selector byte 0..4 (auto-detect, then each shape forced);
# - hocon: the Kilt recipes (peer recipes/**/*.kilt.cfg, cli/tests/fixtures/kilt);
# - rules: kiltx's default rules (rules/default) and Falco's (peer falco/rules);
# - macro_request: each document fixture that is JSON, as the fragment of a macro event, once
#   per configuration selector 0..3.
seed() {
    mkdir -p "$corpus" "$artifacts"
    local n=0 f sel base
    shopt -s nullglob globstar
    local files=()
    if [ "$name" = hocon ]; then
        files=("$root"/cli/tests/fixtures/kilt/*.cfg)
        [ -d "$peer" ] && files+=("$peer"/**/*.kilt.cfg)
    elif [ "$name" = rules ]; then
        files=("$root"/rules/default/*.yaml)
        [ -d "$peer" ] && files+=("$peer"/falco/rules/*.yaml)
    else
        files=("$here"/seeds/*)
        [ -d "$peer" ] && files+=("$peer"/agent-kilt/fixtures/**/*.json "$peer"/sysdig-terraform/testfiles/*.json)
    fi
    [ -d "$peer" ] || echo "run.sh: $peer not found; seeding from the repository only" >&2
    for f in "${files[@]}"; do
        base=${f#"$root/"}
        base=${base//\//_}
        base=${base//../up}
        case "$name" in
            hocon | rules)
                cp "$f" "$corpus/seed-$base"
                n=$((n + 1))
                ;;
            macro_request)
                case "$f" in *.json) ;; *) continue ;; esac
                for sel in 0 1 2 3; do
                    { printf "\\x0$sel"; printf '{"requestId":"r-1","region":"us-east-1","transformId":"Kiltx","params":{},"templateParameterValues":{},"fragment":'; cat "$f"; printf '}'; } > "$corpus/seed-$sel-$base"
                    n=$((n + 1))
                done
                ;;
            *)
                for sel in 0 1 2 3 4; do
                    { printf "\\x0$sel"; cat "$f"; } > "$corpus/seed-$sel-$base"
                    n=$((n + 1))
                done
                ;;
        esac
    done
    echo "run.sh: $n seed inputs in ${corpus#"$root/"}" >&2
}

# What a run found: every crash, timeout, out-of-memory and leak it saved. Any finding makes
# the run fail (exit 1): a timeout or an out-of-memory is a bug like a crash.
report() {
    local stamp=$1 found=()
    shopt -s nullglob
    local f
    for f in "$artifacts"/crash-* "$artifacts"/timeout-* "$artifacts"/oom-* "$artifacts"/leak-* "$artifacts"/slow-unit-*; do
        [ "$f" -nt "$stamp" ] && found+=("$f")
    done
    rm -f "$stamp"
    if [ "${#found[@]}" -gt 0 ]; then
        echo "run.sh: FAILED: $name: ${#found[@]} finding(s) (crash-/timeout-/oom-/leak-/slow-unit-):" >&2
        printf '  %s\n' "${found[@]#"$root/"}" >&2
        echo "run.sh: replay one with FUZZ_TARGET=$name fuzz/run.sh --replay FILE; keep it as fuzz/regressions/$name/NAME" >&2
        return 1
    fi
    echo "run.sh: $name: no crash, timeout or out-of-memory" >&2
}

case "${1:-}" in
    --build)
        build all
        ;;
    --replay)
        shift
        build
        "$bin" -runs=1 -timeout="${FUZZ_TIMEOUT:-5}" -rss_limit_mb="${FUZZ_RSS_MB:-1024}" "$@"
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
        # By default keep going after a finding (libFuzzer's fork mode: each crash, timeout
        # and out-of-memory is saved under fuzz/artifacts/TARGET/ and fuzzing continues; the
        # run still fails at the end, see report); FUZZ_STOP_ON_CRASH=1 stops at the first.
        extra=()
        if [ "${FUZZ_STOP_ON_CRASH:-0}" != 1 ]; then
            extra=(-fork="${FUZZ_JOBS:-1}" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
        elif [ "${FUZZ_JOBS:-1}" -gt 1 ]; then
            extra=(-fork="$FUZZ_JOBS")
        fi
        [ -n "${FUZZ_RUNS:-}" ] && extra+=(-runs="$FUZZ_RUNS")
        dict=()
        [ -f "$here/$name.dict" ] && dict=(-dict="$here/$name.dict")
        [ "$name" = lint ] && dict=(-dict="$here/parse_patch.dict")
        stamp=$(mktemp)
        status=0
        # shellcheck disable=SC2086
        nice -n 19 "$bin" "$corpus" \
            "${dict[@]}" \
            -artifact_prefix="$artifacts/" \
            -max_len="${FUZZ_MAX_LEN:-16384}" \
            -max_total_time="$secs" \
            -timeout="${FUZZ_TIMEOUT:-5}" \
            -rss_limit_mb="${FUZZ_RSS_MB:-1024}" \
            -print_final_stats=1 \
            "${extra[@]}" ${FUZZ_ARGS:-} || status=$?
        report "$stamp" || exit 1
        exit "$status"
        ;;
esac
