"""The RMS emulator's data: realistic, arithmetically right, deterministic per seed, bad where it says.

The checker below is written independently of the generator: it recomputes every tax amount and
refund total from quantities, prices and rates, and lists what makes a record bad, so the test
would notice if the emulator's bookkeeping of bad records and its data ever disagreed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

REASONS = {"DAMAGED", "WRONG_ITEM", "NOT_AS_DESCRIBED", "CHANGED_MIND", "LATE_DELIVERY", "DEFECTIVE", "SIZE_FIT"}
DISPOSITIONS = {"RESTOCK", "REFURBISH", "SCRAP", "RETURN_TO_VENDOR"}
REQUIRED = ("id", "rma_number", "revision", "organization", "customer", "channel", "warehouse", "currency",
            "created_at", "updated_at", "refund_method", "status", "lines", "fees", "refund_total")
LINE_REQUIRED = ("line_id", "sku", "description", "quantity", "unit_price", "reason_code", "disposition", "tax")
DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
SIGN = {"restocking_fee": -1, "return_shipping_charged": -1, "outbound_shipping_refunded": 1, "label_cost": 0}


def _all(sandbox: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = ""
    while True:
        body = sandbox.rms("GET", "/v1/returns", params={"cursor": cursor, "limit": 500}).json()
        out.extend(body["returns"])
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return out


def _orgs(sandbox: Any) -> dict[str, dict[str, Any]]:
    return {o["code"]: o for o in sandbox.rms("GET", "/v1/organizations").json()["organizations"]}


def _q(value: Decimal, currency: str) -> Decimal:
    return value.quantize(Decimal(1) if currency == "JPY" else Decimal("0.01"), rounding=ROUND_HALF_UP)


def problems(doc: dict[str, Any], orgs: dict[str, dict[str, Any]]) -> list[str]:
    """Everything wrong with one return, as the app's pre-flight would see it; [] when clean."""
    found = [f"missing {f}" for f in REQUIRED if f not in doc]
    org = orgs.get(doc.get("organization", ""))
    if org is None:
        return [*found, "unknown organization"]
    if "customer" in doc:
        found += [f"missing customer.{f}" for f in ("id", "name", "email") if f not in doc["customer"]]
    currency = doc.get("currency")
    if currency is not None and currency not in org["currencies"]:
        found.append(f"currency {currency}")
    rates = {j["code"]: Decimal(j["rate"]) for j in org["tax_jurisdictions"]}
    amounts: list[str] = [doc.get("refund_total", "0")]
    for line in doc.get("lines", []):
        found += [f"missing line.{f}" for f in LINE_REQUIRED if f not in line]
        if line.get("reason_code", "DAMAGED") not in REASONS:
            found.append(f"reason {line['reason_code']}")
        if line.get("disposition", "RESTOCK") not in DISPOSITIONS:
            found.append(f"disposition {line['disposition']}")
        if not isinstance(line.get("quantity", 1), int) or line.get("quantity", 1) < 1:
            found.append(f"quantity {line['quantity']}")
        amounts.append(line.get("unit_price", "0"))
        for tax in line.get("tax", []):
            amounts += [tax["rate"], tax["amount"]]
            if tax["jurisdiction"] not in rates:
                found.append(f"jurisdiction {tax['jurisdiction']}")
    found += [f"amount {a!r}" for a in amounts if not DECIMAL.match(str(a))]
    if not found:  # arithmetic only makes sense on an otherwise clean record
        found += _arithmetic(doc, rates)
    return found


