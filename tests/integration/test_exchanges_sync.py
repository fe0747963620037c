"""Issue 16 item 3 end to end, with the real commands: the RMS publishes exchanges that state their
replacement goods (even, cheaper, dearer), ``sync --once`` posts them through ingest, recipes,
pre-flight, the outbox and the poster, and ``reconcile --json`` ties out — per currency, ledger −
expected = difference = explained. An even exchange, one refunding the difference and one the
customer pays a difference on (a sales receipt / an invoice and its payment) are all posted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from desktop.cli import main
from desktop.services.auth.vault import TokenVault
from desktop.services.core.clock import SystemClock
from desktop.services.core.enums import ReturnSyncStatus
from desktop.services.store.db import Database
from desktop.services.store.models import LedgerConnection, OutboxDocument, Return
from desktop.services.store.models.returns import QuarantineReason
from tests.helpers.sandbox import SandboxHandle

pytestmark = [pytest.mark.db, pytest.mark.slow]

ORGS = {"KIWI-NZ": "CreditNote", "ACME-US": "CreditMemo"}


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr().out
    return code, json.loads(out, parse_float=Decimal) if out.strip() else {}


def test_exchanges_post_and_reconcile_on_both_platforms(sandbox: SandboxHandle, db_url: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    where = ["--data-dir", str(tmp_path / "data"), "--db", db_url]
    root = sandbox.control_url.rsplit("/_sandbox", 1)[0]
    assert main(["demo", "init", "--sandbox", root, "--json", *where]) == 0
    db = Database(db_url)
    today = datetime.now(UTC).date()
    start, end = today - timedelta(days=120), today + timedelta(days=2)
    try:
        made = {org: sandbox.control("POST", "rms/generate", {"org": org, "count": 12, "seed": 16, "exchanges": 1})
                ["generated"] for org in ORGS}
        for org in ORGS:
            code, synced = _cli(capsys, "sync", "--once", "--org", org, "--json", *where)
            assert code in (0, 1), synced
        for org, ids in made.items():
            with db.session() as s:
                rows = list(s.scalars(sa.select(Return).where(Return.rms_id.in_(ids))))
                assert len(rows) == len(ids)
                by_status: dict[str, list[Decimal]] = {}
                for row in rows:
                    total = row.refund_total
                    assert total is not None
                    by_status.setdefault(row.sync_status.value, []).append(total.amount)
                    reasons = {q.code for q in s.scalars(sa.select(QuarantineReason).where(
                        QuarantineReason.return_id == row.id))}
                    # even, the difference refunded, or the difference charged: all in the ledger
                    assert row.sync_status is ReturnSyncStatus.POSTED, (org, row.rma_number, reasons)
                    docs = list(s.scalars(sa.select(OutboxDocument).where(OutboxDocument.return_id == row.id)))
                    assert docs and all(d.remote_id for d in docs)
                    roles = {d.role for d in docs}
                    if total.amount == 0:  # goods and tax only (the merchant's label cost, the goods at cost)
                        assert roles <= {"credit_memo", "credit_note", "label_journal", "goods_journal"}, roles
                    elif total.amount < 0:  # the customer pays: a sales receipt, or an invoice and its payment
                        assert roles & {"sales_receipt", "charge_payment"}, roles
                    else:
                        assert roles & {"refund_receipt", "refund_payment"}, roles
                posted = by_status.get("posted", [])
                assert any(t == 0 for t in posted) and any(t > 0 for t in posted), (org, by_status)
                assert any(t < 0 for t in posted), (org, by_status)
            even = next(r for r in rows if r.refund_total is not None and r.refund_total.amount == 0)
            code, shown = _cli(capsys, "preview", "--org", org, "--return", even.rma_number, "--json", *where)
            assert code == 0 and shown["refund"] == "0.00", shown  # the preview shows the goods both ways
            journal = shown["documents"][0]["journal"]
            assert any(j["memo"].startswith("Exchange: ") and j["credit"] for j in journal), journal
            assert shown["documents"][0]["balanced"] and shown["documents"][0]["total"] == "0.00"
            code, data = _cli(capsys, "reconcile", "--org", org, "--from", start.isoformat(), "--to", end.isoformat(),
                              "--json", *where)
            assert code == 0, data
            rows_by_cur = data["totals"]["by_currency"]
            assert rows_by_cur
            for cur, row in rows_by_cur.items():
                assert Decimal(row["difference"]) == Decimal(row["explained"]), (org, cur, row)
                assert Decimal(row["ledger"]) - Decimal(row["expected"]) == Decimal(row["difference"]), (cur, row)
            with db.session() as s:
                held = {r.rma_number: r.refund_total for r in s.scalars(sa.select(Return).where(
                    Return.rms_id.in_(ids)))}
            assert not [v for v in data["variances"] if v["rma"] in held], data["variances"]  # ours: none
    finally:
        with db.session() as s:
            refs = list(s.scalars(sa.select(LedgerConnection.credential_ref)))
        vault = TokenVault(SystemClock())
        for ref in refs:  # leave no demo grant in the keyring
            vault.forget(ref)
        db.dispose()
