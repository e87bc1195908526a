"""Authentication (contract/CONTRACT.md, "Authentication"): which tokens pass, which are missing, which are
invalid. Tokens are built by hand here (not by the library under test), so the headers can lie."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from event_common.auth import MSG_INVALID_TOKEN, MSG_MISSING_TOKEN, Authenticator, Unauthenticated, authenticator_for
from event_common.config import DEFAULT_REST_PORT, Config

KEY = "an-hs256-key-of-at-least-32-bytes!"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(claims: dict | None = None, *, key: str = KEY, header: dict | None = None, digest=hashlib.sha256,
          signature: str | None = None) -> str:
    """A compact JWS: `header` (default HS256) and `claims` (default: exp in an hour), signed with HMAC
    `digest` under `key` unless `signature` is given."""
    claims = {"sub": "lab", "exp": int(time.time()) + 3600} if claims is None else claims
    signing_input = (b64(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode()) + "."
                     + b64(json.dumps(claims).encode()))
    if signature is None:
        signature = b64(hmac.new(key.encode(), signing_input.encode(), digest).digest())
    return f"{signing_input}.{signature}"


def check(authorization: str | None, *, issuer: str | None = None, audience: str | None = None) -> dict:
    return Authenticator(lambda: KEY, issuer, audience).check(authorization)


def refused(authorization: str | None, **kwargs) -> str:
    with pytest.raises(Unauthenticated) as caught:
        check(authorization, **kwargs)
    return caught.value.message


def now() -> int:
    return int(time.time())


def test_a_valid_token_passes_with_the_scheme_in_any_case():
    assert check(f"Bearer {token()}")["sub"] == "lab"
    assert check(f"bearer {token()}")["sub"] == "lab"
    assert check(f"BEARER {token()}")["sub"] == "lab"


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc",
                                           f"Bearer{token()}", "Bearerx abc"])
def test_no_usable_bearer_header_is_missing(authorization):
    assert refused(authorization) == MSG_MISSING_TOKEN


def test_malformed_tokens_are_invalid():
    for bad in ("abc", "a.b", "a.b.c", "a.b.c.d", f" {token()}", f"{token()} ", token()[:-3], "...",
                token(header={"alg": "HS256"}).replace(".", "!", 1)):
        assert refused(f"Bearer {bad}") == MSG_INVALID_TOKEN, bad
    # A payload that is not a JSON object.
    signing_input = b64(b'{"alg":"HS256"}') + "." + b64(b"[1,2]")
    sig = b64(hmac.new(KEY.encode(), signing_input.encode(), hashlib.sha256).digest())
    assert refused(f"Bearer {signing_input}.{sig}") == MSG_INVALID_TOKEN


def test_a_bad_signature_is_invalid():
    assert refused(f"Bearer {token(key=KEY + 'x')}") == MSG_INVALID_TOKEN
    good = token()
    assert refused(f"Bearer {good[:-2]}{'A' if good[-2] != 'A' else 'B'}{good[-1]}") == MSG_INVALID_TOKEN


def test_only_hs256_is_accepted_whatever_the_signature():
    assert refused(f"Bearer {token(header={'alg': 'none'}, signature='')}") == MSG_INVALID_TOKEN
    # alg none, yet signed with the right key and HS256: still refused.
    assert refused(f"Bearer {token(header={'alg': 'none'})}") == MSG_INVALID_TOKEN
    assert refused(f"Bearer {token(header={'alg': 'HS384'}, digest=hashlib.sha384)}") == MSG_INVALID_TOKEN
    assert refused(f"Bearer {token(header={'alg': 'HS384'})}") == MSG_INVALID_TOKEN  # HS384 header, HS256 signature
    assert refused(f"Bearer {token(header={'alg': 'hs256'})}") == MSG_INVALID_TOKEN
    assert refused(f"Bearer {token(header={'typ': 'JWT'})}") == MSG_INVALID_TOKEN  # no alg


def test_exp_is_required_and_a_number_with_30_seconds_of_leeway():
    assert refused(f"Bearer {token({'sub': 'x'})}") == MSG_INVALID_TOKEN
    assert refused(f"Bearer {token({'exp': None})}") == MSG_INVALID_TOKEN
    assert refused(f"Bearer {token({'exp': str(now() + 3600)})}") == MSG_INVALID_TOKEN
    assert refused(f"Bearer {token({'exp': True})}") == MSG_INVALID_TOKEN
    assert refused(f"Bearer {token({'exp': now() - 60})}") == MSG_INVALID_TOKEN  # beyond the leeway
    assert check(f"Bearer {token({'exp': now() - 10})}")  # expired 10 s ago: within the leeway
    assert check(f"Bearer {token({'exp': now() + 60.5})}")  # a fraction is a number


def test_nbf_when_present_is_a_number_with_30_seconds_of_leeway():
    assert refused(f"Bearer {token({'exp': now() + 3600, 'nbf': now() + 120})}") == MSG_INVALID_TOKEN
    assert check(f"Bearer {token({'exp': now() + 3600, 'nbf': now() + 10})}")  # within the leeway
    assert check(f"Bearer {token({'exp': now() + 3600, 'nbf': now() - 10})}")
    assert refused(f"Bearer {token({'exp': now() + 3600, 'nbf': str(now())})}") == MSG_INVALID_TOKEN
    assert refused(f"Bearer {token({'exp': now() + 3600, 'nbf': False})}") == MSG_INVALID_TOKEN


def test_other_claims_are_ignored():
    claims = {"exp": now() + 3600, "iat": now() + 3600, "sub": 42, "jti": ["x"], "iss": "anyone", "aud": "any"}
    assert check(f"Bearer {token(claims)}")["sub"] == 42


def test_issuer_and_audience_when_configured():
    claims = {"exp": now() + 3600, "iss": "perflab", "aud": ["other", "events"]}
    assert check(f"Bearer {token(claims)}", issuer="perflab", audience="events")
    assert check(f"Bearer {token({**claims, 'aud': 'events'})}", audience="events")
    assert refused(f"Bearer {token(claims)}", issuer="someone-else") == MSG_INVALID_TOKEN
    assert refused(f"Bearer {token({'exp': now() + 3600})}", issuer="perflab") == MSG_INVALID_TOKEN  # no iss
    assert refused(f"Bearer {token(claims)}", audience="billing") == MSG_INVALID_TOKEN
    assert refused(f"Bearer {token({'exp': now() + 3600})}", audience="events") == MSG_INVALID_TOKEN  # no aud


def test_the_current_key_verifies_so_a_refreshed_key_applies_to_later_requests():
    keys = [KEY]
    authenticator = Authenticator(lambda: keys[-1])
    assert authenticator.check(f"Bearer {token()}")
    keys.append("a-new-key-from-the-secrets-store-0123")
    with pytest.raises(Unauthenticated):
        authenticator.check(f"Bearer {token()}")
    assert authenticator.check(f"Bearer {token(key=keys[-1])}")


def test_authenticator_from_the_configuration():
    off = Config.from_env(DEFAULT_REST_PORT, {"DATABASE_URL": "postgres://u:p@h/db"})
    assert authenticator_for(off, None) is None
    on = Config.from_env(DEFAULT_REST_PORT, {"DATABASE_URL": "postgres://u:p@h/db", "AUTH_ENABLED": "true",
                                             "JWT_SECRET_KEY": KEY, "JWT_ISSUER": "perflab"})
    authenticator = authenticator_for(on, None)
    assert authenticator is not None
    assert authenticator.check(f"Bearer {token({'exp': now() + 60, 'iss': 'perflab'})}")
    with pytest.raises(Unauthenticated):
        authenticator.check(f"Bearer {token({'exp': now() + 60})}")
