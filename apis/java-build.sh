#!/usr/bin/env bash
# Builds one Java API fat jar on the host into build/<service>/app.jar (and the shared health probe its
# image needs). Usage: apis/java-build.sh <java-rest|java-grpc> [--skip-tests]
# Maven runs only when a source of the module, of java-common, of the reactor pom or of the proto is
# newer than the jar, so a run with nothing changed returns at once.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

service="${1:-}"
case "$service" in
    java-rest|java-grpc) ;;
    *) echo "usage: apis/java-build.sh <java-rest|java-grpc> [--skip-tests]" >&2; exit 2 ;;
esac
shift

maven_flags=(-B -q -f apis/pom.xml -pl "$service" -am)
if [[ "${1:-}" == "--skip-tests" ]]; then
    maven_flags+=(-DskipTests)
fi

jar="build/$service/app.jar"
mkdir -p "build/$service"
if [[ ! -f "$jar" ]] || [[ -n "$(find apis/pom.xml apis/java-common/pom.xml apis/java-common/src \
        "apis/$service/pom.xml" "apis/$service/src" proto -type f -newer "$jar" -print -quit)" ]]; then
    mvn "${maven_flags[@]}" package
    cp "apis/$service/target/$service.jar" "$jar.tmp"
    mv "$jar.tmp" "$jar"
fi

if [[ -x tools/healthprobe/build.sh ]]; then
    tools/healthprobe/build.sh
fi
