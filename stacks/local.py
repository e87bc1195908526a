"""The local stack: network (bridge mode only), the two databases, one container per container API of the
catalogue, and per Lambda its emulator containers behind a gateway container (stacks/lambda_function.py).

Every API of a resource class gets exactly that class's limits; everything is reachable from this
machine only (127.0.0.1). The outputs are what the runner needs, so nothing else hard-codes endpoints.
"""
from __future__ import annotations

import functools

import pulumi

from perflab.catalogue import LAMBDA_GATEWAY, METRICS_DATABASE, SUT_DATABASE, Service
from perflab.names import LOOPBACK, container_name
from stacks.database import PostgresDatabase
from stacks.images import ServiceImage
from stacks.lambda_function import LambdaFunction
from stacks.network import LabNetwork
from stacks.service import ContainerService, health_test, limits_output
from stacks.settings import Settings


def endpoint(service: Service) -> str:
    address = f"{LOOPBACK}:{service.port}"
    return address if service.protocol == "grpc" else f"http://{address}"


def _api_environment(shared: dict[str, str], service: Service, bind: str, url: str) -> dict[str, str]:
    return {**shared, "DATABASE_URL": url, "PORT": str(service.port), "BIND_ADDRESS": bind}


class LocalStack(pulumi.ComponentResource):
    def __init__(self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("perflab:local:Stack", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cfg = settings.config
        apis = settings.apis()  # validates perflab:apis before anything is built
        network = LabNetwork("network", settings.stack, opts=child).name if settings.network_mode == "bridge" else None

        self.database = PostgresDatabase(
            SUT_DATABASE.name, SUT_DATABASE, ServiceImage(SUT_DATABASE.name, SUT_DATABASE, opts=child).image_id,
            settings=settings, password=settings.db_password, with_schema=True,
            postgres_args=cfg.postgres_args(), network=network, opts=child)
        # The metrics database is small: the system-under-test settings (shared_buffers...) do not fit it.
        self.metrics_database = PostgresDatabase(
            METRICS_DATABASE.name, METRICS_DATABASE,
            ServiceImage(METRICS_DATABASE.name, METRICS_DATABASE, opts=child).image_id,
            settings=settings, password=settings.db_password, with_schema=False, postgres_args=[],
            network=network, opts=child)

        self.containers: dict[str, pulumi.Resource] = {SUT_DATABASE.name: self.database.container,
                                                      METRICS_DATABASE.name: self.metrics_database.container}
        shared = cfg.api_environment()
        self.apis: dict[str, dict] = {}
        container_names = [container_name(SUT_DATABASE), container_name(METRICS_DATABASE)]
        # One gateway image serves every Lambda (each gets its own gateway container).
        gateway_image = (ServiceImage(LAMBDA_GATEWAY.name, LAMBDA_GATEWAY, opts=child)
                         if any(s.deployment == "lambda" for s in apis) else None)
        for service in apis:
            image = ServiceImage(service.name, service, opts=child)
            if service.deployment == "lambda":
                function = LambdaFunction(
                    service.name, service, image, gateway_image, settings=settings,
                    database_url=self.database.url_for_apis, shared_environment=shared,
                    depends_on=[self.database.container], opts=child)
                self.containers.update(function.containers)
                self.apis[service.name] = function.output
                container_names.extend(function.container_names)
                continue
            bind = LOOPBACK if settings.network_mode == "host" else "0.0.0.0"
            environment = self.database.url_for_apis.apply(functools.partial(_api_environment, shared, service, bind))
            limits = cfg.limits(service.resource_class)
            self.containers[service.name] = ContainerService(
                service.name, service, image.image_id, limits=limits, environment=environment,
                stack=settings.stack, network_mode=settings.network_mode, network=network,
                health_check=health_test(service), healthcheck_interval=settings.healthcheck_interval,
                depends_on=[self.database.container], opts=child).container
            self.apis[service.name] = {
                "container": container_name(service), "endpoint": endpoint(service), "protocol": service.protocol,
                "port": service.port, "image": image.reference, "resourceClass": service.resource_class,
                "limits": limits_output(limits), "containers": [container_name(service)]}
            container_names.append(container_name(service))

        self.outputs = {
            "stack": settings.stack,
            "networkMode": settings.network_mode,
            "network": network,
            "database": self.database.connection,
            "metricsDatabase": self.metrics_database.connection,
            "apis": self.apis,
            "containers": container_names,  # every container of the stack, in start order
        }
        self.register_outputs({})
