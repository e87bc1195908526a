#!/usr/bin/env bash
# Builds the local secrets store into build/secrets-store/secrets-store.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
mkdir -p build/secrets-store
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o build/secrets-store/secrets-store ./tools/secrets-store
