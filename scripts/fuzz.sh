#!/usr/bin/env bash
# Runs every cargo-fuzz target under fuzz/ for SECONDS each (default 60)
# on the nightly toolchain and prints, per target, the runs and the corpus;
# exits non-zero if any target crashes or breaks its property.
#
#   scripts/fuzz.sh [SECONDS]
#
# New inputs go to fuzz/work/TARGET (ignored by git); the committed seeds
# in fuzz/corpus/TARGET are only read. A crash is saved under
# fuzz/artifacts/TARGET/; reproduce it with
#   cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz: no nightly toolchain, targets skipped"
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --quiet
fi
status=0
for t in $(cargo +nightly fuzz list); do
    # Run by name only: its reports are rule gaps still being worked
    # through, not yet a property that holds (fuzz/README.md).
    if [ "$t" = structure_covers_text ] && [ -z "${FUZZ_ALL:-}" ]; then
        echo "fuzz $t: not in the smoke run (fuzz/README.md); FUZZ_ALL=1 runs it"
        continue
    fi
    mkdir -p "fuzz/work/$t" "fuzz/corpus/$t"
    # The tokens of the format the target reads (fuzz/dict/).
    dict=()
    case "$t" in
        scan_text | stream_equals_whole) dict=(-dict=fuzz/dict/text.dict) ;;
        json) dict=(-dict=fuzz/dict/json.dict) ;;
        tables | redact_roundtrip | structure_covers_text)
            dict=(-dict=fuzz/dict/tables.dict) ;;
    esac
    log="$(mktemp)"
    if cargo +nightly fuzz run "$t" "fuzz/work/$t" "fuzz/corpus/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
        "${dict[@]}" >"$log" 2>&1; then
        runs="$(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1)"
        cov="$(grep -Eo 'cov: [0-9]+' "$log" | tail -1)"
        echo "fuzz $t: ${runs:-?}s, $cov, corpus $(ls "fuzz/work/$t" | wc -l) found + $(ls "fuzz/corpus/$t" | wc -l) seeds"
    else
        echo "fuzz $t: FAILED"
        tail -60 "$log"
        status=1
    fi
    rm -f "$log"
done
exit "$status"
