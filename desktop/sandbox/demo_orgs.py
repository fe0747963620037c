"""The demo world: which RMS organization keeps its books in which emulated ledger company.

Shared by the RMS emulator (which generates returns for these organizations) and the ledger
emulators (which seed these companies), so the two sides agree without talking to each other.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class DemoOrg:
    code: str                    # the organization's code in the RMS
    platform: str                # "qbo" | "xero"
    company_id: str              # QBO realmId or Xero tenantId
    name: str
    country: str                 # ISO 3166 alpha-2
    home_currency: str
    other_currencies: tuple[str, ...]
    tax_jurisdictions: tuple[str, ...]   # RMS jurisdiction codes this org's returns carry
    timezone: str
    template: str = ""           # a firm's client company: the demo organization it copies
    domestic_only: bool = False  # its RMS returns are all in the home currency

    @property
    def profile_code(self) -> str:
        """Whose products, customers and tax profiles the RMS generates this organization's returns from."""
        return self.template or self.code


DEMO_ORGS: tuple[DemoOrg, ...] = (
    DemoOrg("ACME-US", "qbo", "9130350000000001", "Acme Outdoor Supply Inc.", "US", "USD", ("CAD",),
            ("US-CA", "US-CA-LA", "US-NY", "US-WA"), "America/Los_Angeles"),
    DemoOrg("MAPLE-CA", "qbo", "9130350000000002", "Maple Leaf Outfitters Ltd.", "CA", "CAD", ("USD",),
            ("CA-ON-HST", "CA-BC-GST", "CA-BC-PST"), "America/Toronto"),
    DemoOrg("KIWI-NZ", "xero", "6f1a3c52-8d4e-4b7a-9c21-3e5d7f9a1b01", "Kiwi Cycles Ltd", "NZ", "NZD",
            ("AUD",), ("NZ-GST", "NZ-GST-ZERO"), "Pacific/Auckland"),
    DemoOrg("TEA-UK", "xero", "0b7e2d94-51c3-4f8a-a6d2-8c4e1f7b3a02", "Britannia Tea Co. Ltd", "GB", "GBP",
            ("EUR", "JPY"), ("GB-VAT", "GB-VAT-ZERO"), "Europe/London"),
)


#: Most client companies of a firm the sandbox serves per ledger (the firm-scale benchmark's 25 each).
MAX_FIRM = 100
_firm: tuple[DemoOrg, ...] = ()
_firm_lock = threading.Lock()


def firm_orgs(qbo: int, xero: int) -> tuple[DemoOrg, ...]:
    """A bookkeeping firm's client companies besides the demo four: ``FIRM-Q01``… copies of ACME-US
    in QuickBooks and ``FIRM-X01``… copies of KIWI-NZ in Xero, each with ids of its own and only
    home-currency returns (so no exchange rates have to be entered for them)."""
    acme, kiwi = DEMO_ORGS[0], DEMO_ORGS[2]
    out = [replace(acme, code=f"FIRM-Q{i:02d}", company_id=f"91303501{i:08d}", name=f"Firm Client Q{i:02d} Inc.",
                   template=acme.code, domestic_only=True) for i in range(1, qbo + 1)]
    out += [replace(kiwi, code=f"FIRM-X{i:02d}", company_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"rls-firm-x{i}")),
                    name=f"Firm Client X{i:02d} Ltd", template=kiwi.code, domestic_only=True)
            for i in range(1, xero + 1)]
    return tuple(out)


def set_firm(qbo: int = 0, xero: int = 0) -> None:
    """Serve a firm's ``qbo`` + ``xero`` client companies too, from the next reset (0, 0: the demo four only).

    Process-wide: every sandbox server in this process serves the same organizations.
    """
    if not (0 <= qbo <= MAX_FIRM and 0 <= xero <= MAX_FIRM):
        raise ValueError(f"a firm has 0 to {MAX_FIRM} client companies per ledger")
    global _firm
    with _firm_lock:
        _firm = firm_orgs(qbo, xero)


def active_orgs() -> tuple[DemoOrg, ...]:
    """The demo organizations plus the firm's client companies, if any (:func:`set_firm`)."""
    return DEMO_ORGS + _firm


def org_by_code(code: str) -> DemoOrg:
    for org in active_orgs():
        if org.code == code:
            return org
    raise KeyError(code)
