"""What each service's image is made of, and the content tag that names it.

The tag is a hash of every input of the image (Dockerfile, host artifacts, the health probe, the base
image's id), so the same inputs always give the same reference: a re-run with nothing changed changes
nothing, a changed artifact gives a new tag and a replaced container. Reading files only: the runner
builds artifacts and images (`bench build`) before the Pulumi program runs; the program refers to them.
"""
from __future__ import annotations

import hashlib
import os
import pathlib
from collections.abc import Iterable

from perflab.catalogue import HEALTHPROBE, ROOT, Service
from perflab.errors import LabError

BASE_IMAGE = "debian:bookworm-slim"
# The runner puts the local base image's id here before it runs the program (a rebuilt base image must
# give every image a new tag); without it the tag covers the project's files only.
BASE_IMAGE_ID_VARIABLE = "PERFLAB_BASE_IMAGE_ID"


class ArtifactError(LabError):
    pass


def _files(paths: Iterable[pathlib.Path]) -> list[pathlib.Path]:
    found = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.exists():
            found.append(path)
        else:
            raise ArtifactError(f"missing build input {path.relative_to(ROOT)}: run `bench build` (or "
                                f"`bench up`, which builds first)")
    return found


def is_database(service: Service) -> bool:
    return service.role in ("database", "metrics-database")


def image_inputs(service: Service) -> list[pathlib.Path]:
    if is_database(service):
        return [service.dockerfile, ROOT / "db/postgres/entrypoint.sh", ROOT / "db/schema.sql"]
    artifacts = [ROOT / path for path in service.artifacts] or [service.artifact_dir]
    return [service.dockerfile, *artifacts, HEALTHPROBE.artifact_dir]


def content_tag(service: Service, base_image_id: str | None = None) -> str:
    base = base_image_id if base_image_id is not None else os.environ.get(BASE_IMAGE_ID_VARIABLE, "")
    digest = hashlib.sha256(base.encode())
    for arg in service.docker_build_args:
        digest.update(f"{arg}={service.docker_build_args[arg]}".encode())
    for path in _files(image_inputs(service)):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def image_reference(service: Service, base_image_id: str | None = None) -> str:
    return f"{service.image}:{content_tag(service, base_image_id)}"
