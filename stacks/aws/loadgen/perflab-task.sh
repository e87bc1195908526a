#!/bin/sh
# perflab-task: the entrypoint of the generator task (stacks/aws/loadgen/Dockerfile).
# Runs `loadgen "$@"` (the runner's command override: run ... --summary /results/summary.json
# --samples /results/samples.csv.gz), then PUTs each file to the presigned URL the runner made for it
# (PERFLAB_SUMMARY_URL, PERFLAB_SAMPLES_URL; runner/aws_run.py). The task role needs no S3 right.
# PERFLAB_LOADGEN and PERFLAB_RESULTS_DIR (defaults /usr/local/bin/loadgen, /results) are for the tests.
# Exit status: loadgen's when it failed; else 3 when an upload failed; else 0.
# SIGTERM/SIGINT (ecs stop_task) reach loadgen, which stops cleanly and still writes its summary.
set -u
"${PERFLAB_LOADGEN:-/usr/local/bin/loadgen}" "$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM INT
wait "$child"
status=$?
if [ "$status" -gt 128 ] && kill -0 "$child" 2>/dev/null; then
    wait "$child"  # interrupted by the trap: the real status follows
    status=$?
fi

upload() {  # FILE URL
    [ -n "$2" ] || return 0
    if [ ! -f "$1" ]; then
        echo "perflab-task: $1 was not written" >&2
        return 1
    fi
    curl --fail --silent --show-error --retry 3 --retry-all-errors \
        -H 'Content-Type: application/octet-stream' --upload-file "$1" "$2"
}

uploads=0
upload "${PERFLAB_RESULTS_DIR:-/results}/summary.json" "${PERFLAB_SUMMARY_URL:-}" || uploads=3
upload "${PERFLAB_RESULTS_DIR:-/results}/samples.csv.gz" "${PERFLAB_SAMPLES_URL:-}" || uploads=3
[ "$status" -ne 0 ] && exit "$status"
exit "$uploads"
