"""The stack's one Docker network (bridge mode). With host networking the services share the host's
network namespace, each bound to 127.0.0.1, and no Docker network exists at all."""
from __future__ import annotations

import pulumi
import pulumi_docker as docker

from perflab.names import LABEL


class LabNetwork(pulumi.ComponentResource):
    name: pulumi.Output[str]

    def __init__(self, name: str, stack: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("perflab:local:Network", name, None, opts)
        network = docker.Network(
            name, name=f"perflab-{stack}", driver="bridge",
            labels=[docker.NetworkLabelArgs(label=LABEL, value=stack)],
            opts=pulumi.ResourceOptions(parent=self))
        self.name = network.name
        self.register_outputs({"name": self.name})
