#!/bin/bash -e
# Helpers sourced by the build scripts: a downloader that prints the path it wrote,
# and a checksum helper whose body really compares.
download_with_retry() {
    local url=$1
    local download_path=$2
    if [ -z "$download_path" ]; then
        download_path="/tmp/$(basename "$url")"
    fi
    for ((retries=20; retries>0; retries--)); do
        if http_code=$(curl -4sSLo "$download_path" "$url" -w '%{http_code}'); then
            break
        fi
        sleep 30
    done
    echo "$download_path"
}

use_checksum_comparison() {
    local file_path=$1
    local checksum=$2
    local_file_hash=$(shasum --algorithm 256 "$file_path" | awk '{print $1}')
    if [[ "$local_file_hash" != "$checksum" ]]; then
        echo "Checksum verification failed" >&2
        exit 1
    fi
}

say_verified() {
    echo "checksum of $1 verified"
}
