"""Mapping sets as YAML/JSON files, and the default templates (DESIGN.md §6).

One format serves exports, imports and the shipped templates (``resources/mappings/*.yaml``)::

    format: returns-ledger-mapping/1
    platform: xero
    rules:
      - component: restocking_fee        # match fields sit beside it; absent = any
        channel: web
        priority: 0
        account: {id: 5f1c…, code: "410", name: Restocking Fee Income}
        tax_code: {id: OUTPUT2, name: GST on Income}
        tracking: [{category: Channel, option: Online}]

Every ledger reference may carry an ``id`` (remote id), a ``code`` and a ``name``, or be a plain
string (a code, else a name). Exports write all three so a person can read them; on import the
id wins when it exists in this ledger, else the code, else the name — which is what makes a
template (names and codes only, since remote ids differ per company) and a file exported from
another company both apply. Whatever cannot be found is reported, never guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import yaml
from sqlalchemy import String

from desktop.services.core.domain import Component, Problem
from desktop.services.core.safe_input import MAPPING_FILE_LIMIT, InputRejected, load_json, load_yaml, read_capped
from desktop.services.mapping.model import MATCH_FIELDS, VENDOR_COMPONENTS, Rule, TrackingRef
from desktop.services.mapping.reference import ReferenceSnapshot, RefRecord
from desktop.services.store.models import MappingRule

__all__ = [
    "FORMAT",
    "TEMPLATE_DIR",
    "apply_template",
    "default_template_name",
    "dumps",
    "export_document",
    "load_template",
    "loads",
    "read_file",
    "rules_from_document",
    "template_names",
]

FORMAT = "returns-ledger-mapping/1"
TEMPLATE_DIR = Path(__file__).resolve().parents[3] / "resources" / "mappings"
_RULE_KEYS = frozenset({"component", *MATCH_FIELDS, "priority", "account", "vendor", "item", "tax_code", "tracking",
                        "note"})


def _column_length(name: str) -> int:
    kind = MappingRule.__table__.c[name].type
    if not isinstance(kind, String) or kind.length is None:
        raise TypeError(f"mapping_rules.{name} is not a string column of a fixed length")
    return kind.length


#: What the columns hold (the store's mapping_rules table owns these lengths).
_MATCH_LENGTH = {name: _column_length(name) for name in MATCH_FIELDS}
_PRIORITY_MAX = 2**31 - 1  # an INTEGER column
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _whole(value: int | Decimal) -> bool:
    """A whole number an INTEGER column holds (checked before ``int()``: 1E+999999999 is a Decimal too)."""
    if isinstance(value, Decimal) and (not value.is_finite() or abs(value.adjusted()) > 12
                                       or value != value.to_integral_value()):
        return False
    return -_PRIORITY_MAX - 1 <= int(value) <= _PRIORITY_MAX


# --- text ------------------------------------------------------------------------------------


def dumps(document: Mapping[str, Any], fmt: str = "yaml") -> str:
    """The document as YAML (block style, keys in our order) or JSON (2-space indent)."""
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if fmt != "yaml":
        raise ValueError(f"unknown format {fmt!r}: use yaml or json")
    return yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True, default_flow_style=False, width=110)


def loads(text: str, fmt: str | None = None, *, name: str = "the mapping file") -> dict[str, Any]:
    """Parse a YAML or JSON document (JSON when ``fmt`` says so or the text starts with ``{``).

    Through :mod:`desktop.services.core.safe_input`: nesting is capped and YAML anchors/aliases are
    refused (a "billion laughs" file is refused at once instead of growing to gigabytes).
    """
    stripped = text.lstrip()
    try:
        data = load_json(text, name=name) if fmt == "json" or (fmt is None and stripped.startswith("{")) \
            else load_yaml(text, name=name)
    except InputRejected as exc:
        raise ValueError(f"not a readable mapping file: {exc.message}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise ValueError("not a mapping file: expected a document with a 'rules' list")
    fmt_tag = data.get("format", FORMAT)
    if fmt_tag != FORMAT:
        raise ValueError(f"unsupported mapping file format {fmt_tag!r} (this version reads {FORMAT})")
    return data


# --- export ----------------------------------------------------------------------------------


def export_document(rules: list[Rule] | tuple[Rule, ...], *, snapshot: ReferenceSnapshot | None = None,
                    organization: str | None = None, platform: str | None = None, version: int | None = None,
                    note: str | None = None) -> dict[str, Any]:
    """A mapping set as a document: every reference by id plus code/name when ``snapshot`` knows them."""
    doc: dict[str, Any] = {"format": FORMAT}
    for key, value in (("organization", organization), ("platform", platform or (snapshot.platform if snapshot
                                                                                   else None)),
                       ("company", snapshot.company_id if snapshot else None),
                       ("version", version), ("note", note)):
        if value is not None and value != "":
            doc[key] = value
    doc["rules"] = [_export_rule(r, snapshot) for r in rules]
    return doc


def _ref(id_: str, record: Any, *, code: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"id": id_}
    if record is not None:
        if code and record.code:
            out["code"] = record.code
        out["name"] = record.name
    return out


def _export_rule(rule: Rule, s: ReferenceSnapshot | None) -> dict[str, Any]:
    out: dict[str, Any] = {"component": rule.component.value}
    out.update({f: getattr(rule, f) for f in MATCH_FIELDS if getattr(rule, f) is not None})
    if rule.priority:
        out["priority"] = rule.priority
    if rule.account_id and rule.component in VENDOR_COMPONENTS:  # a supplier rule names a vendor
        out["vendor"] = _ref(rule.account_id, s.vendors.get(rule.account_id) if s else None, code=False)
    elif rule.account_id:
        out["account"] = _ref(rule.account_id, s.accounts.get(rule.account_id) if s else None, code=True)
    if rule.item_id:
        out["item"] = _ref(rule.item_id, s.items.get(rule.item_id) if s else None, code=False)
    if rule.tax_code:
        out["tax_code"] = _ref(rule.tax_code, s.tax_codes.get(rule.tax_code) if s else None, code=False)
    if rule.tracking:
        out["tracking"] = [_export_tracking(t, s) for t in rule.tracking]
    if rule.note:
        out["note"] = rule.note
    return out


def _export_tracking(t: TrackingRef, s: ReferenceSnapshot | None) -> dict[str, Any]:
    if t.category_id in ("class", "department"):
        category: Any = t.category_id
        opt = s.find_tracking(t.category_id, id=t.option_id) if s else None
    else:
        cat = s.find_tracking("category", id=t.category_id) if s else None
        category = {"id": t.category_id, **({"name": cat.name} if cat else {})}
        opt = s.find_tracking("option", id=t.option_id, parent_id=t.category_id) if s else None
    return {"category": category, "option": {"id": t.option_id, "name": opt.name if opt else t.name}}


# --- import ----------------------------------------------------------------------------------


def _parts(value: Any) -> tuple[str | None, str | None, str | None]:
    """(id, code, name) of a reference written as a mapping or a plain string (id, code or name)."""
    if value is None:
        return None, None, None
    if isinstance(value, Mapping):
        def text(key: str) -> str | None:
            v = value.get(key)
            return None if v is None or v == "" else str(v)
        return text("id"), text("code"), text("name")
    return str(value), str(value), str(value)


def _show(value: Any) -> str:
    i, c, n = _parts(value)
    return " / ".join(dict.fromkeys(x for x in (c, n, i) if x)) or "?"


class _Reader:
    def __init__(self, snapshot: ReferenceSnapshot | None, *, foreign_ids: bool = False) -> None:
        self.s = snapshot
        # A file exported from another ledger company: its ids mean nothing here, its codes and names do.
        self.foreign_ids = foreign_ids
        self.ledger = snapshot.ledger_name if snapshot else "the ledger"
        self.problems: list[Problem] = []

    def missing(self, field: str, what: str, value: Any, within: str = "") -> Any:
        """Report ``value`` as not found; keep an explicit id (validation names it), drop a guess."""
        self.problems.append(Problem("not_found", f"{what} '{_show(value)}'{within} was not found in {self.ledger}; "
                                     "create it there (and refresh the connection) or edit the rule", field))
        return _parts(value)[0] if isinstance(value, Mapping) else None

    def account(self, value: Any, field: str) -> str | None:
        i, c, n = _parts(value)
        if value is None:
            return None
        if self.s is None:
            return i
        if isinstance(value, Mapping):  # an explicit id is authoritative: unknown is an error, not a guess
            i = None if self.foreign_ids else i
            hit = self.s.find_account(i, c, n)
            if hit is None and i is not None:
                return self.unknown_id(field, "Account", value, self.s.find_account(None, c, n))
        else:  # a bare value may be an id, a code or a name
            hit = self.s.find_account(i) or self.s.find_account(None, c, n)
        return hit.remote_id if hit is not None else self.missing(field, "Account", value)

    def vendor(self, value: Any, field: str) -> str | None:
        """A supplier rule's vendor: by id (authoritative, unless the file is another company's), else by name."""
        i, _c, n = _parts(value)
        if value is None or self.s is None:
            return i
        vendors = self.s.vendors
        explicit = isinstance(value, Mapping) and not self.foreign_ids
        if i is not None and i in vendors and (explicit or not isinstance(value, Mapping)):
            return i
        named = [v for v in vendors.values() if n and v.name.casefold() == n.casefold()]
        if explicit and i is not None:
            return self.unknown_id(field, "Vendor", value, named[0] if len(named) == 1 else None)
        return named[0].remote_id if len(named) == 1 else self.missing(field, "Vendor", value)

    def item(self, value: Any, field: str) -> str | None:
        i, c, n = _parts(value)
        if value is None or self.s is None:
            return i
        if isinstance(value, Mapping):
            i = None if self.foreign_ids else i
            hit = self.s.find_item(i, n or c)
            if hit is None and i is not None:
                return self.unknown_id(field, "Item", value, self.s.find_item(None, n or c))
        else:
            hit = self.s.find_item(i) or self.s.find_item(None, n or c)
        return hit.remote_id if hit is not None else self.missing(field, "Item", value)

    def unknown_id(self, field: str, what: str, value: Mapping[str, Any], named: RefRecord | None) -> str:
        """An explicit id the ledger does not have: reported (validation refuses the rule), never
        swapped for a code or name match — that may be another account with the same name."""
        i = str(value["id"])
        hint = (f"; the file also names '{_show({k: v for k, v in value.items() if k != 'id'})}', which is "
                f"id {named.remote_id} there — if that is the one you mean, correct the id or leave it out"
                if named is not None else "")
        self.problems.append(Problem("not_found", f"{what} id {i} was not found in {self.ledger}{hint}", field))
        return i

    def tax_code(self, value: Any, field: str) -> str | None:
        i, c, n = _parts(value)
        if value is None:
            return None
        if self.s is None:
            return i or c
        hit = self.s.find_tax_code(i or c, n)
        return hit.remote_id if hit is not None else self.missing(field, "Tax code", value)

    def tracking(self, value: Any, field: str) -> TrackingRef | None:
        if not isinstance(value, Mapping) or "category" not in value or "option" not in value:
            self.problems.append(Problem("bad_rule", "A tracking entry needs a 'category' and an 'option'", field))
            return None
        cat_i, cat_c, cat_n = _parts(value["category"])
        opt_i, opt_c, opt_n = _parts(value["option"])
        kind = (cat_n or cat_c or cat_i or "").lower()
        if kind in ("class", "department"):  # QBO
            if self.s is None:
                return TrackingRef(kind, opt_i or "", opt_n or "") if opt_i else None
            hit = self.s.find_tracking(kind, opt_i, opt_n or opt_c)
            if hit is None:
                self.missing(field, kind.capitalize(), value["option"])
                return None
            return TrackingRef(kind, hit.remote_id, hit.name)
        if self.s is None:
            return TrackingRef(cat_i, opt_i, opt_n or "") if cat_i and opt_i else None
        cat = self.s.find_tracking("category", cat_i, cat_n or cat_c)
        if cat is None:
            self.missing(field, "Tracking category", value["category"])
            return None
        opt = self.s.find_tracking("option", opt_i, opt_n or opt_c, parent_id=cat.remote_id)
        if opt is None:
            self.missing(field, "Tracking option", value["option"], f" of '{cat.name}'")
            return None
        return TrackingRef(cat.remote_id, opt.remote_id, opt.name)

    def match_field(self, value: Any, name: str, i: int, field: str) -> str | None:
        """A match field's text; None (with a problem) when it is not text the column can hold."""
        if value is None:
            return None
        text = str(value)
        limit = _MATCH_LENGTH[name]
        why = ("must be text, not a list or mapping" if isinstance(value, list | dict) else
               f"is longer than the {limit} characters it can hold" if len(text) > limit else
               "holds a NUL character or an unpaired surrogate" if _UNSTORABLE.search(text) else None)
        if why is None:
            return text
        self.problems.append(Problem("bad_rule", f"Rule {i + 1}: {name.replace('_', ' ')} {why}", field))
        return None

    def rule(self, raw: Any, i: int) -> Rule | None:
        f = f"rules[{i}]"
        if not isinstance(raw, Mapping):
            self.problems.append(Problem("bad_rule", f"Rule {i + 1} is not a mapping of fields", f))
            return None
        unknown = sorted(set(map(str, raw)) - _RULE_KEYS)
        if unknown:
            self.problems.append(Problem("bad_rule", f"Rule {i + 1} has unknown field(s) {', '.join(unknown)}; "
                                         f"known fields: {', '.join(sorted(_RULE_KEYS))}", f))
        try:
            component = Component(str(raw.get("component")))
        except ValueError:
            self.problems.append(Problem("bad_rule", f"Rule {i + 1}: component {raw.get('component')!r} is not one of "
                                         f"{', '.join(c.value for c in Component)}", f"{f}.component"))
            return None
        priority = raw.get("priority", 0)
        if isinstance(priority, bool) or not isinstance(priority, int | Decimal) or not _whole(priority):
            self.problems.append(Problem("bad_rule", f"Rule {i + 1}: priority must be a whole number from "
                                         f"{-_PRIORITY_MAX - 1} to {_PRIORITY_MAX}", f"{f}.priority"))
            priority = 0
        m = [self.match_field(raw.get(name), name, i, f"{f}.{name}") for name in MATCH_FIELDS]
        account = (self.vendor(raw.get("vendor"), f"{f}.vendor") if component in VENDOR_COMPONENTS
                   else self.account(raw.get("account"), f"{f}.account"))
        item = self.item(raw.get("item"), f"{f}.item")
        tax_code = self.tax_code(raw.get("tax_code"), f"{f}.tax_code")
        entries = raw.get("tracking") or []
        if not isinstance(entries, list):
            self.problems.append(Problem("bad_rule", f"Rule {i + 1}: tracking must be a list of entries with a "
                                         "'category' and an 'option'", f"{f}.tracking"))
            entries = []
        tracking = [self.tracking(t, f"{f}.tracking[{n}]") for n, t in enumerate(entries)]
        note = raw.get("note")
        if note is not None and _UNSTORABLE.search(str(note)):
            self.problems.append(Problem("bad_rule", f"Rule {i + 1}: the note holds a NUL character or an unpaired "
                                         "surrogate, which cannot be stored", f"{f}.note"))
            note = None
        return Rule(component, reason_code=m[0], disposition=m[1], channel=m[2], warehouse=m[3], currency=m[4],
                    tax_jurisdiction=m[5], priority=int(priority), account_id=account, item_id=item,
                    tax_code=tax_code, tracking=tuple(t for t in tracking if t is not None),
                    note=None if note is None else str(note))


