#!/usr/bin/env bash
# Builds the workspace for x86_64-pc-windows-gnu and runs its tests under Wine 8: the
# library's unit tests, the install, rollback and crash tests, replacing a running
# executable, the end-to-end self-update over HTTP on loopback, and every other test
# that can run there (tests that cannot say why in their code: they need a Linux
# program such as nginx or python-tuf, or ptrace).
# Usage: bash scripts/windows-test.sh [extra cargo test args]
# Installs what it needs from Debian (see scripts/cross.sh); writes under target/cross.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/cross.sh
source scripts/cross.sh
cross_install
cross_env

target=(-Zbuild-std=std,panic_abort --target x86_64-pc-windows-gnu)
started=$(date +%s)
# The examples first: tests/self_update.rs runs them, and cannot start cargo itself
# from inside Wine.
cargo build -q "${target[@]}" -p updater-workspace --examples
# Every library, binary and test target (benchmarks are measured on Linux only).
cargo test "${target[@]}" --workspace --lib --bins --tests "$@"
/usr/lib/wine/wineserver -k 2>/dev/null || true
echo "windows-test: done in $(( $(date +%s) - started )) s (Wine: $(/usr/lib/wine/wine64 --version 2>/dev/null))"
