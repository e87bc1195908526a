"""The in-process engine's record of what it created: one JSON file per stack, mode 0600 (it holds the
stack's outputs, DSNs included), written atomically after every change so a crash loses nothing."""
from __future__ import annotations

import json
import os
import pathlib
import threading

from runner import config as stack_config


def path(stack: str) -> pathlib.Path:
    directory = stack_config.state_dir() / "stacks"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{stack}.json"


class State:
    def __init__(self, stack: str):
        self.stack = stack
        self.path = path(stack)
        self.lock = threading.RLock()
        document = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.resources: dict[str, dict] = document.get("resources", {})
        self.outputs: dict = document.get("outputs", {})
        self.secret_outputs: list[str] = document.get("secretOutputs", [])
        self._order = max((r.get("order", 0) for r in self.resources.values()), default=0)

    def record(self, urn: str, entry: dict) -> None:
        with self.lock:
            self._order += 1
            self.resources[urn] = {**entry, "order": self._order}
            self.save()

    def forget(self, urn: str) -> None:
        with self.lock:
            self.resources.pop(urn, None)
            self.save()

    def save(self) -> None:
        with self.lock:
            document = {"stack": self.stack, "engine": "in-process", "resources": self.resources,
                        "outputs": self.outputs, "secretOutputs": self.secret_outputs}
            temporary = self.path.with_suffix(".tmp")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(document, handle, indent=2, sort_keys=True)
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)

    def remove_file(self) -> None:
        with self.lock:
            self.path.unlink(missing_ok=True)
