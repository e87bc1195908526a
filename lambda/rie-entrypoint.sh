#!/bin/sh
# One local Lambda execution environment: the official Runtime Interface Emulator running
# /var/task/bootstrap. With host networking every container needs its own ports, so the emulator
# accepts invocations on BIND_ADDRESS:PORT and serves the Runtime API to the function on
# 127.0.0.1:PORT+1 (emulators are therefore spaced two ports apart).
set -eu
port="${PORT:-8080}"
# The function settings of the original lab's deployment (30 s, 512 MB); the emulator only
# enforces the timeout and reports the memory size.
export AWS_LAMBDA_FUNCTION_TIMEOUT="${AWS_LAMBDA_FUNCTION_TIMEOUT:-30}"
export AWS_LAMBDA_FUNCTION_MEMORY_SIZE="${AWS_LAMBDA_FUNCTION_MEMORY_SIZE:-512}"
exec /usr/local/bin/aws-lambda-rie --log-level "${LOG_LEVEL:-warn}" \
  --runtime-interface-emulator-address "${BIND_ADDRESS:-0.0.0.0}:${port}" \
  --runtime-api-address "127.0.0.1:$((port + 1))" \
  /var/task/bootstrap
