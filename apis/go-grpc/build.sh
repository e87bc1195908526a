#!/usr/bin/env bash
# Builds the static go-grpc server into build/go-grpc/server (and the health probe its image needs).
# go build is incremental, so a run with nothing changed only re-links from the build cache.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
mkdir -p build/go-grpc
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o build/go-grpc/server ./apis/go-grpc
tools/healthprobe/build.sh
