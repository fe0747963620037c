"""Reference checks shared by every entity: the 2020 / 2500 / 610 trio the real service answers."""

from __future__ import annotations

from typing import Any

from desktop.sandbox.qbo.store import Company, Record
from desktop.sandbox.qbo.util import QboFault

REQUIRED_MSG = "Required param missing, need to supply the required value for the API"
INACTIVE_DETAIL = (
    "Object Not Found : Something you're trying to use has been made inactive. "
    "Check the fields with accounts, customers, items, vendors or employees."
)


def required(element: str) -> QboFault:
    return QboFault("2020", REQUIRED_MSG, f"Required parameter {element} is missing in the request", element)


def business(detail: str, element: str = "") -> QboFault:
    """Code 6000: the real service's catch-all for business rules, with the rule in Detail."""
    return QboFault(
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
        element,
    )


def resolve(c: Company, entity: str, ref: Any, element: str, *, name_key: str = "Name") -> Record:
    """The referenced record, or the fault QBO gives for a missing / unknown / inactive reference.

    Side effect: fills the reference's ``name`` like the real service echoes it.
    """
    if not isinstance(ref, dict) or not str(ref.get("value") or "").strip():
        raise required(element)
    value = str(ref["value"]).strip()
    rec = c.get(entity, value)
    if rec is None:
        if value in c.tombstones.get(entity, {}):
            raise QboFault("610", "Object Not Found", INACTIVE_DETAIL, element)
        raise QboFault(
            "2500",
            "Invalid Reference Id",
            f"Invalid Reference Id : {entity} element id {value} not found",
            element,
        )
    if rec.obj.get("Active") is False:
        raise QboFault("610", "Object Not Found", INACTIVE_DETAIL, element)
    ref["value"] = value
    label = rec.obj.get(name_key) or rec.obj.get("DisplayName") or rec.obj.get("Name")
    if isinstance(label, str):
        ref["name"] = label
    return rec


def optional(c: Company, entity: str, holder: dict[str, Any], key: str, element: str) -> Record | None:
    if key not in holder or holder[key] in (None, {}):
        holder.pop(key, None)
        return None
    return resolve(c, entity, holder[key], element)
