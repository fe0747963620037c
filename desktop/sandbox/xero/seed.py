"""Deterministic demo data for the Xero organisations in ``demo_orgs`` (KIWI-NZ, TEA-UK).

Account codes follow Xero's own demo company chart so mapping templates look familiar, with the
few accounts a returns business needs added (restocking fees, freight, refunds clearing).
"""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from desktop.sandbox.demo_orgs import DemoOrg, active_orgs
from desktop.sandbox.rms.catalog import PROFILES
from desktop.sandbox.xero.msjson import TWO
from desktop.sandbox.xero.store import Doc, Tenant

# Xero reports Windows-style time zone names on the Organisation.
_XERO_TZ = {"Pacific/Auckland": "NEWZEALANDSTANDARDTIME", "Europe/London": "GMTSTANDARDTIME"}
_CURRENCY_NAMES = {
    "NZD": "New Zealand Dollar",
    "AUD": "Australian Dollar",
    "GBP": "British Pound",
    "EUR": "Euro",
    "JPY": "Japanese Yen",
    "USD": "United States Dollar",
}
# Units of foreign currency per one unit of the base currency (Xero's CurrencyRate convention).
_RATES = {
    ("NZD", "AUD"): Decimal("0.915400"),
    ("GBP", "EUR"): Decimal("1.172500"),
    ("GBP", "JPY"): Decimal("190.450000"),
    ("NZD", "USD"): Decimal("0.596100"),
    ("GBP", "USD"): Decimal("1.268000"),
}

# (code, name, type, tax type, extra)
_ACCOUNTS: list[tuple[str, str, str, str, dict[str, object]]] = [
    ("090", "Business Bank Account", "BANK", "NONE", {"BankAccountType": "BANK"}),
    ("091", "Business Savings Account", "BANK", "NONE", {"BankAccountType": "BANK"}),
    ("200", "Sales", "REVENUE", "OUTPUT2", {}),
    ("205", "Sales Returns & Allowances", "REVENUE", "OUTPUT2", {}),
    ("260", "Other Revenue", "REVENUE", "OUTPUT2", {}),
    ("270", "Interest Income", "REVENUE", "NONE", {}),
    ("310", "Cost of Goods Sold", "DIRECTCOSTS", "INPUT2", {}),
    ("400", "Advertising", "OVERHEADS", "INPUT2", {}),
    ("404", "Bank Fees", "OVERHEADS", "NONE", {}),
    ("410", "Restocking Fee Income", "REVENUE", "OUTPUT2", {}),
    ("420", "Freight Income", "REVENUE", "OUTPUT2", {}),
    ("425", "Freight & Postage", "EXPENSE", "INPUT2", {}),
    ("455", "Returns Allowance (old)", "REVENUE", "OUTPUT2", {"Status": "ARCHIVED"}),
    ("610", "Accounts Receivable", "CURRENT", "NONE", {"SystemAccount": "DEBTORS"}),
    ("630", "Inventory", "INVENTORY", "NONE", {}),
    ("800", "Accounts Payable", "CURRLIAB", "NONE", {"SystemAccount": "CREDITORS"}),
    ("820", "{tax} ", "CURRLIAB", "NONE", {"SystemAccount": "GST"}),
    ("840", "Historical Adjustment", "CURRLIAB", "NONE", {"SystemAccount": "HISTORICAL"}),
    ("860", "Rounding", "CURRLIAB", "NONE", {"SystemAccount": "ROUNDING"}),
    ("877", "Tracking Transfers", "CURRLIAB", "NONE", {"SystemAccount": "TRACKINGTRANSFERS"}),
    ("880", "Refunds Clearing", "CURRLIAB", "NONE", {"EnablePaymentsToAccount": True}),
    ("960", "Retained Earnings", "EQUITY", "NONE", {"SystemAccount": "RETAINEDEARNINGS"}),
    ("315", "Inventory Write-off", "DIRECTCOSTS", "NONE", {}),  # damaged returned goods at cost
]
_CLASS = {
    "BANK": "ASSET",
    "CURRENT": "ASSET",
    "INVENTORY": "ASSET",
    "REVENUE": "REVENUE",
    "DIRECTCOSTS": "EXPENSE",
    "OVERHEADS": "EXPENSE",
    "EXPENSE": "EXPENSE",
    "CURRLIAB": "LIABILITY",
    "EQUITY": "EQUITY",
}

