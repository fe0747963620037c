"""YAML/JSON import and export, the shipped templates' shape, and version diffs."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import yaml

from desktop.services.core.domain import Component
from desktop.services.mapping import Rule, TrackingRef, apply_template, diff_rules, load_template
from desktop.services.mapping.io import (
    FORMAT,
    default_template_name,
    dumps,
    export_document,
    loads,
    rules_from_document,
    template_names,
)
from tests.helpers.mapping import QBO_GOOD, XERO_GOOD, qbo_snapshot, xero_snapshot

M = Component.MERCHANDISE


@pytest.mark.parametrize("fmt", ["yaml", "json"])
@pytest.mark.parametrize("platform", ["qbo", "xero"])
def test_export_import_round_trip(fmt: str, platform: str) -> None:
    snap, rules = (qbo_snapshot(), QBO_GOOD) if platform == "qbo" else (xero_snapshot(), XERO_GOOD)
    rules = [*rules, Rule(M, reason_code="DEFECTIVE", priority=7, account_id=rules[0].account_id, note="why: RTV")]
    text = dumps(export_document(rules, snapshot=snap, organization="ORG", version=4, note="n"), fmt)
    back, problems = rules_from_document(loads(text), snap)
    assert problems == [] and back == rules
    # Without the snapshot the ids alone carry it too (a backup restored before reference data).
    assert rules_from_document(loads(text), None)[0] == rules


def test_export_is_human_friendly_ids_with_codes_and_names() -> None:
    doc = export_document(XERO_GOOD, snapshot=xero_snapshot(), organization="KIWI-NZ", version=2)
    assert doc["format"] == FORMAT and doc["platform"] == "xero" and doc["version"] == 2
    first = doc["rules"][0]
    assert first["account"] == {"id": "a-205", "code": "205", "name": "Sales Returns & Allowances"}
    assert first["tracking"][0] == {"category": {"id": "cat-ch", "name": "Channel"},
                                    "option": {"id": "opt-online", "name": "Online"}}
    assert doc["rules"][1] == {"component": "tax", "tax_jurisdiction": "NZ-GST",
                               "tax_code": {"id": "OUTPUT2", "name": "GST on Income"}}
    text = dumps(doc, "yaml")
    assert "Sales Returns & Allowances" in text and yaml.safe_load(text) == doc
    qbo = export_document(QBO_GOOD, snapshot=qbo_snapshot())
    assert qbo["rules"][-1]["tracking"] == [{"category": "class", "option": {"id": "100", "name": "Online Store"}}]


def test_references_by_code_or_name_resolve_to_this_ledgers_ids() -> None:
    doc = {"format": FORMAT, "company": "another-realm", "rules": [
        {"component": "restocking_fee", "account": "4200", "item": {"name": "restocking fee"}},
        {"component": "merchandise", "channel": "web", "account": {"id": "from-another-company", "code": "4100"},
         "tracking": [{"category": "class", "option": "Online Store"}]},
        {"component": "tax", "tax_jurisdiction": "US-CA", "tax_code": "California", "account": "Sales Tax Payable"},
    ]}
    rules, problems = rules_from_document(doc, replace(qbo_snapshot(), company_id="9130"))
    assert problems == []
    assert [(r.account_id, r.item_id, r.tax_code) for r in rules] == [("4", "11", None), ("3", None, None),
                                                                       ("7", None, "31")]
    assert rules[1].tracking == (TrackingRef("class", "100", "Online Store"),)


def test_what_cannot_be_found_is_reported_not_guessed() -> None:
    doc = {"format": FORMAT, "platform": "qbo", "rules": [
        {"component": "label_cost", "account": {"code": "9999", "name": "Postage"}},
        {"component": "merchandise", "account": "4100", "item": "Gift Wrap",
         "tracking": [{"category": "department", "option": "Mars DC"}, {"category": "class"}]},
        {"component": "tax", "tax_code": {"name": "Atlantis"}},
    ]}
    rules, problems = rules_from_document(doc, qbo_snapshot())
    assert [(p.code, p.field) for p in problems] == [
        ("not_found", "rules[0].account"), ("not_found", "rules[1].item"), ("not_found", "rules[1].tracking[0]"),
        ("bad_rule", "rules[1].tracking[1]"), ("not_found", "rules[2].tax_code")]
    assert problems[0].message == ("Account '9999 / Postage' was not found in QuickBooks; create it there (and "
                                   "refresh the connection) or edit the rule")
    assert rules[0].account_id is None and rules[1].tracking == ()


def test_an_unknown_account_id_is_an_error_not_a_name_match() -> None:
    """Ids are authoritative in a file from this company (or one that does not say): an id the ledger
    lacks is reported — naming the account its code matches — and never resolved to that account."""
    snapshot = replace(qbo_snapshot(), company_id="9130")
    for company in ({}, {"company": "9130"}):
        doc = {"format": FORMAT, **company, "rules": [
            {"component": "merchandise", "account": {"id": "999", "code": "4100", "name": "Sales Returns"}},
            {"component": "restocking_fee", "account": {"id": "4", "code": "4200"},
             "item": {"id": "404", "name": "restocking fee"}},
        ]}
        rules, problems = rules_from_document(doc, snapshot)
        assert [(p.code, p.field) for p in problems] == [("not_found", "rules[0].account"),
                                                          ("not_found", "rules[1].item")]
        assert problems[0].message.startswith("Account id 999 was not found in QuickBooks; the file also names "
                                              "'4100 / Sales Returns', which is id 3 there")
        assert [(r.account_id, r.item_id) for r in rules] == [("999", None), ("4", "404")]
    # The same file exported from another company: its ids mean nothing here, codes and names do.
    rules, problems = rules_from_document({**doc, "company": "another-realm"}, snapshot)
    assert problems == [] and [(r.account_id, r.item_id) for r in rules] == [("3", None), ("4", "11")]
    exported = export_document(rules, snapshot=snapshot)
    assert exported["company"] == "9130", "an export says which company its ids belong to"


def test_malformed_rules_and_documents() -> None:
    doc = {"format": FORMAT, "platform": "xero", "rules": [
        "just text", {"component": "gift_wrap"}, {"component": "refund", "priority": "high", "acount": "090"}]}
    rules, problems = rules_from_document(doc, qbo_snapshot())
    assert [p.code for p in problems] == ["wrong_platform", "bad_rule", "bad_rule", "bad_rule", "bad_rule"]
    assert "unknown field(s) acount" in problems[3].message
    assert len(rules) == 1 and rules[0].priority == 0
    with pytest.raises(ValueError, match="'rules' list"):
        loads("a: 1")
    with pytest.raises(ValueError, match="unsupported mapping file format"):
        loads(json.dumps({"format": "something/9", "rules": []}))
    with pytest.raises(ValueError, match="not a readable"):
        loads("{not json")
    with pytest.raises(ValueError, match="unknown format"):
        dumps({"rules": []}, "xml")


def test_json_numbers_never_pass_through_float() -> None:
    doc = loads(json.dumps({"format": FORMAT, "rules": []})[:-3] + '[{"component": "refund", "priority": 2.0, '
                '"account": "1"}]}')
    rules, problems = rules_from_document(doc, qbo_snapshot())
    assert problems == [] and rules[0].priority == 2


def test_templates_ship_for_each_platform_and_country() -> None:
    assert {"qbo-us", "qbo-ca", "xero-nz", "xero-uk"} <= set(template_names())
    assert default_template_name("qbo", "US") == "qbo-us"
    assert default_template_name("xero", "GB") == "xero-uk"
    assert default_template_name("xero", "AU") == "xero-nz", "falls back to the platform's first template"
    with pytest.raises(LookupError):
        load_template("nope")
    for name in template_names():
        doc = load_template(name)
        assert doc["platform"] == name.split("-")[0]
        for raw in doc["rules"]:
            for ref in ("account", "item", "tax_code"):
                if ref in raw and name.startswith("qbo"):
                    assert "id" not in raw[ref], f"{name}: QBO ids differ per company; name it instead"


def test_apply_template_reports_what_a_small_chart_lacks() -> None:
    rules, problems = apply_template("xero-nz", xero_snapshot())
    assert rules and all(r.component in Component for r in rules)
    missing = {p.message.split("'")[1] for p in problems}
    # The tiny test chart has no freight income account and no Marketplace channel option.
    assert "420 / Freight Income" in missing and "Marketplace" in missing


def test_diff_pairs_rules_by_their_conditions() -> None:
    old = [Rule(M, account_id="3", rule_id=1), Rule(M, channel="web", account_id="3", rule_id=2),
           Rule(Component.LABEL_COST, account_id="6", rule_id=3)]
    new = [Rule(M, account_id="3", rule_id=10), Rule(M, channel="web", account_id="9", priority=2, rule_id=11),
           Rule(Component.REFUND, account_id="1", rule_id=12)]
    d = diff_rules(old, new)
    assert [r.component for r in d.added] == [Component.REFUND]
    assert [r.component for r in d.removed] == [Component.LABEL_COST]
    assert len(d.changed) == 1 and d.changed[0].fields == ("priority", "account_id")
    assert d.summary() == "1 added, 1 removed, 1 changed"
    as_json = d.as_json()
    assert as_json["changed"][0]["old"] == {"priority": 0, "account_id": "3"}
    assert as_json["changed"][0]["new"] == {"priority": 2, "account_id": "9"}
    assert json.loads(json.dumps(as_json)) == as_json
    assert diff_rules(old, old).empty and diff_rules(old, old[::-1]).summary() == "no changes"
