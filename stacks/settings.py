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

LOCAL_DEPLOYMENTS = ("container",)
KEYS = ("target", "limits", "networkMode", "offline", "dbPoolMax", "maxBodyBytes", "logLevel",
        "postgresSettings", "apis", "healthcheckInterval")


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
        """perflab:apis, else every API of the catalogue the local stack can run (see `not_deployed`)."""
        names = self.config.api_names
        try:
            services = catalogue.apis(names)
        except KeyError as error:
            raise stack_config.ConfigError(f"perflab:apis: {error.args[0]}") from error
        if names is None:
            return [service for service in services if service.deployment in LOCAL_DEPLOYMENTS]
        for service in services:
            if service.deployment not in LOCAL_DEPLOYMENTS:
                raise stack_config.ConfigError(
                    f"perflab:apis: {service.name} is a {service.deployment!r} deployment, which the local "
                    f"stack does not run yet (stacks/local.py); lambda/local.sh runs it by hand")
        return services

    def not_deployed(self) -> dict[str, str]:
        """Catalogue APIs the local stack leaves out, with the reason (exported, so never silent)."""
        if self.config.api_names is not None:
            return {}
        return {service.name: f"{service.deployment} deployment: not in the local stack yet (lambda/local.sh)"
                for service in catalogue.APIS if service.deployment not in LOCAL_DEPLOYMENTS}


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
