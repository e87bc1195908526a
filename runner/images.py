"""Host artifacts and Docker images of the catalogue's services, rebuilt only when their inputs change.

`bench build` (and `bench up`, which builds first) runs this before the Pulumi program: the program only
refers to `perflab/<name>:<content tag>` (perflab.artifacts), so evaluating it has no side effect and the
real Pulumi engine and the in-process one see the same inputs.
"""
from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Callable, Iterable

import docker
import docker.errors

from perflab import artifacts
from perflab.artifacts import BASE_IMAGE, is_database
from perflab.catalogue import HEALTHPROBE, LAMBDA_GATEWAY, ROOT, Service
from perflab.errors import LabError

Log = Callable[[str], None]


class BuildError(LabError):
    pass


@functools.cache
def base_image_id() -> str:
    """The base image is an input too: a rebuilt debian:bookworm-slim must rebuild every image on it."""
    try:
        return str(docker.from_env().images.get(BASE_IMAGE).id)
    except docker.errors.ImageNotFound as error:
        raise BuildError(f"base image {BASE_IMAGE} is missing: run scripts/setup (it builds it offline)") from error


def export_base_image_id() -> None:
    """Hand the base image's id to the Pulumi program (it reads PERFLAB_BASE_IMAGE_ID, never Docker)."""
    os.environ[artifacts.BASE_IMAGE_ID_VARIABLE] = base_image_id()


def content_tag(service: Service) -> str:
    return artifacts.content_tag(service, base_image_id())


def build_artifact(service: Service, log: Log = print) -> None:
    """Run the service's build.sh (idempotent; fast when nothing changed)."""
    script = service.build_command
    if not script.exists():
        raise BuildError(f"{service.name}: no build script {script.relative_to(ROOT)}")
    log(f"building {service.name} artifact ({script.relative_to(ROOT)})")
    result = subprocess.run(["bash", str(script), *service.build_args], cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-30:])
        raise BuildError(f"{service.name}: {script.relative_to(ROOT)} failed (exit {result.returncode}):\n{tail}")


def ensure_image(service: Service, client: docker.DockerClient | None = None, log: Log = print) -> str:
    """Build `perflab/<name>:<content hash>` unless it exists already; return the reference."""
    client = client or docker.from_env()
    reference = f"{service.image}:{content_tag(service)}"
    try:
        client.images.get(reference)
    except docker.errors.ImageNotFound:
        log(f"building image {reference}")
        try:
            # forcerm: no intermediate container is left behind, even when a step fails.
            client.images.build(path=str(ROOT), dockerfile=str(service.dockerfile.relative_to(ROOT)),
                                tag=reference, rm=True, forcerm=True, pull=False,
                                buildargs=service.docker_build_args or None,
                                labels={"perflab.service": service.name})
        except docker.errors.BuildError as error:
            lines = [chunk.get("stream", chunk.get("error", "")) for chunk in error.build_log]
            raise BuildError(f"{service.name}: docker build failed:\n{''.join(lines)[-3000:]}") from error
    client.images.get(reference).tag(service.image, "latest")
    prune_superseded(client, service, reference, log)
    return reference


def prune_superseded(client: docker.DockerClient, service: Service, keep: str, log: Log = print) -> None:
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


def prepare(services: Iterable[Service], client: docker.DockerClient | None = None,
            log: Log = print) -> dict[str, str]:
    """Artifacts then images for `services` (the health probe first: every API image contains it)."""
    client = client or docker.from_env()
    services = list(services)
    if any(not is_database(s) for s in services):
        build_artifact(HEALTHPROBE, log)
    references = {}
    for service in services:
        if not is_database(service):
            build_artifact(service, log)
        references[service.name] = ensure_image(service, client, log)
    return references


def stack_images(apis: Iterable[Service]) -> list[Service]:
    """Every image a local stack with these APIs refers to: the databases, the APIs, the Lambda gateway."""
    from perflab.catalogue import METRICS_DATABASE, SUT_DATABASE

    apis = list(apis)
    gateway = [LAMBDA_GATEWAY] if any(s.deployment == "lambda" for s in apis) else []
    return [SUT_DATABASE, METRICS_DATABASE, *apis, *gateway]
