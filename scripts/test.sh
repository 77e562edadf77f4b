#!/usr/bin/env bash
# The project's test command: installs what the tests need, then runs every test.
# Usage: bash scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace --all-targets "$@"
cargo test --workspace --doc
