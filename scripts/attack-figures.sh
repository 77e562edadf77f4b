#!/usr/bin/env bash
# Figures for the issue note: for each attack of tests/adversarial.rs, how long the
# client took to give up and the peak resident memory (VmHWM) of the process.
# Each attack runs alone in its own process (the test binary with --exact), so the
# peak is that attack's: the test harness, the in-process hostile HTTPS server and
# the client together. Prints a Markdown table.
# Usage: bash scripts/attack-figures.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bin=$(cargo test -p updater-workspace --test adversarial --no-run --message-format=json 2>/dev/null \
    | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    echo "could not build the adversarial test binary" >&2
    exit 1
fi

echo "| attack | test | outcome | peak RSS | error (URLs shortened, first 140 characters) |"
echo "|---|---|---|---|---|"
"$bin" --list 2>/dev/null | sed -n 's/: test$//p' | while read -r name; do
    out=$("$bin" --exact "$name" --nocapture --test-threads=1 </dev/null 2>&1 || true)
    line=$(printf '%s\n' "$out" | grep -o '\[adversarial\].*' | tail -n 1 || true)
    [ -n "$line" ] || continue
    # "[adversarial] CASE: OUTCOME after TIME; peak RSS N kB: DETAIL"
    re='^\[adversarial\] (.*): (gave up|succeeded|failed) after ([^;]*); peak RSS ([^:]*): ?(.*)$'
    case_name=$(printf '%s' "$line" | sed -E "s/$re/\\1/")
    outcome=$(printf '%s' "$line" | sed -E "s/$re/\\2 after \\3/")
    rss=$(printf '%s' "$line" | sed -E "s/$re/\\4/")
    detail=$(printf '%s' "$line" | sed -E "s/$re/\\5/" | sed -E 's/[0-9a-f]{64}/HASH/g; s#https?://(127.0.0.1|localhost):[0-9]+/##g' | cut -c1-140 | sed 's/|/\\|/g')
    status=$(printf '%s\n' "$out" | grep -q '^test result: ok' && echo "" || echo " (TEST FAILED)")
    echo "| $case_name | \`$name\`$status | $outcome | $rss | $detail |"
done
