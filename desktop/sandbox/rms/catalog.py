"""What the demo organizations sell and where they collect tax: the raw material for generated returns.

Each :class:`~desktop.sandbox.demo_orgs.DemoOrg` gets a catalog (SKUs with prices in its home
currency), warehouses, customer names typical of its country, and "tax profiles": which
jurisdictions a domestic return's lines carry (e.g. a Los Angeles customer pays US-CA *and*
US-CA-LA on every line). Rates are realistic published rates so the generated tax amounts look
like a real RMS's; they are fixed here rather than looked up, because the sandbox must be
deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

REASON_CODES = ("DAMAGED", "WRONG_ITEM", "NOT_AS_DESCRIBED", "CHANGED_MIND", "LATE_DELIVERY",
                "DEFECTIVE", "SIZE_FIT")
MERCHANT_FAULT = frozenset({"DAMAGED", "WRONG_ITEM", "NOT_AS_DESCRIBED", "LATE_DELIVERY", "DEFECTIVE"})
DISPOSITIONS = ("RESTOCK", "REFURBISH", "SCRAP", "RETURN_TO_VENDOR")
CHANNELS = ("web", "store", "marketplace", "phone")
REFUND_METHODS = ("original_payment", "store_credit", "exchange")
STATUSES = ("received", "inspected", "refunded", "closed", "cancelled")
FEE_TYPES = ("restocking_fee", "return_shipping_charged", "label_cost", "outbound_shipping_refunded")

# Minor units per ISO 4217 currency (JPY has none); every amount is quantized to these.
MINOR_UNITS = {"JPY": 0, "KWD": 3}


def quantum(currency: str) -> Decimal:
    """The smallest amount of ``currency``: Decimal("0.01"), or Decimal("1") for JPY."""
    return Decimal(1).scaleb(-MINOR_UNITS.get(currency, 2))


def money(value: Decimal, currency: str) -> Decimal:
    """Round to the currency's minor unit, half up, as the RMS does on every stored amount."""
    return value.quantize(quantum(currency), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class TaxJurisdiction:
    code: str
    name: str
    rate: Decimal  # a fraction: 0.0725 means 7.25 %


TAX_JURISDICTIONS: dict[str, TaxJurisdiction] = {j.code: j for j in (
    TaxJurisdiction("US-CA", "California state sales tax", Decimal("0.0725")),
    TaxJurisdiction("US-CA-LA", "Los Angeles County district tax", Decimal("0.0225")),
    TaxJurisdiction("US-NY", "New York City combined sales tax", Decimal("0.08875")),
    TaxJurisdiction("US-WA", "Washington state sales tax", Decimal("0.065")),
    TaxJurisdiction("CA-ON-HST", "Ontario HST", Decimal("0.13")),
    TaxJurisdiction("CA-BC-GST", "GST (British Columbia)", Decimal("0.05")),
    TaxJurisdiction("CA-BC-PST", "British Columbia PST", Decimal("0.07")),
    TaxJurisdiction("NZ-GST", "New Zealand GST 15%", Decimal("0.15")),
    TaxJurisdiction("NZ-GST-ZERO", "New Zealand GST zero-rated (exports)", Decimal("0")),
    TaxJurisdiction("GB-VAT", "UK VAT standard rate", Decimal("0.20")),
    TaxJurisdiction("GB-VAT-ZERO", "UK VAT zero rate", Decimal("0")),
)}

# Home-currency units -> foreign units, for the few returns an org books in another currency.
FX = {("USD", "CAD"): Decimal("1.37"), ("CAD", "USD"): Decimal("0.73"), ("NZD", "AUD"): Decimal("0.91"),
      ("GBP", "EUR"): Decimal("1.17"), ("GBP", "JPY"): Decimal("191")}


@dataclass(frozen=True)
class Product:
    sku: str
    description: str
    price: Decimal     # home currency
    zero_rated: bool = False  # e.g. tea is food: zero-rated for UK VAT


@dataclass(frozen=True)
class OrgProfile:
    """Everything the generator needs to know about one organization besides :class:`DemoOrg`."""

    products: tuple[Product, ...]
    warehouses: tuple[str, ...]
    # Domestic ship-to regions: (weight, jurisdictions on every standard-rated line).
    tax_profiles: tuple[tuple[int, tuple[str, ...]], ...]
    zero_rate: str | None       # jurisdiction for zero-rated lines and exports, if the org has one
    fees_taxed: bool            # VAT/GST/HST also applies to fees (not US sales tax)
    flat_fees: dict[str, Decimal]  # return_shipping_charged / label_cost / outbound_shipping_refunded
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]


def _p(sku: str, description: str, price: str, zero: bool = False) -> Product:
    return Product(sku, description, Decimal(price), zero)


