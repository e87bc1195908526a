"""A stack's configuration, read from `Pulumi.<stack>.yaml` (the runner) or `pulumi.Config` (the program).

Values arrive typed differently depending on who wrote them: YAML gives `20`, `true`, `1.0`; the Pulumi
CLI rewrites them as text (`"20"`, `"true"`, `"1"`) and the program receives every value as text. Every
reader goes through the typed getters here, so both forms mean the same thing.
"""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from perflab.catalogue import ROOT
from perflab.errors import ConfigError

PROJECT = "perflab"

__all__ = ["PROJECT", "ConfigError", "Limits", "StackConfig", "load", "parse_size", "canonical_cpus"]


def parse_size(text: str | int) -> int:
    """"1g", "256m", "512MB", 1048576 → bytes."""
    units = {"k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}
    value = str(text).strip().lower().rstrip("b")
    try:
        if value and value[-1] in units:
            return int(Decimal(value[:-1]) * units[value[-1]])
        return int(value)
    except (InvalidOperation, ValueError):
        raise ConfigError(f"cannot read size {text!r} (use bytes or a unit: 512m, 1g)") from None


def canonical_cpus(cpus: float | str) -> str:
    """CPUs as the Docker provider stores them: "1", "0.5" (never "1.0")."""
    number = Decimal(str(cpus))
    if number <= 0:
        raise ConfigError(f"a CPU limit must be positive, not {cpus!r}")
    text = format(number.normalize(), "f")
    return text


CPUSET = re.compile(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")


def cpuset_cpus(text: str) -> list[int]:
    """"0-1,3" → [0, 1, 3]; an unreadable or descending range is refused."""
    if not CPUSET.match(text):
        raise ConfigError(f"cpuset {text!r} is not a CPU list such as 0, 2-3 or 0,2")
    cpus: set[int] = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        first, last = int(low), int(high or low)
        if last < first:
            raise ConfigError(f"cpuset {text!r}: range {part} runs backwards")
        cpus.update(range(first, last + 1))
    return sorted(cpus)


# One run's narrowing of `perflab:apis` (comma-separated names), set by the runner (`bench up --api`) or by
# hand before `pulumi up`; the programs and `bench build` read it the same way.
API_OVERRIDE_VARIABLE = "PERFLAB_APIS"


def api_override(environ: Any = None) -> list[str] | None:
    """The API names of PERFLAB_APIS, or None when it is unset or empty."""
    value = (os.environ if environ is None else environ).get(API_OVERRIDE_VARIABLE) or ""
    names = [name.strip() for name in value.split(",") if name.strip()]
    return names or None


@dataclasses.dataclass(frozen=True)
class Limits:
    cpus: float
    memory: str
    # CPU pinning (Docker's --cpuset-cpus), for hosts with 4 or more cores: the classes then share no core.
    cpuset: str | None = None

    @property
    def nano_cpus(self) -> int:
        return int(Decimal(str(self.cpus)) * 1_000_000_000)

    @property
    def memory_bytes(self) -> int:
        return parse_size(self.memory)

    @property
    def cpus_text(self) -> str:
        return canonical_cpus(self.cpus)

    @property
    def memory_mib(self) -> int:
        """Docker's provider takes memory in MiB; a limit that is not a whole number of MiB is refused."""
        mib, rest = divmod(self.memory_bytes, 1024 ** 2)
        if rest or mib <= 0:
            raise ConfigError(f"memory limit {self.memory!r} is not a whole number of MiB")
        return mib

    def as_dict(self) -> dict:
        return {"cpus": self.cpus, "memory": self.memory, **({"cpuset": self.cpuset} if self.cpuset else {})}


def _structured(value: Any) -> Any:
    """A value the CLI stored as text ("20", "true", '{"a": 1}') back to what it was written as."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


@dataclasses.dataclass(frozen=True)
class StackConfig:
    stack: str
    values: dict[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        return _structured(self.values.get(f"{PROJECT}:{key}", default))

    def require(self, key: str) -> Any:
        if f"{PROJECT}:{key}" not in self.values:
            raise ConfigError(f"Pulumi.{self.stack}.yaml has no {PROJECT}:{key}")
        return self.get(key)

    def get_int(self, key: str, default: int) -> int:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
            raise ConfigError(f"{PROJECT}:{key} must be a whole number, not {value!r}")
        return int(value)

    def get_positive_int(self, key: str, default: int) -> int:
        value = self.get_int(key, default)
        if value < 1:
            raise ConfigError(f"{PROJECT}:{key} must be a positive whole number, not {value!r}")
        return value

    def get_bool(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{PROJECT}:{key} must be true or false, not {value!r}")

    def get_str(self, key: str, default: str) -> str:
        value = self.values.get(f"{PROJECT}:{key}", default)
        return str(value)

    def limits(self, resource_class: str) -> Limits:
        table = self.require("limits")
        if not isinstance(table, dict) or resource_class not in table:
            raise ConfigError(f"Pulumi.{self.stack}.yaml: {PROJECT}:limits has no class {resource_class!r}")
        entry = table[resource_class]
        cpuset = entry.get("cpuset") if isinstance(entry, dict) else None
        if cpuset is not None:
            cpuset = str(cpuset).replace(" ", "")
            cpuset_cpus(cpuset)  # refuse a malformed list here
        try:
            cpus = float(Decimal(str(entry["cpus"])))
            limits = Limits(cpus, str(entry["memory"]), cpuset)
        except (KeyError, InvalidOperation) as error:
            raise ConfigError(f"{PROJECT}:limits.{resource_class} needs cpus and memory ({error})") from None
        limits.memory_bytes  # noqa: B018 — refuse an unreadable size here, not later
        return limits

    def check_cpusets(self, host_cpus: int) -> None:
        """CPU pinning is for hosts with 4 or more cores; every pinned CPU must exist and a class must be pinned to
        at least as many cores as its CPU limit."""
        pinned = {name: self.limits(name).cpuset for name in self.resource_classes() if self.limits(name).cpuset}
        if not pinned:
            return
        if host_cpus < 4:
            raise ConfigError(f"{PROJECT}:limits pins classes to cores ({', '.join(sorted(pinned))}): that option is "
                              f"for hosts with 4 or more CPUs, this one has {host_cpus}")
        for name, cpuset in pinned.items():
            cpus = cpuset_cpus(str(cpuset))
            if cpus[-1] >= host_cpus:
                raise ConfigError(f"{PROJECT}:limits.{name}.cpuset {cpuset}: CPU {cpus[-1]} does not exist here "
                                  f"(CPUs 0-{host_cpus - 1})")
            if len(cpus) < self.limits(name).cpus:
                raise ConfigError(f"{PROJECT}:limits.{name}: {self.limits(name).cpus} CPUs cannot run on cpuset "
                                  f"{cpuset} ({len(cpus)} {'core' if len(cpus) == 1 else 'cores'})")

    def resource_classes(self) -> list[str]:
        return list(self.require("limits"))

    @property
    def offline(self) -> bool:
        return self.get_bool("offline", False)

    @property
    def network_mode(self) -> str:
        mode = self.get_str("networkMode", "host")
        if mode not in ("host", "bridge"):
            raise ConfigError(f"{PROJECT}:networkMode must be host or bridge, not {mode!r}")
        return mode

    @property
    def target(self) -> str:
        return self.get_str("target", "local")

    @property
    def healthcheck_interval(self) -> str:
        from perflab.durations import canonical_duration

        return canonical_duration(self.get_str("healthcheckInterval", "1s"))

    @property
    def lambda_environments(self) -> int:
        """perflab:lambdaEnvironments: emulator containers (execution environments) per Lambda, default 2."""
        return self.get_positive_int("lambdaEnvironments", 2)

    @property
    def lambda_db_pool_max(self) -> int:
        """perflab:lambdaDbPoolMax: DB_POOL_MAX of each execution environment, default 2 (Lambda's)."""
        return self.get_positive_int("lambdaDbPoolMax", 2)

    @property
    def profile(self) -> str:
        """perflab:profile: the auth/secrets profile the APIs run under (perflab.profiles), default no-auth."""
        from perflab import profiles

        return profiles.profile(self.get_str("profile", profiles.DEFAULT)).name

    def secrets_store_environment(self) -> dict[str, str]:
        """perflab:secretsStore: the local secrets store's injected faults, as its environment (delayMs,
        failureRate, timeoutRate; all 0 by default) — the original lab's mock's settings."""
        table = self.get("secretsStore", {}) or {}
        if not isinstance(table, dict):
            raise ConfigError(f"{PROJECT}:secretsStore must be a table of delayMs, failureRate, timeoutRate")
        names = {"delayMs": "SECRETS_SERVICE_DELAY_MS", "failureRate": "SECRETS_SERVICE_FAILURE_RATE",
                 "timeoutRate": "SECRETS_SERVICE_TIMEOUT_RATE"}
        unknown = set(table) - set(names)
        if unknown:
            raise ConfigError(f"{PROJECT}:secretsStore has no setting {', '.join(sorted(unknown))} "
                              f"(known: {', '.join(names)})")
        env = {}
        for key, variable in names.items():
            value = _structured(table.get(key, 0))
            try:
                number = Decimal(str(value))
            except InvalidOperation:
                raise ConfigError(f"{PROJECT}:secretsStore.{key} must be a number, not {value!r}") from None
            if number < 0 or (key != "delayMs" and number > 1) or (key == "delayMs" and number != number.to_integral()):
                raise ConfigError(f"{PROJECT}:secretsStore.{key} is out of range: {value!r}")
            env[variable] = format(number.normalize(), "f")
        return env

    @property
    def secrets_refresh_interval_ms(self) -> int:
        """perflab:secretsRefreshInterval: SECRETS_REFRESH_INTERVAL of the APIs (ms), default 60000."""
        return self.get_positive_int("secretsRefreshInterval", 60000)

    def api_environment(self) -> dict[str, str]:
        """The environment contract's shared values (DATABASE_URL and PORT are per service)."""
        return {"DB_POOL_MAX": str(self.get_positive_int("dbPoolMax", 20)),
                "LOG_LEVEL": self.get_str("logLevel", "warn"),
                "MAX_BODY_BYTES": str(self.get_positive_int("maxBodyBytes", 1048576))}

    @property
    def api_names(self) -> list[str] | None:
        """`perflab:apis`: the APIs this stack deploys; None (key absent) means every API of the catalogue."""
        names = self.get("apis")
        if names is None:
            return None
        if isinstance(names, str):
            names = [name.strip() for name in names.split(",") if name.strip()]
        return [str(name) for name in names]

    @property
    def deployed_api_names(self) -> list[str] | None:
        """The APIs a program run deploys: PERFLAB_APIS when set, else `perflab:apis` (None: every API)."""
        return api_override() or self.api_names

    def postgres_args(self) -> list[str]:
        settings = self.get("postgresSettings", {}) or {}
        return [arg for name, value in sorted(settings.items()) for arg in ("-c", f"{name}={value}")]


def load(stack: str = "local", root: pathlib.Path = ROOT) -> StackConfig:
    path = root / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise ConfigError(f"no stack configuration {path.name}: the stacks are local and aws")
    document = yaml.safe_load(path.read_text()) or {}
    return StackConfig(stack, dict(document.get("config", {}) or {}))
