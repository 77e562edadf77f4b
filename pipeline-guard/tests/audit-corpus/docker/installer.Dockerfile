# Build image for the release pipeline.
FROM debian:bookworm-slim AS build

ARG RUSTUP_VERSION=1.27.1
ENV PATH=/root/.cargo/bin:$PATH

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl build-essential \
 && rm -rf /var/lib/apt/lists/*

# The classic: pipe a remote installer into a shell.
RUN curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs \
    | sh -s -- -y --profile minimal

RUN set -eux; \
    # install node for the docs build
    wget -qO- https://deb.nodesource.com/setup_20.x | bash -; \
    apt-get install -y nodejs

WORKDIR /src
COPY . .
RUN cargo build --release --locked
