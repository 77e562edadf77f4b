#!/bin/bash -e
source $HELPER_SCRIPTS/install.sh

installer_path=$(download_with_retry "https://example.test/cmake-linux.sh")
use_checksum_comparison "$installer_path" "$CMAKE_SHA256"
chmod +x "$installer_path"
"$installer_path" --skip-license --prefix=/usr/local
