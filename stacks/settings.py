"""The stack's configuration as the program sees it: `pulumi.Config`, typed by `perflab.settings`.

Reading through `pulumi.Config` (not the YAML file) means `pulumi config set` and the in-process engine's
config both reach the program; `perflab.settings.StackConfig` gives every value the same type whether the
Pulumi CLI stored it as text or not, so the runner and the program agree on limits and defaults.

Inputs from the host, read and never written: `PERFLAB_APIS` (a comma-separated API list that narrows
`perflab:apis` for one `bench up`, so no per-run choice is written into `Pulumi.<stack>.yaml`), and the
database password when `perflab:dbPassword` is not set (`PERFLAB_DB_PASSWORD`, else the file `bench up`
generated in `.perflab/db-password`).
"""
from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import Any

import pulumi

from perflab import catalogue
from perflab.errors import ConfigError
from perflab.settings import PROJECT, StackConfig

# The keys the program reads; anything else under perflab: in the stack file is the runner's or the AWS
# program's business.
KEYS = ("target", "limits", "networkMode", "offline", "dbPoolMax", "maxBodyBytes", "logLevel",
        "postgresSettings", "apis", "healthcheckInterval", "lambdaEnvironments", "lambdaDbPoolMax")
API_OVERRIDE_VARIABLE = "PERFLAB_APIS"


@dataclasses.dataclass(frozen=True)
class Settings:
    stack: str
    config: StackConfig
    db_password: pulumi.Output  # always a secret

    @property
    def network_mode(self) -> str:
        return self.config.network_mode

    @property
    def healthcheck_interval(self) -> str:
        return self.config.healthcheck_interval

    def apis(self) -> list[catalogue.Service]:
        """perflab:apis, else every API of the catalogue (container APIs and Lambdas alike)."""
        try:
            services = catalogue.apis(self.config.api_names)
        except KeyError as error:
            raise ConfigError(f"perflab:apis: {error.args[0]}") from error
        if self.network_mode != "host" and any(s.deployment == "lambda" for s in services):
            # The gateway finds each emulator's Runtime API (its health check) on 127.0.0.1 of the host.
            raise ConfigError("Lambdas run with networkMode host only; leave them out with perflab:apis for "
                              "bridge mode")
        for service in services:
            if service.deployment == "lambda":
                self.emulator_ports(service)  # refuses ports that collide
        return services

    @property
    def lambda_environments(self) -> int:
        return self.config.lambda_environments

    @property
    def lambda_db_pool_max(self) -> int:
        return self.config.lambda_db_pool_max

    def emulator_ports(self, service: catalogue.Service) -> list[int]:
        """The Lambda's emulator ports (each with PORT+1 for its Runtime API), checked against every other
        port of the catalogue and every other Lambda's emulators."""
        taken = {s.port: s.name for s in catalogue.stack_services()}
        for other in catalogue.APIS:
            if other.deployment == "lambda" and other != service:
                for port in catalogue.emulator_ports(other, self.lambda_environments):
                    taken.update({port: f"{other.name} emulators", port + 1: f"{other.name} emulators"})
        ports = catalogue.emulator_ports(service, self.lambda_environments)
        for port in ports:
            for used in (port, port + 1):
                if used in taken or not 1024 <= used <= 65535:
                    raise ConfigError(
                        f"{service.name}: emulator port {used} (base {service.emulator_base_port}, "
                        f"perflab:lambdaEnvironments {self.lambda_environments}) is "
                        + (f"used by {taken[used]}" if used in taken else "out of range"))
        return ports


def _password_from_host() -> str:
    if os.environ.get("PERFLAB_DB_PASSWORD"):
        return os.environ["PERFLAB_DB_PASSWORD"]
    path = pathlib.Path(os.environ.get("PERFLAB_STATE", catalogue.ROOT / ".perflab")) / "db-password"
    if path.exists():
        return path.read_text().strip()
    raise ConfigError("no database password: set one with `pulumi config set --secret perflab:dbPassword ...`, "
                      "or export PERFLAB_DB_PASSWORD, or let `bench up` generate one")


def load() -> Settings:
    config = pulumi.Config(PROJECT)
    values: dict[str, Any] = {f"{PROJECT}:{key}": config.get(key) for key in KEYS if config.get(key) is not None}
    override = os.environ.get(API_OVERRIDE_VARIABLE)
    if override:
        values[f"{PROJECT}:apis"] = [name.strip() for name in override.split(",") if name.strip()]
    password = config.get_secret("dbPassword")
    if password is None:
        password = pulumi.Output.secret(_password_from_host())
    return Settings(pulumi.get_stack(), StackConfig(pulumi.get_stack(), values), password)
