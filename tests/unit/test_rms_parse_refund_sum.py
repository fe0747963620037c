"""The parser's quick refund-total check (``_adds_up``) agrees with ``ReturnRecord.computed_refund``.

It may only say "adds up" when the domain's own Money arithmetic would say so without raising;
anything else (a mismatch, amounts too large for Money's sums) falls back to the domain rule.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, localcontext

from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.services.core.domain import Customer, Fee, ReturnLine, ReturnRecord, TaxAmount
from desktop.services.core.enums import FeeType, RefundMethod
from desktop.services.core.money import InvalidAmount, Money
from desktop.services.rms.parse import _adds_up

AT = datetime(2026, 12, 7, tzinfo=UTC)
amounts = st.one_of(st.integers(0, 10**6), st.integers(0, 10**31 - 1)).map(lambda n: Decimal(n).scaleb(-2))


def _line(price: Decimal, qty: int, taxes: list[Decimal], n: int) -> ReturnLine:
    return ReturnLine(line_id=f"L{n}", sku="S", description="", quantity=Decimal(qty),
                      unit_price=Money(price, "USD"), reason_code="R", disposition="D",
                      taxes=tuple(TaxAmount(f"J{j}", Decimal("7.25"), Money(t, "USD")) for j, t in enumerate(taxes)))


lines = st.lists(st.tuples(amounts, st.integers(1, 2**31 - 1), st.lists(amounts, max_size=2)), min_size=1, max_size=3)
fees = st.lists(st.tuples(st.sampled_from(list(FeeType)), amounts, st.lists(amounts, max_size=1)), max_size=3)


def _record(raw_lines: list, raw_fees: list, raw_repl: list) -> ReturnRecord:
    return ReturnRecord(
        rms_id="r", rma_number="RMA", revision=1, org_code="O", customer=Customer("c", "n", "e@x"), channel="web",
        warehouse="W", currency="USD", created_at=AT, updated_at=AT, refund_method=RefundMethod.EXCHANGE,
        status="received", lines=tuple(_line(p, q, t, i) for i, (p, q, t) in enumerate(raw_lines)),
        fees=tuple(Fee(kind, Money(a, "USD"), tuple(TaxAmount("J", Decimal(0), Money(t, "USD")) for t in ts))
                   for kind, a, ts in raw_fees),
        replacements=tuple(_line(p, q, t, i) for i, (p, q, t) in enumerate(raw_repl)))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(lines, fees, st.lists(st.tuples(amounts, st.integers(1, 9), st.lists(amounts, max_size=1)), max_size=2),
       st.integers(-2, 2))
def test_the_quick_sum_says_yes_only_when_the_domain_rule_does(raw_lines: list, raw_fees: list, raw_repl: list,
                                                               off: int) -> None:
    record = _record(raw_lines, raw_fees, raw_repl)
    try:
        computed = record.computed_refund()
    except InvalidAmount:
        computed = None
    if computed is None:  # Money refuses the sum: the quick check must not accept it either
        assert not _adds_up(record, Decimal(0))
        return
    with localcontext(prec=100):  # exact: the default 28 digits would round the large sums
        stated = computed.amount + Decimal(off).scaleb(-2)
    quick = _adds_up(record, stated)
    assert not quick or off == 0  # never "adds up" when the domain rule says it does not
    terms = [p * q for p, q, _t in (*raw_lines, *raw_repl)] + [a for _k, a, _t in raw_fees] + [
        t for *_x, ts in (*raw_lines, *raw_repl, *raw_fees) for t in ts]
    if off == 0 and sum(terms) < 10**26:  # and says so whenever the sums are far from Money's limit
        assert quick


def test_a_plain_return_adds_up_and_a_cent_off_does_not() -> None:
    record = _record([(Decimal("12.50"), 2, [Decimal("1.81")])], [(FeeType.RESTOCKING_FEE, Decimal("5.00"), [])], [])
    assert record.computed_refund() == Money(Decimal("21.81"), "USD")
    assert _adds_up(record, Decimal("21.81"))
    assert _adds_up(record, Decimal("21.8100"))
    assert not _adds_up(record, Decimal("21.82"))
