#!/usr/bin/env bash
# The bundle benchmark: installing a verified tar.zst of a 1 GiB tree of 10,000 files
# with updater's DirectoryInstaller, against `tar --zstd -xf` plus `sync` of the same
# archive into the same directory. Prints the median of each, their ratio, and the
# peak RSS of both (GNU time).
#
# Usage: bash scripts/bench-bundle.sh [--runs N] [--files N] [--mib M]
#   (defaults: 3 runs, 10,000 files, 1,024 MiB; work in target/bench/bundle)
#
# The install does more than tar: it hashes the archive whole before reading it and
# again while reading, checks every entry, flushes with syncfs, digests both trees and
# swaps. Both sides start each run with the page cache holding the archive (it was
# just read) and end with everything on disk.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=3
files=10000
mib=1024
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --files) files="$2"; shift 2 ;;
        --mib) mib="$2"; shift 2 ;;
        *) echo "unknown option $1 (see the head of $0)" >&2; exit 2 ;;
    esac
done
if [ ! -x /usr/bin/time ]; then
    # shellcheck source=scripts/setup.sh
    source scripts/setup.sh
    apt_install time
fi
command -v zstd >/dev/null || { source scripts/setup.sh; apt_install zstd; }
work=target/bench/bundle
mkdir -p "$work"
cargo build -q --release -p updater-workspace --example bench_bundle
bin=target/release/examples/bench_bundle
"$bin" prepare "$work" --files "$files" --mib "$mib"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ours=(); theirs=(); ours_rss=(); theirs_rss=()
for i in $(seq "$runs"); do
    # Reference: tar --zstd -xf into a fresh directory next to where the install goes,
    # then sync (the install's syncfs flushes the same data).
    rm -rf "$work/ref" && mkdir -p "$work/ref" && sync
    start=$(date +%s.%N)
    /usr/bin/time -f '%M' -o "$work/ref.rss" tar --zstd -xf "$work/app.tar.zst" -C "$work/ref"
    sync
    end=$(date +%s.%N)
    theirs+=("$(echo "$end - $start" | bc)")
    theirs_rss+=("$(cat "$work/ref.rss")")
    rm -rf "$work/ref" && sync
    # Ours (the example removes its previous run's trees before it starts the clock).
    out=$(/usr/bin/time -f '%M' -o "$work/ours.rss" "$bin" install "$work")
    ours+=("$(echo "$out" | awk '/^install_seconds/ {print $2}')")
    ours_rss+=("$(cat "$work/ours.rss")")
    echo "run $i: updater ${ours[-1]} s (${ours_rss[-1]} KiB peak), tar+sync ${theirs[-1]} s (${theirs_rss[-1]} KiB peak)"
done
o=$(printf '%s\n' "${ours[@]}" | median)
t=$(printf '%s\n' "${theirs[@]}" | median)
orss=$(printf '%s\n' "${ours_rss[@]}" | median)
trss=$(printf '%s\n' "${theirs_rss[@]}" | median)
ratio=$(echo "scale=2; $o / $t" | bc)
echo "bundle install: median ${o} s, tar --zstd -xf + sync: median ${t} s, ratio ${ratio} (lower is faster); peak RSS ${orss} KiB vs ${trss} KiB"
rm -rf "$work/apps" "$work/data"
