#!/usr/bin/env bash
# Same download, verified against a pinned checksum before it is run.
set -euo pipefail

VERSION="0.9.1"
SHA256="3b4f3e9b0f5f0c1a6a9e1f3b8f2c7a9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f7"

curl -fsSLo codegen "https://github.com/example/codegen/releases/download/v${VERSION}/codegen-linux-amd64"
echo "${SHA256}  codegen" | sha256sum --check --strict
chmod +x codegen
./codegen --version
