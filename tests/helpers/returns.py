"""The world the manual-entry and Returns-page tests start from (integration and GUI).

A :class:`ReturnsWorld` is a :class:`~tests.helpers.worlds.World` with the sandbox, plus what a
finance admin would have done before opening the Returns page: :meth:`~ReturnsWorld.ready` connects
a ledger, ingests the RMS's returns through the app's own ingest service and saves the
organization's shipped mapping template as its active mapping.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from desktop.services.auth.platforms import Platform
from desktop.services.mapping import apply_template, default_template_name
from desktop.services.pipeline.documents import fill
from desktop.services.pipeline.outbox import Backoff
from desktop.services.pipeline.poster import Poster
from desktop.services.store.db import Database
from desktop.services.store.models import Organization, OutboxDocument, Return, ReturnSyncStatus
from desktop.services.store.testing import seed_returns_grid
from tests.helpers.posting import qbo_credit_memo_refs
from tests.helpers.sandbox import ACME_REALM, KIWI_TENANT
from tests.helpers.worlds import ADMIN, World

REALM, TENANT = ACME_REALM, KIWI_TENANT
COUNTRY = {"qbo": "US", "xero": "NZ"}


class ReturnsWorld(World):
    """A world whose organizations have their returns ingested and a mapping in place."""

    _qbo_cid = 0

    def ready(self, platform: Platform) -> tuple[int, str]:
        """Connect, ingest the organization's returns, save its template: (connection id, org code)."""
        cid = self.connect(platform).id
        if platform is Platform.QBO:
            self._qbo_cid = cid
        org = self.org_code(cid)
        self.ingest.ensure_organizations(self.rms)
        self.ingest.pull(org, self.rms, page_size=500)
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
        assert self.sandbox is not None
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
        return self.sandbox.tamper(platform, company, {"op": "create", "type": doc_type, "document": body})

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


# --- the Returns grid at scale ---------------------------------------------------------------

#: When the grid's returns were made (return ``i`` is updated ``i`` seconds later) and the sync
#: status each cycles through (every fifth is a superseded revision, hidden by default).
GRID_T0 = datetime(2026, 11, 1, tzinfo=UTC)
GRID_STATUSES = [ReturnSyncStatus.NEW, ReturnSyncStatus.READY, ReturnSyncStatus.POSTED, ReturnSyncStatus.QUARANTINED,
                 ReturnSyncStatus.SUPERSEDED]


def seed_grid(db: Database, n: int) -> None:
    """``n`` returns inserted in bulk with the store's own builder, for the Returns query and page."""
    seed_returns_grid(db, n, GRID_T0, GRID_STATUSES)
