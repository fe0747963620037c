"""Batch (≤ 30 items, each answered on its own) and Change Data Capture (last 30 days, ≤ 1000 objects)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from desktop.sandbox.qbo import query
from desktop.sandbox.qbo.ops import Operations, unsupported
from desktop.sandbox.qbo.store import ENTITIES, Company, Record
from desktop.sandbox.qbo.util import QboFault, RawJson, parse_qbo_datetime

MAX_BATCH = 30
CDC_DAYS = 30
CDC_MAX = 1000
CDC_UNSUPPORTED = ("TaxCode", "TaxRate", "TaxAgency", "JournalCode", "TimeActivity")


def deleted_stub(rec: Record) -> dict[str, Any]:
    return {"domain": "QBO", "status": "Deleted", "Id": rec.id}


def run_batch(c: Company, ops: Operations, body: Any, admit: Callable[[], QboFault | None]) -> dict[str, Any]:
    """Answer every item; ``admit`` charges one throttle hit per item and may refuse it."""
    items = body.get("BatchItemRequest") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise QboFault(
            "2020",
            "Required param missing, need to supply the required value for the API",
            "Required parameter BatchItemRequest is missing in the request",
            "BatchItemRequest",
        )
    if len(items) > MAX_BATCH:
        raise QboFault(
            "6000",
            "A business validation error has occurred while processing your request",
            f"Business Validation Error: Number of items in the batch request exceeds the "
            f"maximum of {MAX_BATCH}; it has {len(items)}.",
            "BatchItemRequest",
        )
    seen: set[str] = set()
    for item in items:
        bid = str(item.get("bId", "")) if isinstance(item, dict) else ""
        if not bid or bid in seen:
            raise QboFault(
                "2020",
                "Required param missing, need to supply the required value for the API",
                "Every BatchItemRequest needs a unique bId",
                "bId",
            )
        seen.add(bid)
    answers: list[dict[str, Any]] = []
    for item in items:
        bid = str(item["bId"])
        refusal = admit()
        if refusal is not None:
            answers.append({"bId": bid, "Fault": refusal.fault_body()})
            continue
        try:
            answers.append({"bId": bid, **_one(c, ops, item)})
        except QboFault as fault:
            answers.append({"bId": bid, "Fault": fault.fault_body()})
    return {"BatchItemResponse": answers}


def _one(c: Company, ops: Operations, item: dict[str, Any]) -> dict[str, Any]:
    if "Query" in item:
        return {"QueryResponse": query.execute(c, query.parse(str(item["Query"])))}
    entity = next((k for k in item if k in ENTITIES), None)
    if entity is None:
        raise unsupported("batch item without an entity or Query")
    operation = item.get("operation", "create")
    payload = item[entity]
    if operation == "create":
        if isinstance(payload, dict) and payload.get("Id"):
            raise QboFault(
                "2010", "Request has invalid or unsupported property", "Id is not allowed on create", "Id"
            )
        rec = ops.save(c, entity, payload)
    elif operation == "update":
        if item.get("optionsData") == "void":
            rec = ops.void(c, entity, payload)
        else:
            if not isinstance(payload, dict) or not payload.get("Id"):
                raise QboFault(
                    "2020",
                    "Required param missing, need to supply the required value for the API",
                    "Required parameter Id is missing in the request",
                    "Id",
                )
            rec = ops.save(c, entity, payload)
    elif operation == "delete":
        return {entity: deleted_stub(ops.delete(c, entity, payload))}
    elif operation == "void":
        rec = ops.void(c, entity, payload)
    else:
        raise QboFault("2170", "Invalid Enumeration", f"Invalid Enumeration : {operation}", "operation")
    return {entity: RawJson(rec.text)}


def run_cdc(c: Company, entities_param: str, changed_since: str, now: datetime) -> dict[str, Any]:
    names = [e.strip() for e in entities_param.split(",") if e.strip()]
    if not names:
        raise QboFault(
            "2020",
            "Required param missing, need to supply the required value for the API",
            "Required parameter entities is missing in the request",
            "entities",
        )
    lookup = {e.lower(): e for e in ENTITIES}
    canonical: list[str] = []
    for name in names:
        entity = lookup.get(name.lower())
        if entity is None or entity in CDC_UNSUPPORTED:
            raise QboFault(
                "4001", "Invalid query", f"ChangeDataCapture is not supported for {name}", "entities"
            )
        canonical.append(entity)
    if not changed_since:
        raise QboFault(
            "2020",
            "Required param missing, need to supply the required value for the API",
            "Required parameter changedSince is missing in the request",
            "changedSince",
        )
    try:
        since = parse_qbo_datetime(changed_since)
    except ValueError:
        raise QboFault(
            "2010",
            "Request has invalid or unsupported property",
            f"Invalid changedSince value {changed_since}",
            "changedSince",
        ) from None
    if since < now - timedelta(days=CDC_DAYS):
        raise QboFault(
            "6000",
            "A business validation error has occurred while processing your request",
            "Business Validation Error: changedSince must be within the last 30 days.",
            "changedSince",
        )
    with c.lock:
        changed: list[tuple[str, Record]] = []
        for entity in canonical:
            live = [r for r in c.all(entity) if r.updated > since]
            gone = [r for r in c.tombstones.get(entity, {}).values() if r.updated > since]
            changed.extend((entity, r) for r in sorted(live + gone, key=lambda r: r.updated))
        changed.sort(key=lambda er: er[1].updated)
        changed = changed[:CDC_MAX]  # the real service answers at most 1000; ask again from later
        responses = []
        for entity in canonical:
            rows: list[Any] = [
                deleted_stub(r) | {"MetaData": r.obj["MetaData"]}
                if r.status == "deleted"
                else RawJson(r.text)
                for e, r in changed
                if e == entity
            ]
            block: dict[str, Any] = {entity: rows} if rows else {}
            if rows:
                block.update({"startPosition": 1, "maxResults": len(rows)})
            responses.append(block)
    return {"CDCResponse": [{"QueryResponse": responses}]}
