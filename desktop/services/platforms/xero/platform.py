"""Xero behind :class:`~desktop.services.platforms.interface.LedgerPlatform`.

The read side is :class:`~desktop.services.platforms.xero.connector.XeroConnector` (reference data, lists paged
``page=N`` by :func:`~desktop.services.platforms.shapes.paginate`), the write side
:class:`~desktop.services.platforms.xero.post.XeroWriter` (PUTs of 50 of one type, look-up by key);
this module adds the change feed (``If-Modified-Since``), reads by id, number and date, voiding and
deleting, and the facts other modules used to branch on. Xero's API publishes no exchange rates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any, ClassVar

from desktop.services.core.domain import Component
from desktop.services.core.errors import NeedsPersonError
from desktop.services.core.exact_json import dumps as wire_json
from desktop.services.core.keys import parse_key
from desktop.services.platforms.base import expect_ok
from desktop.services.platforms.http import LedgerHttp
from desktop.services.platforms.import_csv import ImportDoc, ImportSheet, xero_import_csv
from desktop.services.platforms.interface import (
    ChangeFeed,
    DocView,
    KeyQuery,
    LedgerPlatform,
    PlatformProfile,
    VendorCreditDraft,
    amounts,
    dec,
    item_quantities,
)
from desktop.services.platforms.metering import xero_metered
from desktop.services.platforms.qbo.platform import _day, moment
from desktop.services.platforms.shapes import PostRequest, RemoteDoc, SendResult, batch_id
from desktop.services.platforms.webhooks import Notification
from desktop.services.platforms.xero import webhooks
from desktop.services.platforms.xero.connector import XeroConnector, translate_error
from desktop.services.platforms.xero.post import COLLECTIONS, XeroWriter, _remote

#: The lists we post to, read back by date and watched for changes.
LISTS = ("CreditNotes", "ManualJournals", "Payments", "Invoices")
_STATUS = {"VOIDED": "voided", "DELETED": "deleted", "PAID": "paid"}
_INCOME = ("REVENUE", "SALES", "OTHERINCOME")
_EXPENSE = ("EXPENSE", "DIRECTCOSTS", "OVERHEADS")


def xero_doc(doc_type: str, obj: Mapping[str, Any]) -> DocView:
    """A Xero CreditNote, Invoice (a dearer exchange's charge), ManualJournal or Payment as pull compares it."""
    status = _STATUS.get(str(obj.get("Status", "")).upper(), "active")
    updated = moment(obj.get("UpdatedDateUTC"))
    day = _day(obj.get("DateString")) or _day(obj.get("Date"))
    if doc_type in ("CreditNote", "Invoice"):
        return DocView(
            doc_type, str(obj.get(f"{doc_type}ID", "")), status, total=dec(obj.get("Total")),
            tax=dec(obj.get("TotalTax")), txn_date=day, currency=obj.get("CurrencyCode"),
            lines=amounts(obj.get("LineItems"), "LineAmount"), updated_at=updated,
            number=obj.get(f"{doc_type}Number"),
            # a supplier credit note carries our key in its number (Reference is for customer ones)
            our_key=parse_key(obj.get("Reference")) or parse_key(obj.get(f"{doc_type}Number")),
            payment_ids=tuple(str(p.get("PaymentID")) for p in obj.get("Payments") or []
                              if isinstance(p, dict) and p.get("PaymentID")))
    if doc_type == "ManualJournal":
        lines = amounts(obj.get("JournalLines"), "LineAmount")
        total = sum((x for x in lines if x > 0), Decimal(0)) if lines is not None else None
        return DocView("ManualJournal", str(obj.get("ManualJournalID", "")), status, total=total,
                       txn_date=day, lines=lines, updated_at=updated, our_key=parse_key(obj.get("Narration")))
    paid_kind = "Invoice" if isinstance(obj.get("Invoice"), Mapping) else "CreditNote"
    credit = obj.get(paid_kind) or {}
    pays = ((paid_kind, str(credit[f"{paid_kind}ID"])),) if credit.get(f"{paid_kind}ID") else ()
    return DocView("Payment", str(obj.get("PaymentID", "")), status, total=dec(obj.get("Amount")),
                   txn_date=day, currency=credit.get("CurrencyCode"), updated_at=updated,
                   our_key=parse_key(obj.get("Reference")), pays=pays)


def _item_code(line: Mapping[str, Any]) -> str | None:
    code = line.get("ItemCode")
    return str(code) if code else None


def doc_type_of(collection: str) -> str:
    """``CreditNotes`` → ``CreditNote`` (any other list is read as Payments)."""
    return {"CreditNotes": "CreditNote", "ManualJournals": "ManualJournal", "Invoices": "Invoice"}.get(
        collection, "Payment")


class XeroProfile(PlatformProfile):
    key = "xero"
    display_name = "Xero"
    short_name = "Xero"
    rate_limits = (60, 5)
    app_per_minute = 10_000  # API_FACTS §9: the App Minute Limit, across all tenants
    token_grace = timedelta(minutes=30)
    picks_tenant_after_sign_in = True
    sandbox_listing = ("tenants", "tenant_id")
    refund_bank_types = ("BANK",)
    bank_doc_types = frozenset({"Payment"})
    payment_doc_type = "Payment"
    payments_flag = "EnablePaymentsToAccount"
    home_currency_bank_ok = True
    label_with_code = True
    inactive_word = "archived"
    tax_word = "rate"
    tracking_in_categories = True
    max_tracking_categories = 2
    refuses_system_accounts = True
    one_type_per_request = True
    #: Starter tier (2026): 1,000 calls a day per organisation, reads and writes (API_FACTS §9; UNCONFIRMED).
    metered_period = "day"
    metered_allowance = 1_000
    metered_writes = True
    metered_word = "calls"
    allowed_account_types = MappingProxyType({
        Component.MERCHANDISE: _INCOME,
        Component.TAX: ("CURRLIAB", "LIABILITY"),
        Component.RESTOCKING_FEE: _INCOME,
        Component.RETURN_SHIPPING_CHARGED: _INCOME,
        Component.OUTBOUND_SHIPPING_REFUNDED: (*_INCOME, *_EXPENSE),
        Component.LABEL_COST: _EXPENSE,
        Component.REFUND: ("BANK", "CURRENT", "CURRLIAB", "LIABILITY"),
        Component.CLEARING: ("CURRENT", "CURRLIAB", "LIABILITY"),
        Component.STORE_CREDIT: ("CURRLIAB", "LIABILITY"),
        Component.REPLACEMENT: _INCOME,
        Component.INVENTORY_ASSET: ("INVENTORY", "CURRENT"),
        Component.COGS: ("DIRECTCOSTS",),
        Component.INVENTORY_WRITE_OFF: _EXPENSE,
        Component.RETURN_TO_VENDOR: (),  # a vendor, not an account (mapping.model.VENDOR_COMPONENTS)
    })
    account_type_words = MappingProxyType({
        "CURRLIAB": "Current Liability", "CURRENT": "Current Asset", "OTHERINCOME": "Other Income",
        "DIRECTCOSTS": "Direct Costs", "BANK": "Bank", "REVENUE": "Revenue", "SALES": "Sales",
        "EXPENSE": "Expense", "OVERHEADS": "Overhead", "LIABILITY": "Liability", "INVENTORY": "Inventory"})
    account_type_headings = MappingProxyType({
        "BANK": "Bank", "CURRENT": "Current asset", "CURRLIAB": "Current liability", "DIRECTCOSTS": "Direct costs",
        "EQUITY": "Equity", "EXPENSE": "Expense", "FIXED": "Fixed asset", "LIABILITY": "Liability",
        "NONCURRENT": "Non-current asset", "OTHERINCOME": "Other income", "OVERHEADS": "Overheads",
        "PREPAYMENT": "Prepayment", "REVENUE": "Revenue", "SALES": "Sales", "TERMLIAB": "Term liability",
        "INVENTORY": "Inventory", "DEPRECIATN": "Depreciation", "PAYGLIABILITY": "PAYG liability",
        "SUPERANNUATIONEXPENSE": "Superannuation expense", "SUPERANNUATIONLIABILITY": "Superannuation liability",
        "WAGESEXPENSE": "Wages expense"})
    monogram, brand_colour = "X", "#13b5ea"
    tagline = "Credit notes, payments and manual journals."
    webhook_key_name = "signing-key"  # the webhook signing key
    webhook_signature_header = "x-xero-signature"
    webhook_refusal_status = 401  # Xero's intent-to-receive checks for exactly this

    def connect(self, http: LedgerHttp, api_base_url: str, company_id: str) -> XeroPlatform:
        return XeroPlatform(http, api_base_url, company_id)

    def entity_of(self, doc_type: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        outer = COLLECTIONS[doc_type][0] if doc_type in COLLECTIONS else None
        inner = payload.get(outer or "") if outer else None
        if isinstance(inner, list) and inner and isinstance(inner[0], dict):
            return inner[0]
        return payload  # type: ignore[return-value]  # not wrapped after all

    def with_date(self, doc_type: str, payload: Mapping[str, Any], day: date) -> dict[str, Any]:
        out = dict(payload)
        outer = next(iter(out))
        out[outer] = [{**out[outer][0], "Date": day.isoformat()}]
        return out

    def view(self, doc_type: str, raw: Mapping[str, Any]) -> DocView:
        return xero_doc(doc_type, raw)

    def sent_view(self, doc_type: str, payload: Mapping[str, Any], remote_id: str) -> DocView:
        # Read as stored (the wrapped payload), as the pull direction always has: only total and
        # date — kept on the outbox row — are compared for Xero documents.
        sent = xero_doc(doc_type, payload)
        return sent if "TotalTax" in payload else DocView(**{**sent.__dict__, "tax": None})

    def sent_tax(self, doc_type: str, payload: Mapping[str, Any] | None, total: Decimal | None) -> Decimal | None:
        # The sum of the lines' pinned TaxAmount.
        if not payload or total is None:
            return None
        items = self.entity_of(doc_type, payload).get("LineItems")
        if not isinstance(items, list):
            return None
        try:
            return sum((Decimal(str(i.get("TaxAmount") or 0)) for i in items), Decimal(0))
        except (ArithmeticError, ValueError):
            return None

    def rate_of(self, doc_type: str, payload: Mapping[str, Any] | None) -> Decimal | None:
        value = self.entity_of(doc_type, payload or {}).get("CurrencyRate")
        rate = dec(value) if not isinstance(value, bool) else None
        return rate if rate is not None and rate != 1 else None

    def accounts_of(self, raw: Mapping[str, Any]) -> tuple[tuple[str, Decimal], ...]:
        out: list[tuple[str, Decimal]] = []
        for line in raw.get("JournalLines") or raw.get("LineItems") or []:
            amount = dec(line.get("LineAmount")) if isinstance(line, dict) else None
            if amount is not None and line.get("AccountCode"):
                out.append((str(line["AccountCode"]), amount))
        return tuple(out)

    items_by_code = True

    def items_of(self, doc_type: str,
                 payload: Mapping[str, Any] | None) -> tuple[tuple[str, Decimal | None], ...] | None:
        # a credit note's (or invoice's) line items: ItemCode and Quantity, sent wrapped or read bare
        if payload is None or doc_type not in ("CreditNote", "Invoice"):
            return None
        return item_quantities(self.entity_of(doc_type, payload).get("LineItems"), _item_code,
                               lambda line: line.get("Quantity"))

    def manual_import_csv(self, docs: Sequence[ImportDoc]) -> ImportSheet:
        return xero_import_csv(docs, self.entity_of)

    def parse_webhook(self, body: bytes) -> list[Notification]:
        return webhooks.parse(self.key, body)

    def feed_start(self, cursor: str | None, window_start: datetime, now: datetime) -> tuple[Any, bool]:
        return (datetime.fromisoformat(cursor) if cursor else window_start), False

    def metered(self, method: str, url: str, body: bytes | None) -> tuple[int, int] | None:
        return xero_metered(method, url, body)

    def allowance_refused(self, headers: Mapping[str, str], text: str) -> bool | None:
        """Xero's 429 names the limit in ``X-Rate-Limit-Problem`` (API_FACTS §9): ``day`` is the daily
        allowance (legacy: ``Daily``); ``minute``, ``concurrent``, ``appminute`` are rate limits."""
        return headers.get("X-Rate-Limit-Problem", "").strip().lower() in ("day", "daily")

    def take_back_verb(self, doc_type: str) -> str:
        """A payment cannot be voided in Xero, only deleted (``Status: DELETED``)."""
        return "delete" if doc_type == "Payment" else "void"

    vendor_credit_doc_type = "CreditNote"

    def vendor_credit(self, draft: VendorCreditDraft) -> PostRequest:
        """An approved ``ACCPAYCREDIT`` credit note to the supplier contact; a tracked item's line books to
        its inventory account (Xero's choice). Xero keeps ``Reference`` for customer credit notes only,
        so our key rides in ``CreditNoteNumber`` (after the supplier's number, if any)."""
        lines: list[dict[str, Any]] = []
        for ln in draft.lines:
            line: dict[str, Any] = {"Description": ln.description or ln.item_code or "Returned to supplier"}
            if ln.item_code:
                line["ItemCode"] = ln.item_code
            elif not ln.account_id:
                raise ValueError("a vendor credit line needs an item or an account")
            if ln.account_id:
                line["AccountID"] = ln.account_id
            if ln.quantity is not None and ln.unit_cost is not None:
                line.update(Quantity=ln.quantity, UnitAmount=ln.unit_cost)
            else:
                line.update(Quantity=ln.quantity or Decimal(1), LineAmount=ln.amount)
            if ln.tax_code:
                line["TaxType"] = ln.tax_code
            lines.append(line)
        body: dict[str, Any] = {
            "Type": "ACCPAYCREDIT", "Contact": {"ContactID": draft.vendor_id}, "Date": draft.day.isoformat(),
            "Status": "AUTHORISED", "CurrencyCode": draft.currency, "LineAmountTypes": "Exclusive",
            "CreditNoteNumber": f"{draft.number} {draft.key}" if draft.number else draft.key, "LineItems": lines}
        return PostRequest(draft.key, self.vendor_credit_doc_type, body)


class XeroPlatform(XeroConnector, LedgerPlatform):
    """One Xero organisation: the connector's reads plus the writer's posting, one HTTP client."""

    profile: ClassVar[XeroProfile] = XeroProfile()  # type: ignore[misc]
    max_batch = XeroWriter.max_batch
    gone_codes = frozenset({"404"})

    def __init__(self, http: LedgerHttp, api_base_url: str, tenant_id: str) -> None:
        super().__init__(http, api_base_url, tenant_id)
        self.writer = XeroWriter(http, self.base, tenant_id)

    def _headers(self) -> dict[str, str]:
        return {"Accept": "application/json", "xero-tenant-id": self.company_id, "Content-Type": "application/json"}

    # --- reading documents ---------------------------------------------------------------------
    def find_by_keys(self, wanted: Sequence[KeyQuery]) -> dict[str, RemoteDoc | None]:
        found: dict[str, RemoteDoc | None] = {}
        for doc_type in sorted({q.doc_type for q in wanted}):
            found.update(self.writer.find_many(doc_type, [q.key for q in wanted if q.doc_type == doc_type]))
        return found

    def find_by_number(self, doc_type: str, number: str) -> RemoteDoc | None:
        """Credit notes by their number; journals and payments (which have none) by their id."""
        if not number:
            return None
        collection, id_field, number_field, _ref = COLLECTIONS[doc_type]
        if number_field:
            safe = number.replace('"', "")
            items = self._get(collection, {"where": f'{number_field}=="{safe}"'}).get(collection) or []
        else:
            try:
                items = self._get(f"{collection}/{number}").get(collection) or []
            except NeedsPersonError:
                return None
        live = [i for i in items if str(i.get("Status", "")).upper() not in ("VOIDED", "DELETED")]
        if not live:
            return None
        i = live[0]
        shown = str(i.get(number_field)) if number_field and i.get(number_field) else number
        return RemoteDoc(doc_type, str(i[id_field]), shown, None, i)

    def document(self, doc_type: str, remote_id: str) -> RemoteDoc:
        if doc_type not in COLLECTIONS:
            raise NeedsPersonError(f"Xero has no {doc_type} documents", platform="xero", platform_code="404")
        return self.writer.get(doc_type, remote_id)

    def documents_dated(self, start: date, end: date) -> list[RemoteDoc]:
        s, e = start, end
        where = (f"Date>=DateTime({s.year},{s.month:02d},{s.day:02d})&&"
                 f"Date<=DateTime({e.year},{e.month:02d},{e.day:02d})")
        out: list[RemoteDoc] = []
        for collection in LISTS:
            doc_type = doc_type_of(collection)
            id_field = COLLECTIONS[doc_type][1]
            for rows in self.paged(collection, {"where": where}):
                out += [_remote(doc_type, r) if r.get(id_field) else RemoteDoc(doc_type, "", None, None, r)
                        for r in rows]
        return out

    def changes_since(self, since: Any, now: Callable[[], datetime]) -> ChangeFeed:
        """Each list with ``If-Modified-Since`` (inclusive, to the second); the first answer's
        ``DateTimeUTC`` is the next mark (this computer's ``now`` if nothing answered)."""
        header = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        docs: list[DocView] = []
        server_time: list[datetime | None] = [None]

        def seen(body: dict[str, Any]) -> None:
            if server_time[0] is None:
                server_time[0] = moment(body.get("DateTimeUTC"))

        records: list[RemoteDoc] = []
        for collection in LISTS:
            doc_type = doc_type_of(collection)
            id_field = COLLECTIONS[doc_type][1]
            for rows in self.paged(collection, headers={"If-Modified-Since": header}, on_body=seen):
                docs += [xero_doc(doc_type, r) for r in rows]
                records += [_remote(doc_type, r) if r.get(id_field) else RemoteDoc(doc_type, "", None, None, r)
                            for r in rows]
        return ChangeFeed(docs, (server_time[0] or now()).isoformat(), records)

    # --- posting -------------------------------------------------------------------------------
    def post_batch(self, items: list[PostRequest], marks: list[str]) -> list[SendResult]:
        if not items:
            return []
        return self.writer.post_batch(items[0].doc_type, items, batch_id(marks, "rls-", 100))

    def _set_status(self, doc_type: str, remote_id: str, status: str, mark: str | None = None) -> None:
        collection, id_field, _n, _r = COLLECTIONS[doc_type]
        body: dict[str, Any] = {collection: [{id_field: remote_id, "Status": status}]}
        headers = self._headers() | ({"Idempotency-Key": mark[:128]} if mark else {})
        resp = self.http.request("POST", f"{self.base}/{collection}/{remote_id}", headers=headers,
                                 data=wire_json(body).encode())
        expect_ok(resp, translate_error)

    def void(self, doc_type: str, remote_id: str) -> None:
        """Status VOIDED (a payment cannot be voided in Xero: it is DELETED)."""
        self._set_status(doc_type, remote_id, "DELETED" if doc_type == "Payment" else "VOIDED")

    def delete(self, doc_type: str, remote_id: str) -> None:
        self._set_status(doc_type, remote_id, "DELETED")

    def take_back(self, doc_type: str, remote_id: str, version: str | None, mark: str) -> str:
        """Xero has no optimistic lock on a status change: the caller compared the document first."""
        verb = self.profile.take_back_verb(doc_type)
        self._set_status(doc_type, remote_id, "DELETED" if verb == "delete" else "VOIDED", mark)
        return "voided" if verb == "void" else "deleted"

    def exchange_rate(self, currency: str, day: date) -> dict[str, Any] | None:
        return None  # Xero's API publishes no rates: the organization's own table supplies them
