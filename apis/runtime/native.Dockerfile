# Runtime-only image of a native API (Go or Rust): the binary is built on the host by the API's build.sh
# into build/<SERVICE>/server; the build context is the repository root. One file for every native API:
#   docker build -f apis/runtime/native.Dockerfile --build-arg SERVICE=go-rest --build-arg PROTOCOL=rest .
FROM debian:bookworm-slim

ARG SERVICE
ARG PROTOCOL=rest
RUN test -n "$SERVICE" \
    && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin api

COPY build/${SERVICE}/server /opt/api/server
COPY build/healthprobe/healthprobe /usr/local/bin/healthprobe

# Defaults of the environment contract; DATABASE_URL has none and must be given at run time.
ENV API_PROTOCOL=${PROTOCOL} \
    PORT=8080 \
    BIND_ADDRESS=0.0.0.0 \
    DB_POOL_MAX=20 \
    LOG_LEVEL=warn \
    MAX_BODY_BYTES=1048576

USER api
EXPOSE 8080
STOPSIGNAL SIGTERM
# A real health call: HTTP GET /api/v1/events/health, or a grpc.health.v1 Check (NOT_SERVING while the
# database is down). The stacks set their own interval; these defaults serve a plain `docker run`.
HEALTHCHECK --interval=5s --timeout=4s --start-period=10s --retries=3 \
    CMD ["/bin/sh", "-c", "if [ \"$API_PROTOCOL\" = grpc ]; then exec /usr/local/bin/healthprobe grpc \"127.0.0.1:${PORT}\"; else exec /usr/local/bin/healthprobe http \"http://127.0.0.1:${PORT}/api/v1/events/health\"; fi"]
ENTRYPOINT ["/opt/api/server"]
