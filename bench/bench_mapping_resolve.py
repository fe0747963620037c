"""How many mapping resolutions per second the resolver does (target: ≥ 5,000 returns/s, i.e.
~50,000 resolutions/s at ~10 contexts per return).

Builds a realistic mapping set (a template-sized base plus ``--rules`` specific overrides across
every match field), then resolves the contexts of ``--returns`` generated returns — cold (each
distinct context once, the scan path) and warm (the memoised path recipes mostly hit). Run:
``.venv/bin/python bench/bench_mapping_resolve.py [--rules 300] [--returns 20000]``.
"""

from __future__ import annotations

import argparse
import random
import time

from desktop.services.core.domain import Component
from desktop.services.mapping import MatchContext, Resolver, Rule

REASONS = ("DAMAGED", "WRONG_ITEM", "NOT_AS_DESCRIBED", "CHANGED_MIND", "LATE_DELIVERY", "DEFECTIVE", "SIZE_FIT")
DISPOSITIONS = ("RESTOCK", "REFURBISH", "SCRAP", "RETURN_TO_VENDOR")
CHANNELS = ("web", "store", "marketplace", "phone")
WAREHOUSES = ("WH-RENO", "WH-NEWARK", "WH-TORONTO")
CURRENCIES = ("USD", "CAD", "EUR")
JURIS = ("US-CA", "US-CA+US-CA-LA", "US-NY", "US-WA", None)
TARGET_PER_S = 50_000


def build_rules(extra: int, rng: random.Random) -> list[Rule]:
    rules = [Rule(c, account_id=f"acct-{c.value}") for c in Component]
    rules += [Rule(Component.TAX, tax_jurisdiction=j, tax_code=f"tax-{j}") for j in JURIS if j]
    rules += [Rule(Component.REFUND, currency=c, account_id=f"bank-{c}") for c in CURRENCIES]
    for i in range(extra):
        rules.append(Rule(rng.choice(list(Component)), reason_code=rng.choice((None, *REASONS)),
                          disposition=rng.choice((None, *DISPOSITIONS)), channel=rng.choice((None, *CHANNELS)),
                          warehouse=rng.choice((None, None, *WAREHOUSES)), currency=rng.choice((None, *CURRENCIES)),
                          priority=rng.randint(-2, 2), account_id=f"acct-{i}", rule_id=100 + i))
    return rules


def return_contexts(rng: random.Random) -> list[MatchContext]:
    """~10 contexts, shaped like ``contexts_for_return`` makes for a two-line return with fees."""
    base = {"channel": rng.choice(CHANNELS), "warehouse": rng.choice(WAREHOUSES), "currency": rng.choice(CURRENCIES)}
    juris = rng.choice(JURIS)
    out = [MatchContext(Component.MERCHANDISE, reason_code=rng.choice(REASONS), disposition=rng.choice(DISPOSITIONS),
                        tax_jurisdiction=juris, **base) for _ in range(2)]
    reason = out[0].reason_code
    out += [MatchContext(c, reason_code=reason, tax_jurisdiction=juris, **base)
            for c in (Component.RESTOCKING_FEE, Component.LABEL_COST, Component.OUTBOUND_SHIPPING_REFUNDED)]
    out += [MatchContext(Component.TAX, tax_jurisdiction=j, **base) for j in (juris, "US-CA") if j]
    out += [MatchContext(Component.REFUND, **base), MatchContext(Component.CLEARING, **base)]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=300, help="specific rules on top of the base set")
    parser.add_argument("--returns", type=int, default=20_000, help="returns whose contexts are resolved")
    args = parser.parse_args()
    rng = random.Random(7)
    rules = build_rules(args.rules, rng)
    contexts = [ctx for _ in range(args.returns) for ctx in return_contexts(rng)]
    distinct = list(dict.fromkeys(contexts))

    start = time.perf_counter()
    resolver = Resolver(rules, 1)
    built = time.perf_counter() - start
    start = time.perf_counter()
    for ctx in distinct:
        resolver.resolve(ctx)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    for ctx in contexts:
        resolver.resolve(ctx)
    warm = time.perf_counter() - start
    uncached = Resolver(rules, 1)
    start = time.perf_counter()
    for ctx in distinct:
        uncached._find(ctx)  # the scan alone, no memo: the worst case
    scan = time.perf_counter() - start

    per_return = len(contexts) / args.returns
    warm_rate = len(contexts) / warm
    print(f"rules: {len(rules)}  returns: {args.returns:,}  contexts: {len(contexts):,} "
          f"({per_return:.1f}/return, {len(distinct):,} distinct)")
    print(f"index build:            {built * 1000:8.2f} ms")
    print(f"cold (first sight):     {len(distinct) / cold:12,.0f} resolutions/s")
    print(f"scan only (no memo):    {len(distinct) / scan:12,.0f} resolutions/s")
    print(f"warm (recipes' path):   {warm_rate:12,.0f} resolutions/s  = {warm_rate / per_return:,.0f} returns/s")
    verdict = "OK" if min(warm_rate, len(distinct) / scan) >= TARGET_PER_S else "BELOW TARGET"
    print(f"target ≥ {TARGET_PER_S:,} resolutions/s (5,000 returns/s): {verdict}")


if __name__ == "__main__":
    main()
