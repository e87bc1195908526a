"""The stack's configuration as the program sees it: `pulumi.Config`, parsed by the runner's own rules.

Reading through `pulumi.Config` (not the YAML file) means `pulumi config set` and the in-process engine's
config both reach the program; parsing through `runner.config.StackConfig` means the runner and the
program agree on limits, settings and defaults.
"""
from __future__ import annotations

import dataclasses
import json

import pulumi

from runner import catalogue
from runner import config as stack_config

KEYS = ("target", "limits", "networkMode", "offline", "dbPoolMax", "maxBodyBytes", "logLevel",
        "postgresSettings", "apis", "healthcheckInterval", "lambdaEnvironments", "lambdaDbPoolMax")


@dataclasses.dataclass(frozen=True)
class Settings:
    stack: str
    config: stack_config.StackConfig
    db_password: pulumi.Output  # always a secret

    @property
    def network_mode(self) -> str:
        return self.config.network_mode

    @property
    def healthcheck_interval(self) -> str:
        return str(self.config.get("healthcheckInterval", "1s"))

    def apis(self) -> list[catalogue.Service]:
        """perflab:apis, else every API of the catalogue (container APIs and Lambdas alike)."""
        try:
            services = catalogue.apis(self.config.api_names)
        except KeyError as error:
            raise stack_config.ConfigError(f"perflab:apis: {error.args[0]}") from error
        if self.network_mode != "host" and any(s.deployment == "lambda" for s in services):
            # The gateway finds each emulator's Runtime API (its health check) on 127.0.0.1 of the host.
            raise stack_config.ConfigError(
                "Lambdas run with networkMode host only; leave them out with perflab:apis for bridge mode")
        for service in services:
            if service.deployment == "lambda":
                self.emulator_ports(service)  # refuses ports that collide
        return services

    @property
    def lambda_environments(self) -> int:
        """perflab:lambdaEnvironments: emulator containers (execution environments) per Lambda, default 2."""
        return _positive(self.config.get("lambdaEnvironments", 2), "lambdaEnvironments")

    @property
    def lambda_db_pool_max(self) -> int:
        """perflab:lambdaDbPoolMax: DB_POOL_MAX of each execution environment, default 2 (Lambda's)."""
        return _positive(self.config.get("lambdaDbPoolMax", 2), "lambdaDbPoolMax")

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
                    raise stack_config.ConfigError(
                        f"{service.name}: emulator port {used} (base {service.emulator_base_port}, "
                        f"perflab:lambdaEnvironments {self.lambda_environments}) is "
                        + (f"used by {taken[used]}" if used in taken else "out of range"))
        return ports


def _positive(value, key: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1 or str(number) != str(value).strip():
        raise stack_config.ConfigError(f"perflab:{key} must be a positive whole number, not {value!r}")
    return number


def load() -> Settings:
    config = pulumi.Config("perflab")
    values = {}
    for key in KEYS:
        raw = config.get(key)
        if raw is None:
            continue
        try:  # objects, lists, numbers and booleans arrive as JSON text; plain strings as themselves
            values[f"perflab:{key}"] = json.loads(raw)
        except ValueError:
            values[f"perflab:{key}"] = raw
    password = config.get_secret("dbPassword")
    if password is None:
        password = pulumi.Output.secret(stack_config.database_password())
    return Settings(pulumi.get_stack(), stack_config.StackConfig(pulumi.get_stack(), values), password)
