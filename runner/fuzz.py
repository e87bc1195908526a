"""`bench fuzz`: generated and hostile requests against every deployed API, one API at a time.

REST APIs (containers and the Lambda behind its gateway) get schemathesis's cases from
`contract/openapi.yaml` (schema-valid and schema-violating bodies for every operation) mixed with raw bodies
no schema generator sends (`runner/fuzz_inputs.py`). gRPC and gRPC-Web APIs get Hypothesis-built
`EventRequest` messages, raw bytes as the message, and (gRPC-Web) broken frames. Every request is sent on
its own and judged at once:

- no server error: no 5xx, no answer-less request; gRPC: no INTERNAL, UNKNOWN or other status the contract
  does not give (the one exception, counted apart: the gRPC library's own INTERNAL or UNKNOWN for raw bytes
  it cannot decode, see LIBRARY_DECODE_ERRORS; never for gRPC-Web, whose decoding is the Lambda's own code);
- every answer conforms: REST to the OpenAPI document (status documented, content type, body schema with
  the exact messages, headers, and schema-violating requests rejected); gRPC to the contract's
  EventResponse and messages;
- nothing written for a rejected request: the events and entities tables do not change and the request's
  uuids are not newly stored; and what is acknowledged is stored, exactly (the events count grows by what
  the answer says);
- the API still answers its health check (every 50 requests and at the end).

The database is the stack's; only the API under test runs while it is fuzzed, and the database is reset
before each API, as for the conformance suite (`runner/conformance.py`).
"""
from __future__ import annotations

import base64
import collections
import dataclasses
import datetime
import json
import pathlib
import random
import re
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

import grpc
import psycopg2
import requests
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from perflab import settings as stack_config
from perflab.catalogue import ROOT, Service
from perflab.errors import LabError
from runner import fuzz_inputs, grpcweb
from tests.conformance import protos
from tests.conformance.checks import UUID_PATTERN

OPENAPI = ROOT / "contract" / "openapi.yaml"
CONTRACT = ROOT / "contract" / "CONTRACT.md"
PROCESS_EVENT = "/com.example.grpc.EventService/ProcessEvent"
HEALTH_EVERY = 50  # requests between two health checks
REQUEST_TIMEOUT = 30.0
FINDINGS_KEPT = 20  # per API, with their inputs, for the report: the first ones
FINDINGS_KEPT_PER_KIND = 8  # so that one frequent kind does not hide the others
MAX_REPRODUCER_BYTES = 256 * 1024
# The uuids of a body Python cannot parse (nested past its recursion limit), for the rejected-write check.
RAW_UUID = re.compile(rb'"uuid"\s*:\s*"([^"]{0,64})"')
SUCCESS_MESSAGES = {False: "event processed", True: "duplicate event ignored"}
# The gRPC statuses the contract gives ProcessEvent, besides OK (CONTRACT.md, gRPC).
REJECTIONS = {"INVALID_ARGUMENT", "RESOURCE_EXHAUSTED", "UNAUTHENTICATED"}
# How each language's gRPC library answers a request message it cannot decode, before the API sees the call:
# INTERNAL, as gRPC's status-code table prescribes ("error parsing request proto"), or UNKNOWN. Accepted only
# for raw bytes: libraries differ on what decodes (prost refuses a field of the wrong wire type that Go, Java
# and upb skip; Java stops at 100 nested groups, upb does not), and every library decodes the well-formed
# EventRequests the fuzzer builds, so for those any INTERNAL or UNKNOWN is the API's own.
LIBRARY_DECODE_ERRORS = {
    "INTERNAL": ("grpc: error unmarshalling request",  # grpc-go, older releases
                 "grpc: failed to unmarshal the received message",  # grpc-go
                 "failed to decode Protobuf message",  # tonic (prost)
                 "Exception deserializing request"),  # grpcio
    # grpc-java gives a request it cannot parse the message it gives an exception of the application.
    "UNKNOWN": ("Application error processing RPC",  # grpc-java
                "Unexpected <class 'google.protobuf.message.DecodeError'>"),  # grpcio's asyncio server
}

SERVER_ERROR = "server error"
VIOLATION = "violation"
REJECTED_WRITE = "write by a rejected request"
CRASH = "crash"


class FuzzError(LabError):
    pass


@dataclasses.dataclass
class Finding:
    kind: str
    request: str  # what was sent, readable (the body cut at 3,000 characters)
    response: str
    detail: str = ""
    body_base64: str = ""  # the exact body or message sent (up to 256 KiB): the reproducer


