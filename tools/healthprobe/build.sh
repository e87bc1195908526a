#!/usr/bin/env bash
# Builds the static container health probe into build/healthprobe/healthprobe.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
mkdir -p build/healthprobe
# go build is incremental: a no-change rebuild only re-links from the build cache.
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o build/healthprobe/healthprobe ./tools/healthprobe
