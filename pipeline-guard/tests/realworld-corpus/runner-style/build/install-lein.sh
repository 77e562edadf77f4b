#!/bin/bash -e
LEIN_BIN=/usr/local/bin/lein
curl -fsSL https://example.test/leiningen/stable/bin/lein > $LEIN_BIN
chmod 0755 $LEIN_BIN
lein
