#!/bin/bash -e
source $HELPER_SCRIPTS/install.sh

install_script_path=$(download_with_retry "https://example.test/dotnet-install.sh")
chmod +x "$install_script_path"
$install_script_path --version 8.0 --install-dir /usr/share/dotnet
