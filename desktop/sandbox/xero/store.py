"""In-memory state of the emulated Xero organisations (one :class:`Tenant` per demo org).

Documents are dicts shaped like Xero's JSON but holding ``Decimal``/``date``/``datetime`` values;
``msjson.render`` turns them into wire form. Keys starting with ``_`` are private bookkeeping
(never rendered), e.g. ``_updated`` on lists that are not documents.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

Doc = dict[str, Any]


@dataclass
class IdempotentReply:
    """A stored answer to a keyed PUT/POST, replayed verbatim when the key comes back."""

    status: int
    body: str


@dataclass
class Tenant:
    """One Xero organisation: its settings, reference data and documents."""

    tenant_id: str
    name: str
    rms_org: str
    timezone: str
    organisation: Doc
    accounts: dict[str, Doc] = field(default_factory=dict)  # by AccountID
    tax_rates: dict[str, Doc] = field(default_factory=dict)  # by TaxType
    contacts: dict[str, Doc] = field(default_factory=dict)  # by ContactID
    items: dict[str, Doc] = field(default_factory=dict)  # by ItemID
    tracking: dict[str, Doc] = field(default_factory=dict)  # by TrackingCategoryID
    currencies: dict[str, Doc] = field(default_factory=dict)  # by Code
    rates: dict[str, Decimal] = field(default_factory=dict)  # foreign units per 1 base unit
    invoices: dict[str, Doc] = field(default_factory=dict)
    credit_notes: dict[str, Doc] = field(default_factory=dict)
    payments: dict[str, Doc] = field(default_factory=dict)
    manual_journals: dict[str, Doc] = field(default_factory=dict)
    idempotency: dict[str, IdempotentReply] = field(default_factory=dict)
    #: Requests to void or delete a document that reached the tenant, per document id (refused ones
    #: included; an Idempotency-Key replay never reaches it): what an exactly-once check counts.
    takeback_requests: dict[str, int] = field(default_factory=dict)
    cn_sequence: int = 0
    #: The inventory entries each approved credit note made (``stock`` module), by CreditNoteID.
    stock: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def base_currency(self) -> str:
        return str(self.organisation["BaseCurrency"])

    def local_today(self, now: datetime) -> date:
        """The organisation's own calendar date (Xero defaults document dates to it)."""
        return now.astimezone(ZoneInfo(self.timezone)).date()

    def account_by_code(self, code: str) -> Doc | None:
        for acc in self.accounts.values():
            if str(acc.get("Code", "")).lower() == code.lower():
                return acc
        return None

    def account_by_ref(self, ref: dict[str, Any]) -> Doc | None:
        """Resolve ``{"AccountID"}`` or ``{"Code"}`` the way Payments and lines reference accounts."""
        if ref.get("AccountID"):
            return self.accounts.get(str(ref["AccountID"]).lower())
        if ref.get("Code"):
            return self.account_by_code(str(ref["Code"]))
        return None

    def contact_by_name(self, name: str) -> Doc | None:
        for c in self.contacts.values():
            if c.get("ContactStatus") == "ACTIVE" and str(c["Name"]).lower() == name.strip().lower():
                return c
        return None

    def item_by_code(self, code: str) -> Doc | None:
        for item in self.items.values():
            if str(item["Code"]).lower() == code.lower():
                return item
        return None

    def lock_date(self) -> date | None:
        """The later of the period and end-of-year lock dates (documents on or before are locked)."""
        dates = [
            d
            for d in (self.organisation.get("PeriodLockDate"), self.organisation.get("EndOfYearLockDate"))
            if isinstance(d, date)
        ]
        return max(dates) if dates else None

    def next_credit_note_number(self) -> str:
        """``CN-0001``… skipping numbers a person or the app already used."""
        used = {str(cn.get("CreditNoteNumber", "")).upper() for cn in self.credit_notes.values()}
        while True:
            self.cn_sequence += 1
            candidate = f"CN-{self.cn_sequence:04d}"
            if candidate not in used:
                return candidate


class XeroStore:
    """All tenants plus the one lock that serialises every state change (like a database would)."""

    def __init__(self) -> None:
        self.tenants: dict[str, Tenant] = {}
        self.lock = threading.RLock()

    def find(self, company: str) -> Tenant:
        """A tenant by tenant id or by RMS organisation code (the control API accepts both)."""
        key = company.strip().lower()
        for t in self.tenants.values():
            if t.tenant_id == key or t.rms_org.lower() == key:
                return t
        raise KeyError(f"unknown Xero tenant {company!r}")
