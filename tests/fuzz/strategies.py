"""Generators for the fuzz suite: RMS records, CSV exports, mapping files, webhook bodies.

Records start valid (a return that parses clean against :data:`CTX`) and are then damaged where it
hurts: a field replaced by a hostile value, deleted, or the whole record replaced by any JSON
value. Hostile values are what broke the app before or could: amounts beyond any column, too many
decimals, numbers instead of strings, times that leave the calendar, text with NUL or unpaired
surrogates (PostgreSQL and SQLite refuse both), formula prefixes, very long text, deep nesting.

Every record carries a unique ``_fuzz`` marker, so two records are never the same payload and a
record's id, when it has one, is unique too: the suite can then demand that each record comes out
ingested or quarantined — none merged, none dropped.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from desktop.services.core.domain import FEE_REFUND_SIGN
from desktop.services.core.enums import FeeType
from desktop.services.rms.context import KNOWN_DISPOSITIONS, KNOWN_REASON_CODES, Jurisdiction, OrgContext

__all__ = ["CSV_HEADER", "CTX", "CTX_JSON", "WEBHOOK_NOW", "Deep", "batch_with_copies", "csv_export",
           "damaged_records", "hostile", "json_text", "mapping_documents", "nest", "refund_total", "shallow",
           "valid_record", "webhook_payloads"]

JURISDICTIONS = {"US-CA": Decimal("0.0725"), "US-NY": Decimal("0.04")}
CTX_JSON: dict[str, Any] = {
    "code": "FUZZ", "name": "Fuzz Inc.", "country": "US", "home_currency": "USD", "currencies": ["USD", "CAD"],
    "timezone": "America/New_York",
    "tax_jurisdictions": [{"code": c, "name": c, "rate": format(r, "f")} for c, r in JURISDICTIONS.items()],
}
CTX = OrgContext(org_code="FUZZ", currencies=("USD", "CAD"),
                 jurisdictions={c: Jurisdiction(c, c, r) for c, r in JURISDICTIONS.items()}, home_currency="USD")
REASONS = sorted(KNOWN_REASON_CODES)
DISPOSITIONS = sorted(KNOWN_DISPOSITIONS)
CENT = Decimal("0.01")


class Deep:
    """A list nested ``depth`` deep, kept as a marker until it is written as JSON (:func:`json_text`):
    hypothesis prints falsifying examples recursively, and a real 900-deep list would stop it."""

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def __repr__(self) -> str:
        return f"Deep({self.depth})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Deep) and other.depth == self.depth

    def __hash__(self) -> int:
        return hash(("Deep", self.depth))


def nest(depth: int) -> Deep:
    """A list nested ``depth`` deep (as a :class:`Deep` marker)."""
    return Deep(depth)


def json_text(value: Any) -> str:
    """``value`` as a JSON encoder would send it: non-ASCII as ``\\u`` escapes (so an unpaired
    surrogate travels as ``\\ud800``), a Decimal in its own digits (``1E+999999`` stays that short),
    a :class:`Deep` as its nested lists."""
    subs: list[str] = []

    def swap(v: Any) -> Any:
        if isinstance(v, Deep | Decimal):
            subs.append("[" * v.depth + "]" * v.depth if isinstance(v, Deep) else str(v))
            return f"\x01{len(subs) - 1}\x01"
        if isinstance(v, dict):
            return {k: swap(x) for k, x in v.items()}
        if isinstance(v, list):
            return [swap(x) for x in v]
        return v

    text = json.dumps(swap(value))
    return re.sub(r'"\\u0001(\d+)\\u0001"', lambda m: subs[int(m.group(1))], text)


# --- hostile values ---------------------------------------------------------------------------------

HOSTILE_TEXTS = (
    "", " ", "\t", "\x00", "a\x00b", "\ud800", "x\udfffy", "\u202eevil", "=HYPERLINK(\"http://x\",\"y\")",
    " =1+1", "＝1+1", "@SUM(A1)", "🙂" * 70, "x" * 65, "y" * 256, "NaN", "null", "-0", "💥\n\r\n",
    "O'Brien, \"Jr\"", "ＵＳＤ", "usd", "XXX", "US-CA ", "DAMAGED\x00",
)
AMOUNT_TEXTS = (
    "99999999999999999999999999.00", "92233720368547758.07", "-92233720368547758.08", "1e5", "1E+999999",
    "1.005", "-0.00", "0.001", "00012.50", " 12.50 ", "12,50", "١٢٫٥٠", "+5.00", "5.", ".5", "9" * 5000,
    "0." + "0" * 5000 + "1", "-" + "9" * 30 + ".00", "12.50\x00", "Infinity", "NaN", "0x10", "1_000.00",
)
TIME_TEXTS = (
    "2026-02-30T00:00:00Z", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2026-11-27T09:30:00Z",
    "2026-11-27T09:30:00.123456789123Z", "2026-11-27 09:30:00Z", "2026-11-27T09:30:00", "2026-11-27",
    "2026-11-27T24:00:00Z", "2026-11-27T09:30:00+24:00", "yesterday", "",
)
INT_TEXTS = ("0", "-1", "2147483648", "9" * 5000, "1.0", "1e3", " 7 ", "٣", "+2")

#: JSON numbers as the app reads them (Decimal, never float), including ones no column can hold.
numbers = st.one_of(st.integers(min_value=-(2**80), max_value=2**80),
                    st.decimals(allow_nan=False, allow_infinity=False),
                    st.sampled_from([Decimal("1E+999999999"), Decimal("-1E-999999"), Decimal("0.10"), 10**4000]))
texts = st.one_of(st.sampled_from(HOSTILE_TEXTS), st.text(max_size=12),
                  st.text(st.characters(codec="utf-8"), max_size=80))


#: Nesting depths: shallow, just past the app's cap (64), past the stack's patience, past the parser's.
DEPTHS = (2, 65, 400, 900, 5_000)
deep = st.sampled_from(DEPTHS).map(Deep)
#: Any value a field might hold, but not nested: where a deep value would only get a whole file refused.
shallow = st.one_of(
    st.none(), st.booleans(), numbers, texts, st.sampled_from(AMOUNT_TEXTS), st.sampled_from(TIME_TEXTS),
    st.sampled_from(INT_TEXTS), st.lists(st.one_of(st.none(), st.integers(), texts), max_size=3),
    st.dictionaries(st.text(max_size=4), st.one_of(st.none(), texts), max_size=3),
)
#: Any value a field might hold.
hostile = st.one_of(shallow, deep)


any_json = st.recursive(st.one_of(st.none(), st.booleans(), numbers, texts),
                        lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                        max_leaves=12)


# --- records -----------------------------------------------------------------------------------------

def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any], one_in: int = 5) -> st.SearchStrategy[Any]:
    """``good`` mostly, ``bad`` one time in ``one_in`` (``st.one_of`` would weigh every alternative
    of a flattened ``bad`` as much as ``good``)."""
    return st.integers(min_value=1, max_value=one_in).flatmap(lambda k: bad if k == 1 else good)


def _money(units: int) -> str:
    return format(Decimal(units) * CENT, "f")


def valid_record(n: int, rng: random.Random, *, lines: int | None = None) -> dict[str, Any]:
    """A return that parses clean against :data:`CTX`; ``n`` makes its id and RMA unique."""
    currency = rng.choice(CTX.currencies)
    out_lines = []
    for i in range(lines if lines is not None else rng.randint(1, 3)):
        qty, price = rng.randint(1, 5), rng.randint(1, 50_000)
        taxes = []
        for code in rng.sample(sorted(JURISDICTIONS), rng.randint(0, 2)):
            tax = rng.randint(0, price)
            taxes.append({"jurisdiction": code, "rate": format(JURISDICTIONS[code], "f"), "amount": _money(tax)})
        out_lines.append({"line_id": f"ln_{i + 1}", "sku": f"SKU-{rng.randint(1, 999)}",
                          "description": rng.choice(["Widget", "", "Gadget, blue"]), "quantity": qty,
                          "unit_price": _money(price), "reason_code": rng.choice(REASONS),
                          "disposition": rng.choice(DISPOSITIONS), "tax": taxes})
    fees = []
    for fee_type in rng.sample(list(FeeType), rng.randint(0, 2)):
        amount = rng.randint(1, 2_000)
        fees.append({"type": fee_type.value, "amount": _money(amount)})
    return {
        "_fuzz": n, "id": f"ret_{n:06d}", "rma_number": f"RMA-{n:06d}", "revision": rng.randint(1, 3),
        "organization": CTX.org_code,
        "customer": {"id": f"cus_{rng.randint(1, 99)}", "name": "Ada Lovelace", "email": "ada@example.com"},
        "channel": "web", "warehouse": "WH-1", "currency": currency,
        "created_at": "2026-11-20T10:15:00.000Z", "updated_at": "2026-11-21T10:15:00+01:00",
        "refund_method": rng.choice(["original_payment", "store_credit", "exchange"]), "status": "received",
        "lines": out_lines, "fees": fees, "refund_total": refund_total(out_lines, fees),
    }


def refund_total(lines: list[dict[str, Any]], fees: list[dict[str, Any]]) -> str:
    """What a return's lines, their tax and its fees come to (the contract's ``refund_total``)."""
    total = Decimal(0)
    for line in lines:
        total += Decimal(line["quantity"]) * Decimal(line["unit_price"])
        total += sum((Decimal(t["amount"]) for t in line["tax"]), Decimal(0))
    for fee in fees:
        total += Decimal(fee["amount"]) * FEE_REFUND_SIGN[FeeType(fee["type"])]
    return format(total.quantize(CENT), "f")


def _paths(record: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Every place a value sits in ``record`` (dict keys and list indexes), the marker excepted."""
    out: list[tuple[Any, ...]] = []

    def walk(value: Any, path: tuple[Any, ...]) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if path or key != "_fuzz":
                    out.append((*path, key))
                    walk(item, (*path, key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                out.append((*path, i))
                walk(item, (*path, i))

    walk(record, ())
    return out


def _damage(record: dict[str, Any], path: tuple[Any, ...], value: Any, delete: bool) -> None:
    parent: Any = record
    for step in path[:-1]:
        parent = parent[step]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value


@st.composite
def damaged_record(draw: st.DrawFn, n: int) -> Any:
    """Record ``n``: valid, damaged in one to three places, or any JSON value at all."""
    record = valid_record(n, random.Random(draw(st.integers(0, 2**32))))
    kind = draw(st.sampled_from(["valid", "damaged", "damaged", "damaged", "anything"]))
    if kind == "anything":
        value = draw(any_json)
        return {"_fuzz": n, "junk": value} if draw(st.booleans()) else value
    if kind == "damaged":
        for _ in range(draw(st.integers(1, 3))):
            paths = _paths(record)
            if not paths:
                break
            path = draw(st.sampled_from(paths))
            value = draw(hostile)
            if path == ("id",) and isinstance(value, str) and value.strip():
                value = f"{value}#{n}"  # ids stay unique: a collision is the source's, not the fuzzer's
            _damage(record, path, value, delete=draw(st.integers(0, 4)) == 0)
    return record


def damaged_records(max_size: int = 12) -> st.SearchStrategy[list[Any]]:
    """A batch of records, each unique (see the module docstring)."""
    return st.integers(min_value=0, max_value=max_size).flatmap(
        lambda size: st.tuples(*(damaged_record(i) for i in range(size))).map(_distinct))


def _distinct(records: tuple[Any, ...]) -> list[Any]:
    """The records less exact repeats (a repeat is the same record again: ingest keeps it once)."""
    seen: set[str] = set()
    out = []
    for rec in records:
        text = json_text(rec)
        if text not in seen:
            seen.add(text)
            out.append(rec)
    return out


@st.composite
def batch_with_copies(draw: st.DrawFn, max_returns: int = 6, max_copies: int = 8) -> list[dict[str, Any]]:
    """Valid records plus copies of some of them — identical, or the same (id, revision) with other
    content (still valid, or damaged) — in any order: what a sloppy export or a replaying RMS sends."""
    rng = random.Random(draw(st.integers(min_value=0, max_value=2**32 - 1)))
    base = [valid_record(n, rng) for n in range(draw(st.integers(min_value=1, max_value=max_returns)))]
    out = list(base)
    for _ in range(draw(st.integers(min_value=0, max_value=max_copies))):
        rec = dict(draw(st.sampled_from(base)))
        kind = draw(st.sampled_from(["same", "other_name", "other_total", "damaged"]))
        if kind == "other_name":
            rec["customer"] = {**rec["customer"], "name": draw(st.sampled_from(["Bob", "=cmd()", "Ada  Lovelace"]))}
        elif kind == "other_total":
            rec["refund_total"] = _money(draw(st.integers(min_value=0, max_value=10**6)))
        elif kind == "damaged":
            rec["lines"] = draw(shallow)  # in process: no Deep stand-ins (those are for the wire)
        out.insert(draw(st.integers(min_value=0, max_value=len(out))), rec)
    return out


# --- CSV exports -------------------------------------------------------------------------------------

CSV_HEADER = ["id", "rma_number", "revision", "organization", "customer_id", "customer_name", "customer_email",
              "channel", "warehouse", "currency", "created_at", "updated_at", "refund_method", "status",
              "refund_total", "line_id", "sku", "description", "quantity", "unit_price", "reason_code",
              "disposition", "tax_US-CA", "tax_rate_US-CA", "restocking_fee", "fee_type", "fee_amount"]


def _csv_rows(record: dict[str, Any]) -> list[dict[str, str]]:
    """A valid record as CSV rows (one per line, fees as columns/rows)."""
    base = {k: str(record[k]) for k in ("id", "rma_number", "revision", "channel", "warehouse",
                                        "currency", "created_at", "updated_at", "refund_method", "status",
                                        "refund_total")}
    base["organization"] = ""  # the import's organization
    base.update(customer_id=record["customer"]["id"], customer_name=record["customer"]["name"],
                customer_email=record["customer"]["email"])
    rows = []
    for line in record["lines"]:
        row = dict(base, line_id=line["line_id"], sku=line["sku"], description=line["description"],
                   quantity=str(line["quantity"]), unit_price=line["unit_price"], reason_code=line["reason_code"],
                   disposition=line["disposition"])
        for tax in line["tax"]:
            if tax["jurisdiction"] == "US-CA":
                row["tax_US-CA"], row["tax_rate_US-CA"] = tax["amount"], tax["rate"]
        rows.append(row)
    for fee in record["fees"]:
        rows.append({**{k: "" for k in base}, "id": base["id"], "revision": base["revision"],
                     "currency": base["currency"], "fee_type": fee["type"], "fee_amount": fee["amount"]})
    return rows


@st.composite
def csv_export(draw: st.DrawFn, max_returns: int = 10) -> tuple[str, int]:
    """A CSV export of up to ``max_returns`` returns with damaged cells, and how many records it holds.

    A return keeps one id on all its rows (unique per return), or has none: then each of its rows
    is a record of its own; a damaged revision on one of its rows splits it in two. Cells are
    damaged as text (CSV has nothing else).
    """
    rows: list[dict[str, str]] = []
    for n in range(draw(st.integers(0, max_returns))):
        record = valid_record(n, random.Random(draw(st.integers(0, 2**32))))
        # US-NY tax has no column here: keep the lines' tax to what the CSV can state
        for line in record["lines"]:
            line["tax"] = [t for t in line["tax"] if t["jurisdiction"] == "US-CA"]
        record["refund_total"] = refund_total(record["lines"], record["fees"])
        mine = _csv_rows(record)
        for _ in range(draw(st.integers(0, 3))):
            row = draw(st.sampled_from(mine))
            column = draw(st.sampled_from(CSV_HEADER))
            cell = draw(st.one_of(st.sampled_from(HOSTILE_TEXTS), st.sampled_from(AMOUNT_TEXTS),
                                  st.sampled_from(TIME_TEXTS), st.text(st.characters(codec="utf-8"), max_size=30)))
            if column == "id":
                cell = "" if not cell.strip() else f"{cell}#{n}"
                for other in mine:
                    other["id"] = cell  # the return's id is the same on all its rows
            else:
                row[column] = cell
        rows.extend(mine)
    # The format's rule (docs/rms-file-import.md): rows are grouped into returns by id and revision;
    # a row without an id is a record of its own; a blank row is skipped.
    groups = set()
    for number, row in enumerate(rows):
        if any(str(v).strip() for v in row.values()):
            groups.add((row["id"].strip(), row["revision"].strip()) if row["id"].strip() else ("", str(number)))
    expected = len(groups)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_HEADER, lineterminator="\r\n", restval="")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue(), expected


# --- mapping files ---------------------------------------------------------------------------------

COMPONENTS = ["merchandise", "tax", "restocking_fee", "return_shipping_charged", "outbound_shipping_refunded",
              "label_cost", "refund", "clearing"]


def _rule() -> st.SearchStrategy[dict[str, Any]]:
    ref = st.one_of(st.text(max_size=10), st.fixed_dictionaries(
        {}, optional={"id": st.one_of(texts, numbers), "code": texts, "name": texts}), shallow)
    return st.fixed_dictionaries(
        {"component": mostly(st.sampled_from(COMPONENTS), shallow)},
        optional={"reason_code": mostly(st.sampled_from(REASONS), shallow), "channel": shallow,
                  "currency": mostly(st.sampled_from(["USD", "CAD"]), shallow), "warehouse": shallow,
                  "tax_jurisdiction": shallow, "priority": mostly(st.integers(-5, 5), shallow),
                  "account": ref, "item": ref, "tax_code": ref, "note": shallow,
                  "tracking": mostly(st.lists(mostly(st.fixed_dictionaries({"category": ref, "option": ref}),
                                                     shallow), max_size=3), shallow),
                  "surprise": shallow})


def mapping_documents() -> st.SearchStrategy[Any]:
    """A mapping document (mostly of the right shape; now and then too deep), or anything at all."""
    doc = st.fixed_dictionaries(
        {"rules": mostly(st.lists(mostly(_rule(), shallow), max_size=6), hostile)},
        optional={"format": mostly(st.just("returns-ledger-mapping/1"), shallow),
                  "platform": mostly(st.sampled_from(["qbo", "xero"]), shallow),
                  "organization": shallow, "version": shallow})
    return mostly(doc, any_json)


# --- webhook bodies --------------------------------------------------------------------------------

#: The webhook fuzz's clock; the times in its payloads are mostly near it.
WEBHOOK_NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _near(fmt: str) -> st.SearchStrategy[str]:
    """Times within 20 minutes of :data:`WEBHOOK_NOW` (the window is 15), in one platform's spelling."""
    def spell(seconds: int) -> str:
        at = WEBHOOK_NOW + timedelta(seconds=seconds)
        if fmt == "cloud":
            return at.isoformat().replace("+00:00", "Z")
        if fmt == "legacy":
            return at.astimezone(timezone(timedelta(hours=-8))).strftime("%Y-%m-%dT%H:%M:%S.000%z")
        return at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]  # Xero: no zone
    return st.integers(min_value=-1200, max_value=1200).map(spell)


