"""Fuzzing mapping import: any file text, any document, and what a valid-looking document saves.

- Text (YAML or JSON, or neither) → a document, or ``ValueError`` / ``InputRejected`` with a message;
  never another exception, and never a YAML bomb expanded (aliases are refused).
- Any document → rules and problems with stable codes (``rules_from_document``, then ``validate``
  against a ledger snapshot); never an exception.
- A document that passes both — the shipped templates with their match fields, notes and
  priorities damaged — must save to the database (SQLite and PostgreSQL) and read back the same:
  what validation lets through must fit the columns.
"""

from __future__ import annotations

import copy
import io
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import ManualClock
from desktop.services.core.domain import Component
from desktop.services.core.errors import NeedsPersonError
from desktop.services.mapping.io import load_template, loads, read_file, rules_from_document, template_names
from desktop.services.mapping.reference import ReferenceSnapshot, tracking_key
from desktop.services.mapping.service import MappingService
from desktop.services.mapping.validate import validate
from desktop.services.platforms.base import RefKind, RefRecord
from desktop.services.platforms.registry import platform_for
from desktop.services.rms.context import KNOWN_DISPOSITIONS, KNOWN_REASON_CODES
from desktop.services.store import migrate
from desktop.services.store.db import Database
from tests.fuzz.budget import fuzz, record
from tests.fuzz.checks import CODE_RE, new_org
from tests.fuzz.strategies import JURISDICTIONS, hostile, json_text, mapping_documents, nest

pytestmark = pytest.mark.slow  # minutes on a loaded machine: handed out first (tests/conftest.py)

VOCABULARY = {"reason_code": KNOWN_REASON_CODES, "disposition": KNOWN_DISPOSITIONS,
              "tax_jurisdiction": frozenset(JURISDICTIONS)}
TEMPLATES = {name: load_template(name) for name in template_names()}


def _refs(value: Any) -> tuple[str | None, str | None]:
    if isinstance(value, dict):
        return value.get("code"), value.get("name")
    return None, str(value)


def snapshot_for(template: str) -> ReferenceSnapshot:
    """A ledger holding everything ``template`` names, each account of a type its component allows."""
    doc = TEMPLATES[template]
    profile = platform_for(doc["platform"])
    accounts: dict[str, RefRecord] = {}
    items: dict[str, RefRecord] = {}
    taxes: dict[str, RefRecord] = {}
    tracking: dict[str, RefRecord] = {}
    for rule in doc["rules"]:
        component = Component(rule["component"])
        account = None
        if "account" in rule:
            code, name = _refs(rule["account"])
            account = accounts.setdefault(str(name), RefRecord(RefKind.ACCOUNT, f"a{len(accounts) + 1}", str(name),
                                                               code, profile.allowed_account_types[component][0]))
        if "item" in rule:  # an item books to its rule's account (QBO checks that)
            _code, name = _refs(rule["item"])
            items.setdefault(str(name), RefRecord(RefKind.ITEM, f"i{len(items) + 1}", str(name),
                                                  parent_id=account.remote_id if account else None))
        if "tax_code" in rule:
            code, name = _refs(rule["tax_code"])
            taxes.setdefault(str(code or name), RefRecord(RefKind.TAX_CODE, str(code or f"t{len(taxes) + 1}"),
                                                          str(name or code), code))
        for t in rule.get("tracking") or []:
            _c, cat = _refs(t["category"])
            _o, opt = _refs(t["option"])
            kind = str(cat).lower()
            if kind in ("class", "department"):
                rid = f"{kind}{len(tracking) + 1}"
                tracking.setdefault(tracking_key(kind, rid), RefRecord(RefKind.TRACKING, rid, str(opt), type=kind))
            else:
                cat_id = f"cat-{cat}"
                tracking.setdefault(tracking_key("category", cat_id),
                                    RefRecord(RefKind.TRACKING, cat_id, str(cat), type="category"))
                opt_id = f"opt-{cat}-{opt}"
                tracking.setdefault(tracking_key("option", opt_id), RefRecord(
                    RefKind.TRACKING, opt_id, str(opt), type="option", parent_id=cat_id))
    return ReferenceSnapshot({a.remote_id: a for a in accounts.values()}, {t.remote_id: t for t in taxes.values()},
                             {i.remote_id: i for i in items.values()}, {}, tracking,
                             frozenset({"USD", "CAD", "NZD", "GBP"}), "USD", None, profile.key)


