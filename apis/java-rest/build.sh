#!/usr/bin/env bash
# Builds the java-rest fat jar on the host into build/java-rest/app.jar (and the shared health probe its
# image needs). Usage: apis/java-rest/build.sh [--skip-tests]
# Maven runs only when a source of the module, of java-common, of the reactor pom or of the proto is
# newer than the jar, so a run with nothing changed returns at once.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

maven_flags=(-B -q -f apis/pom.xml -pl java-rest -am)
if [[ "${1:-}" == "--skip-tests" ]]; then
    maven_flags+=(-DskipTests)
fi

jar=build/java-rest/app.jar
mkdir -p build/java-rest
if [[ ! -f "$jar" ]] || [[ -n "$(find apis/pom.xml apis/java-common/pom.xml apis/java-common/src \
        apis/java-rest/pom.xml apis/java-rest/src proto -type f -newer "$jar" -print -quit)" ]]; then
    mvn "${maven_flags[@]}" package
    cp apis/java-rest/target/java-rest.jar "$jar.tmp"
    mv "$jar.tmp" "$jar"
fi

if [[ -x tools/healthprobe/build.sh ]]; then
    tools/healthprobe/build.sh
fi
