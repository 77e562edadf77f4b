#!/usr/bin/env bash
# Type-checks the workspace for x86_64-apple-darwin: every crate and test, with macOS's
# cfg branches, through the real compiler front end. Nothing is linked or run (there is
# no macOS SDK or linker here); build scripts that compile C get empty objects.
# Usage: bash scripts/macos-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/cross.sh
source scripts/cross.sh
cross_install
cross_env

started=$(date +%s)
cargo check -q -Zbuild-std --target x86_64-apple-darwin --workspace --all-targets
echo "macos-check: type-checked in $(( $(date +%s) - started )) s"