SNAPSHOTS = {name: snapshot_for(name) for name in TEMPLATES}


# --- text --------------------------------------------------------------------------------------------

YAML_TEXTS = (
    'a: &a ["lol","lol"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nrules: []\n',
    "rules: !!python/object/apply:os.system ['true']\n", "rules:\n  - component: merchandise\n    <<: {a: 1}\n",
    "rules: [" * 5_000, "\ufeffrules: []\n", "rules:\n\t- x\n", "format: returns-ledger-mapping/2\nrules: []\n",
    "rules: [{component: merchandise, priority: 99999999999999999999999}]\n", "rules: {a: 1}\n", "[1, 2]\n",
    "rules: []\nrules: [1]\n", "? [a, b]\n: c\nrules: []\n", "rules: [{component: tax, priority: .nan}]\n",
    "rules: [{component: tax, note: !!binary aGVsbG8=}]\n", "rules: [{component: tax, note: 2026-11-27}]\n",
)


@example(text=YAML_TEXTS[0], fmt=None)
@example(text="{" * 200_000, fmt="json")
@given(text=st.one_of(st.sampled_from(YAML_TEXTS), mapping_documents().map(json_text),
                      st.text(max_size=300), mapping_documents().map(json_text).map(lambda t: t.replace('"', ""))),
       fmt=st.sampled_from([None, "json", "yaml"]))
@fuzz(400)
def test_any_text_is_read_or_refused_with_a_message(text: str, fmt: str | None) -> None:
    try:
        document = loads(text, fmt)
    except ValueError as exc:
        assert str(exc)
        document = None
    if document is not None:
        assert isinstance(document, dict) and isinstance(document["rules"], list)
    try:
        read_file(io.BytesIO(text.encode("utf-8", "surrogatepass")), name="fuzz.yaml")
    except (ValueError, NeedsPersonError) as exc:
        assert str(exc)
    record("mapping text", examples=1, readable=int(document is not None))


@example(doc={"rules": [{"component": "tax", "tracking": 5}]}, template="qbo-us")
@example(doc={"rules": [{"component": "tax", "priority": Decimal("1E+999999999")}]}, template="qbo-us")
@given(doc=mapping_documents(), template=st.sampled_from(sorted(TEMPLATES)))
@fuzz(500)
def test_any_document_becomes_rules_and_problems(doc: Any, template: str) -> None:
    try:
        document = loads(json_text(doc), "json")
    except ValueError:
        return
    snapshot = SNAPSHOTS[template]
    for snap in (snapshot, None):
        rules, problems = rules_from_document(document, snap)
        assert all(CODE_RE.fullmatch(p.code) for p in problems), [p.code for p in problems]
    problems = [*problems, *validate(rules, snapshot, (), VOCABULARY)]
    assert all(CODE_RE.fullmatch(p.code) for p in problems), [p.code for p in problems]
    record("mapping documents", examples=1, rules=len(rules), problems=len(problems))


# --- what validation lets through must save ------------------------------------------------------------

