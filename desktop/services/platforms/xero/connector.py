"""Xero connector: tenants, reference-data reads and organisation info (API_FACTS §7–10).

Every call carries ``xero-tenant-id``. Contacts are paged (``page=N``) until a short page;
the other reference lists come whole. Dates arrive in MS-JSON (``/Date(ms+0000)/``).
Errors: 429 → transient with Retry-After; 401 → refresh once (in LedgerHttp) then reconnect;
403 → the tenant is no longer connected; 400 ValidationException → needs a person, with
Xero's own ValidationErrors kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
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

PLATFORM = "xero"
CONTACTS_PAGE = 100
_MS_DATE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")


def parse_ms_date(value: str | None) -> datetime | None:
    """``/Date(1551812702650+0000)/`` → an aware UTC datetime (ISO strings accepted too)."""
    if not value:
        return None
    m = _MS_DATE.fullmatch(value)
    if m:
        return datetime.fromtimestamp(int(m.group(1)) / 1000, tz=UTC)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _validation_messages(body: Any) -> list[str]:
    messages: list[str] = []
    for element in (body or {}).get("Elements", []) if isinstance(body, dict) else []:
        messages += [v.get("Message", "") for v in element.get("ValidationErrors", [])]
    return [m for m in messages if m]


def translate_error(resp: requests.Response) -> AppError:
    try:
        body = decode_json(resp)
    except FatalError:
        body = None  # 503 maintenance pages can be plain text
    detail = ""
    if isinstance(body, dict):
        detail = body.get("Detail") or body.get("Message") or body.get("Title") or ""
    messages = _validation_messages(body)
    kw: dict[str, Any] = {"platform": PLATFORM, "platform_code": str(resp.status_code),
                          "platform_message": "; ".join(messages) or detail or resp.reason}
    if resp.status_code == 429:
        retry = resp.headers.get("Retry-After")
        problem = resp.headers.get("X-Rate-Limit-Problem", "")
        return TransientError(f"Xero's {problem or 'rate'} limit was reached for this organisation",
                              retry_after_s=float(retry) if retry and retry.isdigit() else None, **kw)
    if resp.status_code == 401:
        return NeedsReconnect("Xero did not accept this connection's token",
                              action="reconnect it on the Connections page", **kw)
    if resp.status_code == 403:
        return NeedsReconnect("Xero says this organisation is not connected to the app (or a permission "
                              "is missing)", action="reconnect the organisation on the Connections page", **kw)
    if resp.status_code >= 500:
        return TransientError("Xero is unavailable or had an internal problem", **kw)
    return NeedsPersonError("Xero refused the request", **kw)


def list_tenants(http: LedgerHttp, connections_url: str) -> list[dict[str, Any]]:
    """The organisations this grant may reach: ``[{id, tenantId, tenantName, tenantType, …}]``."""
    resp = http.request("GET", connections_url, headers={"Accept": "application/json"})
    tenants = expect_ok(resp, translate_error)
    return [t for t in tenants if t.get("tenantType", "ORGANISATION") == "ORGANISATION"]


class XeroConnector:
    """One Xero organisation (tenant) reached through one :class:`LedgerHttp`."""

    platform = PLATFORM
    #: Rows per list page (Xero's default 100); tests lower it to cross page boundaries.
    page_size = CONTACTS_PAGE

    def __init__(self, http: LedgerHttp, api_base_url: str, tenant_id: str) -> None:
        self.http = http
        self.company_id = tenant_id
        self.base = api_base_url.rstrip("/")

    @property
    def requests_sent(self) -> int:
        return self.http.requests_sent

    def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        resp = self.http.request("GET", f"{self.base}/{path}", params=params,
                                 headers={"Accept": "application/json", "xero-tenant-id": self.company_id})
        return expect_ok(resp, translate_error)

    def company_info(self) -> CompanyInfo:
        org = self._get("Organisation")["Organisations"][0]
        currencies = [c["Code"] for c in self._get("Currencies").get("Currencies", [])]
        base = org.get("BaseCurrency") or (currencies[0] if currencies else "")
        locks = [d for d in (parse_ms_date(org.get("PeriodLockDate")), parse_ms_date(org.get("EndOfYearLockDate")))
                 if d is not None]
        return CompanyInfo(
            company_id=self.company_id, name=org.get("Name", ""), home_currency=base,
            country=org.get("CountryCode", ""), currencies=tuple([base] + [c for c in currencies if c != base]),
            multicurrency=len(currencies) > 1,
            closed_through=max(locks).date() if locks else None, raw=org,
        )

    def paged(self, collection: str, params: dict[str, str] | None = None, headers: dict[str, str] | None = None,
              *, page_count: bool = True, on_body: Callable[[dict[str, Any]], None] | None = None
              ) -> Iterator[list[dict[str, Any]]]:
        """A list read ``page=1, 2, …`` to exhaustion (:func:`paginate`): until a short page, the
        last of ``pagination.pageCount`` (when ``page_count``), or a 304 (nothing modified since
        ``If-Modified-Since``). ``on_body`` sees each answer's envelope (``DateTimeUTC``)."""
        size = self.page_size

        def fetch(index: int) -> Page[dict[str, Any]]:
            page = index + 1
            resp = self.http.request("GET", f"{self.base}/{collection}",
                                     params={**(params or {}), "page": str(page), "pageSize": str(size)},
                                     headers={"Accept": "application/json", "xero-tenant-id": self.company_id,
                                              **(headers or {})})
            if resp.status_code == 304:
                return Page([], last=True)
            body = expect_ok(resp, translate_error)
            if on_body is not None:
                on_body(body)
            rows = [r for r in body.get(collection) or [] if isinstance(r, dict)]
            # Without a pageCount the answer is taken as the last page (as a list Xero does not page).
            last = page_count and page >= int((body.get("pagination") or {}).get("pageCount") or page)
            return Page(rows, last=last)

        return paginate(fetch, size)

    def _contacts(self, progress: Progress | None) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for batch in self.paged("Contacts", page_count=False):
            rows.extend(batch)
            if progress:
                progress("Contacts", len(rows))
        return rows

    def reference_data(self, kinds: Iterable[RefKind] | None = None,
                       progress: Progress | None = None) -> dict[RefKind, list[RefRecord]]:
        out: dict[RefKind, list[RefRecord]] = {}
        contacts: list[dict[str, Any]] | None = None  # customers and suppliers share one read
        for kind in kinds or list(RefKind):
            if kind in (RefKind.CUSTOMER, RefKind.VENDOR):
                contacts = self._contacts(progress) if contacts is None else contacts
                out[kind] = [_contact(kind, c) for c in contacts if kind is RefKind.CUSTOMER or c.get("IsSupplier")]
            else:
                out[kind] = self._read(kind, progress)
            if progress:
                progress(kind.value, len(out[kind]))
        return out

    def _read(self, kind: RefKind, progress: Progress | None) -> list[RefRecord]:
        if kind is RefKind.ACCOUNT:
            return [RefRecord(kind, a["AccountID"], a.get("Name", ""), code=a.get("Code"), type=a.get("Type"),
                              active=a.get("Status", "ACTIVE") == "ACTIVE", currency=a.get("CurrencyCode"), raw=a)
                    for a in self._get("Accounts").get("Accounts", [])]
        if kind is RefKind.TAX_CODE:
            return [RefRecord(kind, t["TaxType"], t.get("Name", ""), code=t["TaxType"],
                              type=str(t.get("EffectiveRate", t.get("DisplayTaxRate", ""))),
                              active=t.get("Status", "ACTIVE") == "ACTIVE", raw=t)
                    for t in self._get("TaxRates").get("TaxRates", [])]
        if kind is RefKind.ITEM:
            return [RefRecord(kind, i["ItemID"], i.get("Name") or i.get("Code", ""), code=i.get("Code"), active=True,
                              raw={**i, STOCK_KEY: _stock(i)}) for i in self._get("Items").get("Items", [])]
        if kind is RefKind.TRACKING:
            records: list[RefRecord] = []
            for cat in self._get("TrackingCategories").get("TrackingCategories", []):
                records.append(RefRecord(kind, cat["TrackingCategoryID"], cat.get("Name", ""), type="category",
                                         active=cat.get("Status", "ACTIVE") == "ACTIVE", raw=cat))
                records += [RefRecord(kind, o["TrackingOptionID"], o.get("Name", ""), type="option",
                                      parent_id=cat["TrackingCategoryID"],
                                      active=o.get("Status", "ACTIVE") == "ACTIVE", raw=o)
                            for o in cat.get("Options", [])]
            return records
        return [RefRecord(kind, c["Code"], c.get("Description") or c["Code"], code=c["Code"], raw=c)
                for c in self._get("Currencies").get("Currencies", [])]