@dataclasses.dataclass
class FuzzResult:
    api: str
    protocol: str
    endpoint: str
    wanted: int
    requests: int = 0
    statuses: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    server_errors: int = 0
    violations: int = 0
    rejected_writes: int = 0
    library_parse_errors: int = 0  # native gRPC: the library refusing undecodable raw bytes (allowed)
    healthy_after: bool | None = None
    seconds: float = 0.0
    problem: str = ""  # why the API could not be fuzzed (to the end)
    findings: list[Finding] = dataclasses.field(default_factory=list)
    current_input: bytes = b""  # the body or message being sent, for the findings

    @property
    def ok(self) -> bool:
        return (not self.problem and self.requests >= self.wanted and self.server_errors == 0 and self.violations == 0
                and self.rejected_writes == 0 and self.healthy_after is True)

    def record(self, kind: str, request: str, response: str, detail: str = "") -> None:
        counter = {SERVER_ERROR: "server_errors", VIOLATION: "violations", REJECTED_WRITE: "rejected_writes"}.get(kind)
        if counter:
            setattr(self, counter, getattr(self, counter) + 1)
        same_kind = sum(finding.kind == kind for finding in self.findings)
        if len(self.findings) < FINDINGS_KEPT and same_kind < FINDINGS_KEPT_PER_KIND:
            body = base64.b64encode(self.current_input[:MAX_REPRODUCER_BYTES]).decode() if kind != CRASH else ""
            self.findings.append(Finding(kind, request[:4000], response[:2000], detail[:2000], body))

    def status_classes(self) -> dict[str, int]:
        return dict(sorted(self.statuses.items()))

    def to_json(self) -> dict[str, Any]:
        return {"api": self.api, "protocol": self.protocol, "endpoint": self.endpoint, "wanted": self.wanted,
                "requests": self.requests, "statuses": self.status_classes(), "serverErrors": self.server_errors,
                "violations": self.violations, "rejectedWrites": self.rejected_writes,
                "libraryParseErrors": self.library_parse_errors, "healthyAfter": self.healthy_after,
                "seconds": round(self.seconds, 2), "problem": self.problem, "ok": self.ok,
                "findings": [dataclasses.asdict(f) for f in self.findings]}


class _Stop(BaseException):
    """Ends a fuzz run from inside a Hypothesis test (a BaseException, so Hypothesis neither catches nor
    replays it): the API crashed, or the run's time is up."""


# -- what the API under test wrote -------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Snapshot:
    events: int
    entities: int
    last_entity_write: datetime.datetime | None
    stored: frozenset[str]  # which of the request's uuids were stored before it


class Ledger:
    """Reads what the API under test wrote. Requests are sent one at a time and nothing else writes to the
    database, so every change between two snapshots is the request's."""

    def __init__(self, dsn: str):
        self.conn = psycopg2.connect(dsn, connect_timeout=5)
        self.conn.autocommit = True

    def snapshot(self, uuids: Iterable[str] = ()) -> Snapshot:
        with self.conn.cursor() as cursor:
            # Every entity write (insert or merge) sets updated_at = now(), the transaction's start.
            cursor.execute("SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM entities), "
                           "(SELECT max(updated_at) FROM entities)")
            row = cursor.fetchone()
        assert row is not None
        return Snapshot(row[0], row[1], row[2], frozenset(self.stored(uuids)))

    def stored(self, uuids: Iterable[str]) -> set[str]:
        wanted = sorted({u.lower() for u in uuids if isinstance(u, str) and UUID_PATTERN.match(u)})
        if not wanted:
            return set()
        with self.conn.cursor() as cursor:
            cursor.execute("SELECT uuid::text FROM events WHERE uuid = ANY(%s::uuid[])", (wanted,))
            return {row[0] for row in cursor.fetchall()}

    def close(self) -> None:
        self.conn.close()


def _writes_of_rejected(before: Snapshot, after: Snapshot, uuids: Iterable[str], ledger: Ledger) -> str:
    """What a rejected request wrote, or "" when it wrote nothing."""
    problems = []
    if (after.events, after.entities, after.last_entity_write) != (before.events, before.entities,
                                                                      before.last_entity_write):
        problems.append(f"events {before.events} -> {after.events}, entities {before.entities} -> {after.entities}, "
                        f"last entity write {before.last_entity_write} -> {after.last_entity_write}")
    new = ledger.stored(uuids) - before.stored
    if new:
        problems.append(f"newly stored uuids: {', '.join(sorted(new))}")
    return "; ".join(problems)


# -- the contract's messages (one home: CONTRACT.md's validation table) -------------------------------------

