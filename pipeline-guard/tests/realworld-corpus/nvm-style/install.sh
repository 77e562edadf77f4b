#!/usr/bin/env bash
# A curl/wget wrapper that picks its program through a variable and passes "$@" on.
tool_download() {
  local DOWNLOADER
  DOWNLOADER=''
  if command -v curl > /dev/null 2>&1; then
    DOWNLOADER='curl'
    set -- -q --fail "$@"
  fi
  command "${DOWNLOADER}" "$@"
}

install_npm_if_needed() {
  tool_download -L https://example.test/npm/install.sh -o - | clean=yes sh
}

install_as_script() {
  tool_download -s "https://example.test/tool.sh" -o "$INSTALL_DIR/tool.sh"
  chmod a+x "$INSTALL_DIR/tool.sh"
}