_TAX_RATES = {
    "NZ": [
        ("GST on Income", "OUTPUT2", "15.0000", "OUTPUT"),
        ("GST on Expenses", "INPUT2", "15.0000", "INPUT"),
        ("Zero Rated", "ZERORATEDOUTPUT", "0.0000", "OUTPUT"),
        ("GST on Imports", "GSTONIMPORTS", "0.0000", "GSTONIMPORTS"),
        ("No GST", "NONE", "0.0000", "NONE"),
    ],
    "GB": [
        ("20% (VAT on Income)", "OUTPUT2", "20.0000", "OUTPUT"),
        ("20% (VAT on Expenses)", "INPUT2", "20.0000", "INPUT"),
        ("5% (VAT on Income)", "RROUTPUT", "5.0000", "OUTPUT"),
        ("5% (VAT on Expenses)", "RRINPUT", "5.0000", "INPUT"),
        ("Zero Rated Income", "ZERORATEDOUTPUT", "0.0000", "OUTPUT"),
        ("Exempt Income", "EXEMPTOUTPUT", "0.0000", "EXEMPTOUTPUT"),
        ("No VAT", "NONE", "0.0000", "NONE"),
    ],
}
_CUSTOMERS = {
    "NZ": [
        "Aroha Ngata",
        "Tane Mahuta Cycles",
        "Wellington Wheelers Club",
        "Sarah O'Connell",
        "Kauri Bike Hire Ltd",
        "James Te Awa",
        "Southern Alps Tours",
        "Mei Lin Chen",
    ],
    "GB": [
        "Eleanor Whitfield",
        "The Cosy Teapot Ltd",
        "Harrods Food Hall",
        "Oliver Pemberton",
        "Café Montmartre SARL",
        "Yamamoto Trading KK",
        "Brighton Tea Rooms",
        "Priya Sharma",
    ],
}
_ITEMS = {
    "NZ": [
        ("BIKE-ROAD-01", "Road Bike Carbon 54cm", "2499.00"),
        ("BIKE-MTB-02", "Trail MTB 29er", "1899.00"),
        ("HELMET-03", "Commuter Helmet", "129.00"),
        ("LIGHT-04", "USB Light Set", "59.90"),
        ("TUBE-05", "Inner Tube 700c", "12.50"),
        ("PUMP-06", "Floor Pump", "79.00"),
    ],
    "GB": [
        ("TEA-EB-250", "English Breakfast 250g", "8.50"),
        ("TEA-EG-250", "Earl Grey 250g", "9.25"),
        ("TEA-DJ-100", "Darjeeling First Flush 100g", "14.00"),
        ("POT-CER-1L", "Ceramic Teapot 1L", "34.00"),
        ("CUP-SET-4", "Bone China Cup Set (4)", "45.00"),
        ("GIFT-BOX", "Afternoon Tea Gift Box", "29.99"),
    ],
}
_TRACKING = {
    "NZ": [
        ("Channel", ["Online", "Retail Store", "Marketplace"]),
        ("Region", ["Auckland", "Wellington", "Christchurch"]),
    ],
    "GB": [
        ("Channel", ["Online", "Retail Store", "Wholesale"]),
        ("Warehouse", ["London", "Manchester", "Bristol"]),
    ],
}


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _org_doc(org: DemoOrg, today: date, now: datetime) -> Doc:
    nz = org.country == "NZ"
    doc: Doc = {
        "OrganisationID": org.company_id,
        "APIKey": "",
        "Name": org.name,
        "LegalName": org.name,
        "PaysTax": True,
        "Version": "NZ" if nz else "UK",
        "OrganisationType": "COMPANY",
        "BaseCurrency": org.home_currency,
        "CountryCode": org.country,
        "IsDemoCompany": False,
        "OrganisationStatus": "ACTIVE",
        "RegistrationNumber": "9429046531210" if nz else "08123456",
        "TaxNumber": "123-456-789" if nz else "GB 123 4567 89",
        "FinancialYearEndDay": 31,
        "FinancialYearEndMonth": 3 if nz else 12,
        "SalesTaxBasis": "INVOICE" if nz else "ACCRUAL",
        "SalesTaxPeriod": "TWOMONTHS" if nz else "QUARTERLY1",
        "DefaultSalesTax": "Tax Exclusive",
        "DefaultPurchasesTax": "Tax Exclusive",
        "CreatedDateUTC": now - timedelta(days=900),
        "Timezone": _XERO_TZ.get(org.timezone, "UTC"),
        "OrganisationEntityType": "COMPANY",
        "ShortCode": "!Kw7Q2" if nz else "!Tb4R9",
        "Class": "STANDARD",
        "Edition": "BUSINESS",
        "LineOfBusiness": "Bicycle retail" if nz else "Tea merchant",
        "Addresses": [],
        "Phones": [],
        "ExternalLinks": [],
    }
    if nz:
        doc["PeriodLockDate"] = today - timedelta(days=45)
        year = today.year if (today.month, today.day) > (3, 31) else today.year - 1
        doc["EndOfYearLockDate"] = date(year - 1, 3, 31)
    else:
        cutoff = today - timedelta(days=120)
        doc["EndOfYearLockDate"] = date(cutoff.year - 1, 12, 31)
    return doc