def contract_messages() -> list[re.Pattern[str]]:
    """Every message a rejected event may carry: the validation table's messages (`[i]` any index) and the
    one for a value the database cannot store."""
    text = CONTRACT.read_text()
    table = text[text.index("### Validation"):text.index("Why the number rule")]
    messages = {row.rsplit("|", 2)[1].strip().strip("`") for row in table.splitlines()
                if row.startswith("|") and row.rstrip().endswith("` |")}
    messages.add("event contains a value the database cannot store")
    return [re.compile("^" + re.escape(m).replace(re.escape("[i]"), r"\[\d+\]") + "$") for m in sorted(messages)]


# -- the driver ---------------------------------------------------------------------------------------------

def drive(strategy: st.SearchStrategy, execute: Callable[[Any], None], result: FuzzResult, seed: int,
          deadline: float) -> None:
    """Draw inputs from `strategy` and execute each until `result.wanted` requests were sent or the deadline
    passed. Hypothesis only generates here (no shrinking, no example database): the judging is ours."""
    for round_number in range(100):
        remaining = result.wanted - result.requests
        if remaining <= 0:
            return
        sent_before = result.requests

        @hypothesis_seed(seed + round_number)
        @settings(max_examples=remaining, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet, print_blob=False)
        @given(strategy)
        def one(item) -> None:
            if result.requests >= result.wanted:
                return
            if time.monotonic() > deadline:
                raise _Stop(f"time is up after {result.requests} of {result.wanted} requests")
            execute(item)
            result.requests += 1

        one()
        if result.requests == sent_before:  # Hypothesis found nothing new to send
            return


# -- REST ---------------------------------------------------------------------------------------------------

