#!/bin/sh
# A script written here and run by a later CI step is this pipeline's code.
cat > "$HOME/setup.sh" <<'SETUP'
set -ex
curl -o- https://example.test/install.sh | METHOD=script bash
SETUP
chmod +x "$HOME/setup.sh"
