#!/usr/bin/env bash
# What `repo-tool watch` costs on a real build: this workspace's own `cargo build`
# from clean, unwatched and watched, alternated, RUNS times each (default 2), each
# into a fresh target directory with the same flags. Prints every wall time, the
# medians and their ratio, and how many execs the watched build made.
#
#   bash scripts/watch-overhead.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-2}"
work="${TMPDIR:-/tmp}/watch-overhead"
rm -rf "$work"
mkdir -p "$work"

cargo build -q --release -p repo-tool
watch=target/release/repo-tool
# Every dependency is already downloaded: the builds compile, they do not fetch.
cargo fetch -q

build() { # build DIR [WATCH...]
    local dir="$1"
    shift
    rm -rf "$dir"
    local start end
    start=$(date +%s.%N)
    # The build's and the watcher's own output go to stderr; stdout is the time.
    CARGO_TARGET_DIR="$dir" "$@" cargo build -q --workspace --offline 1>&2
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}

plain=()
watched=()
for i in $(seq "$runs"); do
    t=$(build "$work/plain")
    plain+=("$t")
    echo "run $i unwatched: $t s"
    t=$(build "$work/watched" "$watch" watch --log "$work/execs.jsonl" --)
    watched+=("$t")
    echo "run $i watched:   $t s"
done
rm -rf "$work/plain" "$work/watched"

# shellcheck source=scripts/medians.sh
source scripts/medians.sh
print_ratio "${plain[@]}" -- "${watched[@]}"
execs=$(grep -c '"argv"' "$work/execs.jsonl" || true)
echo "execs in the last watched build: $execs (log: $work/execs.jsonl)"
