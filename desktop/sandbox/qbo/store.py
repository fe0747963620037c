"""In-memory QBO companies: entities by Id, a DocNumber index, tombstones and change hooks.

Built for 100,000 documents per company: each record keeps its JSON text cached (a query answer
is a join of cached strings), its numeric Id and UTC times for ordering and CDC, and an index by
DocNumber for the duplicate-number rule and equality queries.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from desktop.sandbox.qbo.util import dumps, qbo_datetime

TRANSACTIONS = ("CreditMemo", "RefundReceipt", "JournalEntry", "Payment", "VendorCredit", "SalesReceipt")
NAME_LISTS = (
    "Account",
    "Item",
    "Customer",
    "Vendor",
    "TaxCode",
    "TaxRate",
    "Class",
    "Department",
    "CompanyCurrency",
    "TaxAgency",
    "PaymentMethod",
)
SINGLETONS = ("CompanyInfo", "Preferences")
ENTITIES = TRANSACTIONS + NAME_LISTS + SINGLETONS


@dataclass
class Record:
    """One stored entity; ``obj`` is exactly the JSON QBO answers (amounts as Decimal)."""

    entity: str
    id: str
    obj: dict[str, Any]
    created: datetime
    updated: datetime
    status: str = "active"  # "active" | "voided" | "deleted"
    text: str = ""
    num: int = 0

    def refresh_text(self) -> None:
        self.text = dumps(self.obj)


ChangeHook = Callable[["Company", Record, str], None]


@dataclass
class Company:
    """One realm: its name lists, transactions, preferences and exchange-rate table."""

    realm_id: str
    name: str
    home_currency: str
    country: str
    rms_org: str
    tz: ZoneInfo
    records: dict[str, dict[str, Record]] = field(default_factory=dict)
    tombstones: dict[str, dict[str, Record]] = field(default_factory=dict)
    by_docnumber: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    next_id: dict[str, int] = field(default_factory=dict)
    rates: dict[str, list[tuple[date, Decimal]]] = field(default_factory=dict)  # currency → dated rates
    #: Void/delete requests that reached the company per (entity, Id), refused ones included (a
    #: replayed ``requestid`` never reaches it): what an exactly-once check counts.
    takeback_requests: dict[tuple[str, str], int] = field(default_factory=dict)
    #: The inventory effect each live document made (``stock`` module): (entity, Id) → effect lines.
    stock: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    # ---- reading -------------------------------------------------------------------------------
    def get(self, entity: str, ident: str) -> Record | None:
        return self.records.get(entity, {}).get(str(ident))

    def all(self, entity: str) -> Iterator[Record]:
        return iter(self.records.get(entity, {}).values())

    def count(self, entity: str) -> int:
        return len(self.records.get(entity, {}))

    def with_docnumber(self, entity: str, number: str) -> list[Record]:
        ids = self.by_docnumber.get((entity, number), set())
        return [r for i in sorted(ids, key=int) if (r := self.get(entity, i)) is not None]

    def singleton(self, entity: str) -> Record:
        rec = next(self.all(entity), None)
        if rec is None:
            raise KeyError(entity)
        return rec

    def preference(self, name: str) -> str | None:
        """An ``OtherPrefs.NameValue`` entry (where the emulator keeps the duplicate-number check)."""
        prefs = self.singleton("Preferences").obj
        for nv in prefs.get("OtherPrefs", {}).get("NameValue", []):
            if nv.get("Name") == name:
                return str(nv.get("Value"))
        return None

    def book_close_date(self) -> date | None:
        text = self.singleton("Preferences").obj.get("AccountingInfoPrefs", {}).get("BookCloseDate")
        return date.fromisoformat(text) if text else None

    def multicurrency(self) -> bool:
        return bool(self.singleton("Preferences").obj.get("CurrencyPrefs", {}).get("MultiCurrencyEnabled"))

    def currency_enabled(self, code: str) -> bool:
        if code == self.home_currency:
            return True
        return any(
            r.obj.get("Code") == code and r.obj.get("Active", True) for r in self.all("CompanyCurrency")
        )

    def rate(self, currency: str, on: date) -> Decimal | None:
        """Home-currency units per one unit of ``currency`` on a day (latest rate at or before it)."""
        if currency == self.home_currency:
            return Decimal(1)
        table = self.rates.get(currency, [])
        best: Decimal | None = None
        for day, value in table:
            if day <= on:
                best = value
        if best is None and table:
            best = table[0][1]
        return best

    # ---- writing -------------------------------------------------------------------------------
    def allocate_id(self, entity: str) -> str:
        n = self.next_id.get(entity, 1)
        self.next_id[entity] = n + 1
        return str(n)

    def put(
        self,
        entity: str,
        obj: dict[str, Any],
        now: datetime,
        *,
        status: str = "active",
        created: datetime | None = None,
    ) -> Record:
        """Store a new or changed entity: Id, SyncToken and MetaData are stamped here, nowhere else."""
        with self.lock:
            table = self.records.setdefault(entity, {})
            ident = str(obj.get("Id") or "")
            old = table.get(ident) if ident else None
            if old is None:
                if not ident:
                    ident = self.allocate_id(entity)
                elif ident.isdigit():
                    self.next_id[entity] = max(self.next_id.get(entity, 1), int(ident) + 1)
                sync = 0
                created = created or now
            else:
                sync = int(old.obj.get("SyncToken", "0")) + 1
                created = old.created
                self._unindex(old)
            body: dict[str, Any] = {"Id": ident, "SyncToken": str(sync)}
            body.update(
                {k: v for k, v in obj.items() if k not in ("Id", "SyncToken", "MetaData", "domain", "sparse")}
            )
            body["domain"] = "QBO"
            body["sparse"] = False
            body["MetaData"] = {
                "CreateTime": qbo_datetime(created, self.tz),
                "LastUpdatedTime": qbo_datetime(now, self.tz),
            }
            rec = Record(entity, ident, body, created, now, status, num=int(ident) if ident.isdigit() else 0)
            rec.refresh_text()
            table[ident] = rec
            self._index(rec)
            return rec

    def remove(self, rec: Record, now: datetime) -> Record:
        """Delete: the entity disappears; a tombstone stays for CDC and the control API."""
        with self.lock:
            self.records.get(rec.entity, {}).pop(rec.id, None)
            self._unindex(rec)
            tomb = Record(
                rec.entity, rec.id, copy.deepcopy(rec.obj), rec.created, now, "deleted", num=rec.num
            )
            tomb.obj["MetaData"]["LastUpdatedTime"] = qbo_datetime(now, self.tz)
            tomb.refresh_text()
            self.tombstones.setdefault(rec.entity, {})[rec.id] = tomb
            return tomb

    def _index(self, rec: Record) -> None:
        number = rec.obj.get("DocNumber")
        if isinstance(number, str) and number:
            self.by_docnumber.setdefault((rec.entity, number), set()).add(rec.id)

    def _unindex(self, rec: Record) -> None:
        number = rec.obj.get("DocNumber")
        if isinstance(number, str) and number:
            ids = self.by_docnumber.get((rec.entity, number))
            if ids:
                ids.discard(rec.id)

    def with_name(self, entity: str, name: str) -> str | None:
        """Id of the entity with this Name / DisplayName (seeding and tests)."""
        for rec in self.all(entity):
            if name in (rec.obj.get("Name"), rec.obj.get("DisplayName")):
                return rec.id
        return None
