"""One connection's cached reference data, loaded once: what mapping validation and recipes check
against (chart of accounts, tax codes, items, customers, tracking, currencies, closed period).

Loaded from the ``ref_*`` cache tables and the ledger connection's ``company`` column
(:meth:`ReferenceSnapshot.load`), or built straight from what a connector returned
(:meth:`ReferenceSnapshot.from_reference_data`) — tests and the "refresh" flow use the latter.
Lookups by code and by name are case-insensitive and built lazily once per snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from desktop.services.platforms.base import CompanyInfo, RefKind, RefRecord
from desktop.services.platforms.interface import PlatformProfile
from desktop.services.platforms.registry import PROFILES
from desktop.services.store.models import (
    LedgerConnection,
    RefAccount,
    RefCustomer,
    RefItem,
    RefTaxCode,
    RefTracking,
)

__all__ = ["ReferenceSnapshot", "tracking_key", "vendor_carries"]


def _fold(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def _by_id(records: Iterable[RefRecord]) -> dict[str, RefRecord]:
    return {r.remote_id: r for r in records}


def _customer_currency(raw: Mapping[str, Any]) -> str | None:
    """A cached customer's currency: QBO ``CurrencyRef`` (one per customer), Xero ``DefaultCurrency``."""
    ref = raw.get("CurrencyRef")
    value = ref.get("value") if isinstance(ref, Mapping) else raw.get("DefaultCurrency")
    return str(value) if value else None


def vendor_carries(profile: PlatformProfile, vendor: RefRecord, currency: str) -> bool:
    """Whether a vendor credit to ``vendor`` may be in ``currency``: a ledger that keeps one currency
    per vendor (the profile's ``customer_single_currency``, QuickBooks) needs the vendor's own; a vendor
    whose currency is not known is given the benefit of the doubt (the ledger has the last word).

    The one owner of the rule: the vendor credit recipe's ``vendor_currency_mismatch`` and the mapping
    validator's check of a Supplier rule both ask it.
    """
    return not (profile.customer_single_currency and vendor.currency and vendor.currency != currency)


def tracking_key(kind: str, remote_id: str) -> str:
    """The key of a tracking record in :attr:`ReferenceSnapshot.tracking`: ``"class:3"``.

    QBO numbers classes and departments independently, so a class and a department can share an
    Id; the kind keeps them apart (Xero's category and option ids are UUIDs, keyed the same way).
    """
    return f"{_fold(kind)}:{remote_id}"


def _by_kind_and_id(records: Iterable[RefRecord]) -> dict[str, RefRecord]:
    return {tracking_key(r.type or "", r.remote_id): r for r in records}


