#!/usr/bin/env bash
# Builds python-grpc into build/python-grpc/ (app + pinned dependencies for CPython 3.11) and the health
# probe its image needs; the shared steps live in apis/python-common/build.sh. Fast when nothing changed.
set -euo pipefail
exec bash "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../python-common/build.sh" python-grpc
