# Runtime-only image of a Java API: the fat jar is built on the host (apis/java-build.sh, one Maven
# reactor) into build/<SERVICE>/app.jar; the build context is the repository root. One file for every
# Java API:
#   docker build -f apis/runtime/java.Dockerfile --build-arg SERVICE=java-rest --build-arg PROTOCOL=rest .
FROM debian:bookworm-slim

ARG SERVICE
ARG PROTOCOL=rest
RUN test -n "$SERVICE" \
    && apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless=17.0.19+10-1~deb12u2 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin api

COPY build/${SERVICE}/app.jar /opt/api/app.jar
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
# The JVM starts slower than a native binary: a longer start period, the same probe.
HEALTHCHECK --interval=5s --timeout=4s --start-period=30s --retries=3 \
    CMD ["/bin/sh", "-c", "if [ \"$API_PROTOCOL\" = grpc ]; then exec /usr/local/bin/healthprobe grpc \"127.0.0.1:${PORT}\"; else exec /usr/local/bin/healthprobe http \"http://127.0.0.1:${PORT}/api/v1/events/health\"; fi"]
# Heap sized from the container's memory limit, no -Xms (it would inflate RAM per request); G1 pinned
# so the collector does not change with the CPU count the container gets.
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError", "-jar", "/opt/api/app.jar"]
