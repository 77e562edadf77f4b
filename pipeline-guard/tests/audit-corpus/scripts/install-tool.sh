#!/usr/bin/env bash
# Installs the code generator used by the release build.
set -euo pipefail

VERSION="${VERSION:-0.9.1}"
URL="https://github.com/example/codegen/releases/download/v${VERSION}/codegen-linux-amd64"

curl -fsSL -o /usr/local/bin/codegen "$URL"
chmod +x /usr/local/bin/codegen
codegen --version
/usr/local/bin/codegen generate --out src/generated
