#!/usr/bin/env bash
# Builds one Python API into build/<api>/ for its image (Debian bookworm's CPython 3.11):
#   build/<api>/packages/  its pinned dependencies (apis/<api>/requirements.txt), installed with
#                          `pip install --target` from CPython 3.11 manylinux x86_64 wheels (binary only)
#   build/<api>/app/       event_common, the API's package and, for python-grpc, the modules generated from
#                          proto/event_service.proto (grpcio-tools, build time only)
# and the health probe every image contains. Reruns are fast: the dependencies are reinstalled only when
# their pins change. The output holds no bytecode (the image compiles it), so it is the same on every run.
# Usage: apis/python-common/build.sh python-rest|python-grpc     (PYTHON: the host interpreter, default python3)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

api=${1:-}
case "$api" in
  python-rest) package=python_rest ;;
  python-grpc) package=python_grpc ;;
  *) echo "usage: $0 python-rest|python-grpc" >&2; exit 2 ;;
esac
python=${PYTHON:-python3}
out="build/$api"
mkdir -p "$out"

# Wheels for the image's interpreter, whatever the host's: CPython 3.11 on glibc x86_64 (bookworm has 2.36).
wheel_args=(--only-binary=:all: --implementation cp --python-version 3.11 --abi cp311 --abi abi3 --abi none
            --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64
            --platform manylinux_2_5_x86_64 --platform manylinux1_x86_64 --platform any)
stamp=$({ cat apis/python-common/requirements.txt "apis/$api/requirements.txt"; printf '%s\n' "${wheel_args[@]}"; } \
        | sha256sum | cut -c1-16)
if [ "$(cat "$out/packages/.pins" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$out/packages" "$out/packages.partial"
  "$python" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-compile --target "$out/packages.partial" \
    "${wheel_args[@]}" -r "apis/$api/requirements.txt"
  rm -rf "$out/packages.partial/bin"  # console scripts with the host's interpreter path: not used
  echo "$stamp" > "$out/packages.partial/.pins"
  mv "$out/packages.partial" "$out/packages"
fi

# The application, copied afresh so that no removed module lingers.
rm -rf "$out/app"
mkdir -p "$out/app"
cp -r apis/python-common/event_common "apis/$api/$package" "$out/app/"
if [ "$api" = python-grpc ]; then
  # grpcio-tools for the host interpreter, cached outside build/ (it is not part of the image).
  cache=${PERFLAB_CACHE:-$HOME/.cache/perflab}
  tag=$("$python" -c 'import sys; print(sys.implementation.cache_tag)')
  tools="$cache/python-build-tools/$(sha256sum apis/python-grpc/build-requirements.txt | cut -c1-16)-$tag"
  if [ ! -e "$tools/.complete" ]; then
    rm -rf "$tools"
    "$python" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target "$tools" \
      -r apis/python-grpc/build-requirements.txt
    touch "$tools/.complete"
  fi
  PYTHONPATH="$tools" PYTHONDONTWRITEBYTECODE=1 "$python" -m grpc_tools.protoc -Iproto \
    --python_out="$out/app" --grpc_python_out="$out/app" proto/event_service.proto
fi
# Running the unit tests or the API from here must not leave bytecode behind (the image's tag hashes
# these files).
find "$out" -name __pycache__ -prune -exec rm -rf {} +

tools/healthprobe/build.sh
