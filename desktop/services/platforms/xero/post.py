"""Xero, the write side: batched PUT creates, look-up by idempotency key, read one document.

Built on a connector's :class:`~desktop.services.platforms.http.LedgerHttp`, base URL and tenant id,
so :mod:`desktop.services.platforms.xero.connector` (the read side) stays as it is.

Posting (API_FACTS §8): ``PUT /CreditNotes|ManualJournals|Payments?summarizeErrors=false`` with up
to 50 elements and an ``Idempotency-Key`` derived from the batch (≤ 128 characters). With
``summarizeErrors=false`` Xero answers 200 and each element says ``StatusAttributeString`` OK or
ERROR with its ``ValidationErrors``; elements come back in request order, and we also check that
each carries our key in its ``Reference``/``Narration`` before trusting the position.
Look-up: ``GET /CreditNotes?where=Reference.Contains("key") OR CreditNoteNumber.Contains("key") OR …``
(a supplier credit note's key is in its number; ManualJournals: Narration; Payments: Reference),
up to 10 keys per request so uncertain documents cost few calls against Xero's 60-a-minute limit.
"""

from __future__ import annotations

from typing import Any

from desktop.services.core.errors import NeedsPersonError, TransientError
from desktop.services.core.exact_json import dumps as wire_json
from desktop.services.platforms.base import decode_json, expect_ok
from desktop.services.platforms.http import LedgerHttp
from desktop.services.platforms.posting import send_request
from desktop.services.platforms.shapes import Outcome, PostRequest, RemoteDoc, SendResult
from desktop.services.platforms.xero.connector import PLATFORM, XeroConnector, translate_error

MAX_BATCH = 50
IDEMPOTENCY_KEY_MAX = 128
LOOKUP_CHUNK = 10

#: doc type → (collection, id field, number field, field carrying our key)
COLLECTIONS: dict[str, tuple[str, str, str | None, str]] = {
    "CreditNote": ("CreditNotes", "CreditNoteID", "CreditNoteNumber", "Reference"),
    "ManualJournal": ("ManualJournals", "ManualJournalID", None, "Narration"),
    "Payment": ("Payments", "PaymentID", None, "Reference"),
    "Invoice": ("Invoices", "InvoiceID", "InvoiceNumber", "Reference"),  # a dearer exchange's charge
}


def _remote(doc_type: str, obj: dict[str, Any]) -> RemoteDoc:
    _coll, id_field, number_field, _ref = COLLECTIONS[doc_type]
    number = obj.get(number_field) if number_field else None
    return RemoteDoc(doc_type, str(obj[id_field]), str(number) if number else None, None, obj)


#: Where else a type carries our key: a supplier credit note (``ACCPAYCREDIT``) has no Reference, so
#: its key rides in ``CreditNoteNumber``.
_ALSO_KEYED = {"CreditNote": ("CreditNoteNumber",)}


def _key_fields(doc_type: str) -> tuple[str, ...]:
    return (COLLECTIONS[doc_type][3], *_ALSO_KEYED.get(doc_type, ()))


def _carries(doc_type: str, obj: dict[str, Any], key: str) -> bool:
    return any(key in str(obj.get(f) or "") for f in _key_fields(doc_type))


class XeroWriter:
    """Creates and finds documents in one Xero organisation."""

    platform = PLATFORM
    max_batch = MAX_BATCH

    def __init__(self, http: LedgerHttp, api_base_url: str, tenant_id: str) -> None:
        self.http = http
        self.base = api_base_url.rstrip("/")
        self.tenant_id = tenant_id

    @classmethod
    def from_connector(cls, connector: XeroConnector) -> XeroWriter:
        return cls(connector.http, connector.base, connector.company_id)

    def _headers(self, **extra: str) -> dict[str, str]:
        return {"Accept": "application/json", "xero-tenant-id": self.tenant_id, **extra}

    # --- posting -----------------------------------------------------------------------------

    def post_batch(self, doc_type: str, items: list[PostRequest], idempotency_key: str) -> list[SendResult]:
        """Create ``items`` (≤ 50, all of ``doc_type``) in one PUT; one result per item, in order.

        Raises:
            NeedsReconnect: the token or the tenant was refused; nothing was processed.
        """
        if not items:
            return []
        if len(items) > MAX_BATCH or len(idempotency_key) > IDEMPOTENCY_KEY_MAX:
            raise ValueError("a Xero request holds at most 50 elements and a key of at most 128 characters")
        collection = COLLECTIONS[doc_type][0]
        resp = send_request(items, lambda: self.http.request(
            "PUT", f"{self.base}/{collection}", params={"summarizeErrors": "false"},
            headers=self._headers(**{"Content-Type": "application/json", "Idempotency-Key": idempotency_key}),
            data=wire_json({collection: [it.body for it in items]}).encode()), translate_error)
        if isinstance(resp, list):
            return resp
        elements: list[dict[str, Any]] = list(decode_json(resp).get(collection) or [])
        out: list[SendResult] = []
        for i, it in enumerate(items):
            el = elements[i] if i < len(elements) and _carries(doc_type, elements[i], it.key) else next(
                (e for e in elements if _carries(doc_type, e, it.key)), None)
            if el is None:
                out.append(SendResult(it.key, Outcome.UNCERTAIN, error=TransientError(
                    "Xero answered without this document", platform=PLATFORM)))
                continue
            messages = [str(v.get("Message", "")) for v in el.get("ValidationErrors") or [] if v.get("Message")]
            if messages or el.get("StatusAttributeString") == "ERROR":
                out.append(SendResult(it.key, Outcome.QUARANTINE, error=NeedsPersonError(
                    "Xero refused the document", platform=PLATFORM, platform_code="ValidationError",
                    platform_message="; ".join(messages) or "validation error",
                    action="fix what Xero names, then retry")))
            else:
                out.append(SendResult(it.key, Outcome.POSTED, _remote(doc_type, el)))
        return out

    # --- finding -----------------------------------------------------------------------------

    def find_by_key(self, key: str, doc_type: str) -> RemoteDoc | None:
        return self.find_many(doc_type, [key])[key]

    def find_many(self, doc_type: str, keys: list[str]) -> dict[str, RemoteDoc | None]:
        """Every key's document of ``doc_type`` (or None), ten keys per GET."""
        collection = COLLECTIONS[doc_type][0]
        found: dict[str, RemoteDoc | None] = dict.fromkeys(keys)
        for start in range(0, len(keys), LOOKUP_CHUNK):
            chunk = keys[start:start + LOOKUP_CHUNK]
            where = " OR ".join(f'{field}.Contains("{k}")' for k in chunk for field in _key_fields(doc_type))
            resp = self.http.request("GET", f"{self.base}/{collection}", headers=self._headers(),
                                     params={"where": where})
            for obj in expect_ok(resp, translate_error).get(collection) or []:
                for k in chunk:
                    if found[k] is None and _carries(doc_type, obj, k):
                        found[k] = _remote(doc_type, obj)
        return found

    def get(self, doc_type: str, remote_id: str) -> RemoteDoc:
        collection = COLLECTIONS[doc_type][0]
        resp = self.http.request("GET", f"{self.base}/{collection}/{remote_id}", headers=self._headers())
        return _remote(doc_type, expect_ok(resp, translate_error)[collection][0])