class RestFuzzer:
    """schemathesis's cases and raw bodies against one REST API."""

    def __init__(self, base_url: str, ledger: Ledger, result: FuzzResult, max_body_bytes: int,
                 token: str | None = None):
        import schemathesis

        self.base_url = base_url.rstrip("/")
        self.ledger, self.result, self.max_body_bytes = ledger, result, max_body_bytes
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        from schemathesis.core.result import Err

        self.session = requests.Session()
        schema = schemathesis.openapi.from_path(str(OPENAPI))
        self.operations = {}
        for found in schema.get_all_operations():
            if isinstance(found, Err):
                raise FuzzError(f"{OPENAPI}: {found.err()}")
            self.operations[found.ok().path] = found.ok()

    def strategy(self) -> st.SearchStrategy:
        from schemathesis import GenerationMode

        def cases(path: str, mode: GenerationMode) -> st.SearchStrategy:
            return self.operations[path].as_strategy(generation_mode=mode)

        single, bulk = "/api/v1/events", "/api/v1/events/bulk"
        # Seven requests in ten from the OpenAPI document, three raw.
        return fuzz_inputs.weighted(
            (cases(single, GenerationMode.POSITIVE), 5), (cases(single, GenerationMode.NEGATIVE), 4),
            (cases(bulk, GenerationMode.POSITIVE), 2), (cases(bulk, GenerationMode.NEGATIVE), 2),
            (cases("/api/v1/events/health", GenerationMode.POSITIVE), 1), (fuzz_inputs.rest_raw(self.max_body_bytes), 6))

    def execute(self, item: Any) -> None:
        if isinstance(item, fuzz_inputs.RawRest):
            self._raw(item)
        else:
            self._case(item)
        if self.result.requests % HEALTH_EVERY == HEALTH_EVERY - 1:
            check_health(self.result, self.healthy)

    def healthy(self) -> tuple[bool, str]:
        try:
            response = self.session.get(f"{self.base_url}/api/v1/events/health", timeout=5.0)
        except requests.RequestException as error:
            return False, f"transport error: {error}"
        return response.status_code == 200, f"{response.status_code} {response.text[:200]}"

    def _case(self, case) -> None:
        from schemathesis.core import NOT_SET

        body = None if case.body is NOT_SET else case.body
        fuzz_inputs.freshen_uuids(body)
        text = (f"{case.method} {case.formatted_path} ({case.meta.generation.mode.value if case.meta else 'given'}) "
                f"Content-Type: {case.media_type} body: {_json_text(body)[:3000]}")
        uuids = _rest_uuids(body)
        before = self.ledger.snapshot(uuids)
        self.result.current_input = _json_text(body).encode()
        try:
            response = case.call(base_url=self.base_url, session=self.session, headers=self.headers,
                                 timeout=REQUEST_TIMEOUT)
        except requests.RequestException as error:
            self._no_answer(text, error)
            return
        sent = response.request.body
        self.result.current_input = sent.encode() if isinstance(sent, str) else sent if isinstance(sent, bytes) else b""
        negative = case.meta is not None and case.meta.generation.mode.value == "negative"
        self._judge(case, response, text, before, body, uuids, negative)

    def _raw(self, raw: fuzz_inputs.RawRest) -> None:
        try:
            body = json.loads(raw.body)
            uuids = _rest_uuids(body)
        except (ValueError, RecursionError):  # not JSON, or nested past Python's recursion limit
            body = None
            uuids = [match.decode(errors="replace") for match in RAW_UUID.findall(raw.body)]
        text = (f"POST {raw.path} ({raw.what}) Content-Type: {raw.content_type} "
                f"body ({len(raw.body)} bytes): {raw.body[:3000]!r}")
        before = self.ledger.snapshot(uuids)
        self.result.current_input = raw.body
        headers = dict(self.headers)
        if raw.content_type is not None:
            headers["Content-Type"] = raw.content_type
        try:
            response = self.session.post(self.base_url + raw.path, data=raw.body, headers=headers,
                                         timeout=REQUEST_TIMEOUT)
        except requests.RequestException as error:
            self._no_answer(text, error)
            return
        self._judge(self.operations[raw.path].Case(), response, text, before, body, uuids, negative=False)

    def _no_answer(self, text: str, error: Exception) -> None:
        self.result.statuses["no answer"] += 1
        self.result.record(SERVER_ERROR, text, f"no answer: {error}")
        check_health(self.result, self.healthy)
        # The request may still have been processed (CONTRACT.md, Saturation): its writes are not judged.

    def _judge(self, case, response: requests.Response, text: str, before: Snapshot, body: Any, uuids: list[str],
               negative: bool) -> None:
        from schemathesis.core.failures import FailureGroup
        from schemathesis.specs.openapi import checks

        status = response.status_code
        self.result.statuses[f"{status // 100}xx"] += 1
        answer = f"{status} {response.headers.get('content-type', '')} {response.text[:1500]}"
        if status >= 500:
            self.result.record(SERVER_ERROR, text, answer)
        conformance = [checks.status_code_conformance, checks.content_type_conformance,
                       checks.response_headers_conformance, checks.response_schema_conformance]
        path = case.operation.path
        if negative and path == "/api/v1/events":
            conformance.append(checks.negative_data_rejection)
        try:
            case.validate_response(response, checks=conformance, headers=self.headers)
        except FailureGroup as failures:
            details = "; ".join(f"{type(f).__name__}: {f.title}: {str(f.message)[:300]}" for f in failures.exceptions)
            self.result.record(VIOLATION, text, answer, details)
        sent_body = response.request.body
        sent = len(sent_body.encode() if isinstance(sent_body, str) else sent_body) \
            if isinstance(sent_body, (str, bytes)) else 0
        if (status == 413) != (sent > self.max_body_bytes) and path != "/api/v1/events/health" and status < 500:
            self.result.record(VIOLATION, text, answer, f"{status} for a {sent}-byte body (MAX_BODY_BYTES "
                                                        f"{self.max_body_bytes}): 413 exactly when it is larger")
        if status >= 400:
            wrote = _writes_of_rejected(before, self.ledger.snapshot(), uuids, self.ledger)
            if wrote:
                self.result.record(REJECTED_WRITE, text, answer, wrote)
            return
        if status != 200 or path == "/api/v1/events/health":
            return
        try:
            answer_body = response.json()
        except ValueError:
            return  # already a schema violation
        problem = self._acknowledged(path, body, answer_body, before, negative)
        if problem:
            self.result.record(VIOLATION, text, answer, problem)

    def _acknowledged(self, path: str, body: Any, answer: Any, before: Snapshot, negative: bool) -> str:
        """An acknowledged request is stored exactly as the answer says."""
        if not isinstance(answer, dict):
            return ""
        after = self.ledger.snapshot()
        grew = after.events - before.events
        if path == "/api/v1/events":
            uuid = str(answer.get("eventUuid", ""))
            duplicate = answer.get("duplicate") is True
            if grew != (0 if duplicate else 1):
                return f"answered duplicate={duplicate} but the events table grew by {grew}"
            if duplicate != (uuid.lower() in before.stored):
                return f"duplicate={duplicate} for a uuid {'' if duplicate else 'already '}stored before"
            if not self.ledger.stored([uuid]):
                return f"acknowledged event {uuid} is not stored"
            return ""
        if not isinstance(body, list):  # the bulk endpoint accepted a body that is not an array
            return "answered 200 to a bulk body that is not a JSON array"
        if not 1 <= len(body) <= 1000:
            return f"answered 200 to a bulk array of {len(body)} items"
        processed, failed = answer.get("processedCount"), answer.get("failedCount")
        counts = [c for c in (processed, answer.get("duplicateCount"), failed) if isinstance(c, int)]
        if len(counts) == 3 and sum(counts) != len(body):
            return f"processed + duplicate + failed = {sum(counts)} for {len(body)} items"
        if grew != processed:
            return f"answered processedCount={processed} but the events table grew by {grew}"
        failed_items = {e.get("index") for e in answer.get("errors", []) if isinstance(e, dict)}
        kept = {u.lower() for i, item in enumerate(body) if i not in failed_items for u in _rest_uuids(item)}
        rejected = {u.lower() for i in failed_items if isinstance(i, int) and 0 <= i < len(body)
                    for u in _rest_uuids(body[i])} - kept - before.stored
        written = self.ledger.stored(rejected)
        if written:
            return f"items answered as failed were stored: {', '.join(sorted(written))}"
        return ""

    def close(self) -> None:
        self.session.close()


