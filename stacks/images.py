"""A service's image: its host artifact built first, then `perflab/<name>:<content hash>` from its Dockerfile.

The tag is a hash of everything the image is made of (Dockerfile, artifacts, the health probe), so a
re-run with nothing changed refers to the same image and Pulumi sees no change; a changed artifact gives
a new tag, a new image and a replaced container — nothing else. The classic builder is pinned because it
uses the local `debian:bookworm-slim` without asking a registry (BuildKit resolves base images remotely).
"""
from __future__ import annotations

import pulumi
import pulumi_docker as docker

from runner import images as host_images
from runner.catalogue import HEALTHPROBE, ROOT, Service

# Indirection points for the unit tests, which must not run build scripts.
build_artifact = host_images.build_artifact
content_tag = host_images.content_tag

_artifacts_built: set[str] = set()


def ensure_artifacts(service: Service) -> None:
    """Run the service's build.sh (and the health probe's, once per program run) before hashing."""
    if service.role in ("database", "metrics-database"):
        return
    for needed in (HEALTHPROBE, service):
        if needed.name not in _artifacts_built:
            build_artifact(needed, log=pulumi.log.info)
            _artifacts_built.add(needed.name)


class ServiceImage(pulumi.ComponentResource):
    image_name: pulumi.Output[str]

    def __init__(self, name: str, service: Service, opts: pulumi.ResourceOptions | None = None):
        super().__init__("perflab:local:ServiceImage", name, None, opts)
        ensure_artifacts(service)
        reference = f"{service.image}:{content_tag(service)}"
        image = docker.Image(
            name,
            image_name=reference,
            skip_push=True,
            build=docker.DockerBuildArgs(
                context=str(ROOT),
                dockerfile=str(service.dockerfile),
                builder_version=docker.BuilderVersion.BUILDER_V1,
            ),
            opts=pulumi.ResourceOptions(parent=self))
        self.image_name = image.image_name
        self.register_outputs({"imageName": self.image_name})
