#!/bin/bash -e
# A "checksum" helper that only prints does not count as a verification.
source $HELPER_SCRIPTS/install.sh

tool_path=$(download_with_retry "https://example.test/tool.sh")
say_verified "$tool_path"
bash "$tool_path"
