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
# One wineserver for the whole run (-p: it stays up between test programs). Without it
# each program may start while the previous program's server is shutting down, and Wine
# then dies with "wine client error: recvmsg: Connection reset by peer" (seen once in CI).
/usr/lib/wine/wineserver -k 2>/dev/null || true
/usr/lib/wine/wineserver -p </dev/null >/dev/null 2>&1
trap '/usr/lib/wine/wineserver -k 2>/dev/null || true' EXIT
# Every library, binary and test target (benchmarks are measured on Linux only).
log="$CROSS_DIR/windows-test.log"
status=0
# Into a file, not through a pipe: Wine's helper processes (winedevice.exe) live as long
# as the persistent server and would hold a pipe open after cargo ends.
cargo test "${target[@]}" --workspace --lib --bins --tests --no-fail-fast "$@" > "$log" 2>&1 \
    || status=$?
cat "$log"
if [ "$status" -ne 0 ] && grep -q "wine client error" "$log"; then
    # Wine itself lost its server connection: that says nothing about our code. Each
    # target that failed is run once more, in the open; a real failure fails again.
    mapfile -t failed < <(grep -o '`-p [^`]*`' "$log" | tr -d '`' | sort -u)
    echo "windows-test: Wine lost its server connection (an infrastructure fault, not a test result); running the ${#failed[@]} failed target(s) once more"
    # No target named: nothing can be rerun, and the failure stands.
    [ "${#failed[@]}" -gt 0 ] && status=0
    for rerun in "${failed[@]}"; do
        echo "-- rerun: $rerun"
        # shellcheck disable=SC2086 # "-p PACKAGE --test NAME" is meant to split
        cargo test "${target[@]}" $rerun "$@" || status=$?
    done
fi
[ "$status" -eq 0 ] || exit "$status"
echo "windows-test: done in $(( $(date +%s) - started )) s (Wine: $(/usr/lib/wine/wine64 --version 2>/dev/null))"
