#!/bin/sh
# A downloader function, wrapper functions and a probe binary kept as base64.
set -u

main() {
    _url="https://example.test/dist/x86_64-unknown-linux-gnu/tool-init"
    _file="${_dir}/tool-init"
    ensure downloader "$_url" "$_file"
    ensure chmod u+x "$_file"
    ignore "$_file" "$@"
}

probe() {
    _tmp="$(mktemp)"
    ignore base64 -d > "$_tmp" <<EOF2
f0VMRgIBAQAAAAAAAAAAAAIAAgEBAAAAeAAgAAAAAABAAAAA
EOF2
    ignore chmod u+x "$_tmp"
    "$_tmp"
}

downloader() {
    if [ "$1" = --check ]; then
        return 0
    fi
    _err=$(curl --proto '=https' --tlsv1.2 --silent --fail --location "$1" --output "$2" 2>&1)
}

ensure() {
    if ! "$@"; then echo "command failed: $*" >&2; exit 1; fi
}

ignore() {
    "$@"
}

main "$@"
