"""The event of contract/CONTRACT.md: validation with the contract's exact messages, in the contract's
order, and the canonical document stored as events.payload. Validation happens entirely here, before
anything is written; REST and gRPC end in the same `Event`."""
from __future__ import annotations

import re
from typing import Any

import orjson

from event_common import jsontext
from event_common.rfc3339 import is_date_time

MAX_ENTITIES = 100
MAX_BULK_EVENTS = 1000
MAX_ENTITY_ID_LENGTH = 255  # Unicode code points
MAX_NESTING = 64  # a REST body, the body itself being level 1
MAX_ATTRIBUTE_NESTING = MAX_NESTING - 5  # a gRPC attribute value: its object is level 5 of the document

# The contract's messages, exact to the character.
MSG_MALFORMED_JSON = "malformed JSON"
MSG_BODY_TOO_DEEP = "request body nests deeper than 64 levels"
MSG_NUMBER_TOO_LONG = "event contains a number longer than 100 characters"
MSG_NOT_OBJECT = "request body must be a JSON object"
MSG_BULK_NOT_ARRAY = "request body must be a JSON array of 1 to 1000 events"
MSG_HEADER_OBJECT = "eventHeader must be an object"
MSG_UUID = "eventHeader.uuid must be a UUID"
MSG_EVENT_NAME = "eventHeader.eventName must be a non-empty string"
MSG_EVENT_TYPE = "eventHeader.eventType must be a non-empty string"
MSG_CREATED_DATE = "eventHeader.createdDate must be an RFC 3339 date-time"
MSG_SAVED_DATE = "eventHeader.savedDate must be an RFC 3339 date-time"
MSG_BODY_OBJECT = "eventBody must be an object"
MSG_ENTITIES_ARRAY = "eventBody.entities must be an array of 1 to 100 entities"
MSG_NUL = "event must not contain the NUL character (U+0000)"
MSG_EVENT_TOO_DEEP = "event nests deeper than 64 levels"
MSG_UNSTORABLE = "event contains a value the database cannot store"


def msg_entity_object(i: int) -> str:
    return f"eventBody.entities[{i}] must be an object"


def msg_entity_type(i: int) -> str:
    return f"eventBody.entities[{i}].entityType must be a name: a letter, then letters or digits, at most 64 characters"


def msg_entity_id(i: int) -> str:
    return f"eventBody.entities[{i}].entityId must be a non-empty string of at most 255 characters"


def msg_entity_attributes(i: int) -> str:
    return f"eventBody.entities[{i}].updatedAttributes must be a JSON object"