def _arithmetic(doc: dict[str, Any], rates: dict[str, Decimal]) -> list[str]:
    cur = doc["currency"]
    wrong = []
    total = Decimal(0)
    for line in doc["lines"]:
        net = _q(line["quantity"] * Decimal(line["unit_price"]), cur)
        total += net
        for tax in line["tax"]:
            assert Decimal(tax["rate"]) == rates[tax["jurisdiction"]]
            if Decimal(tax["amount"]) != _q(net * Decimal(tax["rate"]), cur):
                wrong.append(f"tax {tax}")
            total += Decimal(tax["amount"])
    for fee in doc["fees"]:
        gross = Decimal(fee["amount"]) + sum((Decimal(t["amount"]) for t in fee.get("tax", [])), Decimal(0))
        total += SIGN[fee["type"]] * gross
    if Decimal(doc["refund_total"]) != total:
        wrong.append(f"refund_total {doc['refund_total']} != {total}")
    return wrong


def test_clean_records_are_realistic_and_add_up(sandbox: Any) -> None:
    sandbox.control("POST", "reset", {"seed": 1, "rms": {"bad_ratio": 0}})
    orgs = _orgs(sandbox)
    docs = _all(sandbox)
    for doc in docs:
        assert problems(doc, orgs) == [], doc["id"]
    assert {d["organization"] for d in docs} == set(orgs)
    assert {d["refund_method"] for d in docs} == {"original_payment", "store_credit", "exchange"}
    assert {d["status"] for d in docs} == {"received", "inspected", "refunded", "closed", "cancelled"}
    assert {d["channel"] for d in docs} >= {"web", "store", "marketplace"}
    lines = [line for d in docs for line in d["lines"]]
    assert {line["reason_code"] for line in lines} == REASONS
    assert {line["disposition"] for line in lines} == DISPOSITIONS
    assert {f["type"] for d in docs for f in d["fees"]} == set(SIGN)
    # Multi-jurisdiction tax on one line: Los Angeles pays state and district tax.
    assert any([t["jurisdiction"] for t in line["tax"]] == ["US-CA", "US-CA-LA"] for line in lines)
    assert any(f.get("tax") for d in docs for f in d["fees"])  # VAT/GST on fees
    # Foreign currencies, JPY without decimals; customers with names and emails.
    jpy = [d for d in docs if d["currency"] == "JPY"]
    assert jpy and all("." not in line["unit_price"] and "." not in d["refund_total"]
                       for d in jpy for line in d["lines"])
    assert all(re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]+", d["customer"]["email"]) for d in docs)
    assert len({d["customer"]["name"] for d in docs}) > 20


def test_revisions_change_quantity_or_fees(sandbox: Any) -> None:
    docs = _all(sandbox)
    by_id: dict[str, list[dict[str, Any]]] = {}
    for d in docs:
        by_id.setdefault(d["id"], []).append(d)
    changes = set()
    for revs in (r for r in by_id.values() if len(r) > 1):
        first, second = revs[0], revs[1]
        assert second["created_at"] == first["created_at"] and second["updated_at"] > first["updated_at"]
        assert [line["line_id"] for line in first["lines"]] == [line["line_id"] for line in second["lines"]]
        if [line["quantity"] for line in first["lines"]] != [line["quantity"] for line in second["lines"]]:
            changes.add("quantity")
        if len(second["fees"]) > len(first["fees"]):
            changes.add("fee")
    assert changes == {"quantity", "fee"}


def test_dates_are_the_last_30_days_on_the_sandbox_clock(sandbox: Any) -> None:
    now = datetime.fromisoformat(sandbox.control("POST", "config", {"service": "rms"})["now"])
    stamps = [datetime.fromisoformat(d[k].replace("Z", "+00:00")) for d in _all(sandbox)
              for k in ("created_at", "updated_at")]
    assert all(s.tzinfo == UTC for s in stamps)
    assert min(stamps) >= now - timedelta(days=31)
    assert max(stamps) <= now
    assert max(stamps) - min(stamps) > timedelta(days=25)


