#!/usr/bin/env bash
# The database-admin function's one third-party dependency for the Lambda runtime (python3.12, x86_64):
# psycopg2-binary's manylinux wheel, unpacked into build/db-admin/site (stacks/aws/admin.py zips its
# psycopg2/ and psycopg2_binary.libs/ next to the handler and the runner's modules). The version is the
# project's own pin (pyproject.toml), so the function runs the driver the runner is tested with.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
python="${PYTHON:-$root/.venv/bin/python}"
version="$(sed -n 's/^ *"psycopg2-binary==\([^"]*\)".*/\1/p' pyproject.toml)"
[[ -n "$version" ]] || { echo "pyproject.toml pins no psycopg2-binary" >&2; exit 1; }
out=build/db-admin
if [[ -f "$out/site/VERSION" && "$(cat "$out/site/VERSION")" == "$version" ]]; then
  exit 0
fi
rm -rf "$out/wheels" "$out/site"
mkdir -p "$out/wheels" "$out/site"
"$python" -m pip download --quiet --no-deps --only-binary=:all: --implementation cp --python-version 3.12 \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 "psycopg2-binary==$version" -d "$out/wheels"
"$python" -m zipfile -e "$out"/wheels/psycopg2_binary-*.whl "$out/site"
for entry in psycopg2 psycopg2_binary.libs; do
  [[ -d "$out/site/$entry" ]] || { echo "the wheel has no $entry/" >&2; exit 1; }
done
echo "$version" > "$out/site/VERSION"
