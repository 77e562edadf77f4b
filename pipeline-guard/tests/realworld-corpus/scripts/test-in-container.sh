#!/bin/sh
docker run --rm -v "$PWD:/src" -w /src --entrypoint node node:20 -e 'require("https").get(process.env.URL)'
docker run --rm alpine:3 sh -c 'wget -qO- https://example.test/x.sh | sh'
