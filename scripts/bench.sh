#!/usr/bin/env bash
# The benchmark command: updater and python-tuf's ngclient side by side, on identical
# repositories served by nginx on loopback. Writes the table to docs/benchmarks.md.
#
# Usage: bash scripts/bench.sh [--runs N] [--big-runs N] [--big-mib M] [--quick]
#                              [--no-big] [--no-publish] [--out FILE]
#
#   --runs N       runs per median for cold start and warm refresh (default 11)
#   --big-runs N   runs per median for the big target (default 3)
#   --big-mib M    size of the big target in MiB (default 1024)
#   --quick        --runs 1 --big-runs 1 --no-publish, output to target/bench/quick.md
#   --no-big       skip the big target (and curl/openssl)
#   --no-publish   skip repo-tool's publish benchmark (100,000 targets, the slowest part)
#   --out FILE     where to write the results (default docs/benchmarks.md)
#
# Needs python3, curl, openssl and a Rust toolchain; installs python-tuf into
# target/interop-venv and Debian's nginx the same way scripts/test.sh does. About
# 11 minutes on 2 cores from a cold cache: release builds (fat LTO) take half of it,
# repo-tool publishing 100,000 targets twice most of the rest, and writing 16,384
# bins for the release-discovery benchmark about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=11
big_runs=3
big_mib=1024
big=1
publish=1
out=docs/benchmarks.md
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --big-runs) big_runs="$2"; shift 2 ;;
        --big-mib) big_mib="$2"; shift 2 ;;
        --quick) runs=1; big_runs=1; publish=0; out=target/bench/quick.md; shift ;;
        --no-big) big=0; shift ;;
        --no-publish) publish=0; shift ;;
        --out) out="$2"; shift 2 ;;
        *) echo "unknown option $1 (see the head of $0)" >&2; exit 2 ;;
    esac
done

# shellcheck source=scripts/setup.sh
source scripts/setup.sh
# python-tuf (the reference implementation), in the venv scripts/test.sh uses.
setup_python_venv
venv=target/interop-venv
# Debian's nginx, a neutral static server, and GNU time for each process's peak RSS.
install_nginx
nginx="${UPDATER_NGINX:-/usr/sbin/nginx}"
if [ ! -x /usr/bin/time ]; then
    echo "== installing GNU time"
    apt_install time
fi
for tool in curl openssl sha256sum; do
    command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done

echo "== building (release): updater-cli, the repository generator, repo-tool's publish bench"
mkdir -p target/bench
cargo build --release -p updater-cli -p updater-workspace \
    --bin updater-cli --example bench_repos --example bench_releases
cargo bench --no-run -p repo-tool --bench publish

echo "== generating repositories in target/bench/repos"
target/release/examples/bench_repos target/bench/repos --big-mib "$big_mib" >/dev/null
echo "== generating release repositories (1,000 releases, flat and in 16,384 bins) with repo-tool"
target/release/examples/bench_releases target/bench/repos

publish_table=target/bench/publish.md
rm -f "$publish_table"
if [ "$publish" = 1 ]; then
    echo "== repo-tool: publishing 100,000 targets, flat and in hash bins"
    cargo bench -q -p repo-tool --bench publish -- 100000 | tee "$publish_table"
fi

echo "== clients"
extra=()
if [ "$big" = 0 ]; then extra+=(--skip-big); fi
"$venv/bin/python" scripts/bench/harness.py \
    --repos target/bench/repos --work target/bench/work \
    --cli target/release/updater-cli --python "$venv/bin/python" --nginx "$nginx" \
    --runs "$runs" --big-runs "$big_runs" --publish-table "$publish_table" \
    --out "$out" --json target/bench/results.json "${extra[@]}"
echo "== results written to $out"
