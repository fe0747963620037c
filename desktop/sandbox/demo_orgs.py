"""The demo world: which RMS organization keeps its books in which emulated ledger company.

Shared by the RMS emulator (which generates returns for these organizations) and the ledger
emulators (which seed these companies), so the two sides agree without talking to each other.
"""

from __future__ import annotations

from dataclasses import dataclass


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


def org_by_code(code: str) -> DemoOrg:
    for org in DEMO_ORGS:
        if org.code == code:
            return org
    raise KeyError(code)
