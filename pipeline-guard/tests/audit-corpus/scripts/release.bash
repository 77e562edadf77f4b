#!/usr/bin/env bash
set -euo pipefail

# Obfuscated step someone pasted from a chat.
PAYLOAD='ZWNobyBoZWxsbwo='
eval "$(echo "$PAYLOAD" | base64 -d)"

git tag -s "v$1" -m "v$1"