def _contact(kind: RefKind, c: dict[str, Any]) -> RefRecord:
    return RefRecord(kind, c["ContactID"], c.get("Name", ""), code=c.get("EmailAddress"),
                     active=c.get("ContactStatus", "ACTIVE") == "ACTIVE", currency=c.get("DefaultCurrency"), raw=c)


def _stock(item: dict[str, Any]) -> dict[str, Any]:
    """What an item says about its goods (:data:`STOCK_KEY`): Xero tracks an item with
    ``IsTrackedAsInventory``; ``PurchaseDetails.UnitPrice`` is its purchase price, ``TotalCostPool`` /
    ``QuantityOnHand`` its average cost; accounts are codes (``accounts_by`` "code")."""
    tracked = bool(item.get("IsTrackedAsInventory"))
    purchase = item.get("PurchaseDetails") or {}
    qty, pool = item.get("QuantityOnHand"), item.get("TotalCostPool")
    average = None
    if tracked and qty is not None and pool is not None:
        try:
            on_hand = Decimal(str(qty))
            average = str((Decimal(str(pool)) / on_hand).quantize(Decimal("0.0001"))) if on_hand > 0 else None
        except ArithmeticError:
            average = None
    cost = purchase.get("UnitPrice")
    return {"tracked": tracked, "cost": None if cost is None else str(cost), "average_cost": average,
            "asset_account": item.get("InventoryAssetAccountCode") if tracked else None,
            "cogs_account": purchase.get("COGSAccountCode") if tracked else purchase.get("AccountCode"),
            "qty_on_hand": None if qty is None or not tracked else str(qty), "accounts_by": "code"}


def parse_date(value: str | None) -> date | None:
    parsed = parse_ms_date(value)
    return parsed.date() if parsed else None
