#!/usr/bin/env bash
# Builds both Rust APIs (one cargo invocation, one shared target dir) and copies the binaries to
# build/rust-rest/server and build/rust-grpc/server. Idempotent; quick when nothing changed.
set -euo pipefail

apis_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$apis_dir/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${PERFLAB_CACHE:-$HOME/.cache/perflab}/cargo-target}"
# tonic-prost-build needs protoc; Debian's lives here.
export PROTOC="${PROTOC:-$(command -v protoc || echo /usr/bin/protoc)}"

cd "$apis_dir"
cargo build --release --locked -p rust-rest -p rust-grpc

for service in rust-rest rust-grpc; do
    mkdir -p "$repo_root/build/$service"
    # install -C leaves an unchanged binary (and its mtime) alone.
    install -C -m 0755 "$CARGO_TARGET_DIR/release/$service" "$repo_root/build/$service/server"
    echo "built $repo_root/build/$service/server"
done
