#!/usr/bin/env bash
# Builds this API into build/<service>/server. Both Rust APIs share one workspace and target dir,
# so this builds them together (see ../rust-build.sh).
set -euo pipefail
exec "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/rust-build.sh"
