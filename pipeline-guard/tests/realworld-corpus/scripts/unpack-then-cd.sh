#!/bin/sh
set -e
curl -fsSL -o /tmp/tool.tar.gz "https://example.org/tool-$VERSION.tar.gz"
mkdir -p /tmp/tool
tar -xzf /tmp/tool.tar.gz -C /tmp/tool
cd /tmp/tool
./install.sh --prefix /usr/local
cd "$OLDPWD"
./scripts/own-step.sh
