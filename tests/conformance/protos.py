"""Python stubs generated from `proto/` (the only proto) at first use, into a cache directory."""
from __future__ import annotations

import functools
import hashlib
import importlib
import pathlib
import sys
import tempfile

from grpc_tools import protoc

PROTO_DIR = pathlib.Path(__file__).resolve().parents[2] / "proto"
PROTO_FILE = "event_service.proto"


@functools.cache
def _generated_dir() -> pathlib.Path:
    source = (PROTO_DIR / PROTO_FILE).read_bytes()
    digest = hashlib.sha256(source).hexdigest()[:16]
    out = pathlib.Path(tempfile.gettempdir()) / f"perflab-proto-{digest}"
    if not (out / "event_service_pb2_grpc.py").exists():
        out.mkdir(parents=True, exist_ok=True)
        code = protoc.main(["protoc", f"-I{PROTO_DIR}", f"--python_out={out}", f"--grpc_python_out={out}",
                            str(PROTO_DIR / PROTO_FILE)])
        if code != 0:
            raise RuntimeError(f"protoc failed on {PROTO_DIR / PROTO_FILE} (exit {code})")
    if str(out) not in sys.path:
        sys.path.insert(0, str(out))
    return out


def event_pb2():
    _generated_dir()
    return importlib.import_module("event_service_pb2")


def event_pb2_grpc():
    _generated_dir()
    return importlib.import_module("event_service_pb2_grpc")


def health_pb2():
    return importlib.import_module("grpc_health.v1.health_pb2")


def health_pb2_grpc():
    return importlib.import_module("grpc_health.v1.health_pb2_grpc")
