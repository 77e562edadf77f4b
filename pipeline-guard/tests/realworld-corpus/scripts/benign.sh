#!/bin/bash
# Ordinary code that must give no finding.
set -euo pipefail
case "$tool" in
  curl|wget) fetcher="$tool" ;;
  sh|bash) shell="$tool" ;;
esac
if (cd build && make -j2); then echo built; fi
apt-get install -y $PACKAGES
echo "node $NODE_VERSION"
files=( $(ls docs) )
curl -fsSL https://example.test/data.json -o data.json
jq . data.json
tar -xzf vendor.tar.gz -C vendor
./configure --prefix=/usr
