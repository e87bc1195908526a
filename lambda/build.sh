#!/usr/bin/env bash
# Builds the Lambda artifacts on the host:
#   build/lambda-go-rest/bootstrap   build/lambda-go-grpc/bootstrap   (what AWS would run, provided.al2023)
#   build/lambda-gateway/gateway     build/lambda-rie/aws-lambda-rie  build/lambda-rie/lambda-entrypoint
# Usage: lambda/build.sh [go-rest] [go-grpc] [gateway] [rie]   (no argument: all of them)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# The official emulator, pinned (the module publishes no tagged release the proxy serves).
RIE_MODULE=github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
RIE_VERSION=v0.0.0-20261030222936-bef5c4ba774d

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(go-rest go-grpc gateway rie)

build_function() { # name: the exact bootstrap a provided.al2023 x86_64 function deploys
  mkdir -p "build/lambda-$1"
  CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -tags lambda.norpc -ldflags='-s -w' \
    -o "build/lambda-$1/bootstrap" "./lambda/$1"
}

for target in "${targets[@]}"; do
  case "$target" in
    go-rest|go-grpc) build_function "$target" ;;
    gateway)
      mkdir -p build/lambda-gateway
      CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o build/lambda-gateway/gateway ./lambda/gateway ;;
    rie)
      mkdir -p build/lambda-rie
      if [[ ! -x build/lambda-rie/aws-lambda-rie || "$(cat build/lambda-rie/VERSION 2>/dev/null)" != "$RIE_VERSION" ]]; then
        GOBIN="$root/build/lambda-rie" CGO_ENABLED=0 go install -trimpath -ldflags='-s -w' "$RIE_MODULE@$RIE_VERSION"
        echo "$RIE_VERSION" > build/lambda-rie/VERSION
      fi
      install -m 0755 lambda/rie-entrypoint.sh build/lambda-rie/lambda-entrypoint
      # Every image's HEALTHCHECK uses the shared probe.
      [[ -x build/healthprobe/healthprobe ]] || tools/healthprobe/build.sh ;;
    *) echo "unknown target: $target (go-rest, go-grpc, gateway, rie)" >&2; exit 2 ;;
  esac
done
