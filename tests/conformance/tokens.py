"""JWTs for the targets that run with `AUTH_ENABLED` (contract/CONTRACT.md, "Authentication").

Valid tokens are made with PyJWT, the way a real client makes them; the forged ones (alg `none`, a header
that names another algorithm over an HS256 signature, a tampered payload) are put together by hand,
because a JWT library refuses to produce them.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import time
import warnings
from typing import Any

import jwt
import jwt.warnings

LEEWAY_SECONDS = 30  # the contract's leeway for exp and nbf
LIFETIME_SECONDS = 600
OTHER_KEY = "a-different-key-of-at-least-32-bytes-for-hs256"
REMOVE = object()  # a claim value meaning: leave this claim out


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(header: dict[str, Any], claims: dict[str, Any], key: str | None) -> str:
    """A JWS in compact form with any header, HMAC-SHA256-signed under `key` (no signature when None)."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    if key is None:
        return signing_input + "."
    signature = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


@dataclasses.dataclass(frozen=True)
class TokenIssuer:
    """Makes the tokens of one configuration of the targets (`JWT_SECRET_KEY`, `JWT_ISSUER`, `JWT_AUDIENCE`)."""

    key: str
    issuer: str | None = None
    audience: str | None = None

    def claims(self, **overrides: Any) -> dict[str, Any]:
        """Claims a target accepts (fresh: issued now, valid for 10 minutes), with `overrides` applied."""
        now = int(time.time())
        claims: dict[str, Any] = {"sub": "perflab-conformance", "iat": now, "exp": now + LIFETIME_SECONDS}
        if self.issuer is not None:
            claims["iss"] = self.issuer
        if self.audience is not None:
            claims["aud"] = self.audience
        for name, value in overrides.items():
            if value is REMOVE:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def token(self, algorithm: str = "HS256", key: str | None = None, **overrides: Any) -> str:
        with warnings.catch_warnings():
            # HS384/HS512 tokens exist here only to be refused; their key length does not matter.
            warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
            return jwt.encode(self.claims(**overrides), self.key if key is None else key, algorithm=algorithm)

    def bearer(self, **overrides: Any) -> str:
        """The `Authorization` header value of a valid request."""
        return f"Bearer {self.token(**overrides)}"
