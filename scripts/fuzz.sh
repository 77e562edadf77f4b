#!/usr/bin/env bash
# Fuzz every target in fuzz/ for SECONDS each (default 10), with corpora seeded from
# the real-world test data and this repository's fixtures. Needs a nightly toolchain;
# installs cargo-fuzz if it is missing. Fails on the first crash or panic, leaving the
# input in fuzz/artifacts/TARGET/.
#
#   bash scripts/fuzz.sh            # short run (CI)
#   bash scripts/fuzz.sh 300        # five minutes per target
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
testdata="${UPDATER_TESTDATA:-../shared/testdata}"

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz.sh: a nightly toolchain is required (rustup toolchain install nightly)" >&2
    exit 2
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

seed() { # seed TARGET FILE...
    local dir="fuzz/corpus/$1"
    shift
    mkdir -p "$dir"
    for f in "$@"; do
        [ -f "$f" ] && cp "$f" "$dir/$(sha256sum "$f" | cut -c1-16)"
    done
    return 0
}
metadata=$(find "$testdata" -name '*.json' 2>/dev/null | head -200)
# shellcheck disable=SC2086
seed metadata_envelope $metadata
# shellcheck disable=SC2086
seed canonical_json $metadata
# shellcheck disable=SC2086
seed release_policy $metadata
seed guard_scan $(find pipeline-guard/tests/audit-corpus pipeline-guard/tests/realworld-corpus -type f | head -200)
mkdir -p fuzz/corpus/key_decoding fuzz/corpus/trusted_state fuzz/corpus/bundle_extract
# A real tar stream behind the format byte 0 (tar.zst): the fuzz targets' sources.
{ printf '\0'; tar -cf - -C fuzz fuzz_targets; } > fuzz/corpus/bundle_extract/seed-tar

cargo +nightly fuzz build
for target in metadata_envelope canonical_json key_decoding trusted_state guard_scan release_policy bundle_extract; do
    echo "== fuzz $target for ${seconds}s"
    cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -print_final_stats=1 2>&1 \
        | grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|INFO: Loaded|==[0-9]+==|SUMMARY|thread .* panicked)' || true
    if [ -n "$(ls -A "fuzz/artifacts/$target" 2>/dev/null)" ]; then
        echo "fuzz.sh: $target found a crashing input: fuzz/artifacts/$target/" >&2
        exit 1
    fi
done