def _rest_uuids(body: Any) -> list[str]:
    """The event uuids a REST body carries (an event, or each item of a bulk array)."""
    return [header["uuid"] for header in fuzz_inputs.rest_headers_with_uuid(body)]


def _json_text(body: Any) -> str:
    try:
        return json.dumps(body)
    except (TypeError, ValueError, RecursionError):
        return repr(body)


# -- gRPC and gRPC-Web --------------------------------------------------------------------------------------

class MessageJudge:
    """Judges one ProcessEvent answer (a status, its message, the EventResponse bytes) the same way for gRPC
    and gRPC-Web."""

    def __init__(self, ledger: Ledger, result: FuzzResult, max_message_bytes: int, library_decodes: bool):
        self.ledger, self.result, self.max_message_bytes = ledger, result, max_message_bytes
        # Native gRPC: the library itself answers INTERNAL to bytes it cannot decode (not for gRPC-Web).
        self.library_decodes = library_decodes
        self.messages = contract_messages()
        self.pb = protos.event_pb2()

    def decode(self, payload: bytes):
        """The request as the server decodes it, or None when the bytes are not an EventRequest."""
        try:
            return self.pb.EventRequest.FromString(payload)
        except Exception:  # noqa: BLE001 — protobuf's DecodeError, or a recursion limit
            return None

    def judge(self, item: fuzz_inputs.GrpcInput | None, code: str, details: str, response: bytes | None,
              text: str, before: Snapshot, framing_case: bool = False) -> None:
        """`item` is None for a broken gRPC-Web frame (no message reached the service)."""
        self.result.statuses[code] += 1
        answer = f"{code} {details[:1500]!r}"
        request = self.decode(item.payload) if item is not None else None
        uuids = [request.event_header.uuid] if request is not None and request.HasField("event_header") else []
        if code == "OK":
            if item is None or request is None:
                self.result.record(VIOLATION, text, answer, "OK for a request without a decodable EventRequest")
                return
            problem = self._acknowledged(item, request, response, before)
            if problem:
                self.result.record(VIOLATION, text, answer, problem)
            return
        if code in REJECTIONS:
            self._check_rejection(item, request, code, details, text, answer, framing_case)
        elif self._library_refusal(item, code, details):
            self.result.library_parse_errors += 1
        else:
            self.result.record(SERVER_ERROR, text, answer)
        wrote = _writes_of_rejected(before, self.ledger.snapshot(), uuids, self.ledger)
        if wrote:
            self.result.record(REJECTED_WRITE, text, answer, wrote)

    def _library_refusal(self, item: fuzz_inputs.GrpcInput | None, code: str, details: str) -> bool:
        """The gRPC library's own answer to raw bytes it could not decode (native gRPC only)."""
        if not self.library_decodes or item is None or item.structured:
            return False
        return details.startswith(LIBRARY_DECODE_ERRORS.get(code, ()))

    def _check_rejection(self, item, request, code: str, details: str, text: str, answer: str,
                         framing_case: bool) -> None:
        if code == "RESOURCE_EXHAUSTED" and item is not None and not framing_case \
                and len(item.payload) <= self.max_message_bytes:
            self.result.record(VIOLATION, text, answer,
                               f"RESOURCE_EXHAUSTED for a {len(item.payload)}-byte message (limit "
                               f"{self.max_message_bytes})")
        if code == "INVALID_ARGUMENT" and request is not None and not framing_case \
                and not any(pattern.match(details) for pattern in self.messages):
            self.result.record(VIOLATION, text, answer, "INVALID_ARGUMENT without one of the contract's messages")

    def _acknowledged(self, item: fuzz_inputs.GrpcInput, request, response: bytes | None, before: Snapshot) -> str:
        if len(item.payload) > self.max_message_bytes:
            return f"OK for a {len(item.payload)}-byte message over MAX_BODY_BYTES ({self.max_message_bytes})"
        try:
            answer = self.pb.EventResponse.FromString(response or b"")
        except Exception:  # noqa: BLE001
            return "the EventResponse does not decode"
        uuid = request.event_header.uuid
        expected = SUCCESS_MESSAGES[answer.duplicate]
        if not answer.success or answer.message != expected:
            return f"OK with success={answer.success}, message={answer.message!r}, duplicate={answer.duplicate}"
        if answer.event_uuid != uuid.lower():
            return f"event_uuid {answer.event_uuid!r} for uuid {uuid!r}"
        if answer.entity_count != len(request.event_body.entities):
            return f"entity_count {answer.entity_count} for {len(request.event_body.entities)} entities"
        after = self.ledger.snapshot()
        if after.events - before.events != (0 if answer.duplicate else 1):
            return f"answered duplicate={answer.duplicate} but the events table grew by {after.events - before.events}"
        stored_before = uuid.lower() in before.stored
        if answer.duplicate != stored_before:
            return f"duplicate={answer.duplicate} but the uuid was {'' if stored_before else 'not '}stored before"
        if not self.ledger.stored([uuid]):
            return f"acknowledged event {uuid} is not stored"
        return ""


