"""The deterministic demo seed of the two QBO companies (ACME-US and MAPLE-CA).

Numbers and names follow what a real QBO company shows: account types and sub-types from
QBO's enumerations, US sales tax as TAX/NON line codes plus combined agency rates, Canadian
GST/HST/PST as per-line tax codes, multicurrency on, and one foreign currency each.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from desktop.sandbox.demo_orgs import DemoOrg, active_orgs
from desktop.sandbox.qbo.store import Company
from desktop.sandbox.rms.catalog import PROFILES

CURRENCY_NAMES = {"USD": "United States Dollar", "CAD": "Canadian Dollar"}

# (name, AccountType, AccountSubType, Classification)
_ACCOUNTS: list[tuple[str, str, str, str]] = [
    ("Checking", "Bank", "Checking", "Asset"),
    ("Undeposited Funds", "Other Current Asset", "UndepositedFunds", "Asset"),
    ("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable", "Asset"),
    ("Sales of Product Income", "Income", "SalesOfProductIncome", "Revenue"),
    ("Sales Returns and Allowances", "Income", "DiscountsRefundsGiven", "Revenue"),
    ("Restocking Fee Income", "Income", "OtherPrimaryIncome", "Revenue"),
    ("Shipping Income", "Income", "OtherPrimaryIncome", "Revenue"),
    ("Shipping Expense", "Expense", "ShippingFreightDelivery", "Expense"),
    ("TAX_PAYABLE", "Other Current Liability", "SalesTaxPayable", "Liability"),
    ("Refunds Clearing", "Other Current Asset", "OtherCurrentAssets", "Asset"),
    ("Inventory Asset", "Other Current Asset", "Inventory", "Asset"),
    ("Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs", "Expense"),
    ("Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable", "Liability"),
    ("Opening Balance Equity", "Equity", "OpeningBalanceEquity", "Equity"),
    ("Bank Charges", "Expense", "BankCharges", "Expense"),
    ("Old Returns Reserve", "Other Current Liability", "OtherCurrentLiabilities", "Liability"),
    # QuickBooks' own account for inventory written off (quantity adjustments post to it)
    ("Inventory Shrinkage", "Cost of Goods Sold", "SuppliesMaterialsCogs", "Expense"),
]
INACTIVE_ACCOUNT = "Old Returns Reserve"

# (name, income account name, unit price, Type)
_ITEMS: list[tuple[str, str | None, str, str]] = [
    ("Returned Merchandise", "Sales Returns and Allowances", "0", "Service"),
    ("Restocking Fee", "Restocking Fee Income", "0", "Service"),
    ("Shipping", "Shipping Income", "0", "Service"),
    ("Product Sales", "Sales of Product Income", "0", "NonInventory"),
    ("Store Credit", "Sales Returns and Allowances", "0", "Service"),
    ("Outdoor Gear", None, "0", "Category"),
]

#: Companies that track inventory (by the demo organization whose catalog they sell): an Inventory
#: item per RMS SKU. The others keep inventory tracking off — the "without inventory" case.
TRACKS_INVENTORY = {"ACME-US": True, "MAPLE-CA": False}
STOCK_ON_HAND = Decimal(20)
COST_SHARE = Decimal("0.45")  # an item's PurchaseCost: this share of its RMS price
_VENDORS = {"US": ["Trailhead Gear Wholesale", "Summit Supply Co."],
            "CA": ["Boreal Outfitters Supply", "Laurentian Textile Mills"]}

_FIRST = [
    "Jordan",
    "Avery",
    "Priya",
    "Mateo",
    "Chloe",
    "Hiroshi",
    "Fatima",
    "Liam",
    "Sofia",
    "Noah",
    "Amara",
    "Ethan",
    "Isabelle",
    "Omar",
    "Grace",
    "Lucas",
]
_LAST = [
    "Alvarez",
    "Chen",
    "Patel",
    "Okafor",
    "Dubois",
    "Tanaka",
    "Haddad",
    "Murphy",
    "Rossi",
    "Kowalski",
    "Nguyen",
    "Schmidt",
    "Tremblay",
    "Singh",
    "Walker",
    "Larsen",
]
_BUSINESS = {
    "US": ["Trailhead Outfitters LLC", "Summit Sports Co.", "Bayside Cycles"],
    "CA": ["Northern Trails Co-op", "Rideau Paddle Shop", "Okanagan Bike Works"],
}
_CHANNELS = ["Online Store", "Retail", "Wholesale", "Marketplace"]
_WAREHOUSES = {"US": ["Reno DC", "Newark DC"], "CA": ["Mississauga DC", "Vancouver DC"]}


def seed_company(org: DemoOrg, seed: int, now: datetime) -> Company:
    """Build one realm; the same ``seed`` and day always give the same ids, names and rates."""
    rng = random.Random(f"{seed}:{org.code}")
    tz = ZoneInfo(org.timezone)
    c = Company(org.company_id, org.name, org.home_currency, org.country, org.code, tz)
    created = now - timedelta(days=400)
    us = org.country == "US"
    foreign = org.other_currencies[0]

    def put(entity: str, obj: dict[str, Any]) -> str:
        return c.put(entity, obj, created, created=created).id

    def ref(value: str, name: str | None = None) -> dict[str, str]:
        return {"value": value, "name": name} if name else {"value": value}

    home_ref = ref(org.home_currency, CURRENCY_NAMES[org.home_currency])
    accounts: dict[str, str] = {}
    for name, atype, sub, cls in _ACCOUNTS:
        if name == "TAX_PAYABLE":
            name = "Sales Tax Payable" if us else "GST/HST Payable"
        accounts[name] = put(
            "Account",
            {
                "Name": name,
                "SubAccount": False,
                "FullyQualifiedName": name,
                "Active": name != INACTIVE_ACCOUNT,
                "Classification": cls,
                "AccountType": atype,
                "AccountSubType": sub,
                "CurrentBalance": Decimal("0.00"),
                "CurrentBalanceWithSubAccounts": Decimal("0.00"),
                "CurrencyRef": home_ref,
            },
        )
    fx_bank = f"Checking {foreign}"
    accounts[fx_bank] = put(
        "Account",
        {
            "Name": fx_bank,
            "SubAccount": False,
            "FullyQualifiedName": fx_bank,
            "Active": True,
            "Classification": "Asset",
            "AccountType": "Bank",
            "AccountSubType": "Checking",
            "CurrentBalance": Decimal("0.00"),
            "CurrentBalanceWithSubAccounts": Decimal("0.00"),
            "CurrencyRef": ref(foreign, CURRENCY_NAMES[foreign]),
        },
    )
    if not us:
        accounts["PST Payable (BC)"] = put(
            "Account",
            {
                "Name": "PST Payable (BC)",
                "SubAccount": False,
                "FullyQualifiedName": "PST Payable (BC)",
                "Active": True,
                "Classification": "Liability",
                "AccountType": "Other Current Liability",
                "AccountSubType": "SalesTaxPayable",
                "CurrentBalance": Decimal("0.00"),
                "CurrentBalanceWithSubAccounts": Decimal("0.00"),
                "CurrencyRef": home_ref,
            },
        )

    _seed_tax(c, put, us, accounts)
    default_code = "TAX" if us else c.with_name("TaxCode", "GST")
    for name, income, price, itype in _ITEMS:
        item: dict[str, Any] = {
            "Name": name,
            "Description": name,
            "Active": True,
            "FullyQualifiedName": name,
            "Type": itype,
            "UnitPrice": Decimal(price),
            "TrackQtyOnHand": False,
        }
        if income:
            item["IncomeAccountRef"] = ref(accounts[income], income)
            item["Taxable"] = name not in ("Store Credit",)
            if not us and default_code:
                item["SalesTaxCodeRef"] = ref(default_code)
        put("Item", item)
    tracks = TRACKS_INVENTORY.get(org.profile_code, False)
    _seed_products(org, put, ref, accounts, created, tracks, None if us else default_code)
    for vendor in _VENDORS[org.country]:
        put("Vendor", {"DisplayName": vendor, "CompanyName": vendor, "PrintOnCheckName": vendor, "Active": True,
                       "Vendor1099": False, "Balance": Decimal("0.00"), "CurrencyRef": home_ref,
                       "PrimaryEmailAddr": {"Address": f"ap@{vendor.split()[0].lower()}.example"}})

    people = [(f, la) for f in _FIRST for la in _LAST]
    rng.shuffle(people)
    for i, (first, last) in enumerate(people[:12]):
        display = f"{first} {last}"
        put("Customer", _customer(display, first, last, org, home_ref, rng, active=i != 11))
    for biz in _BUSINESS[org.country][:2]:
        put("Customer", _customer(biz, None, None, org, home_ref, rng))
    fx_name = f"{_BUSINESS[org.country][2]} ({foreign})"
    put("Customer", _customer(fx_name, None, None, org, ref(foreign, CURRENCY_NAMES[foreign]), rng))

    for ch in _CHANNELS:
        put("Class", {"Name": ch, "SubClass": False, "FullyQualifiedName": ch, "Active": True})
    for wh in _WAREHOUSES[org.country]:
        put("Department", {"Name": wh, "SubDepartment": False, "FullyQualifiedName": wh, "Active": True})
    for pm in ("Cash", "Check", "Visa", "MasterCard", "Store Credit"):
        put(
            "PaymentMethod",
            {
                "Name": pm,
                "Active": True,
                "Type": "CREDIT_CARD" if pm in ("Visa", "MasterCard") else "NON_CREDIT_CARD",
            },
        )
    put("CompanyCurrency", {"Code": foreign, "Name": CURRENCY_NAMES[foreign], "Active": True})

    base = Decimal("0.7300") if foreign == "CAD" else Decimal("1.3700")
    today = now.astimezone(tz).date()
    table = []
    for back in range(120, -1, -1):
        wobble = Decimal(rng.randint(-150, 150)) / Decimal(10000)
        table.append((today - timedelta(days=back), (base + wobble).quantize(Decimal("0.0001"))))
    c.rates[foreign] = table

    put(
        "CompanyInfo",
        {
            "Id": "1",
            "CompanyName": org.name,
            "LegalName": org.name,
            "CompanyAddr": _address(org, rng),
            "LegalAddr": _address(org, rng),
            "CustomerCommunicationAddr": _address(org, rng),
            "CompanyEmailAddr": {"Address": f"books@{org.code.lower()}.example"},
            "CustomerCommunicationEmailAddr": {"Address": f"returns@{org.code.lower()}.example"},
            "PrimaryPhone": {"FreeFormNumber": "(555) 010-0100"},
            "CompanyStartDate": (today - timedelta(days=900)).isoformat(),
            "FiscalYearStartMonth": "January",
            "Country": org.country,
            "SupportedLanguages": "en",
            "DefaultTimeZone": org.timezone,
            "NameValue": [
                {"Name": "NeoEnabled", "Value": "true"},
                {"Name": "IndustryType", "Value": "Sporting Goods Retail"},
                {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
            ],
        },
    )
    close = (today - timedelta(days=60)).isoformat() if us else None
    accounting: dict[str, Any] = {
        "TrackDepartments": True,
        "DepartmentTerminology": "Location",
        "ClassTrackingPerTxn": True,
        "CustomerTerminology": "Customers",
    }
    if close:
        accounting["BookCloseDate"] = close
    put(
        "Preferences",
        {
            "Id": "1",
            "AccountingInfoPrefs": accounting,
            "SalesFormsPrefs": {"CustomTxnNumbers": True, "AllowShipping": True, "AllowDiscount": True},
            "ProductAndServicesPrefs": {"ForSales": True, "ForPurchase": True, "QuantityWithPriceAndRate": True,
                                        "QuantityOnHand": tracks},
            "TaxPrefs": {"UsingSalesTax": True, "PartnerTaxEnabled": us},
            "CurrencyPrefs": {"MultiCurrencyEnabled": True, "HomeCurrency": ref(org.home_currency)},
            "OtherPrefs": {
                "NameValue": [
                    {"Name": "WarnDuplicateDocNumber", "Value": "true" if us else "false"},
                    {"Name": "WarnDuplicateJournalNumber", "Value": "false"},
                    {"Name": "WarnDuplicateCheckNumber", "Value": "true"},
                ]
            },
        },
    )
    return c


def _seed_products(org: DemoOrg, put: Any, ref: Any, accounts: dict[str, str], created: datetime, tracks: bool,
                   tax_code: str | None) -> None:
    """An item for each SKU the RMS sells for this organization, its PurchaseCost 45 % of the price:
    Inventory with 20 on hand where the company tracks inventory, else NonInventory."""
    asset, cogs = "Inventory Asset", "Cost of Goods Sold"
    start = created.astimezone(ZoneInfo(org.timezone)).date().isoformat()
    for product in PROFILES[org.profile_code].products:
        item: dict[str, Any] = {
            "Name": product.description, "Description": product.description, "Sku": product.sku, "Active": True,
            "FullyQualifiedName": product.description, "Type": "Inventory", "UnitPrice": product.price,
            "Taxable": True, "IncomeAccountRef": ref(accounts["Sales of Product Income"], "Sales of Product Income"),
            "PurchaseDesc": product.description,
            "PurchaseCost": (product.price * COST_SHARE).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
            "ExpenseAccountRef": ref(accounts[cogs], cogs), "TrackQtyOnHand": False,
        }
        if tax_code:
            item["SalesTaxCodeRef"] = ref(tax_code)
        if tracks:
            item.update(AssetAccountRef=ref(accounts[asset], asset), TrackQtyOnHand=True, QtyOnHand=STOCK_ON_HAND,
                        InvStartDate=start)
        else:
            item["Type"] = "NonInventory"
        put("Item", item)


def _customer(
    display: str,
    first: str | None,
    last: str | None,
    org: DemoOrg,
    currency: dict[str, str],
    rng: random.Random,
    active: bool = True,
) -> dict[str, Any]:
    slug = display.lower().replace(" ", ".").replace("(", "").replace(")", "")
    obj: dict[str, Any] = {
        "DisplayName": display,
        "FullyQualifiedName": display,
        "PrintOnCheckName": display,
        "Active": active,
        "Taxable": True,
        "Job": False,
        "BillWithParent": False,
        "Balance": Decimal("0.00"),
        "BalanceWithJobs": Decimal("0.00"),
        "CurrencyRef": currency,
        "PreferredDeliveryMethod": "Email",
        "PrimaryEmailAddr": {"Address": f"{slug}@mail.example"},
        "BillAddr": _address(org, rng),
    }
    if first and last:
        obj["GivenName"], obj["FamilyName"] = first, last
    else:
        obj["CompanyName"] = display
    return obj


def _address(org: DemoOrg, rng: random.Random) -> dict[str, str]:
    if org.country == "US":
        city, region, postal = rng.choice(
            [
                ("Los Angeles", "CA", "90012"),
                ("Brooklyn", "NY", "11201"),
                ("Seattle", "WA", "98101"),
                ("Sacramento", "CA", "95814"),
            ]
        )
    else:
        city, region, postal = rng.choice(
            [("Toronto", "ON", "M5V 2T6"), ("Vancouver", "BC", "V6B 1A1"), ("Ottawa", "ON", "K1P 5G3")]
        )
    return {
        "Line1": f"{rng.randint(10, 9999)} {rng.choice(['Main', 'Oak', 'Cedar', 'Lake'])} St",
        "City": city,
        "CountrySubDivisionCode": region,
        "PostalCode": postal,
        "Country": org.country,
    }


def _seed_tax(c: Company, put: Any, us: bool, accounts: dict[str, str]) -> None:
    """US: agencies, component rates, combined codes and the TAX/NON pseudo codes; CA: GST/HST/PST."""
    if us:
        agencies = {
            "CA": "California Department of Tax and Fee Administration",
            "NY": "New York State Department of Taxation",
            "WA": "Washington State Department of Revenue",
        }
        agency_ids = {k: put("TaxAgency", {"DisplayName": v}) for k, v in agencies.items()}
        rates = [
            ("California", "CA", "7.25"),
            ("Los Angeles County", "CA", "2.25"),
            ("New York State", "NY", "4"),
            ("New York City", "NY", "4.875"),
            ("Washington", "WA", "6.5"),
            ("Seattle", "WA", "3.75"),
        ]
        codes = [
            ("California", ["California"]),
            ("Los Angeles County, CA", ["California", "Los Angeles County"]),
            ("New York City, NY", ["New York State", "New York City"]),
            ("Seattle, WA", ["Washington", "Seattle"]),
            ("Washington", ["Washington"]),  # state rate only: outside cities with a local rate
        ]
        put(
            "TaxCode",
            {
                "Id": "TAX",
                "Name": "TAX",
                "Description": "TAX",
                "Active": True,
                "Hidden": False,
                "Taxable": True,
                "TaxGroup": False,
            },
        )
        put(
            "TaxCode",
            {
                "Id": "NON",
                "Name": "NON",
                "Description": "NON",
                "Active": True,
                "Hidden": False,
                "Taxable": False,
                "TaxGroup": False,
            },
        )
    else:
        agency_ids = {
            "CRA": put("TaxAgency", {"DisplayName": "Canada Revenue Agency"}),
            "BC": put("TaxAgency", {"DisplayName": "Ministry of Finance (BC)"}),
        }
        rates = [
            ("GST", "CRA", "5"),
            ("HST ON", "CRA", "13"),
            ("PST BC", "BC", "7"),
            ("GST/HST ZR", "CRA", "0"),
            ("Exempt", "CRA", "0"),
        ]
        codes = [
            ("GST", ["GST"]),
            ("HST ON", ["HST ON"]),
            ("GST/PST BC", ["GST", "PST BC"]),
            ("PST BC", ["PST BC"]),
            ("Zero-rated", ["GST/HST ZR"]),
            ("Exempt", ["Exempt"]),
        ]
    rate_ids: dict[str, str] = {}
    for name, agency, value in rates:
        rate_ids[name] = put(
            "TaxRate",
            {
                "Name": name,
                "Description": name,
                "Active": True,
                "RateValue": Decimal(value),
                "AgencyRef": {"value": agency_ids[agency]},
                "SpecialTaxType": "ZERO_RATE" if name == "GST/HST ZR" else "NONE",
                "DisplayType": "ReadOnly",
            },
        )
    for name, parts in codes:
        put(
            "TaxCode",
            {
                "Name": name,
                "Description": name,
                "Active": True,
                "Hidden": False,
                "Taxable": name != "Exempt",
                "TaxGroup": len(parts) > 1,
                "SalesTaxRateList": {
                    "TaxRateDetail": [
                        {
                            "TaxRateRef": {"value": rate_ids[p], "name": p},
                            "TaxTypeApplicable": "TaxOnAmount",
                            "TaxOrder": 0,
                        }
                        for p in parts
                    ]
                },
                "PurchaseTaxRateList": {"TaxRateDetail": []},
            },
        )


def seed_all(seed: int, now: datetime) -> dict[str, Company]:
    """Every QBO demo org, keyed by realmId."""
    return {org.company_id: seed_company(org, seed, now) for org in active_orgs() if org.platform == "qbo"}
