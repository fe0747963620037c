"""Resolution order: most specific rule, then priority, then the oldest id — and nothing else."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.services.core.domain import Component
from desktop.services.mapping import MatchContext, Resolver, Rule, TrackingRef, jurisdiction_key
from desktop.services.mapping.model import MATCH_FIELDS

M, TAX, FEE = Component.MERCHANDISE, Component.TAX, Component.RESTOCKING_FEE


def _ids(rules: list[Rule]) -> list[Rule]:
    return [r.with_id(i + 1) for i, r in enumerate(rules)]


def test_the_most_specific_matching_rule_wins_whatever_the_order() -> None:
    rules = [Rule(M, account_id="any"), Rule(M, reason_code="DAMAGED", account_id="damaged"),
             Rule(M, reason_code="DAMAGED", channel="web", account_id="damaged-web"),
             Rule(M, channel="web", account_id="web")]
    for ordering in (rules, rules[::-1]):
        r = Resolver(ordering, 3)
        assert r.version == 3
        assert r.resolve(MatchContext(M, reason_code="DAMAGED", channel="web")).account_id == "damaged-web"  # type: ignore[union-attr]
        assert r.resolve(MatchContext(M, reason_code="DAMAGED", channel="store")).account_id == "damaged"  # type: ignore[union-attr]
        assert r.resolve(MatchContext(M, reason_code="SIZE_FIT", channel="web")).account_id == "web"  # type: ignore[union-attr]
        assert r.resolve(MatchContext(M, reason_code="SIZE_FIT")).account_id == "any"  # type: ignore[union-attr]


def test_a_rule_never_matches_a_context_that_lacks_its_field() -> None:
    r = Resolver([Rule(M, channel="web", account_id="web")])
    assert r.resolve(MatchContext(M)) is None
    assert r.resolve(MatchContext(FEE, channel="web")) is None, "other components never match"


def test_priority_breaks_ties_between_equally_specific_rules() -> None:
    rules = _ids([Rule(M, reason_code="DAMAGED", account_id="by-reason", priority=1),
                  Rule(M, channel="web", account_id="by-channel", priority=5)])
    ctx = MatchContext(M, reason_code="DAMAGED", channel="web")
    assert Resolver(rules).resolve(ctx).account_id == "by-channel"  # type: ignore[union-attr]
    # …but never beats specificity:
    rules.append(Rule(M, reason_code="DAMAGED", channel="web", account_id="both", priority=-100, rule_id=99))
    assert Resolver(rules).resolve(ctx).account_id == "both"  # type: ignore[union-attr]


def test_remaining_ties_go_to_the_lowest_rule_id_then_list_position() -> None:
    a = Rule(M, channel="web", account_id="a", rule_id=20)
    b = Rule(M, channel="web", account_id="b", rule_id=7)
    ctx = MatchContext(M, channel="web")
    assert Resolver([a, b]).resolve(ctx).rule_id == 7  # type: ignore[union-attr]
    assert Resolver([b, a]).resolve(ctx).rule_id == 7  # type: ignore[union-attr]
    unsaved = [Rule(M, account_id="first"), Rule(M, account_id="second")]
    assert Resolver(unsaved).resolve(MatchContext(M)).account_id == "first"  # type: ignore[union-attr]


def test_tax_resolves_by_jurisdiction_including_combined_keys() -> None:
    key = jurisdiction_key(["US-CA-LA", "US-CA", "US-CA"])
    assert key == "US-CA+US-CA-LA" and jurisdiction_key([]) is None
    r = Resolver([Rule(TAX, tax_jurisdiction="US-CA", tax_code="31", account_id="7"),
                  Rule(TAX, tax_jurisdiction=key, tax_code="33", account_id="7"),
                  Rule(TAX, tax_code="NON")])
    assert r.resolve(MatchContext(TAX, tax_jurisdiction="US-CA", currency="USD")).tax_code == "31"  # type: ignore[union-attr]
    assert r.resolve(MatchContext(TAX, tax_jurisdiction=key)).tax_code == "33"  # type: ignore[union-attr]
    assert r.resolve(MatchContext(TAX, tax_jurisdiction="US-NY")).tax_code == "NON"  # type: ignore[union-attr]


def test_targets_carry_item_tax_tracking_and_the_account_code() -> None:
    tracking = (TrackingRef("class", "100", "Online Store"),)
    rule = Rule(M, account_id="3", item_id="10", tax_code="TAX", tracking=tracking, rule_id=4)
    target = Resolver([rule], account_codes={"3": "4100"}).resolve(MatchContext(M))
    assert target is not None
    assert (target.rule_id, target.account_id, target.account_code, target.item_id, target.tax_code,
            target.tracking) == (4, "3", "4100", "10", "TAX", tracking)


def test_rule_values_are_normalised() -> None:
    rule = Rule("merchandise", channel="", currency="usd", tracking=[TrackingRef("class", "1")])  # type: ignore[arg-type]
    assert rule.component is M and rule.channel is None and rule.currency == "USD"
    assert isinstance(rule.tracking, tuple) and rule.specificity == 1
    assert Resolver([rule]).resolve(MatchContext(M, currency="USD")) is not None
    assert rule == rule.with_id(5), "ids take no part in equality"
    assert rule.describe() == "Merchandise refunded (currency USD)"


def test_answers_are_memoised_but_stay_correct() -> None:
    r = Resolver([Rule(M, channel="web", account_id="web"), Rule(M, account_id="any")])
    for _ in range(3):
        assert r.resolve(MatchContext(M, channel="web")).account_id == "web"  # type: ignore[union-attr]
        assert r.resolve(MatchContext(M, channel="store")).account_id == "any"  # type: ignore[union-attr]
    assert r.winner(MatchContext(M, channel="web")) == Rule(M, channel="web", account_id="web")
    assert len(r) == 2 and [x.account_id for x in r.rules] == ["web", "any"]


# --- properties ------------------------------------------------------------------------------

_VALUES = {"reason_code": ["DAMAGED", "SIZE_FIT"], "disposition": ["RESTOCK", "SCRAP"], "channel": ["web", "store"],
           "warehouse": ["WH-1"], "currency": ["USD", "CAD"], "tax_jurisdiction": ["US-CA", "US-NY"]}
_COMPONENTS = st.sampled_from([M, TAX, FEE])


@st.composite
def _rules(draw: st.DrawFn) -> Rule:
    fields: dict[str, Any] = {f: draw(st.none() | st.sampled_from(_VALUES[f])) for f in MATCH_FIELDS}
    rule = Rule(draw(_COMPONENTS), priority=draw(st.integers(-3, 3)),
                account_id=draw(st.text("abc", min_size=1, max_size=3)))
    return replace(rule, **fields)


@st.composite
def _contexts(draw: st.DrawFn) -> MatchContext:
    fields: dict[str, Any] = {f: draw(st.none() | st.sampled_from(_VALUES[f])) for f in MATCH_FIELDS}
    return MatchContext(draw(_COMPONENTS), **fields)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.lists(_rules(), max_size=12), st.lists(_rules(), min_size=1, max_size=4), _contexts())
def test_adding_a_less_specific_rule_never_changes_what_a_more_specific_one_decided(
        rules: list[Rule], extra: list[Rule], ctx: MatchContext) -> None:
    rules = _ids(rules)
    before = Resolver(rules).resolve(ctx)
    if before is None:
        return
    decided_by = next(r for r in rules if r.rule_id == before.rule_id)
    weaker = [r.with_id(1000 + i) for i, r in enumerate(extra) if r.specificity < decided_by.specificity]
    assert Resolver(rules + weaker).resolve(ctx) == before


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.lists(_rules(), max_size=12), _contexts(), st.randoms(use_true_random=False))
def test_resolution_is_the_brute_force_best_and_independent_of_order(
        rules: list[Rule], ctx: MatchContext, rnd: object) -> None:
    rules = _ids(rules)
    matching = [r for r in rules if r.matches(ctx)]
    expected = min(matching, key=lambda r: (-r.specificity, -r.priority, r.rule_id)) if matching else None
    shuffled = list(rules)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    got = Resolver(shuffled).resolve(ctx)
    assert (got.rule_id if got else None) == (expected.rule_id if expected else None)
