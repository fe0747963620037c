"""Shared set-up for the manual-entry and Returns-page tests (no tests here).

A :class:`ReturnsWorld` is a :class:`~tests.integration.test_posting_support.PostWorld` (real
database, real keyring, sandbox over real HTTP, ledgers connected through the real sign-in flow)
plus what a finance admin would have done before opening the Returns page: the RMS's returns
ingested through the app's own ingest service, and the organization's shipped mapping template
saved as its active mapping. Services under test are built here exactly as the app builds them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from desktop.services.auth.platforms import Platform
from desktop.services.manual import ManualEntryService
from desktop.services.mapping import apply_template, default_template_name
from desktop.services.mapping.service import MappingService
from desktop.services.pipeline.documents import dumps_exact, fill
from desktop.services.pipeline.outbox import Backoff
from desktop.services.pipeline.poster import Poster
from desktop.services.platforms.http import LedgerHttp, Throttle
from desktop.services.queries.returns import ReturnsQuery
from desktop.services.rms.client import RmsClient
from desktop.services.rms.ingest import IngestService
from desktop.services.store.models import Organization, OutboxDocument, Return, ReturnSyncStatus
from tests.integration.test_posting_support import ADMIN, PostWorld, qbo_credit_memo_refs
from tests.sandbox.conftest import SandboxHandle

REALM = "9130350000000001"
TENANT = "6f1a3c52-8d4e-4b7a-9c21-3e5d7f9a1b01"
COUNTRY = {"qbo": "US", "xero": "NZ"}


class ReturnsWorld(PostWorld):
    """A PostWorld with returns ingested and a mapping in place, plus the services under test."""

    def __init__(self, db_url: str, sandbox: SandboxHandle) -> None:
        super().__init__(db_url, sandbox)
        self.mapping = MappingService(self.db, self.clock, self.bus)
        self.manual = ManualEntryService(self.db, self.clock, self.bus, self.mapping, self.connections)
        self.query = ReturnsQuery(self.db)
        self.ingest = IngestService(self.db, self.bus, self.clock)
        self._qbo_cid = 0

    def rms_client(self) -> RmsClient:
        http = LedgerHttp(throttle=Throttle(1000, 100), platform="rms", token=None)
        return RmsClient(self.sandbox.info["rms"]["base_url"], self.sandbox.info["rms"]["api_key"], http=http)

    def ready(self, platform: Platform) -> tuple[int, str]:
        """Connect, ingest the organization's returns, save its template: (connection id, org code)."""
        cid = self.connect(platform)
        if platform is Platform.QBO:
            self._qbo_cid = cid
        org = self.org_code(cid)
        client = self.rms_client()
        self.ingest.ensure_organizations(client)
        self.ingest.pull(org, client, page_size=500)
        snapshot = self.mapping.snapshot(org)
        assert snapshot is not None
        rules, problems = apply_template(default_template_name(snapshot.platform, COUNTRY[platform.value]), snapshot)
        assert problems == []
        self.mapping.save(org, rules, ADMIN, "template")
        return cid, org

    def fast_poster(self) -> Poster:
        """A poster whose retries are due at once (the test controls when the ledger is down)."""
        return self.poster(backoff=Backoff(base_s=0.0, cap_s=0.0))

    def clean_return(self, org: str, *, single: bool = True) -> str:
        """An RMA whose documents pass pre-flight (and, with ``single``, that makes one document)."""
        with self.db.session() as s:
            rmas = list(s.scalars(sa.select(Return.rma_number).join(Organization).where(
                Organization.code == org, Return.sync_status == ReturnSyncStatus.NEW).order_by(Return.id)))
        for rma in rmas:
            prepared = self.manual.prepare(org, rma)
            if prepared.ok and (not single or len(prepared.documents) == 1):
                return rma
        raise AssertionError(f"{org} has no clean return")

    def ledger_count(self, platform: str) -> int:
        return len(self.ledger(platform, REALM if platform == "qbo" else TENANT))

    def outbox_rows(self, rma: str) -> list[OutboxDocument]:
        with self.db.session() as s:
            return list(s.scalars(sa.select(OutboxDocument).join(Return, Return.id == OutboxDocument.return_id)
                                  .where(Return.rma_number == rma).order_by(OutboxDocument.id)))

    def enter_in_ledger(self, platform: str, doc_type: str, payload: dict[str, Any], number: str) -> dict[str, Any]:
        """What the accountant does in the ledger's own screens: create the document by hand."""
        company = REALM if platform == "qbo" else TENANT
        if platform == "qbo":
            customer, item = self.qbo_refs()
            body = fill(payload, _Anything(customer, item))
            body["DocNumber"] = number
            body.pop("PrivateNote", None)  # typed by a person: no idempotency key in it
        else:
            body = dict(payload[next(iter(payload))][0])
            body["CreditNoteNumber"] = number
            body["Reference"] = "entered by hand"
        url = f"{self.sandbox.control_url}/ledger/{platform}/{company}/tamper"
        resp = self.sandbox.http.post(url, data=dumps_exact({"op": "create", "type": doc_type, "document": body}),
                                      headers={"Content-Type": "application/json"}, timeout=30)
        assert resp.status_code == 200, resp.text
        return dict(json.loads(resp.content, parse_float=Decimal))

    def qbo_refs(self) -> tuple[str, str]:
        """(a customer id, a service item id) of the QBO company, as a person would pick them."""
        return qbo_credit_memo_refs(self, self._qbo_cid)


class _Anything(dict[str, str]):
    """Placeholder values for a hand-made QBO document: the customer, and one item for every line."""

    def __init__(self, customer: str, item: str) -> None:
        super().__init__()
        self.customer, self.item = customer, item

    def __missing__(self, name: str) -> str:
        return self.customer if name == "customer" else self.item


@pytest.fixture(name="rworld")
def rworld_fixture(db_url: str, sandbox: SandboxHandle) -> Iterator[ReturnsWorld]:
    w = ReturnsWorld(db_url, sandbox)
    yield w
    w.close()
