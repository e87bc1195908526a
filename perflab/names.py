"""Names and labels of the lab's Docker objects, shared by the Pulumi program and the runner."""
from __future__ import annotations

import dataclasses
import urllib.parse

from perflab.catalogue import Service

# Every container, volume and network a stack creates carries this label with the stack's name.
LABEL = "perflab.stack"
LOOPBACK = "127.0.0.1"


def container_name(service: Service) -> str:
    return f"perflab-{service.name}"


def emulator_container_name(service: Service, index: int) -> str:
    """A Lambda's execution environment `index` (one Runtime Interface Emulator container)."""
    return f"{container_name(service)}-{index}"


def data_volume_name(stack: str, service: Service) -> str:
    """The named volume that keeps a service's data across `bench down` (the metrics database's run
    history); only `bench down --purge` removes it."""
    return f"perflab-{stack}-{service.name}-data"


@dataclasses.dataclass(frozen=True)
class Database:
    """Where a PostgreSQL of the lab listens, and as whom to connect."""
    container: str
    host: str
    port: int
    user: str
    password: str
    name: str

    @property
    def dsn(self) -> str:
        password = urllib.parse.quote(self.password, safe="")
        return f"postgresql://{self.user}:{password}@{self.host}:{self.port}/{self.name}"

    @property
    def url(self) -> str:  # the DATABASE_URL of the environment contract
        return self.dsn.replace("postgresql://", "postgres://", 1)

    @property
    def url_without_password(self) -> str:  # the API then takes the password from PGPASSWORD or a store
        return f"postgres://{self.user}@{self.host}:{self.port}/{self.name}"