def _message_uuids(judge: MessageJudge, payload: bytes) -> list[str]:
    request = judge.decode(payload)
    return [request.event_header.uuid] if request is not None and request.HasField("event_header") else []


class GrpcFuzzer:
    """EventRequest messages and raw bytes, as the ProcessEvent message, against one gRPC API."""

    def __init__(self, target: str, ledger: Ledger, result: FuzzResult, max_message_bytes: int,
                 token: str | None = None):
        self.ledger, self.result, self.max_message_bytes = ledger, result, max_message_bytes
        # The client may send more than the server accepts: the server's limit is under test.
        options = [("grpc.max_send_message_length", 16 * max_message_bytes),
                   ("grpc.max_receive_message_length", 16 * max_message_bytes)]
        self.channel = grpc.insecure_channel(target, options=options)
        self.call = self.channel.unary_unary(PROCESS_EVENT)  # bytes in, bytes out: no client-side encoding
        self.metadata = [("authorization", f"Bearer {token}")] if token else None
        self.judge = MessageJudge(ledger, result, max_message_bytes, library_decodes=True)

    def strategy(self) -> st.SearchStrategy:
        return fuzz_inputs.grpc_inputs(self.max_message_bytes)

    def execute(self, item: fuzz_inputs.GrpcInput) -> None:
        text = f"ProcessEvent {item.what}: {item.payload[:3000]!r}"
        before = self.ledger.snapshot(_message_uuids(self.judge, item.payload))
        self.result.current_input = item.payload
        response: bytes | None = None
        try:
            response = self.call(item.payload, timeout=REQUEST_TIMEOUT, metadata=self.metadata)
            code, details = "OK", ""
        except grpc.RpcError as error:
            code, details = error.code().name, error.details() or ""
        self.judge.judge(item, code, details, response, text, before)
        if code in ("UNAVAILABLE", "DEADLINE_EXCEEDED") or self.result.requests % HEALTH_EVERY == HEALTH_EVERY - 1:
            check_health(self.result, self.healthy)

    def healthy(self) -> tuple[bool, str]:
        health_pb2, health_grpc = protos.health_pb2(), protos.health_pb2_grpc()
        try:
            response = health_grpc.HealthStub(self.channel).Check(health_pb2.HealthCheckRequest(service=""),
                                                                  timeout=5.0)
        except grpc.RpcError as error:
            return False, f"{error.code().name} {error.details()}"
        return (response.status == health_pb2.HealthCheckResponse.SERVING,
                health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))

    def close(self) -> None:
        self.channel.close()