def webhook_payloads() -> st.SearchStrategy[Any]:
    """Deliveries shaped like QBO's two formats and Xero's, damaged, plus anything at all."""
    field = st.one_of(texts, hostile, st.sampled_from(TIME_TEXTS))
    ids = mostly(st.sampled_from(["ev-1", "ev-2", "ev-3", "ev-4"]), field)
    cloud = st.fixed_dictionaries({"id": ids, "time": mostly(_near("cloud"), field)}, optional={
        "specversion": field, "type": mostly(st.just("qbo.creditmemo.created.v1"), field),
        "intuitentityid": field, "intuitaccountid": field, "data": field})
    entity = st.fixed_dictionaries({"lastUpdated": mostly(_near("legacy"), field)},
                                   optional={"name": field, "id": field, "operation": field})
    legacy = st.fixed_dictionaries({"eventNotifications": mostly(st.lists(mostly(st.fixed_dictionaries(
        {"realmId": field, "dataChangeEvent": mostly(st.fixed_dictionaries(
            {"entities": mostly(st.lists(mostly(entity, field), max_size=4), field)}), field)}), field),
        max_size=3), field)})
    xero_event = st.fixed_dictionaries({"eventDateUtc": mostly(_near("xero"), field)}, optional={
        "resourceId": field, "eventType": field, "eventCategory": field, "tenantId": field, "resourceUrl": field})
    xero = st.fixed_dictionaries({"events": mostly(st.lists(mostly(xero_event, field), max_size=4), field)},
                                 optional={"firstEventSequence": field, "entropy": field})
    return mostly(st.one_of(st.lists(mostly(cloud, field), max_size=4), legacy, xero), any_json)
