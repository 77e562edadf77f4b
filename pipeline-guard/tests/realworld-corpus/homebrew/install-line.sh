#!/bin/bash
# Homebrew's documented install line, with its leading assignment.
NONINTERACTIVE=1 /bin/bash -c "$(curl -fsSL https://example.test/Homebrew/install/HEAD/install.sh)"