def build_tenant(org: DemoOrg, rng: random.Random, now: datetime) -> Tenant:
    """One organisation's complete starting state."""
    tenant = Tenant(tenant_id=org.company_id, name=org.name, rms_org=org.code, timezone=org.timezone, organisation={})
    today = tenant.local_today(now)
    tenant.organisation = _org_doc(org, today, now)
    country = "NZ" if org.country == "NZ" else "GB"
    tax_label = "GST" if country == "NZ" else "VAT"
    created = now - timedelta(days=400)
    for code, name, acc_type, tax, extra in _ACCOUNTS:
        acc: Doc = {
            "AccountID": _uuid(rng),
            "Code": code,
            "Name": name.format(tax=tax_label).strip(),
            "Status": "ACTIVE",
            "Type": acc_type,
            "TaxType": tax,
            "Class": _CLASS[acc_type],
            "EnablePaymentsToAccount": False,
            "ShowInExpenseClaims": False,
            "ReportingCode": "",
            "HasAttachments": False,
            "UpdatedDateUTC": created,
            "AddToWatchlist": False,
        }
        if acc_type == "BANK":
            acc["CurrencyCode"] = org.home_currency
            acc["BankAccountNumber"] = f"{rng.randrange(10**9, 10**10)}"
        acc.update(extra)
        tenant.accounts[acc["AccountID"]] = acc
    for i, cur in enumerate(org.other_currencies):  # one foreign-currency bank account each
        acc = {
            "AccountID": _uuid(rng),
            "Code": f"09{2 + i}",
            "Name": f"{cur} Bank Account",
            "Status": "ACTIVE",
            "Type": "BANK",
            "TaxType": "NONE",
            "Class": "ASSET",
            "BankAccountType": "BANK",
            "CurrencyCode": cur,
            "BankAccountNumber": f"{rng.randrange(10**9, 10**10)}",
            "EnablePaymentsToAccount": False,
            "ShowInExpenseClaims": False,
            "ReportingCode": "",
            "HasAttachments": False,
            "UpdatedDateUTC": created,
            "AddToWatchlist": False,
        }
        tenant.accounts[acc["AccountID"]] = acc
    for name, tax_type, rate, report in _TAX_RATES[country]:
        r = Decimal(rate)
        tenant.tax_rates[tax_type] = {
            "Name": name,
            "TaxType": tax_type,
            "ReportTaxType": report,
            "Status": "ACTIVE",
            "CanApplyToAssets": True,
            "CanApplyToEquity": True,
            "CanApplyToExpenses": True,
            "CanApplyToLiabilities": True,
            "CanApplyToRevenue": True,
            "DisplayTaxRate": r,
            "EffectiveRate": r,
            "TaxComponents": [{"Name": tax_label, "Rate": r, "IsCompound": False, "IsNonRecoverable": False}],
        }
    for code in (org.home_currency, *org.other_currencies):
        tenant.currencies[code] = {"Code": code, "Description": _CURRENCY_NAMES.get(code, code)}
        if code != org.home_currency:
            tenant.rates[code] = _RATES[(org.home_currency, code)]
    for name in _CUSTOMERS[country]:
        first, _, last = name.partition(" ")
        cid = _uuid(rng)
        tenant.contacts[cid] = {
            "ContactID": cid,
            "ContactStatus": "ACTIVE",
            "Name": name,
            "FirstName": first,
            "LastName": last,
            "EmailAddress": f"{first.lower().replace(chr(39), '')}@example.{country.lower()}",
            "IsSupplier": False,
            "IsCustomer": True,
            "Addresses": [],
            "Phones": [],
            "ContactGroups": [],
            "ContactPersons": [],
            "HasAttachments": False,
            "HasValidationErrors": False,
            "UpdatedDateUTC": created + timedelta(minutes=rng.randrange(1, 5000)),
        }
    for code, name, price in _ITEMS[country]:
        iid = _uuid(rng)
        tenant.items[iid] = {
            "ItemID": iid,
            "Code": code,
            "Name": name,
            "Description": name,
            "IsSold": True,
            "IsPurchased": True,
            "IsTrackedAsInventory": False,
            "SalesDetails": {"UnitPrice": Decimal(price), "AccountCode": "200", "TaxType": "OUTPUT2"},
            "PurchaseDetails": {
                "UnitPrice": (Decimal(price) * Decimal("0.55")).quantize(TWO),
                "AccountCode": "310",
                "TaxType": "INPUT2",
            },
            "UpdatedDateUTC": created,
        }
    for cat_name, options in _TRACKING[country]:
        tid = _uuid(rng)
        tenant.tracking[tid] = {
            "TrackingCategoryID": tid,
            "Name": cat_name,
            "Status": "ACTIVE",
            "Options": [{"TrackingOptionID": _uuid(rng), "Name": o, "Status": "ACTIVE"} for o in options],
        }
    _seed_invoices(tenant, rng, today, now)
    _seed_stock(tenant, org, created)
    return tenant


