"""A Lambda of the catalogue in the local stack: N emulator containers (one execution environment each, the
AWS Lambda Runtime Interface Emulator running the function's `bootstrap`) behind one gateway container (the
local stand-in for the API Gateway HTTP API) on the Lambda's catalogue port. See lambda/README.md.

- emulators: `perflab:lambdaEnvironments` of them (default 2), the `lambda-function` class's limits, the
  environment contract with DB_POOL_MAX = `perflab:lambdaDbPoolMax` (default 2), bound to 127.0.0.1 on
  BASE+2i (catalogue `emulator_base_port`) with their Runtime API on BASE+2i+1; health: the Runtime API ping.
- gateway: the `gateway` class's limits, 127.0.0.1:<port>, started after the emulators; health: its own
  `/_gateway/health` (an emulator's Runtime API answers), never an invocation.
"""
from __future__ import annotations

import dataclasses
import functools

import pulumi

from perflab.catalogue import LAMBDA_GATEWAY, Service
from perflab.names import LOOPBACK, container_name, emulator_container_name
from stacks.service import ContainerService, limits_output


def _emulator_environment(pool_max: int, port: int, values: list) -> dict[str, str]:
    shared, url = values  # the shared environment and DATABASE_URL, resolved together
    return {**shared, "DB_POOL_MAX": str(pool_max), "DATABASE_URL": url, "PORT": str(port), "BIND_ADDRESS": LOOPBACK}


class LambdaFunction(pulumi.ComponentResource):
    def __init__(self, name: str, service: Service, image, gateway_image, *, settings, database_url: pulumi.Output,
                 shared_environment: pulumi.Input[dict[str, str]], depends_on=(), opts: pulumi.ResourceOptions | None = None):
        super().__init__("perflab:local:LambdaFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cfg = settings.config
        limits = cfg.limits(service.resource_class)
        gateway_limits = cfg.limits(LAMBDA_GATEWAY.resource_class)
        common = dict(stack=settings.stack, network_mode=settings.network_mode,
                      healthcheck_interval=settings.healthcheck_interval)
        labels = {"perflab.api": service.name, "perflab.deployment": service.deployment}

        self.containers: dict[str, pulumi.Resource] = {}
        self.emulators: list[dict] = []
        for index, port in enumerate(settings.emulator_ports(service)):
            environment = pulumi.Output.all(shared_environment, database_url).apply(functools.partial(
                _emulator_environment, settings.lambda_db_pool_max, port))
            emulator = dataclasses.replace(service, name=f"{service.name}-{index}", port=port)
            runtime_api = f"http://{LOOPBACK}:{port + 1}"
            self.containers[emulator.name] = ContainerService(
                emulator.name, emulator, image.image_id, limits=limits, environment=environment,
                health_check=["CMD", "/usr/local/bin/healthprobe", "http", f"{runtime_api}/2018-06-01/ping"],
                depends_on=list(depends_on), labels={**labels, "perflab.environment": str(index)},
                opts=child, **common).container
            self.emulators.append({"container": emulator_container_name(service, index),
                                   "endpoint": f"http://{LOOPBACK}:{port}", "runtimeApi": runtime_api})

        # The gateway carries the Lambda's name and port, the gateway image's role and class.
        gateway = dataclasses.replace(LAMBDA_GATEWAY, name=service.name, port=service.port,
                                      protocol=service.protocol)
        listen = f"{LOOPBACK}:{service.port}"
        self.containers[service.name] = ContainerService(
            service.name, gateway, gateway_image.image_id, limits=gateway_limits,
            environment={"GATEWAY_LISTEN": listen,
                         "GATEWAY_EMULATORS": ",".join(e["endpoint"] for e in self.emulators)},
            health_check=["CMD", "/usr/local/bin/healthprobe", "http", f"http://{listen}/_gateway/health"],
            depends_on=list(self.containers.values()), labels=labels, opts=child, **common).container

        self.container_names = [e["container"] for e in self.emulators] + [container_name(service)]
        self.output = {
            "container": container_name(service), "containers": self.container_names,
            "endpoint": f"http://{listen}", "protocol": service.protocol, "port": service.port,
            "image": image.reference, "resourceClass": service.resource_class, "limits": limits_output(limits),
            "deployment": service.deployment, "environments": len(self.emulators),
            "dbPoolMax": settings.lambda_db_pool_max, "emulators": self.emulators,
            "gateway": {"container": container_name(service), "image": gateway_image.reference,
                        "resourceClass": LAMBDA_GATEWAY.resource_class, "limits": limits_output(gateway_limits)}}
        self.register_outputs({})