PROFILES: dict[str, OrgProfile] = {
    "ACME-US": OrgProfile(
        products=(_p("ACM-TENT-2P", "Trailhead 2-person tent", "249.00"),
                  _p("ACM-BAG-20F", "Summit 20°F sleeping bag", "139.95"),
                  _p("ACM-STOVE-01", "Backcountry canister stove", "59.99"),
                  _p("ACM-JKT-M-BLK", "Storm rain jacket, men's M, black", "119.00"),
                  _p("ACM-BOOT-10", "Ridge hiking boots, size 10", "164.50"),
                  _p("ACM-LAMP-300", "300-lumen headlamp", "34.99"),
                  _p("ACM-PACK-45L", "Ascent 45 L backpack", "189.00"),
                  _p("ACM-BOTTLE-1L", "Insulated bottle 1 L", "24.95")),
        warehouses=("WH-RENO", "WH-NEWARK"),
        tax_profiles=((3, ("US-CA", "US-CA-LA")), (2, ("US-CA",)), (2, ("US-NY",)), (2, ("US-WA",))),
        zero_rate=None, fees_taxed=False,
        flat_fees={"return_shipping_charged": Decimal("7.95"), "label_cost": Decimal("8.40"),
                   "outbound_shipping_refunded": Decimal("9.99")},
        first_names=("Olivia", "Liam", "Emma", "Noah", "Ava", "Mateo", "Sophia", "Ethan", "Maya", "Jackson"),
        last_names=("Johnson", "Garcia", "Nguyen", "Smith", "Martinez", "Brown", "Lee", "Walker", "Patel"),
    ),
    "MAPLE-CA": OrgProfile(
        products=(_p("MPL-PARKA-L", "Northern parka, L", "349.00"),
                  _p("MPL-TOQUE-RED", "Wool toque, red", "29.99"),
                  _p("MPL-MITT-M", "Shearling mitts, M", "49.50"),
                  _p("MPL-SNOWSHOE", "Trail snowshoes", "229.00"),
                  _p("MPL-PADDLE", "Ash canoe paddle", "89.95"),
                  _p("MPL-FLANNEL-M", "Flannel shirt, M", "69.00")),
        warehouses=("WH-TORONTO", "WH-VANCOUVER"),
        tax_profiles=((3, ("CA-ON-HST",)), (2, ("CA-BC-GST", "CA-BC-PST"))),
        zero_rate=None, fees_taxed=True,
        flat_fees={"return_shipping_charged": Decimal("9.95"), "label_cost": Decimal("11.20"),
                   "outbound_shipping_refunded": Decimal("12.99")},
        first_names=("Chloé", "Liam", "Olivia", "William", "Charlotte", "Benjamin", "Amélie", "Lucas"),
        last_names=("Tremblay", "Roy", "Campbell", "MacDonald", "Gagnon", "Wilson", "Singh", "Chen"),
    ),
    "KIWI-NZ": OrgProfile(
        products=(_p("KWI-HELMET-M", "Road helmet, M", "129.00"),
                  _p("KWI-TUBE-700C", "Inner tube 700c", "12.90"),
                  _p("KWI-LIGHT-SET", "USB light set", "79.00"),
                  _p("KWI-JERSEY-L", "Merino jersey, L", "99.00"),
                  _p("KWI-PUMP-FLOOR", "Floor pump", "69.90"),
                  _p("KWI-EBIKE-BATT", "E-bike battery 500 Wh", "899.00")),
        warehouses=("WH-AUCKLAND", "WH-CHRISTCHURCH"),
        tax_profiles=((1, ("NZ-GST",)),),
        zero_rate="NZ-GST-ZERO", fees_taxed=True,
        flat_fees={"return_shipping_charged": Decimal("8.50"), "label_cost": Decimal("9.20"),
                   "outbound_shipping_refunded": Decimal("10.00")},
        first_names=("Aroha", "Oliver", "Isla", "Nikau", "Charlotte", "Jack", "Mia", "Tane", "Ruby"),
        last_names=("Smith", "Ngata", "Williams", "Wilson", "Tane", "Brown", "Parata", "Taylor"),
    ),
    "TEA-UK": OrgProfile(
        products=(_p("BTC-EARLGREY-250", "Earl Grey loose leaf 250 g", "8.50", zero=True),
                  _p("BTC-ASSAM-500", "Assam breakfast 500 g", "14.95", zero=True),
                  _p("BTC-SENCHA-100", "Sencha green tea 100 g", "11.25", zero=True),
                  _p("BTC-TEAPOT", "Ceramic teapot 1.2 L", "34.00"),
                  _p("BTC-INFUSER", "Stainless tea infuser", "6.99"),
                  _p("BTC-GIFTSET", "Afternoon tea gift set", "45.00")),
        warehouses=("WH-BRISTOL",),
        tax_profiles=((1, ("GB-VAT",)),),
        zero_rate="GB-VAT-ZERO", fees_taxed=True,
        flat_fees={"return_shipping_charged": Decimal("4.95"), "label_cost": Decimal("3.85"),
                   "outbound_shipping_refunded": Decimal("3.99")},
        first_names=("Oliver", "Amelia", "Harry", "Isla", "George", "Poppy", "Arthur", "Freya", "Alfie"),
        last_names=("Smith", "Jones", "Taylor", "Davies", "Evans", "Thomas", "Roberts", "Khan", "Wright"),
    ),
}

EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example")
