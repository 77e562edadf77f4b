#!/bin/bash -e
source $HELPER_SCRIPTS/install.sh

SDKMANAGER=${ANDROID_SDK_ROOT}/cmdline-tools/latest/bin/sdkmanager
archive_path=$(download_with_retry "https://example.test/android/commandlinetools.zip")
unzip -qq "$archive_path" -d ${ANDROID_SDK_ROOT}/cmdline-tools
if ${SDKMANAGER} --list 1>/dev/null; then
    echo "sdk manager installed"
fi
