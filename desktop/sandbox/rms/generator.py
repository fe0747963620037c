"""Deterministic, realistic returns for one organization — and the bad records a real RMS also sends.

A return is built as the JSON the API serves (amounts are decimal strings). Every amount is derived
from quantities, prices and rates by :func:`reprice` with the same rounding the RMS applies (line
tax per jurisdiction, half up, to the currency's minor unit), so the sync engine's own tax and total
checks agree with clean records to the cent. Bad records are clean records with exactly one defect
applied afterwards; the defect is returned so the emulator can tell tests which ids are bad.
"""

from __future__ import annotations

import copy
import random
import zlib
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from desktop.sandbox.demo_orgs import DemoOrg
from desktop.sandbox.rms.catalog import (
    CHANNELS,
    DISPOSITIONS,
    EMAIL_DOMAINS,
    FX,
    MERCHANT_FAULT,
    PROFILES,
    REASON_CODES,
    TAX_JURISDICTIONS,
    money,
)

Doc = dict[str, Any]

DEFECTS = ("missing_field", "unknown_reason_code", "negative_quantity", "unknown_tax_jurisdiction",
           "malformed_amount", "wrong_currency")
RESTOCKING_RATE = Decimal("0.15")
_REFUND_SIGN = {"restocking_fee": -1, "return_shipping_charged": -1, "outbound_shipping_refunded": 1,
                "label_cost": 0}  # label cost is borne by the merchant: not part of the refund


