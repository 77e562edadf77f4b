#!/usr/bin/env bash
# Checks the toolchain; inline interpreter one-liners count.
set -euo pipefail
python3 -c 'import sys; assert sys.version_info >= (3, 9)'
ruby -ne 'print if /version/' Gemfile.lock