@dataclass(frozen=True)
class ReferenceSnapshot:
    """The cached reference data of one connection, loaded once.

    ``tracking`` holds QBO classes (``type`` ``"class"``) and departments (``"department"``), or
    Xero categories (``"category"``) and their options (``"option"``, ``parent_id`` = category),
    keyed by :func:`tracking_key` (``"class:3"``, ``"option:<uuid>"``) — QBO class and department
    ids overlap. Use :meth:`find_tracking` rather than indexing it.
    ``platform`` is a platform key of :mod:`desktop.services.platforms.registry` (validation's allowed
    account types depend on it); empty in a snapshot saved before snapshots named it.
    ``company_id`` is the ledger company's own id (QBO realm, Xero tenant) when known: a mapping
    file exported from this company names its references by ids that are authoritative here.
    """

    accounts: Mapping[str, RefRecord]
    tax_codes: Mapping[str, RefRecord]
    items: Mapping[str, RefRecord]
    customers: Mapping[str, RefRecord]
    tracking: Mapping[str, RefRecord]
    currencies: frozenset[str]
    home_currency: str
    closed_through: date | None
    platform: str = ""
    company_id: str = ""
    #: Vendors / suppliers (a vendor credit's counterparty; the connection's ``company`` JSON keeps them).
    vendors: Mapping[str, RefRecord] = field(default_factory=dict)

    # --- lookups -----------------------------------------------------------------------------

    @cached_property
    def _accounts_by_code(self) -> dict[str, RefRecord]:
        return {_fold(a.code): a for a in self.accounts.values() if a.code}

    @cached_property
    def _accounts_by_name(self) -> dict[str, list[RefRecord]]:
        out: dict[str, list[RefRecord]] = {}
        for a in self.accounts.values():
            out.setdefault(_fold(a.name), []).append(a)
        return out

    def account_by_code(self, code: str) -> RefRecord | None:
        return self._accounts_by_code.get(_fold(code))

    def account_by_name(self, name: str) -> RefRecord | None:
        """The account called ``name``; an active one if several share the name."""
        found = self._accounts_by_name.get(_fold(name), [])
        return next((a for a in found if a.active), found[0] if found else None)

    def find_account(self, id: str | None = None, code: str | None = None,
                     name: str | None = None) -> RefRecord | None:
        """By remote id when one is given (an id names one account: an unknown id is None, never a
        guess by code or name), else by code, else by name: how files name an account."""
        if id:
            return self.accounts.get(id)
        if code and (hit := self.account_by_code(code)):
            return hit
        return self.account_by_name(name) if name else None

    def find_tax_code(self, id: str | None = None, name: str | None = None) -> RefRecord | None:
        """By QBO TaxCode Id / Xero TaxType, else by its code or name (case-insensitive)."""
        for key in (id, name):
            if key and key in self.tax_codes:
                return self.tax_codes[key]
        wanted = {_fold(k) for k in (id, name) if k}
        return next((t for t in self.tax_codes.values() if _fold(t.code) in wanted or _fold(t.name) in wanted), None)

    def find_item(self, id: str | None = None, name: str | None = None) -> RefRecord | None:
        """By remote id when one is given (an unknown id is None), else by name or code."""
        if id:
            return self.items.get(id)
        wanted = _fold(name)
        return next((i for i in self.items.values() if wanted and wanted in (_fold(i.name), _fold(i.code))), None)

    def tracking_kind(self, record: RefRecord) -> str:
        """``class`` / ``department`` / ``category`` / ``option`` whatever the source spelled."""
        return _fold(record.type)

    def find_tracking(self, kind: str, id: str | None = None, name: str | None = None,
                      parent_id: str | None = None) -> RefRecord | None:
        """A class/department/category/option by id or name (an option within ``parent_id``)."""
        kind = _fold(kind)
        if id and (hit := self.tracking.get(tracking_key(kind, id))) is not None \
                and (parent_id is None or hit.parent_id == parent_id):
            return hit
        candidates = [t for t in self.tracking.values() if self.tracking_kind(t) == kind
                      and (parent_id is None or t.parent_id == parent_id)]
        wanted = _fold(name)
        return next((t for t in candidates if wanted and _fold(t.name) == wanted), None)

    def suppliers(self) -> list[RefRecord]:
        """The vendors a Supplier (goods returned to vendor) rule may name, as the Mappings page lists
        them: active ones first, then by name."""
        return sorted(self.vendors.values(), key=lambda v: (not v.active, _fold(v.name), v.remote_id))

    def account_codes(self) -> dict[str, str | None]:
        """Remote id → code, for :class:`~desktop.services.mapping.resolve.Resolver`."""
        return {a.remote_id: a.code for a in self.accounts.values()}

    @property
    def ledger_name(self) -> str:
        profile = PROFILES.get(self.platform)
        return profile.short_name if profile is not None else "the ledger"

    # --- building ----------------------------------------------------------------------------

    @classmethod
    def from_reference_data(cls, platform: str, data: Mapping[RefKind, Sequence[RefRecord]],
                            company: CompanyInfo) -> ReferenceSnapshot:
        """From what a connector's ``reference_data()`` and ``company_info()`` returned."""
        currencies = set(company.currencies) | {company.home_currency}
        currencies |= {c.code or c.remote_id for c in data.get(RefKind.CURRENCY, ())}
        return cls(
            accounts=_by_id(data.get(RefKind.ACCOUNT, ())), tax_codes=_by_id(data.get(RefKind.TAX_CODE, ())),
            items=_by_id(data.get(RefKind.ITEM, ())), customers=_by_id(data.get(RefKind.CUSTOMER, ())),
            tracking=_by_kind_and_id(data.get(RefKind.TRACKING, ())), currencies=frozenset(c for c in currencies if c),
            home_currency=company.home_currency, closed_through=company.closed_through, platform=platform,
            vendors=_by_id(data.get(RefKind.VENDOR, ())),
        )

    @classmethod
    def load(cls, session: Session, connection_id: int) -> ReferenceSnapshot:
        """From the reference-cache tables and the connection row (``company`` JSON)."""
        conn = session.get(LedgerConnection, connection_id)
        if conn is None:
            raise LookupError(f"no ledger connection {connection_id}")
        company: dict[str, Any] = dict(conn.company or {})
        home = str(company.get("home_currency") or conn.organization.home_currency)
        closed = company.get("closed_through")

        def rows(model: Any) -> list[Any]:
            return list(session.execute(sa.select(model).where(model.connection_id == connection_id)).scalars())

        accounts = [RefRecord(RefKind.ACCOUNT, r.remote_id, r.name, code=r.code, type=r.type, active=r.active,
                              currency=r.currency, raw=r.raw or {}) for r in rows(RefAccount)]
        taxes = [RefRecord(RefKind.TAX_CODE, r.remote_id, r.name, code=(r.raw or {}).get("TaxType") or r.remote_id,
                           type=r.type, active=r.active, raw=r.raw or {}) for r in rows(RefTaxCode)]
        items = [RefRecord(RefKind.ITEM, r.remote_id, r.name, code=r.sku, type=r.type, active=r.active,
                           parent_id=r.income_account_remote_id, raw=r.raw or {}) for r in rows(RefItem)]
        customers = [RefRecord(RefKind.CUSTOMER, r.remote_id, r.name, code=r.email, type=r.type, active=r.active,
                               currency=_customer_currency(r.raw or {}), raw=r.raw or {}) for r in rows(RefCustomer)]
        tracking = [RefRecord(RefKind.TRACKING, r.remote_id, r.name, type=r.kind, active=r.active,
                              parent_id=r.parent_remote_id, raw=r.raw or {}) for r in rows(RefTracking)]
        currencies = {home, *(str(c) for c in company.get("currencies") or ())}
        return cls(
            accounts=_by_id(accounts), tax_codes=_by_id(taxes), items=_by_id(items), customers=_by_id(customers),
            tracking=_by_kind_and_id(tracking), currencies=frozenset(currencies), home_currency=home,
            closed_through=date.fromisoformat(str(closed)) if closed else None,
            platform=str(conn.platform.value if hasattr(conn.platform, "value") else conn.platform),
            company_id=conn.remote_id or "",
            vendors=_by_id(_vendors(company.get("vendors"))),
        )

    @classmethod
    def empty(cls, platform: str, home_currency: str) -> ReferenceSnapshot:
        """No reference data yet (a connection never refreshed): everything validates as unknown."""
        return cls({}, {}, {}, {}, {}, frozenset({home_currency}), home_currency, None, platform)


def _vendors(rows: Any) -> list[RefRecord]:
    """The vendors a reference refresh kept in the connection's ``company`` JSON (``refcache``'s shape)."""
    return [RefRecord(RefKind.VENDOR, str(v["id"]), str(v.get("name") or ""), code=v.get("email"),
                      active=bool(v.get("active", True)), currency=v.get("currency"))
            for v in rows or [] if isinstance(v, dict) and v.get("id")]
