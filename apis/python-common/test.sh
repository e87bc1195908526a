#!/usr/bin/env bash
# Unit tests of the Python APIs: apis/python-common/tests (config, JSON, dates, validation, repository
# classification), apis/python-rest/tests and apis/python-grpc/tests (the REST and gRPC surfaces over fake
# stores). No database needed; TEST_DATABASE_URL=postgres://... adds the repository's write tests.
# Both APIs are built first (fast when nothing changed): the tests import the pinned dependencies and the
# generated gRPC modules from build/. The interpreter is the project's .venv (CPython 3.11, with pytest);
# extra arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
python=${PYTHON:-.venv/bin/python}
if [ "$("$python" -c 'import sys; print(sys.implementation.cache_tag)')" != cpython-311 ]; then
  echo "$0: $python is not CPython 3.11, the interpreter the APIs' wheels are built for" >&2
  exit 2
fi
apis/python-rest/build.sh >/dev/null
apis/python-grpc/build.sh >/dev/null
export PYTHONDONTWRITEBYTECODE=1  # nothing written into build/: the images' tags hash it
# apis/python-common/tests: api_testing, what the REST and gRPC tests share (fake stores, tokens).
export PYTHONPATH=apis/python-common:apis/python-common/tests:apis/python-rest:apis/python-grpc:build/python-grpc/app:build/python-rest/packages:build/python-grpc/packages
exec "$python" -m pytest -q -p no:cacheprovider "$@" apis/python-common/tests apis/python-rest/tests apis/python-grpc/tests
