"""Builders of test events: unique uuids and entity ids per call, so tests never collide."""
from __future__ import annotations

import copy
import uuid
from typing import Any

EVENT_TYPES = {  # event type -> entity type, as the original lab's generator sent them
    "CarCreated": "Car",
    "LoanCreated": "Loan",
    "LoanPaymentSubmitted": "LoanPayment",
    "ServiceDone": "Service",
}


def unique_id(prefix: str = "conf") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def entity(entity_type: str = "Car", entity_id: str | None = None, **attributes: Any) -> dict[str, Any]:
    return {"entityType": entity_type, "entityId": unique_id(entity_type.lower()) if entity_id is None else entity_id,
            "updatedAttributes": attributes or {"model": "Civic", "year": 2021}}


def event(*entities: dict[str, Any], event_type: str = "CarCreated", **header: Any) -> dict[str, Any]:
    head = {"uuid": str(uuid.uuid4()), "eventName": event_type, "eventType": event_type,
            "createdDate": "2024-01-15T10:30:00Z", "savedDate": "2024-01-15T10:30:05.123Z"}
    head.update(header)
    return {"eventHeader": head, "eventBody": {"entities": list(entities) or [entity()]}}


def canonical(event_doc: dict[str, Any]) -> dict[str, Any]:
    """The canonical event document the contract says is stored as `events.payload`."""
    header = event_doc["eventHeader"]
    head = {key: header[key] for key in ("uuid", "eventName", "eventType")}
    for key in ("createdDate", "savedDate"):
        if header.get(key) not in (None, ""):
            head[key] = header[key]
    entities = [{key: item[key] for key in ("entityType", "entityId", "updatedAttributes")}
                for item in event_doc["eventBody"]["entities"]]
    return {"eventHeader": head, "eventBody": {"entities": entities}}


def mutate(event_doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `event_doc` with the dotted `path` set to `value`, or removed when value is DELETE."""
    doc = copy.deepcopy(event_doc)
    parts = path.split(".")
    target = doc
    for part in parts[:-1]:
        target = target[int(part)] if isinstance(target, list) else target[part]
    last = parts[-1]
    if value is DELETE:
        del target[int(last) if isinstance(target, list) else last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return doc


DELETE = object()
