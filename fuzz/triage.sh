#!/usr/bin/env bash
# Group the crash inputs under fuzz/artifacts/parse_patch/ by panic message.
# Prints one line per input: KIND<TAB>FILE, where KIND is the panic location and the first
# line of its message with digits and quoted text masked.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin="$here/target/x86_64-unknown-linux-gnu/release/parse_patch"
if [ $# -eq 0 ]; then set -- "$here"/artifacts/parse_patch/crash-*; fi
for f in "$@"; do
    [ -f "$f" ] || continue
    kind=$(RUST_BACKTRACE=0 timeout 20 "$bin" -runs=1 "$f" 2>&1 \
        | awk '/panicked at/{loc=$NF; getline; print loc" "$0; exit} /deadly signal|stack overflow|timeout/{print $0; exit}' \
        | sed -E 's/[0-9]+/N/g; s/"[^"]*"/"…"/g' | cut -c1-160)
    printf '%s\t%s\n' "${kind:-no crash}" "$(basename "$f")"
done
