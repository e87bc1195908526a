"""The in-process engine's record of what it created: one JSON file per stack, mode 0600, written atomically
after every change so a crash loses nothing.

Secret outputs (the DSNs) are never written in plain text: they are encrypted with a key kept in
`.perflab/state.key` (mode 0600, Fernet: AES-128-CBC + HMAC-SHA256), like Pulumi's passphrase provider
encrypts secrets in its state. Reading the state is only reading: it changes no file and no container.
"""
from __future__ import annotations

import json
import os
import pathlib
import threading
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from runner import statedir
from runner.engine.errors import EngineError

FORMAT = "perflab.engine-state/2"


def path(stack: str) -> pathlib.Path:
    return statedir.location() / "stacks" / f"{stack}.json"


def _cipher() -> Fernet:
    return Fernet(statedir.private_file("state.key", lambda: Fernet.generate_key().decode()).encode())


def seal(value: Any) -> dict:
    return {"ciphertext": _cipher().encrypt(json.dumps(value).encode()).decode()}


def unseal(sealed: dict) -> Any:
    try:
        return json.loads(_cipher().decrypt(sealed["ciphertext"].encode()))
    except (InvalidToken, KeyError) as error:
        raise EngineError("the stack state's secrets cannot be decrypted with .perflab/state.key (was the key "
                          "removed or replaced?); remove the stack's containers by label and its state file") from error


class State:
    def __init__(self, stack: str):
        self.stack = stack
        self.path = path(stack)
        self.lock = threading.RLock()
        document = json.loads(self.path.read_text()) if self.path.exists() else {}
        if document and document.get("format") != FORMAT:
            raise EngineError(f"{self.path} was written by an older engine (format {document.get('format')!r}); "
                              f"remove the stack's containers (docker rm -f $(docker ps -aq --filter "
                              f"label=perflab.stack={stack})) and that file, then run `bench up {stack}`")
        self.resources: dict[str, dict] = document.get("resources", {})
        self.secret_outputs: list[str] = document.get("secretOutputs", [])
        self._plain_outputs: dict = document.get("outputs", {})
        self._sealed_outputs: dict = document.get("sealedOutputs", {})
        self._order = max((r.get("order", 0) for r in self.resources.values()), default=0)

    @property
    def outputs(self) -> dict:
        return {**self._plain_outputs, **{key: unseal(value) for key, value in self._sealed_outputs.items()}}

    def set_outputs(self, outputs: dict, secret: list[str]) -> None:
        with self.lock:
            self.secret_outputs = sorted(secret)
            self._plain_outputs = {k: v for k, v in outputs.items() if k not in secret}
            self._sealed_outputs = {k: seal(v) for k, v in outputs.items() if k in secret}
            self.save()

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
            self.path.parent.mkdir(parents=True, exist_ok=True)
            document = {"format": FORMAT, "stack": self.stack, "engine": "in-process", "resources": self.resources,
                        "outputs": self._plain_outputs, "sealedOutputs": self._sealed_outputs,
                        "secretOutputs": self.secret_outputs}
            temporary = self.path.with_suffix(".tmp")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(document, handle, indent=2, sort_keys=True)
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)

    def exists(self) -> bool:
        return self.path.exists()

    def remove_file(self) -> None:
        with self.lock:
            self.path.unlink(missing_ok=True)