#: Organisations that track inventory (by the demo organization whose catalog they sell): a tracked
#: item per RMS SKU. The others get untracked items with a purchase price — the "without" case.
TRACKS_INVENTORY = {"KIWI-NZ": True, "TEA-UK": False}
STOCK_ON_HAND = Decimal(20)
COST_SHARE = Decimal("0.45")  # an item's purchase price: this share of its RMS price
_SUPPLIERS = {"NZ": ["Southern Cycle Distributors", "Aotearoa Parts Co"],
              "GB": ["Assam Estates Trading Ltd", "Stoke Pottery Works"]}


def _seed_stock(tenant: Tenant, org: DemoOrg, created: datetime) -> None:
    """An item per RMS SKU (tracked, 20 on hand at 45 % of price, where the organisation tracks
    inventory) and the suppliers goods go back to. Ids derive from the tenant and the code, so the
    rest of the seed's random sequence is untouched."""
    country = "NZ" if org.country == "NZ" else "GB"
    tracks = TRACKS_INVENTORY.get(org.profile_code, False)
    for product in PROFILES[org.profile_code].products:
        cost = (product.price * COST_SHARE).quantize(TWO, rounding=ROUND_HALF_UP)
        iid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant.tenant_id}/item/{product.sku}"))
        item: Doc = {
            "ItemID": iid, "Code": product.sku, "Name": f"{product.description} ({product.sku})"[:50],
            "Description": product.description,
            "PurchaseDescription": product.description, "IsSold": True, "IsPurchased": True,
            "IsTrackedAsInventory": tracks,
            "SalesDetails": {"UnitPrice": product.price, "AccountCode": "200", "TaxType": "OUTPUT2"},
            "PurchaseDetails": {"UnitPrice": cost, "TaxType": "INPUT2"},
            "UpdatedDateUTC": created,
        }
        if tracks:
            item["InventoryAssetAccountCode"] = "630"
            item["PurchaseDetails"]["COGSAccountCode"] = "310"
            item["QuantityOnHand"] = STOCK_ON_HAND
            item["TotalCostPool"] = (cost * STOCK_ON_HAND).quantize(TWO)
        else:
            item["PurchaseDetails"]["AccountCode"] = "310"
        tenant.items[iid] = item
    for name in _SUPPLIERS[country]:
        cid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant.tenant_id}/supplier/{name}"))
        tenant.contacts[cid] = {
            "ContactID": cid, "ContactStatus": "ACTIVE", "Name": name,
            "EmailAddress": f"accounts@{name.split()[0].lower()}.example", "IsSupplier": True, "IsCustomer": False,
            "Addresses": [], "Phones": [], "ContactGroups": [], "ContactPersons": [], "HasAttachments": False,
            "HasValidationErrors": False, "UpdatedDateUTC": created,
        }