def test_seeded_bad_records_are_listed_and_really_bad(sandbox: Any) -> None:
    orgs = _orgs(sandbox)
    docs = {d["id"]: d for d in _all(sandbox)}  # latest revision of each
    bad = {b["id"]: b for b in sandbox.control("GET", "rms/bad")["bad"]}
    assert 5 <= len(bad) <= 15  # the default 3 % of ~320
    for rid, doc in docs.items():
        assert bool(problems(doc, orgs)) == (rid in bad), (rid, problems(doc, orgs), bad.get(rid))


def test_generate_with_bad_ratio(sandbox: Any) -> None:
    orgs = _orgs(sandbox)
    out = sandbox.control("POST", "rms/generate", {"org": "TEA-UK", "count": 40, "bad_ratio": 0.25, "seed": 4})
    assert len(out["generated"]) == len(set(out["generated"])) == 40
    assert len(out["bad"]) == 10 and set(out["bad"]) <= set(out["generated"])
    kinds = set()
    for rid in out["generated"]:
        doc = sandbox.rms("GET", f"/v1/returns/{rid}").json()
        assert doc["organization"] == "TEA-UK"
        assert bool(problems(doc, orgs)) == (rid in out["bad"]), (rid, problems(doc, orgs))
    for entry in sandbox.control("GET", "rms/bad")["bad"]:
        if entry["id"] in out["bad"]:
            kinds.add(entry["defect"])
    assert len(kinds) >= 3
    assert {b["id"] for b in sandbox.control("GET", "rms/bad")["bad"]} >= set(out["bad"])


def _without_times(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in d.items() if k not in ("created_at", "updated_at")} for d in docs]


def test_generation_is_deterministic_per_seed(sandbox: Any) -> None:
    runs = []
    for seed in (7, 7, 8):
        sandbox.control("POST", "reset", {"seed": seed})
        generated = sandbox.control("POST", "rms/generate",
                                    {"org": "ACME-US", "count": 5, "bad_ratio": 0.4, "seed": 3})
        runs.append((_without_times(_all(sandbox)), generated, sandbox.control("GET", "rms/bad")))
    assert runs[0] == runs[1]
    assert runs[0][0] != runs[2][0]
    assert runs[0][1] != runs[2][1]


@pytest.mark.parametrize("org", ["ACME-US", "MAPLE-CA", "KIWI-NZ", "TEA-UK"])
def test_each_org_uses_its_own_jurisdictions_and_currencies(sandbox: Any, org: str) -> None:
    sandbox.control("POST", "reset", {"seed": 1, "rms": {"bad_ratio": 0}})
    info = _orgs(sandbox)[org]
    docs = [d for d in _all(sandbox) if d["organization"] == org]
    assert len(docs) >= 50
    used = {t["jurisdiction"] for d in docs for line in d["lines"] for t in line["tax"]}
    assert used <= {j["code"] for j in info["tax_jurisdictions"]}
    assert {d["currency"] for d in docs} == set(info["currencies"])
    assert sum(d["currency"] == info["home_currency"] for d in docs) > len(docs) * 0.7


def test_revisions_of_generated_returns_stay_consistent(sandbox: Any) -> None:
    orgs = _orgs(sandbox)
    ids = sandbox.control("POST", "rms/generate", {"org": "TEA-UK", "count": 12, "seed": 11})["generated"]
    for rid in ids:
        for _ in range(3):
            doc = sandbox.control("POST", "rms/revise", {"id": rid})
            assert problems(doc, orgs) == []
            if doc["currency"] == "GBP":  # domestic: VAT applies to every fee except the merchant's label
                assert all([t["jurisdiction"] for t in f.get("tax", [])] == ["GB-VAT"]
                           for f in doc["fees"] if f["type"] != "label_cost")
        assert sandbox.rms("GET", f"/v1/returns/{rid}").json()["revision"] == 4
    bad = sandbox.control("POST", "rms/generate", {"org": "TEA-UK", "count": 1, "bad_ratio": 1})["bad"][0]
    resp = sandbox.http.post(f"{sandbox.control_url}/rms/revise", json={"id": bad}, timeout=10)
    assert resp.status_code == 400
