# Runtime image of a Python API: Debian bookworm's CPython 3.11 (pinned), the app and its dependencies as
# built on the host by the API's build.sh into build/<SERVICE>/{app,packages}; the build context is the
# repository root. One file for every Python API (the module is the service name with "_"):
#   docker build -f apis/runtime/python.Dockerfile --build-arg SERVICE=python-rest --build-arg PROTOCOL=rest .
FROM debian:bookworm-slim

ARG SERVICE
ARG PROTOCOL=rest
RUN test -n "$SERVICE" \
    && apt-get update \
    && apt-get install -y --no-install-recommends python3.11=3.11.2-6+deb12u8 \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
    && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin api

COPY build/${SERVICE}/packages /opt/api/packages
COPY build/${SERVICE}/app /opt/api/app
COPY build/healthprobe/healthprobe /usr/local/bin/healthprobe
# Bytecode compiled once, by the interpreter that runs it (the non-root user could not write it later);
# the entry point is a fixed path, so the module name need not be known at run time.
RUN python3.11 -m compileall -q -j 0 /opt/api \
    && printf 'import runpy\nrunpy.run_module("%s", run_name="__main__", alter_sys=True)\n' \
        "$(echo "$SERVICE" | tr - _)" > /opt/api/main.py

# Defaults of the environment contract; DATABASE_URL has none and must be given at run time.
ENV API_PROTOCOL=${PROTOCOL} \
    PORT=8080 \
    BIND_ADDRESS=0.0.0.0 \
    DB_POOL_MAX=20 \
    LOG_LEVEL=warn \
    MAX_BODY_BYTES=1048576 \
    PYTHONPATH=/opt/api/app:/opt/api/packages \
    PYTHONDONTWRITEBYTECODE=1

USER api
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --timeout=4s --start-period=10s --retries=3 \
    CMD ["/bin/sh", "-c", "if [ \"$API_PROTOCOL\" = grpc ]; then exec /usr/local/bin/healthprobe grpc \"127.0.0.1:${PORT}\"; else exec /usr/local/bin/healthprobe http \"http://127.0.0.1:${PORT}/api/v1/events/health\"; fi"]
ENTRYPOINT ["python3.11", "/opt/api/main.py"]
