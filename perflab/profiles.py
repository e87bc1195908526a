"""Auth and secrets profiles: how the APIs of a stack are configured for one measurement.

A profile is a property of the deployed stack (the Pulumi program gives every API the profile's
environment), so `bench run --profile no-auth,auth` brings the stack up once per profile and measures
each API under each. The contract says what the APIs do with these variables (contract/CONTRACT.md,
"Authentication" and "Secrets"); this module says which variables each profile sets and makes tokens.
"""
from __future__ import annotations

import dataclasses
import time

import jwt

from perflab.errors import ConfigError

# The host input that picks the profile for one `bench up` (like PERFLAB_APIS), so no per-run choice is
# written into Pulumi.<stack>.yaml; without it the stack's perflab:profile, else no-auth.
PROFILE_VARIABLE = "PERFLAB_PROFILE"
# The secrets the APIs read from a store in the auth+secrets profile (names of the contract).
DB_PASSWORD_SECRET = "db-password"
JWT_KEY_SECRET = "jwt-secret-key"
# The issuer and audience the lab's own tokens carry and the APIs check under auth.
ISSUER = "perflab"
AUDIENCE = "perflab-events"
MIN_KEY_BYTES = 32


@dataclasses.dataclass(frozen=True)
class Profile:
    name: str
    auth: bool  # AUTH_ENABLED on: every event request carries a JWT
    secrets: bool  # the database password and the JWT key come from the secrets store, not the environment


PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile("no-auth", auth=False, secrets=False),
    Profile("auth", auth=True, secrets=False),
    Profile("auth+secrets", auth=True, secrets=True),
)}
DEFAULT = "no-auth"


def profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(f"unknown profile {name!r}: the profiles are {', '.join(PROFILES)}") from None


def check_key(key: str) -> str:
    if len(key.encode()) < MIN_KEY_BYTES:
        raise ConfigError(f"the JWT key must be at least {MIN_KEY_BYTES} bytes (HS256), not {len(key.encode())}")
    return key


def token(key: str, ttl_seconds: float = 3600, *, issuer: str | None = ISSUER, audience: str | None = AUDIENCE,
          subject: str = "perflab-loadgen", now: float | None = None) -> str:
    """An HS256 token the APIs accept under the profile's key: exp = now + ttl, nbf = iat = now."""
    issued = int(now if now is not None else time.time())
    claims: dict[str, object] = {"sub": subject, "iat": issued, "nbf": issued, "exp": issued + int(ttl_seconds)}
    if issuer:
        claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    return jwt.encode(claims, check_key(key), algorithm="HS256")


def api_environment(chosen: Profile, *, jwt_key: str | None, secrets_url: str | None) -> dict[str, str]:
    """The environment contract's auth and secrets variables for this profile (nothing for no-auth). Under
    auth+secrets neither the key nor the password is in the environment: the API reads both from the store."""
    if not chosen.auth:
        return {}
    env = {"AUTH_ENABLED": "true", "JWT_ISSUER": ISSUER, "JWT_AUDIENCE": AUDIENCE}
    if chosen.secrets:
        if not secrets_url:
            raise ConfigError(f"profile {chosen.name} needs the secrets store's URL")
        env["SECRETS_URL"] = secrets_url
    else:
        if not jwt_key:
            raise ConfigError(f"profile {chosen.name} needs a JWT key")
        env["JWT_SECRET_KEY"] = check_key(jwt_key)
    return env
