#!/usr/bin/env bash
# Builds the java-rest fat jar on the host into build/java-rest/app.jar (and the shared health probe its
# image needs). Usage: apis/java-rest/build.sh [--skip-tests]
# Both Java APIs share one build script (see ../java-build.sh).
set -euo pipefail
exec "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/java-build.sh" java-rest "$@"