@st.composite
def damaged_template(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    name = draw(st.sampled_from(sorted(TEMPLATES)))
    doc = TEMPLATES[name]
    rules = [dict(r) for r in draw(st.lists(st.sampled_from(doc["rules"]), min_size=1, max_size=4, unique_by=id))]
    for rule in rules:
        for field in draw(st.lists(st.sampled_from(["warehouse", "channel", "note", "priority", "currency",
                                                    "reason_code"]), max_size=2, unique=True)):
            rule[field] = draw(st.one_of(hostile, st.text(min_size=60, max_size=300), st.just("WH-\x00"),
                                         st.integers(min_value=2**31 - 2, max_value=2**63)))
    return name, {"format": "returns-ledger-mapping/1", "platform": doc["platform"], "rules": rules}


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    migrate.upgrade(db_url)
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.mark.db
@example(case=("qbo-us", {"format": "returns-ledger-mapping/1", "platform": "qbo", "rules": [
    {**TEMPLATES["qbo-us"]["rules"][0], "warehouse": "W" * 65}]}))           # String(64) on PostgreSQL
@example(case=("qbo-us", {"format": "returns-ledger-mapping/1", "platform": "qbo", "rules": [
    {**TEMPLATES["qbo-us"]["rules"][0], "priority": 2**40}]}))               # INTEGER column
@example(case=("qbo-us", {"format": "returns-ledger-mapping/1", "platform": "qbo", "rules": [
    {**TEMPLATES["qbo-us"]["rules"][0], "note": "a\x00b"}]}))                # NUL: PostgreSQL refuses it
@given(case=damaged_template())
@fuzz(60)
def test_what_validation_accepts_saves_and_reads_back(db: Database, case: tuple[str, dict[str, Any]]) -> None:
    name, doc = case
    try:
        document = loads(json_text(doc), "json")
    except ValueError:
        return
    snapshot = SNAPSHOTS[name]
    rules, problems = rules_from_document(document, snapshot)
    problems = [*problems, *validate(rules, snapshot, (), VOCABULARY)]
    record("mapping save", examples=1, saved=int(not problems))
    if problems:
        return
    code, _org_id = new_org(db)
    service = MappingService(db, ManualClock(datetime(2026, 11, 27, tzinfo=UTC)))
    service.save(code, rules, Actor("fuzz", Role.ADMIN))
    view = service.active_set(code)
    assert view is not None
    assert [r.with_id(None) for r in view.rules] == [r.with_id(None) for r in rules]


# --- large inputs --------------------------------------------------------------------------------------

def test_a_yaml_bomb_is_refused_at_once_in_little_memory() -> None:
    """The issue's acceptance: refused in under a second with under 100 MB."""
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)) + "rules: []\n"
    assert len(bomb) < 1024
    tracemalloc.start()
    started = time.process_time()
    try:
        with pytest.raises(ValueError, match="anchors and aliases"):
            loads(bomb)
        spent = time.process_time() - started  # CPU time: a busy machine does not make it fail
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    record("mapping YAML bomb", examples=1, peak_bytes=peak)
    assert spent < 1 and peak < 100 * 1024 * 1024


@pytest.mark.parametrize(("fmt", "count"), [("json", 12_000), ("yaml", 400)])
def test_a_large_mapping_file_is_read_in_bounded_memory(fmt: str, count: int) -> None:
    """A 4 MB JSON file (the cap is 5 MB) of 12,000 rules, and a YAML one of 400 (PyYAML reads about
    a third of a megabyte a second here, so a big YAML file is slow, not dangerous), read and
    resolved: the peak stays under 8× the file for JSON and 60× for YAML (its node tree)."""
    base = TEMPLATES["xero-nz"]["rules"]
    rules = [{**copy.deepcopy(base[i % len(base)]), "warehouse": f"WH-{i}", "note": "n" * 200} for i in range(count)]
    doc = {"format": "returns-ledger-mapping/1", "platform": "xero", "rules": rules}
    text = json_text(doc) if fmt == "json" else yaml.safe_dump(doc)
    tracemalloc.start()
    try:
        document = loads(text, fmt)
        parsed, problems = rules_from_document(document, SNAPSHOTS["xero-nz"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(parsed) == count and not [p for p in problems if p.code == "not_found"]
    record(f"mapping file, {count:,} rules ({fmt}, {len(text) // 1024} KB)", examples=1, peak_bytes=peak)
    bound = (8 if fmt == "json" else 60) * len(text)
    assert peak < bound, f"peak {peak / 2**20:.0f} MB for a {len(text) / 2**20:.1f} MB file"


def test_nest_marker_reaches_the_depth_cap() -> None:
    """The generators' deep values really are deep once written (a check of the fuzzer itself)."""
    with pytest.raises(ValueError, match="deeper"):
        loads(json_text({"rules": [nest(100)]}), "json")
