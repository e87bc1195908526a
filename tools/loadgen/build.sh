#!/usr/bin/env bash
# Builds the static load generator into build/loadgen/loadgen (see tools/loadgen/README.md).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
mkdir -p build/loadgen
# go build is incremental: a no-change rebuild only re-links from the build cache.
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o build/loadgen/loadgen ./tools/loadgen
