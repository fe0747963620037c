"""``returns-ledger preview --org ORG --return RMA [--json]``: the documents a return would post.

Loads the latest revision of the return and plans it with the sync's own planner
(:mod:`desktop.services.pipeline.plan`: the same mapping, reference data, settings and exchange rates —
QuickBooks' own rate first, then the entered ones), so it shows exactly what the sync would post,
and prints every document with its balanced debit/credit view (and the home-currency view for a
foreign return), then every problem pre-flight found. Nothing is posted. Exit codes: 0 the
documents could post, 1 pre-flight would quarantine them, 2 error.
"""

from __future__ import annotations

import argparse
from decimal import Decimal
from typing import Any

from desktop.commands import emit
from desktop.services.core.config import AppConfig


def _table(journal: list[dict[str, Any]], currency: str) -> list[str]:
    width = max([len(str(j["account"])) for j in journal] + [7])
    rows = [f"    {'Account':<{width}}  {'Debit':>14}  {'Credit':>14}  Memo"]
    debit = credit = Decimal(0)
    for j in journal:
        d, c = j["debit"], j["credit"]
        debit += Decimal(d) if d else Decimal(0)
        credit += Decimal(c) if c else Decimal(0)
        rows.append(f"    {j['account']:<{width}}  {d or '':>14}  {c or '':>14}  {j['memo']}")
    rows.append(f"    {'Total ' + currency:<{width}}  {debit:>14}  {credit:>14}  "
                f"{'balanced' if debit == credit else 'NOT BALANCED'}")
    return rows


def render_text(org: str, rma: str, revision: int, docs: list[dict[str, Any]], problems: list[dict[str, Any]]) -> str:
    """The human preview: one block per document, then the problems."""
    out = [f"{org} {rma} revision {revision}: {len(docs)} document(s)"]
    for d in docs:
        out.append("")
        out.append(f"  {d['doc_type']} ({d['role']})  key {d['key']}  date {d['date']}  total {d['total']} "
                   f"{d['currency']}" + (f"  after {d['depends_on']}" if d.get("depends_on") else ""))
        out += _table(d["journal"], d["currency"])
        if d.get("fx"):
            fx = d["fx"]
            flags = f" flags {', '.join(fx['flags'])}" if fx["flags"] else ""
            shown = f"{Decimal(fx['rate']):.8f}".rstrip("0").rstrip(".")
            exact = "" if shown == fx["rate"] else " (rounded for display)"
            ledger = f"; ledger figure {fx['ledger_rate']}" if fx.get("ledger_rate") not in (None, fx["rate"]) else ""
            out.append(f"    rate {shown}{exact} {fx['home_currency']} per {fx['currency']} as of {fx['as_of']} "
                       f"({fx['source']}{ledger}){flags}")
            if d.get("home_journal") and d["currency"] != fx["home_currency"]:
                out += _table(d["home_journal"], fx["home_currency"])
        out += [f"    note: {n}" for n in d.get("notes", [])]
    out.append("")
    if problems:
        out.append(f"Pre-flight would quarantine this return ({len(problems)} problem(s)):")
        out += [f"  - [{p['code']}] {p['message']}" + (f" ({p['field']})" if p.get("field") else "") for p in problems]
    else:
        out.append("Pre-flight: OK — these documents would post.")
    return "\n".join(out)


def _preview(args: argparse.Namespace, config: AppConfig) -> int:
    import sqlalchemy as sa
    from sqlalchemy.orm import selectinload

    from desktop.services.core.errors import NeedsPersonError
    from desktop.services.mapping.service import MappingService
    from desktop.services.pipeline.plan import Planner, connector_rates
    from desktop.services.runtime import open_runtime
    from desktop.services.store.models import Return
    with open_runtime(config) as rt:
        mapping = MappingService(rt.database, rt.clock, rt.bus)
        # The sync's own planner: the same rates (the ledger's, then the entered ones) as it posts with.
        planner = Planner(rt.database, rt.clock, mapping, connector_rates(rt.connections))
        ctx = planner.context(args.org)
        with rt.database.session() as session:
            row = session.execute(
                sa.select(Return).where(Return.organization_id == ctx.id,
                                        sa.or_(Return.rma_number == args.ret, Return.rms_id == args.ret))
                .order_by(Return.revision.desc()).limit(1)
                .options(selectinload(Return.lines), selectinload(Return.fees), selectinload(Return.tax_lines))
            ).scalar_one_or_none()
            if row is None:
                raise NeedsPersonError(f"{args.org} has no return {args.ret!r}",
                                       action="pull returns from the RMS first (or check the RMA number)")
            record = ctx.record(row)
        plan = planner.plan(ctx, record)
    docs, problems = plan.documents, plan.problems
    data = {"organization": args.org, "return": record.rma_number,
            "revision": record.revision, "mapping_version": ctx.resolver.version,
            "refund": f"{record.computed_refund().amount:f}", "currency": record.currency,
            "documents": [d.to_json() for d in docs],
            "problems": [{"code": p.code, "message": p.message, "field": p.field} for p in problems]}
    emit(args, data, render_text(args.org, record.rma_number, record.revision, data["documents"], data["problems"]))
    return 1 if problems else 0


def register(sub: Any, common: argparse.ArgumentParser, json_opt: argparse.ArgumentParser) -> None:
    p = sub.add_parser("preview", parents=[common, json_opt],
                       help="show the ledger documents a return would produce, with pre-flight's verdict")
    p.add_argument("--org", required=True, help="organization code, e.g. ACME-US")
    p.add_argument("--return", dest="ret", required=True, metavar="RMA", help="RMA number (or RMS id) of the return")
    p.set_defaults(handler=_preview)
