"""Stack configuration, read from the Pulumi stack files (`Pulumi.<stack>.yaml`): one home for limits."""
from __future__ import annotations

import dataclasses
import os
import pathlib
import secrets
from typing import Any

import yaml

from runner.catalogue import ROOT

PROJECT = "perflab"


class ConfigError(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class Limits:
    cpus: float
    memory: str

    @property
    def nano_cpus(self) -> int:
        return int(round(self.cpus * 1e9))

    @property
    def memory_bytes(self) -> int:
        return parse_size(self.memory)


def parse_size(text: str) -> int:
    units = {"k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}
    text = str(text).strip().lower().rstrip("b")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


@dataclasses.dataclass(frozen=True)
class StackConfig:
    stack: str
    values: dict[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(f"{PROJECT}:{key}", default)

    def require(self, key: str) -> Any:
        if f"{PROJECT}:{key}" not in self.values:
            raise ConfigError(f"Pulumi.{self.stack}.yaml has no {PROJECT}:{key}")
        return self.values[f"{PROJECT}:{key}"]

    def limits(self, resource_class: str) -> Limits:
        table = self.require("limits")
        if resource_class not in table:
            raise ConfigError(f"Pulumi.{self.stack}.yaml: {PROJECT}:limits has no class {resource_class!r}")
        entry = table[resource_class]
        return Limits(float(entry["cpus"]), str(entry["memory"]))

    @property
    def offline(self) -> bool:
        return bool(self.get("offline", False))

    @property
    def network_mode(self) -> str:
        mode = self.get("networkMode", "host")
        if mode not in ("host", "bridge"):
            raise ConfigError(f"{PROJECT}:networkMode must be host or bridge, not {mode!r}")
        return mode

    def api_environment(self) -> dict[str, str]:
        """The environment contract's shared values (DATABASE_URL and PORT are per service)."""
        return {"DB_POOL_MAX": str(self.get("dbPoolMax", 20)), "LOG_LEVEL": str(self.get("logLevel", "warn")),
                "MAX_BODY_BYTES": str(self.get("maxBodyBytes", 1048576))}

    @property
    def api_names(self) -> list[str] | None:
        """`perflab:apis`: the APIs this stack deploys; None (key absent) means every API of the catalogue."""
        names = self.get("apis")
        if names is None:
            return None
        if isinstance(names, str):
            names = [name.strip() for name in names.split(",") if name.strip()]
        return list(names)

    def postgres_args(self) -> list[str]:
        return [arg for name, value in sorted(self.get("postgresSettings", {}).items())
                for arg in ("-c", f"{name}={value}")]


def load(stack: str = "local") -> StackConfig:
    path = ROOT / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise ConfigError(f"no stack configuration {path}")
    document = yaml.safe_load(path.read_text()) or {}
    return StackConfig(stack, document.get("config", {}))


def state_dir() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("PERFLAB_STATE", ROOT / ".perflab"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_password() -> str:
    """The local stack's database password: PERFLAB_DB_PASSWORD, else one generated once and kept private."""
    if os.environ.get("PERFLAB_DB_PASSWORD"):
        return os.environ["PERFLAB_DB_PASSWORD"]
    path = state_dir() / "db-password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(18))
        path.chmod(0o600)
    return path.read_text().strip()
