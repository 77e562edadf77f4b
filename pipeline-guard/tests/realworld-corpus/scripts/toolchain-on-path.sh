#!/bin/sh
set -eu
curl -fsSL -o /tmp/go.tgz "https://example.org/go$GO_VERSION.linux-amd64.tar.gz"
tar -C /usr/local -xzf /tmp/go.tgz
export PATH=/usr/local/go/bin:$PATH
curl -fsSL -o /tmp/node.tgz "https://example.org/node-$NODE_VERSION.tgz"
echo "$NODE_SHA256  /tmp/node.tgz" | sha256sum -c -
tar -C /opt -xzf /tmp/node.tgz
PATH=/opt/node/bin:$PATH
