"""A service's image, referred to by its content tag: `perflab/<name>:<hash of its inputs>`.

The runner builds artifacts and images before the program runs (`bench build`, or `bench up`), so the
program has no side effect: it declares a `RemoteImage` kept locally (the Docker provider finds the local
image and never pulls it), and containers use its `image_id`. Same inputs, same tag, no change; a changed
artifact gives a new tag, a new image and a replaced container — nothing else.
"""
from __future__ import annotations

import pulumi
import pulumi_docker as docker

from perflab import artifacts
from perflab.catalogue import Service


class ServiceImage(pulumi.ComponentResource):
    image_id: pulumi.Output[str]
    reference: str

    def __init__(self, name: str, service: Service, opts: pulumi.ResourceOptions | None = None):
        super().__init__("perflab:local:ServiceImage", name, None, opts)
        self.reference = artifacts.image_reference(service)
        image = docker.RemoteImage(
            name,
            name=self.reference,
            keep_locally=True,  # the local image is the build cache: `down` never deletes it
            opts=pulumi.ResourceOptions(parent=self))
        self.image_id = image.image_id
        self.register_outputs({"imageId": self.image_id})
