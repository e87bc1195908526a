#!/usr/bin/env bash
# Runs a Lambda function locally: N emulator containers (one execution environment each, host
# networking, no Docker userland proxy) behind the local API gateway on 127.0.0.1.
#
#   lambda/local.sh up FUNCTION        build the image if needed, start the environments and the gateway,
#                                      wait for the first successful answer and print the cold start
#   lambda/local.sh down FUNCTION      stop them
#
# FUNCTION is go-rest or go-grpc. Settings (environment variables):
#   DATABASE_URL         required for up
#   GATEWAY_PORT         gateway port on 127.0.0.1 (default: the Lambda's port in the catalogue)
#   ENVIRONMENTS         number of emulator containers = local concurrency (default 2)
#   EMULATOR_BASE_PORT   first emulator port; environment i uses BASE+2i and BASE+2i+1 (its Runtime API)
#                        (default: the Lambda's emulator base port in the catalogue)
#   DB_POOL_MAX, LOG_LEVEL, MAX_BODY_BYTES   passed to the function (the environment contract), and
#   DB_ACQUIRE_TIMEOUT, AUTH_ENABLED, JWT_SECRET_KEY, JWT_ISSUER, JWT_AUDIENCE, SECRETS_URL,
#   SECRETS_REFRESH_INTERVAL when they are set
# Build the artifacts first: lambda/build.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

usage() { sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ $# -eq 2 ]] || usage
action="$1" fn="$2"
# Ports come from the one catalogue (perflab/catalogue.py), never restated here.
entry=$("$root/.venv/bin/python" -m perflab.catalogue "lambda-$fn" 2>/dev/null) || usage
port=$(sed -n 's/^port=//p' <<<"$entry")
emulator_base_port=$(sed -n 's/^emulator_base_port=//p' <<<"$entry")
gateway_port="${GATEWAY_PORT:-$port}"
environments="${ENVIRONMENTS:-2}"
base_port="${EMULATOR_BASE_PORT:-$emulator_base_port}"
image="perflab/lambda-$fn:dev"
prefix="perflab-lambda-$fn"
state="build/lambda-gateway/$fn"

down() {
  if [[ -f "$state.pid" ]]; then
    kill "$(cat "$state.pid")" 2>/dev/null || true
    rm -f "$state.pid"
  fi
  local ids
  ids="$(docker ps -aq --filter "label=perflab.lambda=$fn")"
  [[ -z "$ids" ]] || docker rm -f $ids >/dev/null
}

# One request that proves the function answers (an invocation with a database round trip).
probe() {
  local url="http://127.0.0.1:$gateway_port"
  if [[ "$fn" == go-rest ]]; then
    curl -fsS -m 5 -o /dev/null "$url/api/v1/events/health" 2>/dev/null
  else
    # grpc.health.v1.Health/Check with an empty request: a 5-byte frame header and no message.
    printf '\0\0\0\0\0' | curl -fsS -m 5 -H 'Content-Type: application/grpc-web+proto' --data-binary @- \
      "$url/grpc.health.v1.Health/Check" 2>/dev/null | grep -aq 'grpc-status:0'
  fi
}

up() {
  : "${DATABASE_URL:?DATABASE_URL is required}"
  [[ -x build/lambda-gateway/gateway && -x "build/lambda-$fn/bootstrap" ]] || {
    echo "missing artifacts: run lambda/build.sh" >&2; exit 1; }
  down
  # The Dockerfile goes in on stdin: the legacy builder does not honour .dockerignore exceptions
  # below an excluded directory, so it cannot find lambda/*/Dockerfile in the context.
  docker build -q -t "$image" --build-arg SERVICE="lambda-$fn" -f - . <lambda/Dockerfile >/dev/null
  local start urls=() i port
  start=$(date +%s%N)
  for ((i = 0; i < environments; i++)); do
    port=$((base_port + 2 * i))
    docker run -d --name "$prefix-$i" --label "perflab.lambda=$fn" --network host \
      --memory 512m --cpus 1 \
      -e DATABASE_URL -e PORT="$port" -e BIND_ADDRESS=127.0.0.1 \
      -e DB_POOL_MAX="${DB_POOL_MAX:-2}" -e LOG_LEVEL="${LOG_LEVEL:-warn}" \
      -e MAX_BODY_BYTES="${MAX_BODY_BYTES:-1048576}" \
      -e DB_ACQUIRE_TIMEOUT -e AUTH_ENABLED -e JWT_SECRET_KEY -e JWT_ISSUER -e JWT_AUDIENCE \
      -e SECRETS_URL -e SECRETS_REFRESH_INTERVAL \
      "$image" >/dev/null
    urls+=("http://127.0.0.1:$port")
  done
  mkdir -p build/lambda-gateway
  (IFS=,; exec build/lambda-gateway/gateway -listen "127.0.0.1:$gateway_port" -emulators "${urls[*]}") \
    >"$state.log" 2>&1 &
  echo $! >"$state.pid"
  local deadline=$(( $(date +%s) + 60 ))
  until probe; do
    if (( $(date +%s) > deadline )); then
      echo "$fn did not answer within 60 s; gateway log: $state.log" >&2
      docker logs "$prefix-0" 2>&1 | tail -20 >&2
      exit 1
    fi
    sleep 0.05
  done
  local elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "$fn: $environments environment(s) behind http://127.0.0.1:$gateway_port;" \
       "cold start (container start to first successful answer): ${elapsed_ms} ms"
}

case "$action" in
  up) up ;;
  down) down ;;
  *) usage ;;
esac
