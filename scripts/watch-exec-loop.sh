#!/usr/bin/env bash
# What `pipeline-guard watch` costs on an nvm-style test loop: a runner that starts one
# shell per test file, each sourcing a shell library and running a few small programs
# (thousands of short execs in all, as nvm's urchin suite does). Unwatched and watched
# runs alternate, RUNS times each (default 3); prints every wall time, the medians,
# their ratio and how many execs the watched loop made.
#
#   bash scripts/watch-exec-loop.sh [RUNS] [TESTS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
tests="${2:-400}"
work="${TMPDIR:-/tmp}/watch-exec-loop"
rm -rf "$work"
mkdir -p "$work/tests"

cargo build -q --release -p pipeline-guard
guard="$PWD/target/release/pipeline-guard"

# The library: a few hundred lines of functions, as nvm.sh is to its tests.
{
    for i in $(seq 200); do
        printf 'lib_fn_%d() {\n  local v="%d"\n  case "$1" in\n    a) echo "$v-a" ;;\n    *) echo "$v" ;;\n  esac\n}\n' "$i" "$i"
    done
} > "$work/lib.sh"
for i in $(seq "$tests"); do
    cat > "$work/tests/test_$i" <<TEST
#!/bin/sh
. "$work/lib.sh"
out=\$(lib_fn_$((i % 200 + 1)) a)
echo "\$out" | grep -q -- "-a" || exit 1
[ "\$(printf '%s' "\$out" | wc -c)" -gt 0 ] || exit 1
sed -e 's/a/b/' <<IN >/dev/null
\$out
IN
TEST
done
cat > "$work/run-tests.sh" <<'RUN'
#!/bin/sh
failed=0
for t in "$1"/tests/test_*; do
    sh "$t" || failed=$((failed + 1))
done
exit "$failed"
RUN

loop() { # loop [WATCH...]
    local start end
    start=$(date +%s.%N)
    "$@" sh "$work/run-tests.sh" "$work" 1>&2
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}

plain=()
watched=()
for i in $(seq "$runs"); do
    t=$(loop)
    plain+=("$t")
    echo "run $i unwatched: $t s"
    t=$(loop "$guard" watch --log "$work/execs.jsonl" --)
    watched+=("$t")
    echo "run $i watched:   $t s"
done

# shellcheck source=scripts/medians.sh
source scripts/medians.sh
print_ratio "${plain[@]}" -- "${watched[@]}"
execs=$(grep -c '"argv"' "$work/execs.jsonl" || true)
echo "execs in the last watched loop: $execs"
