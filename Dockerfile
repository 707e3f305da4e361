# Production image of the gather server.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin gather && strip target/release/gather

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /data gather && mkdir -p /data && chown gather /data
COPY --from=build /src/target/release/gather /usr/local/bin/gather
USER gather
WORKDIR /data
ENV GATHER_DATA_DIR=/data GATHER_HTTP=0.0.0.0:8090
EXPOSE 8090
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=3s CMD ["/bin/sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/8090 && printf 'GET /api/health HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q '200' <&3"]
ENTRYPOINT ["/usr/bin/tini", "--", "gather"]
CMD ["serve"]