def rfc3339(at: datetime) -> str:
    """UTC with millisecond precision and a ``Z``: the RMS's one timestamp format."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _tax_list(jurisdictions: tuple[str, ...]) -> list[dict[str, str]]:
    return [{"jurisdiction": j, "rate": str(TAX_JURISDICTIONS[j].rate), "amount": "0"}
            for j in jurisdictions]


def reprice(doc: Doc) -> None:
    """Recompute line taxes, fee taxes, the restocking fee and ``refund_total`` from the inputs."""
    cur = doc["currency"]
    merchandise = Decimal(0)
    total = Decimal(0)
    for line in doc["lines"]:
        net = money(Decimal(line["quantity"]) * Decimal(line["unit_price"]), cur)
        merchandise += net
        total += net
        for tax in line["tax"]:
            amount = money(net * Decimal(tax["rate"]), cur)
            tax["amount"] = str(amount)
            total += amount
    for fee in doc["fees"]:
        if fee["type"] == "restocking_fee":
            fee["amount"] = str(money(merchandise * RESTOCKING_RATE, cur))
        gross = Decimal(fee["amount"])
        for tax in fee.get("tax", []):
            amount = money(Decimal(fee["amount"]) * Decimal(tax["rate"]), cur)
            tax["amount"] = str(amount)
            gross += amount
        total += _REFUND_SIGN[fee["type"]] * gross
    for line in (doc.get("exchange") or {}).get("lines", []):  # replacement goods: set against the refund
        net = money(Decimal(line["quantity"]) * Decimal(line["unit_price"]), cur)
        total -= net
        for tax in line["tax"]:
            amount = money(net * Decimal(tax["rate"]), cur)
            tax["amount"] = str(amount)
            total -= amount
    doc["refund_total"] = str(money(total, cur))


#: The RMS's cost of a unit as a share of its price: the same share the ledger emulators' seeds give
#: an item's purchase cost, so a home-currency return's cost equals the ledger item's.
COST_SHARE = Decimal("0.45")


def unit_cost(rid: str, line_id: str, disposition: str, price: Decimal, currency: str) -> Decimal | None:
    """The RMS's cost of one unit (:data:`COST_SHARE` of the price, half up). Unknown for about half
    the lines sent back to the vendor (whose credit the vendor prices), so the demo's goods that move
    (restocked, refurbished, scrapped) all carry a cost and its sync holds no valid return; tests
    state unknown costs on such goods themselves. Derived from the ids, not drawn from the factory's
    RNG, so every other generated value stays exactly what it was before the RMS stated costs."""
    if disposition == "RETURN_TO_VENDOR" and zlib.crc32(f"{rid}:{line_id}".encode()) % 2 == 0:
        return None
    return money(price * COST_SHARE, currency)


class ReturnFactory:
    """Makes the returns, revisions and defects of one organization from one RNG stream."""

    def __init__(self, org: DemoOrg, rng: random.Random) -> None:
        self.org = org
        self.profile = PROFILES[org.profile_code]
        self.rng = rng
        self.prefix = org.code.split("-")[0]
        self._fee_tax: dict[str, tuple[str, ...]] = {}
        self.customers = [self._customer() for _ in range(40)]

    def _customer(self) -> dict[str, str]:
        first = self.rng.choice(self.profile.first_names)
        last = self.rng.choice(self.profile.last_names)
        local = f"{first}.{last}".lower().encode("ascii", "ignore").decode()
        email = f"{local}{self.rng.randrange(1, 99)}@{self.rng.choice(EMAIL_DOMAINS)}"
        return {"id": f"cus_{self.rng.getrandbits(48):012x}", "name": f"{first} {last}", "email": email}

    def _price(self, home_price: Decimal, currency: str) -> Decimal:
        if currency == self.org.home_currency:
            return home_price
        converted = money(home_price * FX[(self.org.home_currency, currency)], currency)
        if currency == "JPY":
            return converted
        return converted.to_integral_value() - Decimal("0.01")  # foreign price points end in .99

    def new_return(self, number: int, created: datetime) -> Doc:
        """Revision 1 of a fresh return, created at ``created``."""
        rng, org, profile = self.rng, self.org, self.profile
        rid = f"ret_{rng.getrandbits(64):016x}"
        domestic = org.domestic_only or rng.random() < 0.9 or not org.other_currencies
        currency = org.home_currency if domestic else rng.choice(org.other_currencies)
        if domestic:
            weights = [w for w, _ in profile.tax_profiles]
            juris = rng.choices([j for _, j in profile.tax_profiles], weights=weights)[0]
        else:  # exports: zero-rated where the org has a zero rate, otherwise untaxed
            juris = (profile.zero_rate,) if profile.zero_rate else ()
        reason = rng.choice(REASON_CODES)
        lines = []
        for n, product in enumerate(rng.sample(profile.products, rng.choices([1, 2, 3], [6, 3, 1])[0]), 1):
            line_juris = (profile.zero_rate,) if (product.zero_rated and domestic and profile.zero_rate) \
                else juris
            line_reason = reason if n == 1 or rng.random() < 0.7 else rng.choice(REASON_CODES)
            disposition = "RESTOCK" if line_reason in ("CHANGED_MIND", "SIZE_FIT", "LATE_DELIVERY") \
                else rng.choice(DISPOSITIONS)
            price = self._price(product.price, currency)
            line: Doc = {"line_id": f"ln_{n}", "sku": product.sku, "description": product.description,
                         "quantity": rng.choices([1, 2, 3], [8, 2, 1])[0], "unit_price": str(price),
                         "reason_code": line_reason, "disposition": disposition,
                         "tax": _tax_list(tuple(j for j in line_juris if j))}
            if (cost := unit_cost(rid, line["line_id"], disposition, price, currency)) is not None:
                line["unit_cost"] = str(cost)
            lines.append(line)
        fee_juris = juris if (profile.fees_taxed and domestic) else ()
        self._fee_tax[rid] = tuple(j for j in fee_juris if j and TAX_JURISDICTIONS[j].rate > 0)
        at = rfc3339(created)
        doc: Doc = {
            "id": rid, "rma_number": f"RMA-{self.prefix}-{100000 + number}", "revision": 1,
            "organization": org.code, "customer": dict(rng.choice(self.customers)),
            "channel": rng.choices(CHANNELS, [6, 2, 3, 1])[0],
            "warehouse": rng.choice(profile.warehouses), "currency": currency,
            "created_at": at, "updated_at": at,
            "refund_method": rng.choices(("original_payment", "store_credit", "exchange"), [6, 3, 1])[0],
            "status": rng.choices(("received", "inspected", "refunded", "closed", "cancelled"),
                                  [5, 4, 7, 3, 1])[0],
            "lines": lines, "fees": [], "refund_total": "0",
        }
        if reason in MERCHANT_FAULT:
            self._add_fee(doc, "label_cost")
            if rng.random() < 0.5:
                self._add_fee(doc, "outbound_shipping_refunded")
        else:
            if rng.random() < 0.5:
                self._add_fee(doc, "restocking_fee")
            if rng.random() < 0.3:
                self._add_fee(doc, "return_shipping_charged")
        reprice(doc)
        if Decimal(doc["refund_total"]) < 0:  # never charge a customer for returning something
            doc["fees"] = [f for f in doc["fees"] if f["type"] != "return_shipping_charged"]
            reprice(doc)
        return doc

    def make_exchange(self, doc: Doc, rng: random.Random) -> str:
        """Turn ``doc`` into an exchange whose replacement goods the RMS states (``rng`` picks, so
        the factory's own stream is untouched): the same goods in another size (even), or one
        cheaper or dearer item. Fees that move the refund are dropped. Returns the kind."""
        kind = rng.choice(("even", "cheaper", "dearer"))
        cur = doc["currency"]
        doc["refund_method"] = "exchange"
        doc["fees"] = [f for f in doc["fees"] if f["type"] == "label_cost"]
        if kind == "even":
            swaps = [{"sku": f"{ln['sku']}-X", "description": f"{ln['description']} (other size)",
                      "quantity": ln["quantity"], "unit_price": ln["unit_price"],
                      "tax": [dict(t) for t in ln["tax"]]} for ln in doc["lines"]]
        else:
            first = doc["lines"][0]
            value = Decimal(first["unit_price"]) * first["quantity"]
            factor = Decimal("0.6") if kind == "cheaper" else Decimal("1.25")
            product = rng.choice(self.profile.products)
            swaps = [{"sku": product.sku, "description": product.description, "quantity": 1,
                      "unit_price": str(money(value * factor, cur)), "tax": [dict(t) for t in first["tax"]]}]
        doc["exchange"] = {"lines": swaps}
        reprice(doc)
        return kind

    def adopt(self, other: ReturnFactory) -> None:
        """Take over the per-return bookkeeping of returns another factory made for this org."""
        self._fee_tax.update(other._fee_tax)

    def _add_fee(self, doc: Doc, fee_type: str) -> None:
        cur = doc["currency"]
        amount = Decimal(0) if fee_type == "restocking_fee" else self._price(
            self.profile.flat_fees[fee_type], cur)
        fee: Doc = {"type": fee_type, "amount": str(money(amount, cur))}
        juris = self._fee_tax.get(doc["id"], ())
        if juris and fee_type != "label_cost":
            fee["tax"] = _tax_list(juris)
        doc["fees"].append(fee)

    def revise(self, doc: Doc, updated: datetime) -> Doc:
        """The next revision: a quantity changes or a fee is added, and the status moves on."""
        new = copy.deepcopy(doc)
        new["revision"] = doc["revision"] + 1
        new["updated_at"] = rfc3339(updated)
        present = {f["type"] for f in new["fees"]}
        addable = [t for t in ("restocking_fee", "return_shipping_charged", "outbound_shipping_refunded")
                   if t not in present]
        if addable and self.rng.random() < 0.4:
            self._add_fee(new, self.rng.choice(addable))
        else:
            line = self.rng.choice(new["lines"])
            line["quantity"] = line["quantity"] - 1 if line["quantity"] > 1 else line["quantity"] + 1
        new["status"] = {"received": "inspected", "inspected": "refunded",
                         "refunded": "closed"}.get(doc["status"], doc["status"])
        reprice(new)
        if Decimal(new["refund_total"]) < 0:
            new["fees"] = [f for f in new["fees"] if f["type"] != "return_shipping_charged"]
            reprice(new)
        return new

    def spoil(self, doc: Doc) -> tuple[str, str]:
        """Apply one defect in place; returns (defect kind, human detail)."""
        rng = self.rng
        kind = rng.choice(DEFECTS)
        line = doc["lines"][0]
        if kind == "missing_field":
            where = rng.choice(("customer", "currency", "refund_total", "lines[0].sku",
                                "lines[0].reason_code", "customer.email"))
            if where.startswith("lines[0]."):
                del line[where.split(".")[1]]
            elif where == "customer.email":
                del doc["customer"]["email"]
            else:
                del doc[where]
            return kind, f"missing {where}"
        if kind == "unknown_reason_code":
            line["reason_code"] = rng.choice(("GIFT_RETURN", "BROKEN_BOX", "OTHER_REASON"))
            return kind, f"reason_code {line['reason_code']}"
        if kind == "negative_quantity":
            line["quantity"] = -abs(line["quantity"])
            return kind, f"quantity {line['quantity']}"
        if kind == "unknown_tax_jurisdiction":
            if line["tax"]:
                line["tax"][0]["jurisdiction"] = "XX-UNKNOWN"
            else:
                line["tax"].append({"jurisdiction": "XX-UNKNOWN", "rate": "0.05", "amount": "1.00"})
            return kind, "tax jurisdiction XX-UNKNOWN"
        if kind == "malformed_amount":
            bad = rng.choice(("12.3.4", "abc"))
            field = rng.choice(("unit_price", "refund_total"))
            if field == "unit_price":
                line["unit_price"] = bad
            else:
                doc["refund_total"] = bad
            return kind, f"{field} {bad!r}"
        doc["currency"] = "XYZ"
        return kind, "currency XYZ"


def timeline(rng: random.Random, anchor: datetime, days: int = 30) -> datetime:
    """A creation time in the ``days`` before ``anchor``, with milliseconds, never in the future."""
    return anchor - timedelta(milliseconds=rng.randrange(3_600_000, days * 86_400_000))