class GrpcWebFuzzer:
    """Framed messages (binary and text mode), broken frames and wrong content types against one gRPC-Web
    API (the Lambda behind its gateway)."""

    def __init__(self, base_url: str, ledger: Ledger, result: FuzzResult, max_message_bytes: int,
                 token: str | None = None):
        from tests.conformance.grpcweb_client import GrpcWebClient

        self.base_url = base_url.rstrip("/")
        self.ledger, self.result, self.max_message_bytes = ledger, result, max_message_bytes
        self.session = requests.Session()
        self.headers = {"X-Grpc-Web": "1", **({"Authorization": f"Bearer {token}"} if token else {})}
        self.health_client = GrpcWebClient(self.base_url, max_message_bytes)
        self.judge = MessageJudge(ledger, result, max_message_bytes, library_decodes=False)

    def strategy(self) -> st.SearchStrategy:
        return fuzz_inputs.grpcweb_inputs(self.max_message_bytes)

    def healthy(self) -> tuple[bool, str]:
        return self.health_client.healthy()

    def execute(self, item: fuzz_inputs.GrpcWebInput) -> None:
        text = (f"POST {PROCESS_EVENT} ({item.what}) Content-Type: {item.content_type} "
                f"body ({len(item.body)} bytes): {item.body[:3000]!r}")
        uuids = _message_uuids(self.judge, item.message.payload) if item.message is not None else []
        before = self.ledger.snapshot(uuids)
        self.result.current_input = item.body
        headers = dict(self.headers)
        if item.content_type is not None:
            headers["Content-Type"] = item.content_type
        try:
            response = self.session.post(self.base_url + PROCESS_EVENT, data=item.body, headers=headers,
                                         timeout=REQUEST_TIMEOUT)
        except requests.RequestException as error:
            self.result.statuses["no answer"] += 1
            self.result.record(SERVER_ERROR, text, f"no answer: {error}")
            check_health(self.result, self.healthy)
            return
        self._judge_http(item, response, text, before, uuids)
        if self.result.requests % HEALTH_EVERY == HEALTH_EVERY - 1:
            check_health(self.result, self.healthy)

    def _judge_http(self, item: fuzz_inputs.GrpcWebInput, response: requests.Response, text: str, before: Snapshot,
                    uuids: list[str]) -> None:
        status = response.status_code
        answer = f"HTTP {status} {response.headers.get('content-type', '')} {response.content[:1500]!r}"
        if status == 200 and item.is_grpcweb:
            code, details, message, problem = self._decode(response, item.text)
            if problem:
                self.result.statuses[f"HTTP {status}"] += 1
                self.result.record(VIOLATION, text, answer, problem)
            else:
                self.judge.judge(item.message, code, details, message, text, before, framing_case=item.message is None)
                return
        else:
            self.result.statuses[f"HTTP {status}"] += 1
            if status >= 500:
                self.result.record(SERVER_ERROR, text, answer)
            elif item.is_grpcweb and not (status == 413 and len(item.body) > self.max_message_bytes):
                self.result.record(VIOLATION, text, answer, "a gRPC-Web call answered without a gRPC status")
            elif not item.is_grpcweb and not (status == 415 and _json_error(response, 415)):
                self.result.record(VIOLATION, text, answer,
                                   "a request that is not gRPC-Web must get 415 with the lab's JSON error")
        wrote = _writes_of_rejected(before, self.ledger.snapshot(), uuids, self.ledger)
        if wrote:
            self.result.record(REJECTED_WRITE, text, answer, wrote)

    @staticmethod
    def _decode(response: requests.Response, text_mode: bool) -> tuple[str, str, bytes | None, str]:
        """(status name, message, the response message, problem): problem is set when the body is not a
        gRPC-Web answer."""
        content = response.content
        if text_mode:
            try:
                content = base64.b64decode(content, validate=True)
            except ValueError:
                return "", "", None, "grpc-web-text answer is not base64"
        try:
            messages, trailers = grpcweb.decode_response(content)
        except ValueError as error:
            return "", "", None, f"the answer's frames do not decode: {error}"
        status = trailers.get("grpc-status", response.headers.get("grpc-status"))
        if status is None or not status.isdigit():
            return "", "", None, f"no grpc-status in the answer ({status!r})"
        code = next((c.name for c in grpc.StatusCode if c.value[0] == int(status)), f"CODE {status}")
        details = urllib.parse.unquote(trailers.get("grpc-message", response.headers.get("grpc-message", "")))
        if len(messages) > 1 or (messages and code != "OK"):
            return code, details, None, f"{len(messages)} message frames with status {code}"
        return code, details, messages[0] if messages else None, ""

    def close(self) -> None:
        self.session.close()
        self.health_client.close()


def _json_error(response: requests.Response, status: int) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("status") == status and isinstance(body.get("error"), str)


def check_health(result: FuzzResult, healthy: Callable[[], tuple[bool, str]], wait: float = 15.0) -> None:
    """The API must still answer its health check; within `wait` seconds, or it crashed (the run stops)."""
    deadline = time.monotonic() + wait
    while True:
        ok, detail = healthy()
        if ok:
            result.healthy_after = True
            return
        if time.monotonic() > deadline:
            result.healthy_after = False
            result.record(CRASH, f"health check after {result.requests} requests", detail,
                          "the API no longer answers its health check")
            raise _Stop(f"the API stopped answering its health check after {result.requests} requests: {detail}")
        time.sleep(0.5)


# -- one API, and the job over a stack ----------------------------------------------------------------------

