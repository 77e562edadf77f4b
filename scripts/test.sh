#!/usr/bin/env bash
# The project's test command: installs what the tests need, then runs every test.
# Usage: bash scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/setup.sh
source scripts/setup.sh
# python-tuf (the reference implementation) for the interoperability tests.
setup_python_venv
# Debian's nginx for tests/nginx_https.rs (a real web server over HTTPS on loopback;
# the test starts and stops its own instance).
install_nginx

cargo test --workspace --all-targets "$@"
cargo test --workspace --doc
