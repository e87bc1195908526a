#!/usr/bin/env bash
# Regenerates the Go code of proto/event_service.proto into internal/pb with pinned plugins.
#   internal/pb/generate.sh          rewrite event_service.pb.go and event_service_grpc.pb.go
#   internal/pb/generate.sh --check  exit 1 if the committed files differ from a fresh generation
# Needs protoc on PATH (the generated headers record its version: 3.21.12 here).
set -euo pipefail
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bin="$root/build/tools/protoc-plugins"
mkdir -p "$bin"
GOBIN="$bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@${PROTOC_GEN_GO_VERSION}"
GOBIN="$bin" go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@${PROTOC_GEN_GO_GRPC_VERSION}"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
PATH="$bin:$PATH" protoc -I proto \
  --go_out="$out" --go_opt=module=github.com/perflab/apilab \
  --go-grpc_out="$out" --go-grpc_opt=module=github.com/perflab/apilab \
  proto/event_service.proto

if [[ "${1:-}" == "--check" ]]; then
  diff -u "$out/internal/pb" internal/pb -x '*.sh' -x '*_test.go' -x 'doc.go'
  echo "internal/pb is in sync with proto/event_service.proto"
else
  cp "$out"/internal/pb/*.go internal/pb/
fi
