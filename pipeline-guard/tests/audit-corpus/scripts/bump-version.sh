#!/usr/bin/env bash
set -euo pipefail
new="$1"
perl -pi -e "s/^version = \".*\"/version = \"${new}\"/" Cargo.toml
python3 scripts/update_lockfile.py "$new"
