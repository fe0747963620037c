"""Idempotency keys, document numbers, memo round trips, and exchange-rate look-ups and flags."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from desktop.services.core import keys
from desktop.services.core.money import Money
from desktop.services.pipeline.documents import dumps_exact, fill, placeholder, placeholders
from desktop.services.pipeline.fx import LOOKS_INVERTED, RATE_IS_ONE, FxRates, rate_flags

ROLES = list(keys.ROLE_LETTERS)


def test_keys_are_deterministic_short_and_url_safe() -> None:
    a = keys.idempotency_key("ACME-US", "r-1", 2, "credit_memo")
    assert a == keys.idempotency_key("ACME-US", "r-1", 2, "credit_memo")
    assert len(a) == keys.KEY_LENGTH <= 36 and re.fullmatch(r"rls-[a-z2-7]+", a)
    assert keys.is_key(a) and not keys.is_key(a[:-1])


def test_keys_differ_per_role_revision_org_and_return() -> None:
    seen = {keys.idempotency_key(org, rid, rev, role)
            for org in ("ACME-US", "MAPLE-CA") for rid in ("r-1", "r-2") for rev in (1, 2) for role in ROLES}
    assert len(seen) == 2 * 2 * 2 * len(ROLES)
    # parts are length-prefixed: ("a:b", "c") and ("a", "b:c") differ whatever the separator
    assert keys.idempotency_key("a:b", "c", 1, "x") != keys.idempotency_key("a", "b:c", 1, "x")
    assert keys.idempotency_key("a\x1fb", "c", 1, "x") != keys.idempotency_key("a", "b\x1fc", 1, "x")
    assert keys.summary_key("ACME-US", date(2026, 11, 20), "USD") != keys.summary_key("ACME-US", date(2026, 11, 20),
                                                                                       "CAD")


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=60), st.integers(1, 999))
def test_doc_numbers_fit_qbo_and_are_unique_per_role(rma: str, revision: int) -> None:
    numbers = {keys.doc_number(rma, revision, role) for role in ("credit_memo", "refund_receipt", "fee_journal",
                                                                 "label_journal")}
    assert len(numbers) == 4
    assert all(len(n) <= keys.DOC_NUMBER_MAX for n in numbers)


def test_doc_number_readable_when_it_fits_and_hashed_when_not() -> None:
    assert keys.doc_number("RMA-ACME-100042", 2, "credit_memo") == "RMA-ACME-100042-2C"
    long_a = keys.doc_number("RMA-ACME-WEST-COAST-0000100042", 1, "credit_memo")
    long_b = keys.doc_number("RMA-ACME-WEST-COAST-0000100043", 1, "credit_memo")
    assert long_a != long_b and len(long_a) == 21 and long_a.startswith("RMA-ACME-WES~") and long_a.endswith("-1C")


def test_memo_round_trip_finds_the_key() -> None:
    key = keys.idempotency_key("ACME-US", "r-1", 2, "credit_memo")
    text = keys.memo_text(key, "RMA-ACME-US-100042", 2, "customer credit")
    assert text.startswith(f"RLS {key} · RMA-ACME-US-100042 r2")
    assert keys.parse_key(text) == key
    assert keys.parse_key(f"Voided - {text}") == key  # what QBO leaves after a void
    assert keys.parse_key("Refund RMA-1001") is None and keys.parse_key(None) is None


def test_placeholders_fill_and_exact_serialisation() -> None:
    payload = {"CustomerRef": {"value": placeholder("customer")}, "Line": [{"Amount": Decimal("-0.00")},
                                                                          {"Amount": Decimal("12.345")}]}
    assert placeholders(payload) == {"customer"}
    filled = fill(payload, {"customer": "58"})
    assert filled["CustomerRef"] == {"value": "58"} and placeholders(filled) == set()
    assert dumps_exact(filled) == '{"CustomerRef":{"value":"58"},"Line":[{"Amount":0.00},{"Amount":12.345}]}'


def test_fx_lookup_takes_the_latest_rate_on_or_before_the_day() -> None:
    rates = FxRates.from_qbo("USD", [
        {"SourceCurrencyCode": "CAD", "Rate": Decimal("0.7300"), "AsOfDate": "2026-11-01"},
        {"SourceCurrencyCode": "CAD", "Rate": Decimal("0.7350"), "AsOfDate": "2026-11-10"}])
    assert rates.lookup("CAD", date(2026, 10, 31)) is None
    use = rates.lookup("CAD", date(2026, 11, 9))
    assert use is not None and use.rate == Decimal("0.7300") and use.as_of == date(2026, 11, 1)
    use = rates.lookup("CAD", date(2026, 12, 1))
    assert use is not None and use.rate == Decimal("0.7350") and use.flags == frozenset()
    assert use.to_home(Money(Decimal("100.00"), "CAD")) == Money(Decimal("73.50"), "USD")
    assert rates.lookup("USD", date(2026, 12, 1)) is None  # home currency: no FX use


def test_xero_rates_are_inverted_but_the_ledger_figure_is_kept() -> None:
    rates = FxRates.from_xero("NZD", [("AUD", date(2026, 11, 1), Decimal("0.915400"))])
    use = rates.lookup("AUD", date(2026, 11, 20))
    assert use is not None and use.ledger_rate == Decimal("0.915400")
    assert abs(use.rate * Decimal("0.915400") - 1) < Decimal("1e-30")
    assert use.to_home(Money(Decimal("91.54"), "AUD")) == Money(Decimal("100.00"), "NZD")


def test_rate_flags() -> None:
    assert rate_flags(Decimal(1), None) == {RATE_IS_ONE}
    assert rate_flags(Decimal("0.7301"), Decimal("0.7300")) == frozenset()
    assert rate_flags(Decimal("1.3700"), Decimal("0.7300")) == {LOOKS_INVERTED}  # 1/1.37 = 0.7299
    assert rate_flags(Decimal("190.45"), Decimal("0.00525")) == {LOOKS_INVERTED}  # JPY entered the wrong way
    assert rate_flags(Decimal("0.7600"), Decimal("0.7300")) == frozenset()  # a 4 % move is a move
    rates = FxRates.from_qbo("USD", [
        {"SourceCurrencyCode": "CAD", "Rate": Decimal("0.7300"), "AsOfDate": "2026-11-01"},
        {"SourceCurrencyCode": "CAD", "Rate": Decimal("1.3699"), "AsOfDate": "2026-11-02"}])
    use = rates.lookup("CAD", date(2026, 11, 2))
    assert use is not None and use.flags == {LOOKS_INVERTED}
