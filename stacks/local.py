"""The local stack: network (bridge mode only), the two databases, one container per container API of the
catalogue, and per Lambda its emulator containers behind a gateway container (stacks/lambda_function.py).

Every API of a resource class gets exactly that class's limits; everything is reachable from this
machine only (127.0.0.1). The outputs are what the runner needs, so nothing else hard-codes endpoints.
"""
from __future__ import annotations

import functools

import pulumi

from perflab import profiles
from perflab.catalogue import LAMBDA_GATEWAY, METRICS_DATABASE, SECRETS_STORE, SUT_DATABASE, Service
from perflab.errors import ConfigError
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


def _api_environment(service: Service, bind: str, values: list) -> dict[str, str]:
    shared, url = values  # the shared environment and DATABASE_URL, resolved together
    return {**shared, "DATABASE_URL": url, "PORT": str(service.port), "BIND_ADDRESS": bind}


def _secrets_store_environment(faults: dict[str, str], db_password: str, jwt_key: str) -> dict[str, str]:
    return {**faults, "SECRETS_LISTEN": f"{LOOPBACK}:{SECRETS_STORE.port}",
            f"SECRET_{profiles.DB_PASSWORD_SECRET.upper().replace('-', '_')}": db_password,
            f"SECRET_{profiles.JWT_KEY_SECRET.upper().replace('-', '_')}": jwt_key}


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
            network=network, keep_data=True, opts=child)  # the run history survives `bench down`

        self.containers: dict[str, pulumi.Resource] = {SUT_DATABASE.name: self.database.container,
                                                      METRICS_DATABASE.name: self.metrics_database.container}
        self.apis: dict[str, dict] = {}
        container_names = [container_name(SUT_DATABASE), container_name(METRICS_DATABASE)]
        # The profile's auth and secrets variables (contract: Authentication, Secrets). Under auth+secrets the
        # APIs get neither the password (DATABASE_URL without it) nor the JWT key: they read both from the store.
        profile = settings.profile
        api_url: pulumi.Output = self.database.url_for_apis
        secrets_url = None
        secrets_store: dict | None = None
        if profile.secrets and settings.network_mode != "host":
            raise ConfigError("profile auth+secrets runs with networkMode host only (the APIs reach the secrets "
                              "store on 127.0.0.1)")
        if profile.secrets:
            assert settings.jwt_key is not None  # a secrets profile has auth
            api_url = self.database.url_without_password
            secrets_url = f"http://{LOOPBACK}:{SECRETS_STORE.port}"
            store_env = pulumi.Output.all(settings.db_password, settings.jwt_key).apply(
                lambda values: _secrets_store_environment(cfg.secrets_store_environment(), values[0], values[1]))
            self.containers[SECRETS_STORE.name] = ContainerService(
                SECRETS_STORE.name, SECRETS_STORE, ServiceImage(SECRETS_STORE.name, SECRETS_STORE, opts=child).image_id,
                limits=cfg.limits(SECRETS_STORE.resource_class), environment=pulumi.Output.secret(store_env),
                stack=settings.stack, network_mode="host",
                health_check=["CMD", "/usr/local/bin/healthprobe", "http", f"{secrets_url}/health"],
                healthcheck_interval=settings.healthcheck_interval, opts=child).container
            container_names.append(container_name(SECRETS_STORE))
            secrets_store = {"container": container_name(SECRETS_STORE), "endpoint": secrets_url,
                             "faults": cfg.secrets_store_environment()}
        # The APIs read the store at start-up: they start after it (and after the database).
        api_dependencies = [self.database.container, *([self.containers[SECRETS_STORE.name]] if profile.secrets else [])]
        extra = {"SECRETS_REFRESH_INTERVAL": str(cfg.secrets_refresh_interval_ms)} if profile.secrets else {}
        key: pulumi.Output = settings.jwt_key if settings.jwt_key is not None else pulumi.Output.from_input("")
        shared: pulumi.Output[dict[str, str]] = pulumi.Output.secret(key).apply(lambda jwt_key: {
            **cfg.api_environment(), **extra,
            **profiles.api_environment(profile, jwt_key=str(jwt_key) or None, secrets_url=secrets_url)})
        # One gateway image serves every Lambda (each gets its own gateway container).
        gateway_image = (ServiceImage(LAMBDA_GATEWAY.name, LAMBDA_GATEWAY, opts=child)
                         if any(s.deployment == "lambda" for s in apis) else None)
        for service in apis:
            image = ServiceImage(service.name, service, opts=child)
            if service.deployment == "lambda":
                function = LambdaFunction(
                    service.name, service, image, gateway_image, settings=settings,
                    database_url=api_url, shared_environment=shared,
                    depends_on=api_dependencies, opts=child)
                self.containers.update(function.containers)
                self.apis[service.name] = function.output
                container_names.extend(function.container_names)
                continue
            bind = LOOPBACK if settings.network_mode == "host" else "0.0.0.0"
            environment = pulumi.Output.all(shared, api_url).apply(functools.partial(_api_environment, service, bind))
            limits = cfg.limits(service.resource_class)
            self.containers[service.name] = ContainerService(
                service.name, service, image.image_id, limits=limits, environment=environment,
                stack=settings.stack, network_mode=settings.network_mode, network=network,
                health_check=health_test(service), healthcheck_interval=settings.healthcheck_interval,
                depends_on=api_dependencies, opts=child).container
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
            "profile": profile.name,
            # What a client needs for tokens the APIs accept (bench token, the runner's load generator).
            "auth": {"issuer": profiles.ISSUER, "audience": profiles.AUDIENCE,
                     "key": pulumi.Output.secret(settings.jwt_key)} if settings.jwt_key is not None else None,
            "secretsStore": secrets_store,
            "containers": container_names,  # every container of the stack, in start order
        }
        self.register_outputs({})
