"""The stack's configuration as the program sees it: `pulumi.Config`, typed by `perflab.settings`.

Reading through `pulumi.Config` (not the YAML file) means `pulumi config set` and the in-process engine's
config both reach the program; `perflab.settings.StackConfig` gives every value the same type whether the
Pulumi CLI stored it as text or not, so the runner and the program agree on limits and defaults.

Inputs from the host, read and never written: `PERFLAB_APIS` (a comma-separated API list that narrows
`perflab:apis` for one `bench up`, so no per-run choice is written into `Pulumi.<stack>.yaml`),
`PERFLAB_PROFILE` (the same for `perflab:profile`), the database password when `perflab:dbPassword` is not
set (`PERFLAB_DB_PASSWORD`, else the file `bench up` generated in `.perflab/db-password`), and under an auth
profile the JWT key when `perflab:jwtSecretKey` is not set (`PERFLAB_JWT_SECRET_KEY`, else
`.perflab/jwt-secret-key`).
"""
from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import Any

import pulumi

from perflab import catalogue, profiles
from perflab.errors import ConfigError
from perflab.settings import PROJECT, StackConfig

# The keys the program reads; anything else under perflab: in the stack file is the runner's or the AWS
# program's business.
KEYS = ("target", "limits", "networkMode", "offline", "dbPoolMax", "maxBodyBytes", "logLevel",
        "postgresSettings", "apis", "healthcheckInterval", "lambdaEnvironments", "lambdaDbPoolMax", "profile",
        "secretsStore", "secretsRefreshInterval")


@dataclasses.dataclass(frozen=True)
class Settings:
    stack: str
    config: StackConfig
    db_password: pulumi.Output  # always a secret
    jwt_key: pulumi.Output | None = None  # a secret; only under a profile with auth

    @property
    def profile(self) -> profiles.Profile:
        return profiles.profile(self.config.profile)

    @property
    def network_mode(self) -> str:
        return self.config.network_mode

    @property
    def healthcheck_interval(self) -> str:
        return self.config.healthcheck_interval

    def apis(self) -> list[catalogue.Service]:
        """PERFLAB_APIS (one run's narrowing), else perflab:apis, else every API of the catalogue (container
        APIs and Lambdas alike)."""
        try:
            services = catalogue.apis(self.config.deployed_api_names)
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


def _secret_from_host(variable: str, file: str, what: str, config_key: str) -> str:
    """A secret the runner provides when the stack's config has none: the variable, else the file `bench up`
    generated under the lab's state directory (read only: the program never creates it)."""
    if os.environ.get(variable):
        return os.environ[variable]
    path = pathlib.Path(os.environ.get("PERFLAB_STATE", catalogue.ROOT / ".perflab")) / file
    if path.exists():
        return path.read_text().strip()
    raise ConfigError(f"no {what}: set one with `pulumi config set --secret {PROJECT}:{config_key} ...`, "
                      f"or export {variable}, or let `bench up` generate one")


def _password_from_host() -> str:
    return _secret_from_host("PERFLAB_DB_PASSWORD", "db-password", "database password", "dbPassword")


def _jwt_key_from_host() -> str:
    return _secret_from_host("PERFLAB_JWT_SECRET_KEY", "jwt-secret-key", "JWT key for the auth profile",
                             "jwtSecretKey")


def load() -> Settings:
    config = pulumi.Config(PROJECT)
    values: dict[str, Any] = {f"{PROJECT}:{key}": config.get(key) for key in KEYS if config.get(key) is not None}
    chosen = os.environ.get(profiles.PROFILE_VARIABLE)
    if chosen:
        values[f"{PROJECT}:profile"] = chosen.strip()
    password = config.get_secret("dbPassword")
    if password is None:
        password = pulumi.Output.secret(_password_from_host())
    stack_config = StackConfig(pulumi.get_stack(), values)
    jwt_key = None
    if profiles.profile(stack_config.profile).auth:
        jwt_key = config.get_secret("jwtSecretKey")
        if jwt_key is None:
            jwt_key = pulumi.Output.secret(profiles.check_key(_jwt_key_from_host()))
    return Settings(pulumi.get_stack(), stack_config, password, jwt_key)
