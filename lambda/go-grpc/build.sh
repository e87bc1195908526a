#!/usr/bin/env bash
# Builds build/lambda-go-grpc/bootstrap and the emulator pieces its image copies.
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../build.sh" go-grpc rie
