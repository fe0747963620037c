"""The connector protocol every ledger implements, and the shapes it returns.

A connector is built from the parts in ``http.py`` (auth hook, throttle, retry, redaction) plus
the platform's own paths, pagination and error translation. Each is the read side of a
:class:`~desktop.services.platforms.interface.LedgerPlatform`, the interface everything else uses;
both platforms pass one conformance suite (``tests/integration/test_platform_conformance.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

import requests

from desktop.services.core.errors import AppError, FatalError


class RefKind(StrEnum):
    """Reference data cached locally for mapping and pre-flight."""

    ACCOUNT = "account"
    TAX_CODE = "tax_code"
    ITEM = "item"
    CUSTOMER = "customer"
    TRACKING = "tracking"
    CURRENCY = "currency"
    VENDOR = "vendor"           # QBO vendors / Xero contacts marked IsSupplier (goods go back to them)


@dataclass(frozen=True)
class CompanyInfo:
    company_id: str
    name: str
    home_currency: str
    country: str
    currencies: tuple[str, ...]
    multicurrency: bool
    closed_through: date | None = None  # QBO book close date / Xero period lock date
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class RefRecord:
    """One chart-of-accounts entry, tax code, item, customer/contact, tracking option or currency."""

    kind: RefKind
    remote_id: str
    name: str
    code: str | None = None         # Xero account code / tax type; QBO account number
    type: str | None = None         # account type / classification, tax rate %, item type…
    active: bool = True
    parent_id: str | None = None    # tracking option → category
    currency: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


#: Where an item record's ``raw`` carries what the ledger says about its goods, the same shape for every
#: platform: ``tracked`` (quantity kept by the ledger), ``cost`` / ``average_cost`` (home-currency text or
#: None), ``asset_account`` / ``cogs_account`` (remote ids, or codes when ``accounts_by`` is "code") and
#: ``qty_on_hand``. Read it with :func:`desktop.services.connections.refcache.item_stock`.
STOCK_KEY = "rls_stock"

Progress = Callable[[str, int], None]
"""Called with (what is being read, how many so far) while paging."""


class LedgerConnector(Protocol):
    platform: str
    company_id: str

    def company_info(self) -> CompanyInfo: ...

    def reference_data(self, kinds: Iterable[RefKind] | None = None,
                       progress: Progress | None = None) -> dict[RefKind, list[RefRecord]]: ...

    @property
    def requests_sent(self) -> int: ...


def decode_json(resp: requests.Response) -> Any:
    """Parse a JSON body with Decimal for every number — money never passes through float."""
    try:
        return json.loads(resp.content or b"null", parse_float=Decimal)
    except ValueError as exc:
        raise FatalError(f"The ledger answered HTTP {resp.status_code} with a body that is not JSON",
                         platform_message=resp.text[:200]) from exc


ErrorTranslator = Callable[[requests.Response], AppError]


def expect_ok(resp: requests.Response, translate: ErrorTranslator) -> Any:
    if resp.status_code >= 400:
        raise translate(resp)
    return decode_json(resp)
