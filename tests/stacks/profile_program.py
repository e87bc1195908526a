"""Runs the Pulumi program once under mocks with the profile of PERFLAB_PROFILE and prints, as JSON, every
container's environment and whether it is secret. A separate process per profile (tests/stacks/
test_profiles.py): Pulumi's mocks hold one program per process."""
from __future__ import annotations

import asyncio
import json
import os
import runpy
import sys

import pulumi


class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        outputs = dict(args.inputs)
        if args.typ == "docker:index/remoteImage:RemoteImage":
            outputs.update(imageId=f"sha256:{args.name}", repoDigest=f"sha256:{args.name}")
        return f"{args.name}-id", outputs

    def call(self, args):
        return {}


class Monitor(pulumi.runtime.mocks.MockMonitor):
    """Keeps each container's dependencies (URNs): the start order the engine and Pulumi follow."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.dependencies: dict[str, list[str]] = {}
        self.urns: dict[str, str] = {}

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type == "docker:index/container:Container":
            dependencies = set(request.dependencies)
            for deps in request.propertyDependencies.values():
                dependencies.update(deps.urns)
            self.dependencies[request.name] = sorted(dependencies)
            self.urns[request.name] = response.urn
        return response


MOCKS = Mocks()
MONITOR = Monitor(MOCKS)
pulumi.runtime.set_mocks(MOCKS, project="perflab", stack="local", preview=False, monitor=MONITOR)

from perflab import artifacts, catalogue  # noqa: E402
from runner.engine.core import stack_config as engine_config  # noqa: E402

# A test may change the stack's configuration for this one process (JSON: {"perflab:key": value}).
pulumi.runtime.set_all_config({**engine_config("local"), **json.loads(os.environ.get("PROFILE_PROGRAM_CONFIG", "{}"))},
                              [])
artifacts.image_reference = lambda service, base_image_id=None: f"{service.image}:0123456789abcdef"
STACK = runpy.run_path(str(catalogue.ROOT / "__main__.py"))["stack"]


@pulumi.runtime.test
def dump():
    async def collect():
        containers = {}
        for name, container in STACK.containers.items():
            envs = await container.envs.future()
            containers[name] = {"env": dict(item.split("=", 1) for item in envs),
                                "secret": await container.envs.is_secret(),
                                "cpuSet": await container.cpu_set.future()}
        outputs = {key: await pulumi.Output.from_input(STACK.outputs[key]).future()
                   for key in ("profile", "secretsStore", "containers")}
        json.dump({"containers": containers, "outputs": outputs, "urns": MONITOR.urns,
                   "dependencies": MONITOR.dependencies}, sys.stdout)

    return pulumi.Output.from_input(asyncio.ensure_future(collect()))


if __name__ == "__main__":
    dump()