def rules_from_document(document: Mapping[str, Any],
                        snapshot: ReferenceSnapshot | None) -> tuple[list[Rule], list[Problem]]:
    """The rules of a document with references resolved against ``snapshot``, and what failed.

    Without a snapshot, ids are taken as they are (nothing can be checked). An explicit id is
    authoritative — one this ledger lacks is a problem, never swapped for a code or name match —
    unless the document says it was exported from another company (``company``), whose ids mean
    nothing here: then its references resolve by code and name.
    """
    source = str(document.get("company") or "")
    reader = _Reader(snapshot, foreign_ids=bool(snapshot is not None and snapshot.company_id and source
                                                 and source != snapshot.company_id))
    platform = document.get("platform")
    if snapshot is not None and snapshot.platform and platform and platform != snapshot.platform:
        reader.problems.append(Problem("wrong_platform", f"This file is for {platform}, but the organization keeps "
                                       f"its books in {snapshot.ledger_name}; use a {snapshot.platform} file",
                                       "platform"))
    rules = [r for i, raw in enumerate(document.get("rules") or []) if (r := reader.rule(raw, i)) is not None]
    return rules, reader.problems


# --- templates -------------------------------------------------------------------------------


def template_names() -> list[str]:
    """The shipped templates (``qbo-us``, ``xero-nz``…)."""
    return sorted(p.stem for p in TEMPLATE_DIR.glob("*.yaml"))


