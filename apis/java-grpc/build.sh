#!/usr/bin/env bash
# Builds the java-grpc fat jar on the host into build/java-grpc/app.jar (and the shared health probe its
# image needs). Usage: apis/java-grpc/build.sh [--skip-tests]
# Maven runs only when a source of the module, of java-common, of the reactor pom or of the proto is
# newer than the jar, so a run with nothing changed returns at once.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

maven_flags=(-B -q -f apis/pom.xml -pl java-grpc -am)
if [[ "${1:-}" == "--skip-tests" ]]; then
    maven_flags+=(-DskipTests)
fi

jar=build/java-grpc/app.jar
mkdir -p build/java-grpc
if [[ ! -f "$jar" ]] || [[ -n "$(find apis/pom.xml apis/java-common/pom.xml apis/java-common/src \
        apis/java-grpc/pom.xml apis/java-grpc/src proto -type f -newer "$jar" -print -quit)" ]]; then
    mvn "${maven_flags[@]}" package
    cp apis/java-grpc/target/java-grpc.jar "$jar.tmp"
    mv "$jar.tmp" "$jar"
fi

if [[ -x tools/healthprobe/build.sh ]]; then
    tools/healthprobe/build.sh
fi
