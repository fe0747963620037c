"""QuickBooks Online connector: reference-data reads and company info (API_FACTS §2–5).

Every call carries ``minorversion=75``. Lists are read with the query language, paged with
STARTPOSITION/MAXRESULTS 1000 until a short page. Faults are translated by their code:
3001/429 → transient, 3200/401 → reconnect, 5010 stale, 6xxx validation → needs a person.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from typing import Any

import requests

from desktop.services.core.errors import AppError, FatalError, NeedsPersonError, NeedsReconnect, TransientError
from desktop.services.platforms.base import (
    STOCK_KEY,
    CompanyInfo,
    Progress,
    RefKind,
    RefRecord,
    decode_json,
    expect_ok,
)
from desktop.services.platforms.http import LedgerHttp
from desktop.services.platforms.shapes import Page, paginate

MINOR_VERSION = "75"
PAGE = 1000
PLATFORM = "qbo"

_QUERIES: dict[RefKind, tuple[str, ...]] = {
    RefKind.ACCOUNT: ("Account",),
    RefKind.TAX_CODE: ("TaxCode",),
    RefKind.ITEM: ("Item",),
    RefKind.CUSTOMER: ("Customer",),
    RefKind.TRACKING: ("Class", "Department"),
    RefKind.CURRENCY: ("CompanyCurrency",),
    RefKind.VENDOR: ("Vendor",),
}


def _fault(body: Any) -> tuple[str | None, str | None, str | None]:
    """(code, message, detail) from either fault shape (``Fault`` or the 401's ``fault``)."""
    if not isinstance(body, dict):
        return None, None, None
    fault = body.get("Fault") or body.get("fault") or {}
    errors = fault.get("Error") or fault.get("error") or []
    if not errors:
        return None, None, None
    first = errors[0]
    return (str(first.get("code") or first.get("Code") or "") or None,
            first.get("Message") or first.get("message"), first.get("Detail") or first.get("detail"))


def translate_error(resp: requests.Response) -> AppError:
    try:
        body = decode_json(resp)
    except FatalError:
        body = None  # some QBO 401/429 bodies are XML
    code, message, detail = _fault(body)
    if code is None and resp.text.lstrip().startswith("<"):
        m = re.search(r'code="(\d+)"', resp.text)
        code = m.group(1) if m else None
    platform_message = " — ".join(p for p in (message, detail) if p) or f"HTTP {resp.status_code}"
    kw: dict[str, Any] = {"platform": PLATFORM, "platform_code": code, "platform_message": platform_message}
    if resp.status_code == 429 or code == "3001":
        retry = resp.headers.get("Retry-After")
        return TransientError("QuickBooks is throttling requests for this company", retry_after_s=(
            float(retry) if retry and retry.replace(".", "", 1).isdigit() else None), **kw)
    if resp.status_code == 401:
        return NeedsReconnect("QuickBooks did not accept this connection's token",
                              action="reconnect it on the Connections page", **kw)
    if resp.status_code == 403 or code in {"3100", "120"}:
        return NeedsPersonError("QuickBooks refused access to this company (the connecting user may have "
                                "lost admin rights)", action="reconnect as a company admin", **kw)
    if resp.status_code >= 500:
        return TransientError("QuickBooks had an internal problem", **kw)
    return NeedsPersonError("QuickBooks refused the request", **kw)


class QboConnector:
    """One QBO company (realm) reached through one :class:`LedgerHttp`."""

    platform = PLATFORM
    #: Rows per query page (QBO's MAXRESULTS ceiling); tests lower it to cross page boundaries.
    page_size = PAGE

    def __init__(self, http: LedgerHttp, api_base_url: str, realm_id: str) -> None:
        self.http = http
        self.company_id = realm_id
        self.base = f"{api_base_url.rstrip('/')}/{realm_id}"

    @property
    def requests_sent(self) -> int:
        return self.http.requests_sent

    def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        resp = self.http.request("GET", f"{self.base}/{path}", headers={"Accept": "application/json"},
                                 params={"minorversion": MINOR_VERSION, **(params or {})})
        return expect_ok(resp, translate_error)

    def query_all(self, entity: str, where: str = "", progress: Progress | None = None) -> list[dict[str, Any]]:
        """Every row of ``SELECT * FROM entity [WHERE …]``, paged to exhaustion (:func:`paginate`)."""
        size = self.page_size

        def fetch(index: int) -> Page[dict[str, Any]]:
            # QBO's query language, not SQL; entity names come from our own table, `where` from our code.
            stmt = f"SELECT * FROM {entity}{' WHERE ' + where if where else ''}"  # noqa: S608
            stmt += f" STARTPOSITION {index * size + 1} MAXRESULTS {size}"
            return Page(list(self._get("query", {"query": stmt}).get("QueryResponse", {}).get(entity, [])))

        rows: list[dict[str, Any]] = []
        for page in paginate(fetch, size):
            rows.extend(page)
            if progress:
                progress(entity, len(rows))
        return rows

    def company_info(self) -> CompanyInfo:
        info = self._get(f"companyinfo/{self.company_id}")["CompanyInfo"]
        prefs = self._get("preferences")["Preferences"]
        currency_prefs = prefs.get("CurrencyPrefs", {})
        home = (currency_prefs.get("HomeCurrency") or {}).get("value") or "USD"
        multi = bool(currency_prefs.get("MultiCurrencyEnabled"))
        currencies = [home]
        if multi:
            currencies += [c.get("Code") for c in self.query_all("CompanyCurrency")
                           if c.get("Active", True) and c.get("Code") and c.get("Code") != home]
        close = (prefs.get("AccountingInfoPrefs") or {}).get("BookCloseDate")
        return CompanyInfo(
            company_id=self.company_id, name=info.get("CompanyName") or info.get("LegalName") or "",
            home_currency=home, country=info.get("Country") or "", currencies=tuple(currencies),
            multicurrency=multi, closed_through=date.fromisoformat(close) if close else None,
            raw={"CompanyInfo": info, "Preferences": prefs},
        )

    def reference_data(self, kinds: Iterable[RefKind] | None = None,
                       progress: Progress | None = None) -> dict[RefKind, list[RefRecord]]:
        out: dict[RefKind, list[RefRecord]] = {}
        for kind in kinds or list(RefKind):
            records: list[RefRecord] = []
            for entity in _QUERIES[kind]:
                records.extend(_to_record(kind, entity, row) for row in self.query_all(entity, progress=progress))
            if kind is RefKind.TAX_CODE:
                records = self._with_rates(records, progress)
            out[kind] = records
        return out

    def _with_rates(self, codes: list[RefRecord], progress: Progress | None) -> list[RefRecord]:
        """Each tax code with its component sales rates under ``raw["rls_rates"]``.

        QuickBooks computes a document's tax itself from the code's ``TaxRate`` entities (one
        rounding per rate); recipes need those rates to predict its figure and to refuse a mapping
        whose code charges another rate than the RMS. A company whose rates cannot be read keeps
        its codes without them (recipes then fall back to the RMS's rates).
        """
        try:
            rates = {str(r["Id"]): r for r in self.query_all("TaxRate", progress=progress)}
        except NeedsReconnect:
            raise
        except AppError:
            return codes
        out = []
        for rec in codes:
            parts: list[dict[str, str]] = []
            for detail in (rec.raw.get("SalesTaxRateList") or {}).get("TaxRateDetail") or []:
                rate = rates.get(_ref(detail.get("TaxRateRef")) or "")
                if rate is None or rate.get("RateValue") is None:
                    parts = []
                    break
                parts.append({"id": str(rate["Id"]), "name": str(rate.get("Name", "")),
                              "rate": str(rate["RateValue"])})
            out.append(replace(rec, raw={**rec.raw, "rls_rates": parts}) if parts else rec)
        return out


def _ref(value: Any) -> str | None:
    return str(value.get("value")) if isinstance(value, dict) and value.get("value") is not None else None


def _stock(row: dict[str, Any]) -> dict[str, Any]:
    """What an item says about its goods (:data:`STOCK_KEY`): QuickBooks tracks an ``Inventory`` item's
    quantity; ``PurchaseCost`` is the cost a person entered, ``AvgCost`` the average QuickBooks keeps
    (both in the home currency); the asset and COGS accounts are remote account ids."""
    tracked = row.get("Type") == "Inventory" and bool(row.get("TrackQtyOnHand"))
    return {"tracked": tracked, "cost": _text(row.get("PurchaseCost")), "average_cost": _text(row.get("AvgCost")),
            "asset_account": _ref(row.get("AssetAccountRef")) if tracked else None,
            "cogs_account": _ref(row.get("ExpenseAccountRef")),
            "qty_on_hand": _text(row.get("QtyOnHand")) if tracked else None, "accounts_by": "id"}


def _text(value: Any) -> str | None:
    return None if value is None or isinstance(value, bool) else str(value)


def customer_record(row: dict[str, Any]) -> RefRecord:
    """A QBO ``Customer`` entity as the reference cache keeps it."""
    return _to_record(RefKind.CUSTOMER, "Customer", row)


def _to_record(kind: RefKind, entity: str, row: dict[str, Any]) -> RefRecord:
    active = bool(row.get("Active", True))
    if kind is RefKind.ACCOUNT:
        return RefRecord(kind, str(row["Id"]), row.get("Name", ""), code=row.get("AcctNum"),
                         type=row.get("AccountType"), active=active,
                         currency=_ref(row.get("CurrencyRef")), raw=row)
    if kind is RefKind.TAX_CODE:
        return RefRecord(kind, str(row["Id"]), row.get("Name", ""), type="taxable" if row.get("Taxable") else "",
                         active=active, raw=row)
    if kind is RefKind.ITEM:
        return RefRecord(kind, str(row["Id"]), row.get("Name", ""), type=row.get("Type"), active=active,
                         parent_id=_ref(row.get("IncomeAccountRef")), raw={**row, STOCK_KEY: _stock(row)})
    if kind in (RefKind.CUSTOMER, RefKind.VENDOR):
        return RefRecord(kind, str(row["Id"]), row.get("DisplayName", ""), active=active,
                         code=(row.get("PrimaryEmailAddr") or {}).get("Address"),
                         currency=_ref(row.get("CurrencyRef")), raw=row)
    if kind is RefKind.TRACKING:
        return RefRecord(kind, str(row["Id"]), row.get("FullyQualifiedName") or row.get("Name", ""),
                         type=entity, active=active, parent_id=_ref(row.get("ParentRef")), raw=row)
    return RefRecord(kind, str(row.get("Id") or row.get("Code")), row.get("Name") or row.get("Code", ""),
                     code=row.get("Code"), active=active, raw=row)
