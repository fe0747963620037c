"""Golden check of the recipes' output: a fixed, seeded mix of returns → every document and
problem, reduced to one digest per profile.

The returns are generated here from a seed (no files, no network): QuickBooks US (state +
county tax, exotic KWD), QuickBooks Canada (HST, GST+PST, an exempt mapping), Xero UK (VAT,
EUR/JPY) and Xero NZ (GST and zero-rated GST on one return); quantities with fractions, prices
with more places than the currency, every fee type with and without tax, zero taxes, mixed
jurisdiction sets, every refund method, both fee treatments, missing FX rates, and summary mode.
What is recorded per document: role, type, key, date, currency, total, refund effect, depends_on,
notes, FX, journal (and home journal), the exact wire payload (``dumps_exact``) and ``extra``;
plus every problem (code, message, field).

A changed digest means the recipes' output changed. If that is intended, say why in the commit,
then paste the new digest from the failure message below. The message also counts what the
profile produces (``_describe``), so a change can be narrowed down before it is accepted.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from desktop.services.core.domain import Fee, FeeTreatment, OrgSettings, ReturnRecord, TaxAmount
from desktop.services.core.enums import FeeType, RefundMethod
from desktop.services.core.money import Money
from desktop.services.mapping.model import Rule
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.pipeline.documents import LedgerDocument, dumps_exact, jsonable
from desktop.services.pipeline.fx import FxRates
from desktop.services.pipeline.recipes import build_documents, summary_documents
from tests.helpers.recipes import (
    UPDATED,
    fee,
    make_return,
    qbo_rules,
    qbo_snapshot,
    resolver,
    taxed_line,
    xero_rules,
    xero_snapshot,
)

_Profile = tuple[ReferenceSnapshot, list[Rule], FxRates, list[list[tuple[str, str]]]]


def _profiles() -> dict[str, _Profile]:
    return {
        "qbo-us": (qbo_snapshot(currencies=("CAD", "KWD")), qbo_rules("US"), FxRates.from_qbo("USD", [
            {"SourceCurrencyCode": "CAD", "Rate": Decimal("0.7312"), "AsOfDate": "2026-01-01"},
            {"SourceCurrencyCode": "KWD", "Rate": Decimal("3.2517"), "AsOfDate": "2026-01-01"}]),
            [[("US-CA", "7.25")], [("US-CA", "7.25"), ("US-CA-LA", "2.25")], [], [("US-CA", "0")]]),
        "qbo-ca": (qbo_snapshot("CA", currencies=("USD",)), qbo_rules("CA"), FxRates.from_qbo("CAD", [
            {"SourceCurrencyCode": "USD", "Rate": Decimal("1.3701"), "AsOfDate": "2026-01-01"}]),
            [[("CA-ON-HST", "13")], [("CA-BC-GST", "5"), ("CA-BC-PST", "7")], [], [("CA-BC-GST", "0")]]),
        "xero-gb": (xero_snapshot("GB"), xero_rules(), FxRates.from_xero("GBP", [
            ("EUR", date(2026, 1, 1), Decimal("1.172500")), ("JPY", date(2026, 1, 1), Decimal("190.450000"))]),
            [[("GB-VAT", "20")], [], [("GB-VAT", "0")]]),
        "xero-nz": (xero_snapshot("NZ"), xero_rules(), FxRates.from_xero("NZD", [
            ("AUD", date(2026, 1, 1), Decimal("0.9123"))]),
            [[("NZ-GST", "15")], [("NZ-GST-ZERO", "0")], [], [("NZ-GST", "15"), ("NZ-GST-ZERO", "0")]]),
    }


def _returns(name: str, profile: _Profile, count: int) -> list[ReturnRecord]:
    snap, _rules, _rates, sets = profile
    rng = random.Random(f"recipes-golden:{name}")
    out = []
    for n in range(count):
        cur = rng.choice(sorted(snap.currencies))
        places = {"JPY": 0, "KWD": 3}.get(cur, 2)
        taxes = rng.choice(sets)
        lines = []
        for k in range(rng.randint(1, 4)):
            qty = rng.choice(["1", "2", "3", "0.5", "1.25"])
            price = f"{Decimal(rng.randint(1, 200_000)).scaleb(-places - rng.choice([0, 0, 0, 1])):f}"
            line_taxes = (taxes if rng.random() < 0.7 else []) if rng.random() < 0.85 else rng.choice(sets)
            lines.append(taxed_line(k + 1, qty, price, cur, line_taxes,
                                    reason=rng.choice(["DAMAGED", "ZERO", "SIZE"])))
        fees: list[Fee] = []
        for kind in rng.sample(list(FeeType), rng.randint(0, len(FeeType))):
            amount = f"{Decimal(rng.randint(0, 5000)).scaleb(-places):f}"
            fees.append(fee(kind, amount, cur, taxes if rng.random() < 0.5 else []))
        if fees and rng.random() < 0.2:  # a zero tax beside a real one on a fee
            f0 = fees[0]
            fees[0] = replace(f0, taxes=(*f0.taxes, TaxAmount(f"{name[-2:].upper()}-Z", Decimal(0), Money.zero(cur))))
        ret = make_return("ORG", cur, lines, fees, rng.choice(list(RefundMethod)),
                          updated=UPDATED - timedelta(hours=rng.randrange(0, 96)))
        out.append(replace(ret, rms_id=f"r{n}", rma_number=f"RMA-{n}", revision=1 + n % 3))
    return out


def _doc(d: LedgerDocument) -> dict[str, Any]:
    return {"role": d.role, "platform": d.platform, "type": d.doc_type, "key": d.idempotency_key,
            "date": d.txn_date.isoformat(), "currency": d.currency, "total": str(d.total),
            "home": d.home_currency, "payload": dumps_exact(d.payload),
            "journal": [ln.to_json() | {"component": str(ln.component)} for ln in d.journal],
            "home_journal": [ln.to_json() for ln in d.home_journal()], "fx": d.fx.to_json() if d.fx else None,
            "depends_on": d.depends_on, "notes": list(d.notes), "refund_effect": str(d.refund_effect),
            "source": list(d.source), "mapping_version": d.mapping_version, "extra": jsonable(d.extra),
            "balanced": d.is_balanced()}


def _run(name: str, profile: _Profile) -> list[dict[str, Any]]:
    snap, rules, rates, _ = profile
    res = resolver(rules, snap)
    rets = _returns(name, profile, 150)
    out: list[dict[str, Any]] = []
    for i, ret in enumerate(rets):
        for treatment in FeeTreatment:
            docs, problems = build_documents(ret, res, snap, OrgSettings(fee_treatment=treatment),
                                             rates if i % 5 else None)
            out.append({"case": f"{ret.rms_id}/{treatment.value}", "docs": [_doc(d) for d in docs],
                        "problems": [[p.code, p.message, p.field] for p in problems]})
    for label, rt in (("summary", rates), ("summary-no-rates", None)):
        docs, problems = summary_documents(rets, res, snap, OrgSettings(), rt, tz="Pacific/Auckland")
        out.append({"case": label, "docs": [_doc(d) for d in docs],
                    "problems": [[p.code, p.message, p.field] for p in problems]})
    return out


def _digest(results: list[dict[str, Any]]) -> str:
    h = hashlib.sha256()
    for r in results:
        h.update(json.dumps(r, sort_keys=True).encode())
    return h.hexdigest()[:24]


def _describe(results: list[dict[str, Any]]) -> Counter[str]:
    seen: Counter[str] = Counter()
    for r in results:
        for d in r["docs"]:
            seen[f"{d['type']}/{d['role']}"] += 1
        for p in r["problems"]:
            seen[f"problem:{p[0]}"] += 1
    return seen


GOLDEN = {
    "qbo-us": "df3118b861499e276586c1b6",
    "qbo-ca": "4f391d6ae2b5a2c03eb0d738",
    "xero-gb": "ff67ef87bf4d0dd3bc944c76",
    "xero-nz": "c0ce7d0b32d11484ca11fbb4",
}


@pytest.mark.parametrize("name", list(GOLDEN))
def test_recipes_output_is_unchanged(name: str) -> None:
    results = _run(name, _profiles()[name])
    digest = _digest(results)
    assert digest == GOLDEN[name], (f"{name}: the recipes' output changed (new digest {digest!r}): "
                                    f"{dict(sorted(_describe(results).items()))}")