def fuzz_api(name: str, protocol: str, endpoint: str, dsn: str, *, requests_wanted: int, seed: int,
             max_body_bytes: int = 1048576, token: str | None = None,
             time_limit: float | None = None) -> FuzzResult:
    """Fuzz one running API (`protocol` rest, grpc or grpcweb) that writes to the database at `dsn`."""
    result = FuzzResult(name, protocol, endpoint, requests_wanted)
    limit = time_limit if time_limit is not None else max(300.0, 2.0 * requests_wanted)
    started = time.monotonic()
    ledger = Ledger(dsn)
    fuzzer: RestFuzzer | GrpcFuzzer | GrpcWebFuzzer
    if protocol == "rest":
        fuzzer = RestFuzzer(endpoint, ledger, result, max_body_bytes, token)
    elif protocol == "grpc":
        fuzzer = GrpcFuzzer(endpoint.removeprefix("http://"), ledger, result, max_body_bytes, token)
    elif protocol == "grpcweb":
        fuzzer = GrpcWebFuzzer(endpoint, ledger, result, max_body_bytes, token)
    else:
        raise FuzzError(f"{name}: no fuzzer for protocol {protocol!r}")
    try:
        drive(fuzzer.strategy(), fuzzer.execute, result, seed, started + limit)
        if result.requests < requests_wanted:
            result.problem = f"only {result.requests} of {requests_wanted} requests could be generated"
        check_health(result, fuzzer.healthy)
    except _Stop as stop:
        result.problem = str(stop)
    except psycopg2.Error as error:  # the fuzzer lost the database it judges writes by
        result.problem = f"the database could not be read: {error}".strip()
    finally:
        fuzzer.close()
        ledger.close()
        result.seconds = time.monotonic() - started
    return result


@dataclasses.dataclass
class FuzzReport:
    seed: int
    requests: int
    results: list[FuzzResult]
    summary_path: pathlib.Path | None = None

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(result.ok for result in self.results)


def run(apis: list[Service], outputs: dict, results_dir: pathlib.Path, *, requests_wanted: int = 1000,
        seed: int | None = None, token: str | None = None, stack: str = "local",
        log: Callable[[str], None] = print) -> FuzzReport:
    """Fuzz each API of the deployed stack in turn (only it running, the database reset before it) and write
    the JSON summary into `results_dir`."""
    import docker

    from runner import containers, database

    if not outputs:
        raise FuzzError(f"the {stack} stack is not up: run `bench up {stack}` first")
    seed = seed if seed is not None else random.randrange(2**32)
    token = token or _stack_token(outputs)
    cfg = stack_config.load(stack)
    max_body_bytes = int(cfg.get("maxBodyBytes", 1048576))
    client = docker.from_env()
    db = outputs["database"]
    containers.stop_all_deployed(client, outputs)
    report = FuzzReport(seed, requests_wanted, [])
    for service in apis:
        entry = outputs.get("apis", {}).get(service.name)
        if entry is None:
            report.results.append(FuzzResult(service.name, service.protocol, "", requests_wanted,
                                             problem=f"not deployed in the {stack} stack"))
            continue
        database.reset(db["dsn"])
        try:
            waited = containers.start_deployed(client, service, entry, cfg)
            log(f"{service.name} ready after {waited:.2f} s; {requests_wanted} fuzzed requests (seed {seed})")
            report.results.append(fuzz_api(service.name, service.protocol, entry["endpoint"], db["dsn"],
                                           requests_wanted=requests_wanted, seed=seed,
                                           max_body_bytes=max_body_bytes, token=token))
        except containers.ContainerError as error:
            report.results.append(FuzzResult(service.name, service.protocol, entry["endpoint"], requests_wanted,
                                             problem=str(error)))
        finally:
            containers.stop_deployed(client, entry)
    report.summary_path = write_summary(report, results_dir, stack)
    return report


def _stack_token(outputs: dict) -> str | None:
    """Under an auth profile the stack publishes its JWT key (outputs.auth): a token for the whole run."""
    from perflab import profiles

    auth = outputs.get("auth") or {}
    if not auth.get("key"):
        return None
    return profiles.token(auth["key"], ttl_seconds=24 * 3600, issuer=auth.get("issuer"), audience=auth.get("audience"))


def write_summary(report: FuzzReport, results_dir: pathlib.Path, stack: str) -> pathlib.Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = results_dir / f"fuzz-{stamp}.json"
    for number in range(2, 1000):  # two runs in one second keep both summaries
        if not path.exists():
            break
        path = results_dir / f"fuzz-{stamp}-{number}.json"
    document = {"kind": "fuzz", "stack": stack, "createdAt": stamp, "seed": report.seed,
                "requestsPerApi": report.requests, "ok": report.ok,
                "apis": [result.to_json() for result in report.results]}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return path
