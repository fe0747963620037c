"""Recipes + pre-flight throughput on one core (target ≥ 5,000 returns/s).

Builds a varied population of returns for the four demo-company shapes (QBO US with AST, QBO
Canada with per-line codes, Xero NZ and UK; home and foreign currencies; every refund method and
fee treatment; 1–4 lines, taxes, fees), then times ``prepare`` (the recipes, then pre-flight) over
all of them and prints returns/s and documents/s. Pure CPU: no database, no HTTP. Run:
``.venv/bin/python bench/bench_recipes.py [--returns 20000] [--runs 3]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the test builders live in tests/helpers

from desktop.services.core.domain import FeeTreatment, OrgSettings, ReturnRecord
from desktop.services.core.enums import FeeType, RefundMethod
from desktop.services.pipeline.fx import FxRates
from desktop.services.pipeline.preflight import prepare
from tests.helpers.recipes import (
    fee,
    make_return,
    qbo_rules,
    qbo_snapshot,
    resolver,
    taxed_line,
    xero_rules,
    xero_snapshot,
)

TARGET = 5000.0
TODAY = date(2026, 11, 27)


def profiles() -> list[tuple[str, object, object, FxRates, list[list[tuple[str, str]]], str]]:
    us = qbo_snapshot(currencies=("CAD",))
    ca = qbo_snapshot("CA", currencies=("USD",))
    nz = xero_snapshot("NZ")
    gb = xero_snapshot("GB")
    return [
        ("ACME-US", us, resolver(qbo_rules("US"), us),
         FxRates.from_qbo("USD", [{"SourceCurrencyCode": "CAD", "Rate": Decimal("0.7312"), "AsOfDate": "2026-01-01"}]),
         [[("US-CA", "7.25")], [("US-CA", "7.25"), ("US-CA-LA", "2.25")], []], "USD"),
        ("MAPLE-CA", ca, resolver(qbo_rules("CA"), ca),
         FxRates.from_qbo("CAD", [{"SourceCurrencyCode": "USD", "Rate": Decimal("1.3701"), "AsOfDate": "2026-01-01"}]),
         [[("CA-ON-HST", "13")], [("CA-BC-GST", "5"), ("CA-BC-PST", "7")]], "CAD"),
        ("KIWI-NZ", nz, resolver(xero_rules(), nz), FxRates.from_xero("NZD", [("AUD", date(2026, 1, 1),
                                                                                Decimal("0.915400"))]),
         [[("NZ-GST", "15")], [("NZ-GST-ZERO", "0")]], "NZD"),
        ("TEA-UK", gb, resolver(xero_rules(), gb), FxRates.from_xero("GBP", [("EUR", date(2026, 1, 1),
                                                                               Decimal("1.172500"))]),
         [[("GB-VAT", "20")], []], "GBP"),
    ]


def population(n: int, rng: random.Random) -> list[tuple[int, ReturnRecord, OrgSettings]]:
    profs = profiles()
    out = []
    for i in range(n):
        p = i % len(profs)
        org, snap, _, _, sets, home = profs[p]
        foreign = sorted(snap.currencies - {home})  # type: ignore[attr-defined]
        cur = foreign[0] if rng.random() < 0.15 and foreign else home
        taxes = rng.choice(sets) if cur == home else []
        lines = [taxed_line(k + 1, str(rng.randint(1, 3)), f"{rng.randint(100, 50_000) / 100:.2f}", cur, taxes,
                            reason=rng.choice(["DAMAGED", "SIZE_FIT", "CHANGED_MIND"]))
                 for k in range(rng.randint(1, 4))]
        fees = [fee(t, f"{rng.randint(100, 1500) / 100:.2f}", cur, taxes if org != "ACME-US" else [])
                for t in rng.sample(list(FeeType), rng.randint(0, 2))]
        settings = OrgSettings(fee_treatment=rng.choice(list(FeeTreatment)), extra={"timezone": "UTC"})
        ret = make_return(org, cur, lines, fees, rng.choice(list(RefundMethod)), revision=i + 1)
        out.append((p, ret, settings))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--returns", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    profs = profiles()
    pop = population(args.returns, random.Random(7))
    rates_s: list[float] = []
    docs = problems = 0
    for _ in range(args.runs):
        docs = problems = 0
        start = time.perf_counter()
        for p, ret, settings in pop:
            _, snap, res, fx, _, _ = profs[p]
            d, probs = prepare(ret, res, snap, settings, fx, TODAY)  # type: ignore[arg-type]
            docs += len(d)
            problems += len(probs)
        rates_s.append(len(pop) / (time.perf_counter() - start))
    best = max(rates_s)
    print(f"recipes + pre-flight: {len(pop)} returns, {docs} documents, {problems} problems per run")
    print(f"returns/s: best {best:,.0f}, median {statistics.median(rates_s):,.0f} (target ≥ {TARGET:,.0f}) "
          f"— {'OK' if best >= TARGET else 'BELOW TARGET'}")
    print(f"documents/s: {best * docs / len(pop):,.0f}")


if __name__ == "__main__":
    main()