def _seed_invoices(tenant: Tenant, rng: random.Random, today: date, now: datetime) -> None:
    """A few approved sales invoices so credit notes can be allocated against something real."""
    contacts = list(tenant.contacts.values())
    items = list(tenant.items.values())
    rate = tenant.tax_rates["OUTPUT2"]["EffectiveRate"]
    for n in range(1, 7):
        contact = contacts[n % len(contacts)]
        item = items[n % len(items)]
        qty = Decimal(rng.randrange(1, 4))
        price = item["SalesDetails"]["UnitPrice"]
        line_amount = (qty * price).quantize(TWO)
        tax = (line_amount * rate / 100).quantize(TWO)
        iid = _uuid(rng)
        tenant.invoices[iid] = {
            "Type": "ACCREC",
            "InvoiceID": iid,
            "InvoiceNumber": f"INV-{n:04d}",
            "Reference": f"Web order {1000 + n}",
            "Contact": {"ContactID": contact["ContactID"], "Name": contact["Name"]},
            "Date": today - timedelta(days=10 + n),
            "DueDate": today + timedelta(days=20 - n),
            "Status": "AUTHORISED",
            "LineAmountTypes": "Exclusive",
            "CurrencyCode": tenant.base_currency,
            "CurrencyRate": Decimal("1.000000"),
            "LineItems": [
                {
                    "LineItemID": _uuid(rng),
                    "Description": item["Name"],
                    "ItemCode": item["Code"],
                    "Quantity": qty.quantize(Decimal("0.0001")),
                    "UnitAmount": price,
                    "AccountCode": "200",
                    "TaxType": "OUTPUT2",
                    "TaxAmount": tax,
                    "LineAmount": line_amount,
                    "Tracking": [],
                }
            ],
            "SubTotal": line_amount,
            "TotalTax": tax,
            "Total": line_amount + tax,
            "AmountDue": line_amount + tax,
            "AmountPaid": Decimal("0.00"),
            "AmountCredited": Decimal("0.00"),
            "HasAttachments": False,
            "IsDiscounted": False,
            "Payments": [],
            "CreditNotes": [],
            "Prepayments": [],
            "Overpayments": [],
            "UpdatedDateUTC": now - timedelta(days=10 + n),
        }


def build_all(seed: int, now: datetime) -> dict[str, Tenant]:
    """Every Xero demo organisation, generated from ``seed``."""
    tenants: dict[str, Tenant] = {}
    for org in active_orgs():
        if org.platform != "xero":
            continue
        rng = random.Random(f"xero:{seed}:{org.code}")
        tenants[org.company_id] = build_tenant(org, rng, now)
    return tenants
