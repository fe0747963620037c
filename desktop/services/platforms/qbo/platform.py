"""QuickBooks Online behind :class:`~desktop.services.platforms.interface.LedgerPlatform`.

The read side is :class:`~desktop.services.platforms.qbo.connector.QboConnector` (reference data, the query
language paged by :func:`~desktop.services.platforms.shapes.paginate`), the write side
:class:`~desktop.services.platforms.qbo.post.QboWriter` (batches of 30, look-up by key, customers and
items on demand); this module adds the change feed (CDC), reads by id and date, voiding and
deleting, and the facts other modules used to branch on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any, ClassVar

from desktop.services.core.domain import Component
from desktop.services.core.errors import AppError, NeedsPersonError
from desktop.services.core.exact_json import dumps as wire_json
from desktop.services.core.keys import DOC_NUMBER_MAX, parse_key
from desktop.services.platforms.base import RefRecord, expect_ok
from desktop.services.platforms.http import LedgerHttp
from desktop.services.platforms.import_csv import ImportDoc, ImportSheet, qbo_journal_csv
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
from desktop.services.platforms.metering import qbo_metered
from desktop.services.platforms.qbo import webhooks
from desktop.services.platforms.qbo.connector import MINOR_VERSION, QboConnector, customer_record, translate_error
from desktop.services.platforms.qbo.post import QboWriter, _select, customer_name
from desktop.services.platforms.shapes import PostRequest, RemoteDoc, SendResult, batch_id
from desktop.services.platforms.webhooks import Notification
from desktop.services.platforms.xero.connector import parse_date, parse_ms_date

#: The transactions we post, read back by date and watched by the change feed.
ENTITIES = ("CreditMemo", "RefundReceipt", "JournalEntry", "Payment", "VendorCredit", "SalesReceipt")
#: The sales forms whose item lines restock (or sell) goods: their quantities are reconciled.
SALES_FORMS = ("CreditMemo", "RefundReceipt", "SalesReceipt")
_PURCHASE_LINES = ("AccountBasedExpenseLineDetail", "ItemBasedExpenseLineDetail")
#: Words of a 429 answer that mean the monthly metered allowance, not the minute's throttle (UNCONFIRMED).
_ALLOWANCE_WORDS = ("allowance", "quota", "coreplus", "monthly")
CDC_MAX = 1000  # QBO answers at most this many changes per CDC call: ask again from the last one
CDC_WINDOW = timedelta(days=30)
CDC_MARGIN = timedelta(minutes=5)  # stay safely inside QBO's 30-day look-back
_JSON = {"Accept": "application/json", "Content-Type": "application/json"}
_BANK = ("Bank", "Other Current Asset")
_INCOME = ("Income", "Other Income")


def _day(value: Any) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    if value.startswith("/Date("):
        return parse_date(value)
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def moment(value: Any) -> datetime | None:
    """A ledger timestamp (ISO, or Xero's MS-JSON) as an aware datetime; None if unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_ms_date(value)
    except ValueError:
        return None


def qbo_doc(entity: str, obj: Mapping[str, Any]) -> DocView:
    """A QBO transaction (or a CDC ``Deleted`` stub) as pull compares it."""
    ident = str(obj.get("Id", ""))
    meta = obj.get("MetaData") or {}
    updated = moment(meta.get("LastUpdatedTime"))
    if str(obj.get("status", "")).lower() == "deleted":
        return DocView(entity, ident, "deleted", updated_at=updated)
    note = str(obj.get("PrivateNote") or "")
    total = dec(obj.get("TotalAmt"))
    voided = note.startswith("Voided") and (total is None or total == 0)
    links: list[tuple[str, str]] = []
    for holder in [obj, *(obj.get("Line") or [])]:
        for link in (holder.get("LinkedTxn") or []) if isinstance(holder, Mapping) else []:
            if isinstance(link, dict) and link.get("TxnType") and link.get("TxnId") is not None:
                links.append((str(link["TxnType"]), str(link["TxnId"])))
    detail = {"JournalEntry": ("JournalEntryLineDetail",), "VendorCredit": _PURCHASE_LINES}.get(
        entity, ("SalesItemLineDetail",))
    return DocView(
        doc_type=entity, remote_id=ident, status="voided" if voided else "active", total=total,
        tax=dec((obj.get("TxnTaxDetail") or {}).get("TotalTax")), txn_date=_day(obj.get("TxnDate")),
        currency=(obj.get("CurrencyRef") or {}).get("value"),
        lines=amounts(obj.get("Line"), "Amount", detail) if entity != "Payment" else None,
        sync_token=str(obj["SyncToken"]) if obj.get("SyncToken") is not None else None, updated_at=updated,
        number=obj.get("DocNumber"), our_key=parse_key(note), pays=tuple(dict.fromkeys(links)))


def _sales_item(line: Mapping[str, Any]) -> str | None:
    """The item a sales line names (``SalesItemLineDetail.ItemRef``), or None."""
    detail = line.get("SalesItemLineDetail") if line.get("DetailType") == "SalesItemLineDetail" else None
    ref = detail.get("ItemRef") if isinstance(detail, Mapping) else None
    return str(ref["value"]) if isinstance(ref, Mapping) and ref.get("value") is not None else None


def _sales_qty(line: Mapping[str, Any]) -> Any:
    detail = line.get("SalesItemLineDetail")
    return detail.get("Qty") if isinstance(detail, Mapping) else None


def _record(entity: str, obj: dict[str, Any]) -> RemoteDoc:
    return RemoteDoc(entity, str(obj.get("Id", "")), obj.get("DocNumber"),
                     None if obj.get("SyncToken") is None else str(obj["SyncToken"]), obj)


def _resume_from(page: Sequence[DocView], counts: Mapping[str, int]) -> str | None:
    """Where to ask the change feed again after a full answer: an entity type cut at the cap is
    complete only up to its newest change, so the earliest of those; a cap on the whole answer
    (oldest first) leaves it complete up to its newest change. Whole seconds (as QBO compares),
    so changes in the same second are asked for again rather than skipped."""
    capped = [e for e, n in counts.items() if n >= CDC_MAX]
    newest: dict[str, datetime] = {}
    for d in page:
        if d.updated_at is not None and (d.doc_type not in newest or d.updated_at > newest[d.doc_type]):
            newest[d.doc_type] = d.updated_at
    marks = [newest[e] for e in capped if e in newest] if capped else list(newest.values())
    if not marks or (capped and len(marks) < len(capped)):
        return None
    mark = min(marks) if capped else max(marks)
    return mark.replace(microsecond=0).isoformat()


def _later(mark: str, since: Any) -> bool:
    """``mark`` is after ``since`` (both ISO times, in any offsets); an unreadable one is not."""
    try:
        return datetime.fromisoformat(mark) > datetime.fromisoformat(str(since))
    except (TypeError, ValueError):
        return False


class QboProfile(PlatformProfile):
    key = "qbo"
    display_name = "QuickBooks Online"
    short_name = "QuickBooks"
    rate_limits = (500, 10)
    sandbox_listing = ("companies", "realm_id")
    refund_bank_types = _BANK
    bank_doc_types = frozenset({"RefundReceipt", "SalesReceipt"})
    items_book_to_accounts = True
    creates_references = True
    change_window = CDC_WINDOW
    publishes_rates = True
    customer_single_currency = True
    doc_number_max = DOC_NUMBER_MAX
    #: Builder tier: 500,000 CorePlus (read) calls a month, writes free (API_FACTS §1, §5).
    metered_period = "month"
    metered_allowance = 500_000
    metered_word = "reads"
    allowed_account_types = MappingProxyType({
        Component.MERCHANDISE: _INCOME,
        Component.TAX: ("Other Current Liability",),
        Component.RESTOCKING_FEE: _INCOME,
        Component.RETURN_SHIPPING_CHARGED: _INCOME,
        Component.OUTBOUND_SHIPPING_REFUNDED: (*_INCOME, "Expense", "Cost of Goods Sold"),
        Component.LABEL_COST: ("Expense", "Cost of Goods Sold", "Other Expense"),
        Component.REFUND: ("Bank", "Other Current Asset", "Accounts Receivable"),
        Component.CLEARING: ("Other Current Asset", "Other Current Liability"),
        Component.STORE_CREDIT: ("Other Current Liability",),
        Component.REPLACEMENT: _INCOME,
        Component.INVENTORY_ASSET: ("Other Current Asset",),
        Component.COGS: ("Cost of Goods Sold",),
        Component.INVENTORY_WRITE_OFF: ("Cost of Goods Sold", "Expense", "Other Expense"),
        Component.RETURN_TO_VENDOR: (),  # a vendor, not an account (mapping.model.VENDOR_COMPONENTS)
    })
    tracking_groups = (("class", "Classes", "Class"), ("department", "Locations (departments)", "Location"))
    monogram, brand_colour = "QB", "#2ca01c"
    tagline = "Credit memos, refund receipts and journal entries."
    webhook_key_name = "verifier"  # the app's webhook verifier token
    webhook_signature_header = "intuit-signature"
    webhook_refusal_status = 403  # as Intuit's sample answers

    def connect(self, http: LedgerHttp, api_base_url: str, company_id: str) -> QboPlatform:
        return QboPlatform(http, api_base_url, company_id)

    def entity_of(self, doc_type: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        return payload  # type: ignore[return-value]  # QBO's payload is the entity itself

    def with_date(self, doc_type: str, payload: Mapping[str, Any], day: date) -> dict[str, Any]:
        return {**payload, "TxnDate": day.isoformat()}

    def view(self, doc_type: str, raw: Mapping[str, Any]) -> DocView:
        return qbo_doc(doc_type, raw)

    def sent_view(self, doc_type: str, payload: Mapping[str, Any], remote_id: str) -> DocView:
        sent = qbo_doc(doc_type, {**payload, "Id": remote_id, "TotalAmt": None})
        return sent if "TxnTaxDetail" in payload else DocView(**{**sent.__dict__, "tax": None})

    def sent_tax(self, doc_type: str, payload: Mapping[str, Any] | None, total: Decimal | None) -> Decimal | None:
        # QuickBooks computes its own tax, which the recipe predicted and balanced with an explicit
        # rounding line: its figure is the document total less the sales lines' amounts.
        if not payload or total is None or doc_type == "VendorCredit":
            return None  # (a vendor credit carries no sales tax)
        lines = payload.get("Line")
        if not isinstance(lines, list):
            return None
        try:
            return total - sum((Decimal(str(ln.get("Amount") or 0)) for ln in lines
                                if ln.get("DetailType") == "SalesItemLineDetail"), Decimal(0))
        except (ArithmeticError, ValueError):
            return None

    def rate_of(self, doc_type: str, payload: Mapping[str, Any] | None) -> Decimal | None:
        value = (payload or {}).get("ExchangeRate")
        rate = dec(value) if not isinstance(value, bool) else None
        return rate if rate is not None and rate != 1 else None

    def accounts_of(self, raw: Mapping[str, Any]) -> tuple[tuple[str, Decimal], ...]:
        out: list[tuple[str, Decimal]] = []
        lines = raw.get("Line") or []
        for line in lines if isinstance(lines, list) else []:
            detail = line.get("JournalEntryLineDetail") if isinstance(line, dict) else None
            amount = dec(line.get("Amount")) if isinstance(line, dict) else None
            if isinstance(detail, dict) and amount is not None:
                acct = str((detail.get("AccountRef") or {}).get("value", ""))
                out.append((acct, amount if detail.get("PostingType") == "Debit" else -amount))
        return tuple(out)

    def items_of(self, doc_type: str,
                 payload: Mapping[str, Any] | None) -> tuple[tuple[str, Decimal | None], ...] | None:
        # a sales form's item lines: SalesItemLineDetail.ItemRef (the item's id) and its Qty
        if payload is None or doc_type not in SALES_FORMS:
            return None
        return item_quantities(payload.get("Line"), _sales_item, _sales_qty)

    def manual_import_csv(self, docs: Sequence[ImportDoc]) -> ImportSheet:
        return qbo_journal_csv(docs, self.doc_number_max)

    def parse_webhook(self, body: bytes) -> list[Notification]:
        return webhooks.parse(self.key, body)

    def feed_start(self, cursor: str | None, window_start: datetime, now: datetime) -> tuple[Any, bool]:
        since = window_start.replace(microsecond=0).isoformat()
        if not cursor:
            return since, False
        try:
            mark = datetime.fromisoformat(cursor)
        except ValueError:
            mark = None
        if mark is not None and mark.tzinfo is not None and mark < now - CDC_WINDOW + CDC_MARGIN:
            return since, True  # older than CDC keeps: start inside the window, say so
        return cursor, False

    def metered(self, method: str, url: str, body: bytes | None) -> tuple[int, int] | None:
        return qbo_metered(method, url, body)

    def allowance_refused(self, headers: Mapping[str, str], text: str) -> bool | None:
        """QuickBooks' per-minute throttle is 429 + fault 3001 ThrottleExceeded (API_FACTS §4, §5);
        what a Builder-tier company past its monthly CorePlus reads gets is UNCONFIRMED. An answer
        naming the monthly allowance (the sandbox's does) says so; otherwise the app's own count of
        the month decides (None)."""
        low = text.lower()
        return True if any(word in low for word in _ALLOWANCE_WORDS) else None

    def take_back_verb(self, doc_type: str) -> str:
        """Journal entries and vendor credits have no void in the API (``operation=void`` answers 500):
        they are deleted."""
        return "delete" if doc_type in ("JournalEntry", "VendorCredit") else "void"

    vendor_credit_doc_type = "VendorCredit"

    def vendor_credit(self, draft: VendorCreditDraft) -> PostRequest:
        """``VendorCredit``: ``VendorRef``, lines ``ItemBasedExpenseLineDetail`` (an Inventory item's
        lowers its quantity on hand) or ``AccountBasedExpenseLineDetail``; our key in ``PrivateNote``."""
        lines: list[dict[str, Any]] = []
        for ln in draft.lines:
            line: dict[str, Any] = {"Amount": ln.amount, "Description": ln.description} if ln.description else {
                "Amount": ln.amount}
            if ln.item_id:
                detail: dict[str, Any] = {"ItemRef": {"value": ln.item_id}}
                if ln.quantity is not None:
                    detail["Qty"] = ln.quantity
                if ln.unit_cost is not None:
                    detail["UnitPrice"] = ln.unit_cost
                kind = "ItemBasedExpenseLineDetail"
            else:
                if not ln.account_id:
                    raise ValueError("a vendor credit line needs an item or an account")
                detail, kind = {"AccountRef": {"value": ln.account_id}}, "AccountBasedExpenseLineDetail"
            if ln.tax_code:
                detail["TaxCodeRef"] = {"value": ln.tax_code}
            lines.append({**line, "DetailType": kind, kind: detail})
        body: dict[str, Any] = {"VendorRef": {"value": draft.vendor_id}, "TxnDate": draft.day.isoformat(),
                                "CurrencyRef": {"value": draft.currency},
                                "PrivateNote": " ".join(p for p in (draft.memo, draft.key) if p), "Line": lines}
        if draft.number:
            body["DocNumber"] = draft.number[:DOC_NUMBER_MAX]
        return PostRequest(draft.key, self.vendor_credit_doc_type, body)


class QboPlatform(QboConnector, LedgerPlatform):
    """One QuickBooks company: the connector's reads plus the writer's posting, one HTTP client."""

    profile: ClassVar[QboProfile] = QboProfile()  # type: ignore[misc]
    max_batch = QboWriter.max_batch
    gone_codes = frozenset({"610"})

    def __init__(self, http: LedgerHttp, api_base_url: str, realm_id: str) -> None:
        super().__init__(http, api_base_url, realm_id)
        self.writer = QboWriter(http, self.base)  # its customer/item memory lasts as long as this object

    def _post(self, entity: str, params: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        resp = self.http.request("POST", f"{self.base}/{entity.lower()}", headers=_JSON,
                                 params={"minorversion": MINOR_VERSION, **params}, data=wire_json(body).encode())
        out: dict[str, Any] = expect_ok(resp, translate_error)
        return out

    # --- reading documents ---------------------------------------------------------------------
    def find_by_keys(self, wanted: Sequence[KeyQuery]) -> dict[str, RemoteDoc | None]:
        return self.writer.find_many([(q.key, q.doc_type, (q.payload or {}).get("DocNumber")) for q in wanted])

    def find_by_number(self, doc_type: str, number: str) -> RemoteDoc | None:
        if not number:
            return None
        rows = self.writer._query(_select(doc_type, "DocNumber", "=", number)).get(doc_type) or []
        if not rows:
            return None  # (a voided one totals 0.00: callers comparing amounts refuse it)
        r = rows[0]
        return RemoteDoc(doc_type, str(r["Id"]), r.get("DocNumber"), str(r.get("SyncToken", "0")), r)

    def document(self, doc_type: str, remote_id: str) -> RemoteDoc:
        return self.writer.get(doc_type, remote_id)

    def documents_dated(self, start: date, end: date) -> list[RemoteDoc]:
        where = f"TxnDate >= '{start.isoformat()}' AND TxnDate <= '{end.isoformat()}'"
        return [_record(e, obj) for e in ENTITIES for obj in self.query_all(e, where)]

    def changes_since(self, since: Any, now: Callable[[], datetime]) -> ChangeFeed:
        """Change Data Capture of our entity types; the first answer's ``time`` is the next mark.

        An answer holds at most :data:`CDC_MAX` objects (per entity type, or in all — oldest changes
        first): the window is narrowed by asking again from the newest change the full part
        covers (:func:`_resume_from`). When that cannot move forward (more changes in one second
        than an answer holds) the feed is returned ``complete=False``.
        """
        docs: list[DocView] = []
        records: list[RemoteDoc] = []
        next_cursor: str | None = None
        while True:
            body = self._get("cdc", {"entities": ",".join(ENTITIES), "changedSince": str(since)})
            next_cursor = next_cursor or body.get("time")
            counts: dict[str, int] = {}
            page: list[DocView] = []
            for block in (body.get("CDCResponse") or [{}])[0].get("QueryResponse") or []:
                for entity in ENTITIES:
                    for obj in block.get(entity) or []:
                        if isinstance(obj, dict):
                            page.append(qbo_doc(entity, obj))
                            records.append(_record(entity, obj))
                            counts[entity] = counts.get(entity, 0) + 1
            docs += page
            if len(page) < CDC_MAX and all(n < CDC_MAX for n in counts.values()):
                return ChangeFeed(docs, next_cursor, records)
            resume = _resume_from(page, counts)
            if resume is None or not _later(resume, since):
                return ChangeFeed(docs, next_cursor, records, complete=False)
            since = resume

    # --- posting -------------------------------------------------------------------------------
    def post_batch(self, items: list[PostRequest], marks: list[str]) -> list[SendResult]:
        return self.writer.post_batch(items, batch_id(marks, "rls", 36))

    def ensure_customers(self, wanted: list[tuple[str, str | None, str | None]]
                         ) -> dict[tuple[str, str | None], str | AppError]:
        return self.writer.ensure_customers(wanted)

    def customer_key(self, name: str, currency: str | None) -> tuple[str, str | None]:
        return customer_name(name), currency

    def ensure_item(self, account_id: str) -> str:
        return self.writer.ensure_item(account_id)

    def learned_customers(self) -> list[RefRecord]:
        return [customer_record(raw) for raw in self.writer.customers_seen.values()]

    def _current(self, doc_type: str, remote_id: str, verb: str) -> dict[str, str]:
        rows = self.writer._query(_select(doc_type, "Id", "=", remote_id)).get(doc_type) or []
        if not rows:
            raise NeedsPersonError(f"QuickBooks has no {doc_type} {remote_id} to {verb}")
        return {"Id": remote_id, "SyncToken": str(rows[0].get("SyncToken", "0"))}

    def void(self, doc_type: str, remote_id: str) -> None:
        self._post(doc_type, {"operation": "void"}, self._current(doc_type, remote_id, "void"))

    def delete(self, doc_type: str, remote_id: str) -> None:
        self._post(doc_type, {"operation": "delete"}, self._current(doc_type, remote_id, "delete"))

    def take_back(self, doc_type: str, remote_id: str, version: str | None, mark: str) -> str:
        verb = self.profile.take_back_verb(doc_type)
        body = {"Id": remote_id, "SyncToken": version} if version is not None else \
            self._current(doc_type, remote_id, verb)
        self._post(doc_type, {"operation": verb, "requestid": mark[:50]}, body)
        return "voided" if verb == "void" else "deleted"

    def exchange_rate(self, currency: str, day: date) -> dict[str, Any] | None:
        return self.writer.exchange_rate(currency, day)
