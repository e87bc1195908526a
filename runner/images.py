"""Host artifacts and Docker images of the catalogue's services, rebuilt only when their inputs change."""
from __future__ import annotations

import functools
import hashlib
import pathlib
import subprocess
from typing import Iterable

import docker
import docker.errors

from runner.catalogue import HEALTHPROBE, ROOT, Service

BASE_IMAGE = "debian:bookworm-slim"


class BuildError(Exception):
    pass


def _files(paths: Iterable[pathlib.Path]) -> list[pathlib.Path]:
    found = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.exists():
            found.append(path)
        else:
            raise BuildError(f"missing build input {path.relative_to(ROOT)}")
    return found


def image_inputs(service: Service) -> list[pathlib.Path]:
    if service.role in ("database", "metrics-database"):
        return [service.dockerfile, ROOT / "db/postgres/entrypoint.sh", ROOT / "db/schema.sql"]
    artifacts = [ROOT / path for path in service.artifacts] or [service.artifact_dir]
    return [service.dockerfile, *artifacts, HEALTHPROBE.artifact_dir]


@functools.cache
def _base_image_id() -> str:
    """The base image is an input too: a rebuilt debian:bookworm-slim must rebuild every image on it."""
    try:
        return docker.from_env().images.get(BASE_IMAGE).id
    except docker.errors.DockerException:
        return "missing"


def content_tag(service: Service) -> str:
    digest = hashlib.sha256(_base_image_id().encode())
    for path in _files(image_inputs(service)):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_artifact(service: Service, log=print) -> None:
    """Run the service's build.sh (idempotent; fast when nothing changed)."""
    script = service.build_command
    if not script.exists():
        raise BuildError(f"{service.name}: no build script {script.relative_to(ROOT)}")
    log(f"building {service.name} artifact ({script.relative_to(ROOT)})")
    result = subprocess.run(["bash", str(script), *service.build_args], cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-30:])
        raise BuildError(f"{service.name}: {script.relative_to(ROOT)} failed (exit {result.returncode}):\n{tail}")


def ensure_image(service: Service, client: docker.DockerClient | None = None, log=print) -> str:
    """Build `perflab/<name>:<content hash>` unless it exists already; return the reference."""
    client = client or docker.from_env()
    try:
        client.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound as error:
        raise BuildError(f"base image {BASE_IMAGE} is missing: run scripts/setup (it builds it offline)") from error
    reference = f"{service.image}:{content_tag(service)}"
    try:
        client.images.get(reference)
    except docker.errors.ImageNotFound:
        log(f"building image {reference}")
        try:
            client.images.build(path=str(ROOT), dockerfile=str(service.dockerfile.relative_to(ROOT)),
                                tag=reference, rm=True, pull=False, labels={"perflab.service": service.name})
        except docker.errors.BuildError as error:
            lines = [chunk.get("stream", chunk.get("error", "")) for chunk in error.build_log]
            raise BuildError(f"{service.name}: docker build failed:\n{''.join(lines)[-3000:]}") from error
    client.images.get(reference).tag(service.image, "latest")
    prune_superseded(client, service, reference, log)
    return reference


def prune_superseded(client: docker.DockerClient, service: Service, keep: str, log=print) -> None:
    """Remove this service's older content-tagged images, so rebuilding after each change does not fill the
    disk. An image a container still uses stays (Docker refuses); the new one keeps the `latest` tag."""
    for image in client.images.list(name=service.image):
        if keep in image.tags:
            continue
        for tag in image.tags:
            try:
                client.images.remove(tag, noprune=False)
                log(f"removed superseded image {tag}")
            except docker.errors.APIError:
                pass  # still used by a container (e.g. a stack not yet updated): kept


def prepare(services: Iterable[Service], client: docker.DockerClient | None = None, log=print) -> dict[str, str]:
    """Artifacts then images for `services` (the health probe first: every API image contains it)."""
    client = client or docker.from_env()
    services = list(services)
    if any(s.role not in ("database", "metrics-database") for s in services):
        build_artifact(HEALTHPROBE, log)
    references = {}
    for service in services:
        if service.role not in ("database", "metrics-database"):
            build_artifact(service, log)
        references[service.name] = ensure_image(service, client, log)
    return references
