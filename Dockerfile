# syntax=docker/dockerfile:1
#
# Build:  docker build -t agora .
# Run:    docker run --rm -e REDIS_URL=redis://host:6379 -p 8080:8080 agora
# (or `docker compose up`, which also starts Redis and runs the seed once)

# ---- builder -----------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /build

# Build the dependencies first, against a stub main, so that this layer is
# reused as long as Cargo.toml / Cargo.lock do not change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
 && echo 'fn main() {}' > src/main.rs \
 && cargo build --release --locked \
 && rm -rf src

COPY src ./src
COPY lua ./lua
COPY migrations-free-seed ./migrations-free-seed
COPY openapi ./openapi
# COPY keeps the files' own mtimes, which can be older than the stub build:
# touch the crate roots so cargo rebuilds the real code.
RUN touch src/main.rs $( [ -f src/lib.rs ] && echo src/lib.rs ) \
 && cargo build --release --locked \
 && cp target/release/agora /usr/local/bin/agora

# ---- runtime -----------------------------------------------------------------
FROM debian:bookworm-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system agora \
 && useradd --system --gid agora --home-dir /app --no-create-home --shell /usr/sbin/nologin agora

COPY --from=builder /usr/local/bin/agora /usr/local/bin/agora
WORKDIR /app
COPY migrations-free-seed/ /app/migrations-free-seed/

ENV AGORA_ADDR=0.0.0.0:8080
EXPOSE 8080
USER agora

# No HEALTHCHECK: the slim image has no HTTP client and we keep it small.
ENTRYPOINT ["agora"]
CMD ["serve"]
