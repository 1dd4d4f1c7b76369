#!/bin/sh
# run.sh BUILD_DIR SECONDS - fuzzes each target for SECONDS (used by `make fuzz`).
# Each target starts from its seeds and grows a corpus under BUILD_DIR, which persists from
# one run to the next. Prints per target the executions and the final coverage; an input
# that crashed, leaked or hung is copied into tests/fuzz/regressions/<target>/ (where ctest
# replays it from then on) and the script exits non-zero.
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 BUILD_DIR SECONDS" >&2
    exit 2
fi
build=$1
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
corpus=$here/../conformance/corpus
status=0
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

fuzz() { # fuzz TARGET DICT SEED_DIR...
    target=$1 dict=$2
    shift 2
    bin=$build/bin/$target
    work=$build/fuzz/$target
    if [ ! -x "$bin" ]; then
        echo "$target: $bin not found (configure with CC=clang -DDDB_FUZZ=ON and build)" >&2
        status=1
        return
    fi
    mkdir -p "$work/corpus" "$work/artifacts"
    rm -f "$work"/artifacts/* # what an earlier run found is already kept
    for seeds in "$@"; do cp -p "$seeds"/* "$work/corpus/"; done
    echo "== $target: fuzzing for $seconds s (log: $work/fuzz.log)"
    "$bin" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 -dict="$here/$dict" \
        -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/fuzz.log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -n 1)
    last=$(grep -E '^#[0-9]+' "$work/fuzz.log" | tail -n 1)
    cov=$(printf '%s\n' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(printf '%s\n' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    units=$(ls "$work/corpus" | wc -l)
    echo "$target: ${execs:-?} executions, cov: ${cov:-?} ft: ${ft:-?}, corpus: $units inputs"
    found=0
    for f in "$work"/artifacts/crash-* "$work"/artifacts/leak-* "$work"/artifacts/timeout-* \
             "$work"/artifacts/oom-*; do
        [ -e "$f" ] || continue
        mkdir -p "$here/regressions/$target"
        cp "$f" "$here/regressions/$target/"
        echo "$target: FOUND $(basename "$f"), kept as tests/fuzz/regressions/$target/$(basename "$f")"
        found=1
    done
    if [ "$found" = 1 ] || [ "$rc" -ne 0 ]; then
        echo "$target: failed (exit $rc); the report is in $work/fuzz.log:" >&2
        grep -E 'ERROR|runtime error|broken promise|SUMMARY|#[0-9]+ +0x' "$work/fuzz.log" | head -n 20 >&2
        status=1
    fi
}

fuzz fuzz_event event.dict "$corpus/events" "$corpus/malformed" "$corpus/related" "$here/seeds/event"
fuzz fuzz_manifest manifest.dict "$here/seeds/manifest"
fuzz fuzz_sample sample.dict "$here/seeds/sample"
fuzz fuzz_dynsym dynsym.dict "$here/seeds/dynsym"
fuzz fuzz_http http.dict "$here/seeds/http"
fuzz fuzz_text text.dict "$here/seeds/text"
exit $status
