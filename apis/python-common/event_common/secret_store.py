"""Secrets from a secrets store (contract/CONTRACT.md, "Secrets"): with SECRETS_URL set, the database
password (`db-password`) and, with auth on, the JWT key (`jwt-secret-key`) come from
`GET <SECRETS_URL>/secrets/<name>` → 200 {"name": ..., "value": "<text>"}, read at start-up (an API that
cannot read one does not start) and again every SECRETS_REFRESH_INTERVAL (a failed refresh keeps the values
it has). Values are never logged."""
from __future__ import annotations

import asyncio
import http.client
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable

import orjson

from event_common.config import MIN_JWT_KEY_BYTES, Config

DB_PASSWORD = "db-password"
JWT_SECRET_KEY = "jwt-secret-key"

ATTEMPT_TIMEOUT = 2.0  # seconds for one read: no answer within it is a failed read
BACKOFF = (0.1, 0.2, 0.4, 0.8)  # seconds between the 5 attempts of one read

log = logging.getLogger("perflab.secrets")



class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is "another status" than 200 for the contract: a failed read."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


# The store is reached directly (an HTTP(S)_PROXY of the environment is not for it), without redirects.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


class SecretUnavailable(Exception):
    """A secret could not be read after every attempt; the message names it, never a value."""


def secret_names(config: Config) -> list[str]:
    """The secrets this configuration reads from the store: none without SECRETS_URL, the JWT key only
    with auth on."""
    if config.secrets_url is None:
        return []
    return [DB_PASSWORD, JWT_SECRET_KEY] if config.auth_enabled else [DB_PASSWORD]


def _valid(name: str, value: str) -> bool:
    # A JWT key the contract would refuse in the environment is refused from the store too.
    return name != JWT_SECRET_KEY or len(value.encode()) >= MIN_JWT_KEY_BYTES


class SecretStore:
    """The current values of the secrets, read from the store at `base_url`."""

    def __init__(self, base_url: str, names: Iterable[str], attempt_timeout: float = ATTEMPT_TIMEOUT,
                 backoff: tuple[float, ...] = BACKOFF):
        self._base_url = base_url.rstrip("/")
        self._names = list(names)
        self._attempt_timeout = attempt_timeout
        self._backoff = backoff
        self._values: dict[str, str] = {}

    @classmethod
    def for_config(cls, config: Config) -> SecretStore | None:
        """The store of SECRETS_URL with the secrets this configuration needs; None without SECRETS_URL."""
        if config.secrets_url is None:
            return None
        return cls(config.secrets_url, secret_names(config))

    def value(self, name: str) -> str:
        """The value last read (KeyError before `load`)."""
        return self._values[name]

    def getter(self, name: str) -> Callable[[], str]:
        """A function that returns the current value of `name`, whatever refreshes happen after."""
        return lambda: self._values[name]

    async def load(self) -> float:
        """Reads every secret (start-up); raises SecretUnavailable naming the first that cannot be read.
        Returns the seconds it took."""
        started = time.monotonic()
        for name in self._names:
            self._values[name] = await self.read(name)
        return time.monotonic() - started

    async def refresh(self) -> None:
        """Reads every secret again; one that cannot be read keeps its value (and is logged)."""
        for name in self._names:
            try:
                self._values[name] = await self.read(name)
            except SecretUnavailable as exc:
                log.warning("%s; keeping the value read before", exc)

    async def refresh_every(self, interval: float) -> None:
        """`refresh` every `interval` seconds (SECRETS_REFRESH_INTERVAL), until cancelled."""
        while True:
            await asyncio.sleep(interval)
            await self.refresh()

    def start_refreshing(self, interval: float) -> asyncio.Task[None]:
        """`refresh_every` as a task of the running loop; cancel it at shutdown."""
        return asyncio.get_running_loop().create_task(self.refresh_every(interval), name="secrets refresh")

    async def read(self, name: str) -> str:
        """One secret, with up to len(BACKOFF) + 1 attempts of at most ATTEMPT_TIMEOUT each."""
        for attempt, pause in enumerate((*self._backoff, None)):
            try:
                async with asyncio.timeout(self._attempt_timeout):
                    value = await asyncio.to_thread(self._get, name)
                if _valid(name, value):
                    return value
                log.debug("secret %s: the store's value is too short", name)
            except (OSError, ValueError, TimeoutError, http.client.HTTPException) as exc:
                log.debug("secret %s: attempt %d failed: %r", name, attempt + 1, exc)
            if pause is not None:
                await asyncio.sleep(pause)
        raise SecretUnavailable(f"cannot read the secret {name!r} from SECRETS_URL")

    def _get(self, name: str) -> str:
        """GET <base>/secrets/<name> → 200 {"value": "<text>"}; raises OSError or ValueError otherwise."""
        url = f"{self._base_url}/secrets/{urllib.parse.quote(name, safe='')}"
        # urlopen raises HTTPError (an OSError) for a status >= 400; redirects are followed.
        with _OPENER.open(urllib.request.Request(url, headers={"Accept": "application/json"}),
                          timeout=self._attempt_timeout) as response:
            if response.status != 200:
                raise ValueError(f"status {response.status}")
            document = orjson.loads(response.read())
        value = document.get("value") if isinstance(document, dict) else None
        if not isinstance(value, str):
            raise ValueError("no string value in the answer")
        return value
