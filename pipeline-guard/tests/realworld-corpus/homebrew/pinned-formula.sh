#!/bin/bash -e
# Pin a formula by fetching an old revision of it into the core tap.
REV=0123456789abcdef0123456789abcdef01234567
FORMULA_PATH="$(brew --repository)/Library/Taps/homebrew/homebrew-core/Formula/j/jq.rb"
mkdir -p "$(dirname "$FORMULA_PATH")"
curl -fsSL "https://raw.example.org/homebrew-core/$REV/Formula/j/jq.rb" -o "$FORMULA_PATH"
HOMEBREW_NO_INSTALL_FROM_API=1 brew install jq

install_cask_from_url() {
    local name=$1 url=$2
    brew tap-new local/pins
    local casks="$(brew --repository local/pins)/Casks"
    mkdir -p "$casks"
    curl -fsSL "$url" -o "$casks/${name}.rb"
    brew install --cask "local/pins/$name"
}

# A formula already in the tap, installed by name: nothing downloaded here.
brew install wget
