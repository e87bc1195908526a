"""Authentication (contract/CONTRACT.md, "Authentication"): targets running with AUTH_ENABLED on.

Runs only with `--auth-key` (the targets' JWT_SECRET_KEY); deselected otherwise. Every rejection is checked
on the wire (401 + exact JSON + `WWW-Authenticate: Bearer`, or UNAUTHENTICATED + message) and in the
database (the event's fresh uuid and entities are absent).
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from tests.conformance.checks import UNKNOWN_ROUTES, assert_error_document, assert_nothing_written, assert_processed
from tests.conformance.events import entity, event, mutate
from tests.conformance.tokens import LEEWAY_SECONDS, OTHER_KEY, REMOVE, TokenIssuer, b64url, compact

pytestmark = pytest.mark.auth

REST_ONLY = pytest.mark.kinds("rest")
GRPC_ONLY = pytest.mark.kinds("grpc")
MISSING = "missing bearer token"
INVALID = "invalid token"


def assert_unauthenticated(outcome, message: str) -> None:
    assert outcome.status == 401, f"expected 401/UNAUTHENTICATED, got {outcome.raw_code}: {outcome.message}"
    assert outcome.message == message
    if outcome.raw_code == "401":  # REST
        assert outcome.body == {"error": message, "status": 401}
        assert outcome.headers.get("content-type", "").startswith("application/json")
        assert outcome.headers.get("www-authenticate") == "Bearer"
    else:
        assert outcome.raw_code == "UNAUTHENTICATED"


def now() -> int:
    return int(time.time())


def tampered(tokens: TokenIssuer) -> str:
    """A valid token whose payload was changed after signing (here: a later expiry)."""
    header, _, signature = tokens.token().split(".")
    return f"{header}.{b64url(json.dumps(tokens.claims(exp=now() + 86400)).encode())}.{signature}"


# (case id, Authorization header value made from the token maker, expected message, kinds or None for all)
Header = Callable[[TokenIssuer], str | None]
REJECTED: list[tuple[str, Header, str, tuple[str, ...] | None]] = [
    ("no-header", lambda t: None, MISSING, None),
    ("basic-scheme", lambda t: "Basic YWxpY2U6c2VjcmV0", MISSING, None),
    ("token-without-scheme", lambda t: t.token(), MISSING, None),
    ("scheme-without-token", lambda t: "Bearer", MISSING, None),
    # HTTP drops a field value's trailing whitespace (RFC 9110 5.5), so only gRPC metadata carries this one.
    ("empty-token", lambda t: "Bearer ", MISSING, ("grpc",)),
    ("malformed-token", lambda t: "Bearer not-a-jwt", INVALID, None),
    ("malformed-three-parts", lambda t: "Bearer a.b.c", INVALID, None),
    ("wrong-signature", lambda t: f"Bearer {t.token(key=OTHER_KEY)}", INVALID, None),
    ("tampered-payload", lambda t: f"Bearer {tampered(t)}", INVALID, None),
    ("signature-removed", lambda t: "Bearer " + t.token().rsplit(".", 1)[0] + ".", INVALID, None),
    ("alg-none-unsigned", lambda t: "Bearer " + compact({"alg": "none", "typ": "JWT"}, t.claims(), None), INVALID,
     None),
    # alg none (or another name) is refused whatever the signature: here a correct HS256 one.
    ("alg-none-hs256-signature", lambda t: "Bearer " + compact({"alg": "none", "typ": "JWT"}, t.claims(), t.key),
     INVALID, None),
    ("alg-lower-case", lambda t: "Bearer " + compact({"alg": "hs256", "typ": "JWT"}, t.claims(), t.key), INVALID,
     None),
    ("alg-rs256-hs256-signature", lambda t: "Bearer " + compact({"alg": "RS256", "typ": "JWT"}, t.claims(), t.key),
     INVALID, None),
    ("alg-hs384", lambda t: f"Bearer {t.token(algorithm='HS384')}", INVALID, None),
    ("alg-hs512", lambda t: f"Bearer {t.token(algorithm='HS512')}", INVALID, None),
    ("expired-beyond-leeway", lambda t: t.bearer(exp=now() - LEEWAY_SECONDS - 30), INVALID, None),
    ("exp-missing", lambda t: t.bearer(exp=REMOVE), INVALID, None),
    ("exp-not-a-number", lambda t: t.bearer(exp=str(now() + 600)), INVALID, None),
    ("nbf-beyond-leeway", lambda t: t.bearer(nbf=now() + LEEWAY_SECONDS + 90), INVALID, None),
    ("nbf-not-a-number", lambda t: t.bearer(nbf=str(now() - 60)), INVALID, None),
]

# Options the targets run with decide a few more cases.
ISSUER_SET = pytest.mark.requires_option("--jwt-issuer")
AUDIENCE_SET = pytest.mark.requires_option("--jwt-audience")
REJECTED_CLAIMS = [
    pytest.param(lambda t: t.bearer(iss=f"{t.issuer}-other"), id="iss-mismatch", marks=ISSUER_SET),
    pytest.param(lambda t: t.bearer(iss=REMOVE), id="iss-missing", marks=ISSUER_SET),
    pytest.param(lambda t: t.bearer(aud=f"{t.audience}-other"), id="aud-mismatch", marks=AUDIENCE_SET),
    pytest.param(lambda t: t.bearer(aud=["another", f"{t.audience}-other"]), id="aud-array-without-it",
                 marks=AUDIENCE_SET),
    pytest.param(lambda t: t.bearer(aud=REMOVE), id="aud-missing", marks=AUDIENCE_SET),
]

ACCEPTED = [
    pytest.param(lambda t: t.bearer(), id="fresh"),
    pytest.param(lambda t: "bearer " + t.token(), id="scheme-lower-case"),
    pytest.param(lambda t: "BEARER " + t.token(), id="scheme-upper-case"),
    pytest.param(lambda t: t.bearer(exp=now() - LEEWAY_SECONDS + 15), id="expired-within-leeway"),
    pytest.param(lambda t: t.bearer(nbf=now() + LEEWAY_SECONDS - 15), id="nbf-within-leeway"),
    pytest.param(lambda t: t.bearer(nbf=now() - 60, iat=now() - 60), id="nbf-past"),
    pytest.param(lambda t: t.bearer(iat=REMOVE, sub=REMOVE), id="only-exp"),
    pytest.param(lambda t: t.bearer(role="admin", scope=["events:write"], jti="x", custom={"a": 1}),
                 id="other-claims-ignored"),
    pytest.param(lambda t: t.bearer(aud=["another", t.audience]), id="aud-array-containing-it", marks=AUDIENCE_SET),
    # Without JWT_ISSUER / JWT_AUDIENCE, iss and aud are not checked (a library's default may check aud).
    pytest.param(lambda t: t.bearer(iss="someone-else"), id="iss-unchecked",
                 marks=pytest.mark.unless_option("--jwt-issuer")),
    pytest.param(lambda t: t.bearer(aud="somebody-else"), id="aud-unchecked",
                 marks=pytest.mark.unless_option("--jwt-audience")),
]


def _rejected_params():
    for case_id, header, message, kinds in REJECTED:
        marks = [pytest.mark.kinds(*kinds)] if kinds else []
        yield pytest.param(header, message, id=case_id, marks=marks)
    for param in REJECTED_CLAIMS:
        yield pytest.param(param.values[0], INVALID, id=param.id, marks=param.marks)


@pytest.mark.parametrize("header, message", list(_rejected_params()))
def test_event_without_a_valid_token_is_401_and_writes_nothing(client, db, tokens, header, message):
    doc = event(entity("Car"), entity("Loan"))
    outcome = client.with_authorization(header(tokens)).send(doc)
    assert_unauthenticated(outcome, message)
    assert_nothing_written(db, doc)


@pytest.mark.parametrize("header", ACCEPTED)
def test_event_with_a_valid_token_is_processed(client, db, tokens, header):
    doc = event(entity("Car"))
    assert_processed(client.with_authorization(header(tokens)).send(doc), doc)
    assert db.event(doc["eventHeader"]["uuid"]) is not None


def test_a_rejected_event_is_stored_when_sent_again_with_a_token(client, db):
    # The 401 wrote nothing (not even a half-stored uuid): the same event then goes through as new.
    doc = event(entity("Car"))
    assert_unauthenticated(client.with_authorization(None).send(doc), MISSING)
    assert_processed(client.send(doc), doc)


def test_authentication_is_checked_before_validation(client, db):
    doc = mutate(event(entity("Car")), "eventBody.entities", [])
    assert_unauthenticated(client.with_authorization(None).send(doc), MISSING)
    assert_unauthenticated(client.with_authorization("Bearer not-a-jwt").send(doc), INVALID)


@REST_ONLY
@pytest.mark.parametrize("body", [b'{"eventHeader": ', b"[]", b"1" * 101], ids=["malformed", "not-object", "long-number"])
def test_authentication_is_checked_before_parsing(client, db, body):
    outcome = client.with_authorization(None).send_body(body)
    assert_unauthenticated(outcome, MISSING)


@REST_ONLY
def test_authentication_is_checked_before_content_type(client, db):
    doc = event(entity("Car"))
    response = client.with_authorization(None).post_raw("/api/v1/events", json.dumps(doc).encode(),
                                                        content_type="text/plain")
    assert_error_document(response, 401, MISSING)
    assert response.headers.get("www-authenticate") == "Bearer"
    assert_nothing_written(db, doc)


@REST_ONLY
@pytest.mark.parametrize("header, content_type", [(None, "application/json"), ("Bearer not-a-jwt", "application/json"),
                                                  (None, "text/plain")],
                         ids=["no-header", "invalid-token", "before-content-type"])
def test_bulk_without_a_valid_token_is_401_and_writes_nothing(client, db, header, content_type):
    batch = [event(entity("Car")) for _ in range(3)]
    response = client.with_authorization(header).post_raw("/api/v1/events/bulk", json.dumps(batch).encode(),
                                                          content_type=content_type)
    message = MISSING if header is None else INVALID
    assert_error_document(response, 401, message)
    assert response.headers.get("www-authenticate") == "Bearer"
    for doc in batch:
        assert_nothing_written(db, doc)


@REST_ONLY
def test_bulk_with_a_token_is_processed(client, db):
    batch = [event(entity("Car")) for _ in range(2)]
    response = client.bulk(batch)
    assert response.status_code == 200, response.text
    assert response.json()["processedCount"] == 2


@REST_ONLY
def test_rest_health_is_open_without_a_token(client):
    response = client.with_authorization(None).http.get("/api/v1/events/health", timeout=5.0)
    assert response.status_code == 200
    assert response.json() == {"status": "healthy"}


@pytest.mark.kinds("grpc", "grpcweb")
def test_grpc_health_is_open_without_a_token(client):
    anonymous = client.with_authorization(None)
    serving, detail = anonymous.healthy()
    assert serving, detail
    legacy = anonymous.legacy_health()
    assert legacy.healthy is True and legacy.message == "healthy"


@REST_ONLY
@pytest.mark.parametrize("method, path, status, message", UNKNOWN_ROUTES)
def test_unknown_path_and_wrong_method_unchanged_without_a_token(client, method, path, status, message):
    response = client.with_authorization(None).post_raw(path, b"{}", method=method)
    assert_error_document(response, status, message)