def read_file(source: Path | IO[bytes], *, name: str | None = None) -> dict[str, Any]:
    """A mapping file (or standard input), at most :data:`MAPPING_FILE_LIMIT` bytes, parsed by :func:`loads`.

    Raises ``InputRejected`` for a file too large or unreadable, ``ValueError`` for one that is
    not a mapping document.
    """
    label = name or (source.name if isinstance(source, Path) else "the input")
    data = read_capped(source, MAPPING_FILE_LIMIT, name=label)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{label} is not UTF-8 text") from exc
    fmt = "json" if isinstance(source, Path) and source.suffix.lower() == ".json" else None
    return loads(text, fmt, name=label)


def load_template(name: str) -> dict[str, Any]:
    path = TEMPLATE_DIR / f"{name}.yaml"
    if not path.is_file():
        raise LookupError(f"no mapping template {name!r}; available: {', '.join(template_names())}")
    return loads(path.read_text(encoding="utf-8"), "yaml")


def default_template_name(platform: str, country: str) -> str:
    """The template for a ledger in ``country`` (ISO alpha-2); the platform's first one otherwise."""
    wanted = f"{platform}-{'uk' if country.upper() == 'GB' else country.lower()}"
    names = template_names()
    if wanted in names:
        return wanted
    same = [n for n in names if n.startswith(f"{platform}-")]
    if not same:
        raise LookupError(f"no mapping template for {platform}")
    return same[0]


def apply_template(template: Mapping[str, Any] | str,
                   snapshot: ReferenceSnapshot) -> tuple[list[Rule], list[Problem]]:
    """A template (document or shipped name) turned into rules for this ledger, plus what was not found."""
    document = load_template(template) if isinstance(template, str) else template
    return rules_from_document(document, snapshot)
