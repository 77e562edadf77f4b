#!/bin/sh
set -eu
zip=/tmp/tool.zip
curl -fsSL -o "$zip" "https://example.org/tool-$VERSION.zip"
if [ "$(sha256sum "$zip" | cut -d' ' -f1)" != "$TOOL_SHA256" ]; then
    echo "checksum mismatch" >&2
    exit 1
fi
unzip -q "$zip" -d /opt/tool
/opt/tool/bin/tool --version
