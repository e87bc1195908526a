"""A PostgreSQL of the lab (db/postgres image): the system under test with the schema and
pg_stat_statements (the image always preloads it), or the small metrics database without a schema.

The system under test is ephemeral (its data lives in the container). The metrics database keeps its data
(every run's results) in a named volume that outlives `bench down`; see `keep_data`."""
from __future__ import annotations

from typing import cast

import pulumi
import pulumi_docker as docker

from perflab.catalogue import Service
from perflab.names import LABEL, LOOPBACK, Database, container_name, data_volume_name
from stacks.service import ContainerService, health_test

USER = "bench"
NAME = "events"
# The db/postgres image's data directory (db/postgres/Dockerfile: ENV PGDATA).
PGDATA = "/var/lib/postgresql/data"


class PostgresDatabase(pulumi.ComponentResource):
    def __init__(self, name: str, service: Service, image_id: pulumi.Input[str], *,
                 settings, password: pulumi.Output, with_schema: bool, postgres_args: list[str],
                 network: pulumi.Input[str] | None = None, keep_data: bool = False,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("perflab:local:PostgresDatabase", name, None, opts)
        volumes = []
        self.volume_name: str | None = None
        if keep_data:
            # PGDATA in a named volume declared with retain_on_delete: `pulumi destroy` / `bench down` remove the
            # container and leave the volume (and the data in it); the next `up` adopts it again (Docker's volume
            # create returns the existing volume of that name; the in-process engine adopts it when it carries
            # these labels, docs/engine.md). Only `bench down --purge` removes it.
            self.volume_name = data_volume_name(settings.stack, service)
            volume = docker.Volume(
                f"{name}-data", name=self.volume_name,
                labels=[docker.VolumeLabelArgs(label=key, value=value) for key, value in {
                    LABEL: settings.stack, "perflab.service": service.name, "perflab.role": service.role}.items()],
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True))
            volumes.append(docker.ContainerVolumeArgs(volume_name=volume.name, container_path=PGDATA))
        mode = settings.network_mode
        environment = password.apply(lambda secret: {
            "POSTGRES_PASSWORD": secret, "POSTGRES_USER": USER, "POSTGRES_DB": NAME, "PGPORT": str(service.port),
            # host networking: bound to the loopback address; bridge: every interface of the container's
            # own namespace, published on 127.0.0.1 only.
            "LISTEN_ADDRESSES": LOOPBACK if mode == "host" else "*",
            "INIT_SQL": "/perflab/schema.sql" if with_schema else "",
            # Kept data: the password of this stack replaces the one the volume's cluster was created with.
            **({"POSTGRES_PASSWORD_SYNC": "1"} if keep_data else {})})
        self.service = ContainerService(
            name, service, image_id, limits=settings.config.limits(service.resource_class),
            environment=environment, stack=settings.stack, network_mode=mode, network=network,
            command=postgres_args, health_check=health_test(service, NAME, USER), volumes=volumes,
            healthcheck_interval=settings.healthcheck_interval, opts=pulumi.ResourceOptions(parent=self))
        self.container = self.service.container
        self.container_name = container_name(service)
        self.port = service.port
        # What the host (runner, load generator) connects to, and what the APIs use as DATABASE_URL.
        host_side = password.apply(lambda secret: Database(self.container_name, LOOPBACK, service.port, USER,
                                                           secret, NAME))
        api_host = LOOPBACK if mode == "host" else self.container_name
        api_side = password.apply(lambda secret: Database(self.container_name, api_host, service.port, USER,
                                                          secret, NAME))
        # cast: pulumi's stubs cannot solve Output.secret's type variable from an Output[str] argument
        self.dsn = pulumi.Output.secret(cast("pulumi.Input[str]", host_side.apply(lambda db: db.dsn)))
        self.url_for_apis = pulumi.Output.secret(cast("pulumi.Input[str]", api_side.apply(lambda db: db.url)))
        # auth+secrets: the APIs read the password from the secrets store, so their URL carries none.
        self.url_without_password = api_side.apply(lambda db: db.url_without_password)
        self.connection = {"container": self.container_name, "host": LOOPBACK, "port": service.port,
                           "user": USER, "name": NAME, "dsn": self.dsn,
                           **({"volume": self.volume_name} if self.volume_name else {})}
        self.register_outputs({"dsn": self.dsn})