class ValidationError(Exception):
    """A rejected request; `message` is the contract's text for the first broken rule."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# fullmatch everywhere: `$` would accept a trailing "\n".
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ENTITY_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9]{0,63}")


class Event:
    """A validated event, ready to be written."""

    __slots__ = ("uuid", "event_name", "event_type", "created_date", "saved_date", "entities")

    def __init__(self, uuid: str, event_name: str, event_type: str, created_date: str | None,
                 saved_date: str | None, entities: list[tuple[str, str, bytes]]):
        self.uuid = uuid  # as sent (either case); PostgreSQL normalises it
        self.event_name = event_name
        self.event_type = event_type
        self.created_date = created_date  # the RFC 3339 text as sent, None when absent, null or ""
        self.saved_date = saved_date
        # (entityType, entityId, updatedAttributes as compact JSON with the numbers' digits as sent),
        # in request order.
        self.entities = entities

    @property
    def normalized_uuid(self) -> str:
        return self.uuid.lower()

    def entities_in_lock_order(self) -> list[tuple[str, str, bytes]]:
        """The entities sorted by (entityType, entityId), a stable sort: equal keys keep request order, so
        the later of two updates to one entity is applied last. Every transaction taking its row locks in
        this one order is what keeps concurrent events from deadlocking. (Python compares str by code
        point, which is the byte order of UTF-8, as in the Go and Rust APIs.)"""
        return sorted(self.entities, key=_lock_key)

    def document(self) -> bytes:
        """The canonical event document stored as events.payload: the known fields only, the dates only
        when present and as sent, entities in request order, attribute values as received."""
        header: dict[str, Any] = {"uuid": self.uuid, "eventName": self.event_name, "eventType": self.event_type}
        if self.created_date is not None:
            header["createdDate"] = self.created_date
        if self.saved_date is not None:
            header["savedDate"] = self.saved_date
        entities = [{"entityType": entity_type, "entityId": entity_id,
                     "updatedAttributes": jsontext.Fragment(attributes)}
                    for entity_type, entity_id, attributes in self.entities]
        return orjson.dumps({"eventHeader": header, "eventBody": {"entities": entities}})


def _lock_key(entity: tuple[str, str, bytes]) -> tuple[str, str]:
    return entity[0], entity[1]


# ---------------------------------------------------------------------------------------------- REST


def decode_body(body: bytes) -> tuple[Any, bool]:
    """Decodes a REST body: valid UTF-8, nesting within MAX_NESTING, exactly one JSON value, no number
    longer than jsontext.MAX_NUMBER_LENGTH anywhere (so a bulk body is refused whole). Returns the value
    and whether a string of it may hold U+0000 (`jsontext.may_contain_nul`)."""
    try:
        text = body.decode("utf-8")  # strict: invalid bytes and encoded surrogates are errors
    except UnicodeDecodeError:
        raise ValidationError(MSG_MALFORMED_JSON) from None
    if jsontext.nests_deeper(text, MAX_NESTING):
        valid, _ = jsontext.scan(text)
        raise ValidationError(MSG_BODY_TOO_DEEP if valid else MSG_MALFORMED_JSON)
    try:
        return jsontext.loads(text), jsontext.may_contain_nul(text)
    except jsontext.NotJSON:
        raise ValidationError(MSG_MALFORMED_JSON) from None
    except jsontext.NumberTooLong:
        # Parsing stops at the number; the contract lets a body that is also malformed get either message.
        raise ValidationError(MSG_NUMBER_TOO_LONG) from None


def parse_event(body: bytes) -> Event:
    """Validates the body of POST /api/v1/events; raises ValidationError with the first broken rule."""
    value, may_contain_nul = decode_body(body)
    return event_from_json(value, may_contain_nul)


def parse_bulk(body: bytes) -> tuple[list[Any], bool]:
    """Checks that the body of POST /api/v1/events/bulk is an array of 1 to MAX_BULK_EVENTS items. Returns
    the items, each to be validated on its own with `event_from_json`, and whether any string of the
    body may hold U+0000 (the second argument of `event_from_json`)."""
    value, may_contain_nul = decode_body(body)
    if type(value) is not list or not 1 <= len(value) <= MAX_BULK_EVENTS:
        raise ValidationError(MSG_BULK_NOT_ARRAY)
    return value, may_contain_nul


def event_from_json(value: Any, may_contain_nul: bool = True) -> Event:
    """Validates one decoded event (from `decode_body`), the contract's rules in the contract's order.
    `may_contain_nul` False (the body has no \\u0000 escape) skips the search for U+0000."""
    if type(value) is not dict:
        raise ValidationError(MSG_NOT_OBJECT)
    header = value.get("eventHeader")
    if type(header) is not dict:
        raise ValidationError(MSG_HEADER_OBJECT)
    uuid = header.get("uuid")
    if type(uuid) is not str or _UUID.fullmatch(uuid) is None:
        raise ValidationError(MSG_UUID)
    event_name = header.get("eventName")
    if type(event_name) is not str or not event_name:
        raise ValidationError(MSG_EVENT_NAME)
    event_type = header.get("eventType")
    if type(event_type) is not str or not event_type:
        raise ValidationError(MSG_EVENT_TYPE)
    created_date = _optional_json_date(header.get("createdDate"), MSG_CREATED_DATE)
    saved_date = _optional_json_date(header.get("savedDate"), MSG_SAVED_DATE)
    body = value.get("eventBody")
    if type(body) is not dict:
        raise ValidationError(MSG_BODY_OBJECT)
    items = body.get("entities")
    if type(items) is not list or not 1 <= len(items) <= MAX_ENTITIES:
        raise ValidationError(MSG_ENTITIES_ARRAY)
    entities = []
    for i, item in enumerate(items):
        if type(item) is not dict:
            raise ValidationError(msg_entity_object(i))
        entity_type = item.get("entityType")
        if type(entity_type) is not str or _ENTITY_TYPE.fullmatch(entity_type) is None:
            raise ValidationError(msg_entity_type(i))
        entity_id = item.get("entityId")
        if type(entity_id) is not str or not 0 < len(entity_id) <= MAX_ENTITY_ID_LENGTH:
            raise ValidationError(msg_entity_id(i))
        attributes = item.get("updatedAttributes")
        if type(attributes) is not dict:
            raise ValidationError(msg_entity_attributes(i))
        entities.append((entity_type, entity_id, orjson.dumps(attributes)))
    # Unknown fields are not stored, but the rule covers every string of the event, keys included.
    if may_contain_nul and jsontext.contains_nul(value):
        raise ValidationError(MSG_NUL)
    return Event(uuid, event_name, event_type, created_date, saved_date, entities)


def _optional_json_date(value: Any, message: str) -> str | None:
    if value is None:  # absent or null
        return None
    if type(value) is not str:
        raise ValidationError(message)
    return _optional_date(value, message)


def _optional_date(text: str, message: str) -> str | None:
    if not text:
        return None
    if not is_date_time(text):
        raise ValidationError(message)
    return text


# ---------------------------------------------------------------------------------------------- gRPC


def event_from_proto(request: Any) -> Event:
    """Validates a gRPC EventRequest with the same rules and messages as REST. An unset event_header or
    event_body is "not an object"; empty date strings are absent. Each attribute value is stored as the
    JSON it spells when it is one complete JSON text, else as a JSON string (`attribute_value`)."""
    if not request.HasField("event_header"):
        raise ValidationError(MSG_HEADER_OBJECT)
    header = request.event_header
    uuid, event_name, event_type = header.uuid, header.event_name, header.event_type
    if _UUID.fullmatch(uuid) is None:
        raise ValidationError(MSG_UUID)
    if not event_name:
        raise ValidationError(MSG_EVENT_NAME)
    if not event_type:
        raise ValidationError(MSG_EVENT_TYPE)
    created_date = _optional_date(header.created_date, MSG_CREATED_DATE)
    saved_date = _optional_date(header.saved_date, MSG_SAVED_DATE)
    if not request.HasField("event_body"):
        raise ValidationError(MSG_BODY_OBJECT)
    items = request.event_body.entities
    if not 1 <= len(items) <= MAX_ENTITIES:
        raise ValidationError(MSG_ENTITIES_ARRAY)
    nul = "\x00" in event_name or "\x00" in event_type
    deep = long_number = False
    entities = []
    for i, item in enumerate(items):
        entity_type, entity_id = item.entity_type, item.entity_id
        if _ENTITY_TYPE.fullmatch(entity_type) is None:
            raise ValidationError(msg_entity_type(i))
        if not 0 < len(entity_id) <= MAX_ENTITY_ID_LENGTH:
            raise ValidationError(msg_entity_id(i))
        attributes = {}
        for key, text in item.updated_attributes.items():
            value, refused, value_nul = _attribute_value(text)
            nul = nul or value_nul or "\x00" in key
            deep = deep or refused == MSG_EVENT_TOO_DEEP
            long_number = long_number or refused == MSG_NUMBER_TOO_LONG
            attributes[key] = value
        nul = nul or "\x00" in entity_id
        entities.append((entity_type, entity_id, b"" if deep or long_number else orjson.dumps(attributes)))
    # The contract's order: the NUL rule, the nesting of attribute values, then their numbers.
    if nul:
        raise ValidationError(MSG_NUL)
    if deep:
        raise ValidationError(MSG_EVENT_TOO_DEEP)
    if long_number:
        raise ValidationError(MSG_NUMBER_TOO_LONG)
    return Event(uuid, event_name, event_type, created_date, saved_date, entities)


# A JSON text starts (after whitespace) with one of these; any other first character means "a string".
_JSON_START = frozenset('{["-0123456789tfn \t\n\r')


def attribute_value(text: str) -> Any:
    """The JSON value a gRPC string attribute stands for: the value it spells when the whole text is valid
    JSON (RFC 8259, surrounding whitespace allowed), otherwise the text itself as a string.
    "12" -> 12, "true" -> True, '{"a":1}' -> {"a": 1}, "abc" -> "abc", "1 2" -> "1 2", "" -> ""."""
    value, _, _ = _attribute_value(text)
    return value


def _attribute_value(text: str) -> tuple[Any, str | None, bool]:
    """`attribute_value` that also applies the contract's rules to a value that is JSON text: refused is
    MSG_EVENT_TOO_DEEP when it nests deeper than MAX_ATTRIBUTE_NESTING, MSG_NUMBER_TOO_LONG when a number
    of it is longer than jsontext.MAX_NUMBER_LENGTH (the event is then rejected, the value is None), and
    nul says a string or key of the value contains U+0000. Returns (value, refused, nul)."""
    if not text or text[0] not in _JSON_START:
        return text, None, "\x00" in text
    if jsontext.nests_deeper(text, MAX_ATTRIBUTE_NESTING):
        # Measured without recursion; only JSON text counts, anything else is an ordinary string.
        valid, nul = jsontext.scan(text)
        if valid:
            return None, MSG_EVENT_TOO_DEEP, nul
        return text, None, "\x00" in text
    try:
        value = jsontext.loads(text)
    except jsontext.NotJSON:
        return text, None, "\x00" in text
    except jsontext.NumberTooLong:
        # Parsing stopped at the number: only JSON text is refused, and the NUL rule comes first.
        valid, nul = jsontext.scan(text)
        if valid:
            return None, MSG_NUMBER_TOO_LONG, nul
        return text, None, "\x00" in text
    return value, None, jsontext.may_contain_nul(text) and jsontext.contains_nul(value)
