"""``preview`` shows exactly what the sync posts: every return of the four demo companies, field by field.

The demo world is built the way ``demo init`` builds it (the four sandbox companies connected
through the real sign-in flow, the RMS remembered, the demo's entered exchange rates, the default
mappings), the RMS's returns are ingested by the app's own ingest service, and then:

1. the ``preview`` command runs (in-process, through its own entry point, a fresh runtime per
   return as the CLI has) for every return waiting to be planned, and prints its JSON;
2. the sync engine plans the same returns into the outbox (or quarantines them).

For every return the sync queued, the outbox rows (key, role, type, date, currency, total,
dependency, the payload that will be sent — its exchange rate included) equal the previewed
documents; for every return it quarantined, the preview names exactly the same problems. Among
them are the QuickBooks companies' foreign-currency returns, whose rate only QuickBooks has (the
demo enters rates for the Xero organizations only): a preview that planned with other rates than
the sync — e.g. only the organization's entered ones — fails this test.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from desktop.commands.preview import _preview
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.config import AppConfig, sqlite_url
from desktop.services.demo import set_up_demo
from desktop.services.mapping.service import MappingService
from desktop.services.pipeline.documents import jsonable
from desktop.services.pipeline.engine import SyncEngine
from desktop.services.rms.client import RmsClient
from desktop.services.rms.ingest import IngestService
from desktop.services.runtime import open_runtime
from desktop.services.store.models import (
    LedgerConnection,
    Organization,
    OutboxDocument,
    QuarantineReason,
    Return,
    ReturnSyncStatus,
)
from tests.helpers.sandbox import SandboxHandle

pytestmark = pytest.mark.slow

ADMIN = Actor("alice", Role.ADMIN)
DEMO_ORGS = {"ACME-US": "USD", "MAPLE-CA": "CAD", "KIWI-NZ": "NZD", "TEA-UK": "GBP"}


@pytest.fixture
def config(tmp_path: Path, sandbox: SandboxHandle) -> Iterator[AppConfig]:
    """A data directory set up as ``demo init`` does, with the RMS's returns ingested."""
    cfg = AppConfig(tmp_path, sqlite_url(tmp_path / "returns-ledger.sqlite3"))
    with open_runtime(cfg) as rt:
        mapping = MappingService(rt.database, rt.clock, rt.bus)
        done = set_up_demo(rt.database, rt.bus, rt.clock, rt.vault, rt.connections, mapping, ADMIN, sandbox.info)
        assert {org.code for org, _summary in done.connected} == set(DEMO_ORGS)
        rms = sandbox.info["rms"]
        ingest = IngestService(rt.database, rt.bus, rt.clock)
        client = RmsClient(rms["base_url"], rms["api_key"])
        for org in DEMO_ORGS:
            ingest.pull(org, client)
    try:
        yield cfg
    finally:
        with open_runtime(cfg) as rt:
            with rt.database.session() as s:
                refs = list(s.scalars(sa.select(LedgerConnection.credential_ref)))
            for ref in refs:
                rt.vault.forget(ref)


def _waiting(cfg: AppConfig) -> list[tuple[str, str, int]]:
    """(organization, RMA, return row id) of every revision the sync will plan."""
    with open_runtime(cfg) as rt, rt.database.session() as s:
        return [(code, rma, rid) for code, rma, rid in s.execute(
            sa.select(Organization.code, Return.rma_number, Return.id).join(Organization)
            .where(Return.sync_status == ReturnSyncStatus.NEW).order_by(Organization.code, Return.id))]


def _preview_json(cfg: AppConfig, org: str, rma: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    args = argparse.Namespace(org=org, ret=rma, json=True)
    capsys.readouterr()
    code = _preview(args, cfg)
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert code == (1 if out["problems"] else 0)
    return out


def _same(value: Any) -> Any:
    """A stored payload as the preview prints it: every number as its exact decimal text (the
    database hands a whole number back as an int, the recipes hold it as a Decimal)."""
    if isinstance(value, dict):
        return {k: _same(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_same(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return jsonable(value)


def test_preview_equals_sync_for_every_demo_return(config: AppConfig, capsys: pytest.CaptureFixture[str]) -> None:
    waiting = _waiting(config)
    assert len(waiting) >= 200 and {org for org, _rma, _rid in waiting} == set(DEMO_ORGS)
    previews = {rid: _preview_json(config, org, rma, capsys) for org, rma, rid in waiting}

    with open_runtime(config) as rt:
        mapping = MappingService(rt.database, rt.clock, rt.bus)
        engine = SyncEngine(rt.database, rt.bus, rt.clock, rt.connections, mapping, lambda _org: None)
        for org in DEMO_ORGS:
            engine.plan(org)
        with rt.database.session() as s:
            queued: dict[int, list[OutboxDocument]] = {}
            for row in s.scalars(sa.select(OutboxDocument).order_by(OutboxDocument.id)):
                assert row.return_id is not None
                queued.setdefault(row.return_id, []).append(row)
            reasons: dict[int, set[tuple[str, str]]] = {}
            for reason in s.scalars(sa.select(QuarantineReason)):
                reasons.setdefault(reason.return_id, set()).add((reason.code, reason.message))
            status = {i: st for i, st in s.execute(sa.select(Return.id, Return.sync_status))}
            currency = {i: cur for i, cur in s.execute(sa.select(Return.id, Return.currency))}
            org_of = {rid: org for org, _rma, rid in waiting}

    foreign_qbo = 0
    for rid, preview in previews.items():
        if status[rid] is ReturnSyncStatus.QUARANTINED:
            assert {(p["code"], p["message"]) for p in preview["problems"]} == reasons[rid], preview["return"]
            continue
        assert status[rid] is ReturnSyncStatus.READY and preview["problems"] == [], preview["return"]
        rows = queued[rid]
        docs = preview["documents"]
        assert [d["key"] for d in docs] == [r.idempotency_key for r in rows], preview["return"]
        for doc, row in zip(docs, rows, strict=True):
            assert (doc["role"], doc["doc_type"], doc["date"], doc["currency"], doc["depends_on"]) == (
                row.role, row.doc_type, row.txn_date.isoformat() if row.txn_date else None, row.currency,
                row.depends_on), doc["key"]
            assert row.total is not None and Decimal(doc["total"]) == row.total.amount, doc["key"]
            assert doc["payload"] == _same(row.payload), doc["key"]
            fx = doc["fx"]
            if currency[rid] == DEMO_ORGS[org_of[rid]]:
                assert fx is None, doc["key"]
                continue
            assert fx is not None and fx["currency"] == currency[rid], doc["key"]
            sent = row.payload.get("ExchangeRate") if row.platform.value == "qbo" else (
                next(iter(row.payload.values()))[0].get("CurrencyRate"))
            if sent is not None:  # (a Xero payment carries no rate of its own)
                assert Decimal(str(sent)) == Decimal(fx["ledger_rate"] or fx["rate"]), doc["key"]
            if row.platform.value == "qbo":
                assert fx["source"] == "qbo:exchangerate", doc["key"]  # only QuickBooks has these rates
                foreign_qbo += 1
    assert foreign_qbo >= 10  # ACME-US's CAD and MAPLE-CA's USD returns were planned and compared
    assert sum(1 for rid in previews if status[rid] is ReturnSyncStatus.READY) >= 200
