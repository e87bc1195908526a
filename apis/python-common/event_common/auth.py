"""Authentication of event requests (contract/CONTRACT.md, "Authentication"): an HS256 JWT in
`Authorization: Bearer <token>`, verified with PyJWT. One implementation for REST (the header) and gRPC
(the metadata `authorization`, same value); the transports only map the answer to 401 / UNAUTHENTICATED."""
from __future__ import annotations

from collections.abc import Callable

import jwt
from jwt.types import Options

from event_common.config import Config
from event_common.secret_store import JWT_SECRET_KEY, SecretStore

MSG_MISSING_TOKEN = "missing bearer token"
MSG_INVALID_TOKEN = "invalid token"

ALGORITHM = "HS256"  # the only one: none, HS384, RS256... are refused whatever their signature
LEEWAY_SECONDS = 30  # on exp and nbf, as everywhere in the lab


class Unauthenticated(Exception):
    """A request without a usable token; `message` is the contract's text (missing bearer token or
    invalid token)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization` value: the scheme `Bearer` in any case, one space, the token.
    Raises Unauthenticated(missing bearer token) for no value, another scheme or an empty token."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated(MSG_MISSING_TOKEN)
    return token


class Authenticator:
    """Verifies tokens under the current key: `key()` is asked on every request, so a key the secrets
    store refreshed verifies the requests that arrive after it."""

    def __init__(self, key: Callable[[], str], issuer: str | None = None, audience: str | None = None):
        self._key = key
        self._issuer = issuer
        self._audience = audience
        # PyJWT checks more than the contract asks by default: a future iat, a non-string sub or jti would
        # refuse a token the contract accepts ("other claims are ignored"). exp is required; aud is checked
        # only when JWT_AUDIENCE is set (PyJWT would otherwise refuse every token that carries one).
        self._options = Options(require=["exp"], verify_iat=False, verify_sub=False, verify_jti=False,
                                verify_aud=audience is not None)

    def check(self, authorization: str | None) -> dict:
        """The claims of a valid token in the `Authorization` value; raises Unauthenticated otherwise."""
        token = bearer_token(authorization)
        try:
            claims = jwt.decode(token, self._key().encode(), algorithms=[ALGORITHM], options=self._options,
                                leeway=LEEWAY_SECONDS, issuer=self._issuer, audience=self._audience)
        except jwt.PyJWTError:
            raise Unauthenticated(MSG_INVALID_TOKEN) from None
        # PyJWT reads exp and nbf with int(), which also takes "123" or true: the contract wants numbers.
        if not all(_is_number(claims[name]) for name in ("exp", "nbf") if name in claims):
            raise Unauthenticated(MSG_INVALID_TOKEN)
        return claims


def _is_number(value: object) -> bool:
    return type(value) in (int, float)


def authenticator_for(config: Config, secrets: SecretStore | None) -> Authenticator | None:
    """None with AUTH_ENABLED off. The key is the secrets store's `jwt-secret-key` (as refreshed) when
    SECRETS_URL is set, JWT_SECRET_KEY otherwise."""
    if not config.auth_enabled:
        return None
    if secrets is not None:
        key = secrets.getter(JWT_SECRET_KEY)
    else:
        fixed = config.jwt_secret_key or ""  # Config refuses auth on without a key

        def key() -> str:
            return fixed
    return Authenticator(key, config.jwt_issuer, config.jwt_audience)
