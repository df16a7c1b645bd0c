# syntax=docker/dockerfile:1.7
#
# One image for the whole platform: the `microshop` binary. The command chooses what runs:
#
#   docker build -t microshop:dev .
#   docker run --rm -p 8000:8000 microshop:dev up              # everything in one process
#   docker run --rm microshop:dev serve orders                  # one service (distributed mode)
#   docker run --rm microshop:dev auth rotate-key               # an admin command
#
# Settings come from `MICROSHOP_…` environment variables (`docker run --rm microshop:dev --help`
# lists them). deploy/compose and deploy/k8s run one container per service from this image.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

# ---- build -----------------------------------------------------------------------------------
FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder
WORKDIR /src
# The rust image already has what the native parts need: a C/C++ toolchain and make for the
# bundled librdkafka, zlib for its compression, nothing else. The image is what distributed
# deployments run, so it has the Kafka bus (cargo feature `kafka`) and OTLP export (`otlp`),
# which `cargo run --release` leaves out to build in minutes.
COPY . .
# The registry and the target folder are cache mounts, so a rebuild after a code change compiles
# only the workspace crates. The binary is copied out of the cache mount, which is not part of
# the layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p microshop --features kafka,otlp \
    && install -D -m 0755 target/release/microshop /out/microshop

# ---- runtime ---------------------------------------------------------------------------------
FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# CA certificates: PostgreSQL over TLS (managed databases, Neon) and OTLP over HTTPS.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 microshop \
    && useradd --system --uid 10001 --gid microshop --no-create-home \
       --home-dir /var/lib/microshop --shell /usr/sbin/nologin microshop \
    && install -d -o microshop -g microshop -m 0750 /var/lib/microshop

COPY --from=builder /out/microshop /usr/local/bin/microshop

# Container defaults: listen on every interface, JSON log lines, the data folder (SQLite files and
# the generated admin password of `up`; unused when every service has a PostgreSQL URL) where the
# unprivileged user may write.
ENV MICROSHOP_HOST=0.0.0.0 \
    MICROSHOP_LOG_FORMAT=json \
    MICROSHOP_DATA_DIR=/var/lib/microshop

USER 10001:10001
WORKDIR /var/lib/microshop

# gateway 8000, auth 8001, users 8002, orders 8003, products 8004, payments 8005, notifier 8006,
# cars 8007, agenda 8008, hits 8009
EXPOSE 8000-8009

# `microshop health-check` asks /health/ready of whichever service the command started: it reads
# that process's command line with the same settings `serve` used (flags, MICROSHOP_<SERVICE>_PORT,
# the settings file), so the port is right without a script, curl or wget in the image. 0 ready,
# 1 not (one line in `docker inspect` says why).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["microshop", "health-check"]

# SIGTERM lets in-flight requests finish (at most 10 s) and exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["microshop"]
CMD ["serve", "gateway"]
