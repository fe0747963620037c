"""A whole scheduled sync past QuickBooks' read quota: plan and post what needs no read, hold the rest.

The demo company's returns are ingested and mapped (``ReturnsWorld.ready``), the sandbox's read
quota is set to what the company has read so far, and the scheduler's push step runs — plan, then
post — as a scheduled sync would. Returns in another currency need the ledger's exchange rate (a
metered read): they stay to be planned; documents for customers not in the reference cache are
held; everything else posts. Nothing fails, nothing is quarantined for the quota.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from desktop.services.auth.platforms import Platform
from desktop.services.core.events import EventKind
from desktop.services.pipeline import outbox
from desktop.services.store.models import Organization, OutboxDocument, OutboxStatus, Return, ReturnSyncStatus
from tests.helpers.allowance import keys_in_ledger, use_up_qbo_reads
from tests.helpers.returns import ReturnsWorld
from tests.helpers.sandbox import ACME_REALM, SandboxHandle

pytestmark = [pytest.mark.db, pytest.mark.slow]


def test_a_scheduled_sync_past_the_quota_posts_what_needs_no_read_and_holds_the_rest(
        rworld: ReturnsWorld, sandbox: SandboxHandle) -> None:
    cid, org = rworld.ready(Platform.QBO)
    with rworld.db.session() as s:
        home = s.execute(sa.select(Organization.home_currency).where(Organization.code == org)).scalar_one()
        foreign = s.execute(sa.select(sa.func.count()).select_from(Return).join(Organization).where(
            Organization.code == org, Return.sync_status == ReturnSyncStatus.NEW, Return.currency != home)
        ).scalar_one()
    assert foreign > 0, "the demo company books a few returns in another currency"
    use_up_qbo_reads(sandbox, ACME_REALM)

    out = rworld.new_scheduler().run_job(org, "push")

    assert "error" not in out, out
    assert out["planned"]["held"] == foreign and out["posted"] > 0 and out["failed"] == 0
    with rworld.db.session() as s:
        left_new = s.execute(sa.select(sa.func.count()).select_from(Return).join(Organization).where(
            Organization.code == org, Return.sync_status == ReturnSyncStatus.NEW)).scalar_one()
        held = outbox.held_count(s, now=rworld.clock.now(), connection_id=cid)
        rows = list(s.execute(sa.select(OutboxDocument.idempotency_key, OutboxDocument.status)
                              .where(OutboxDocument.connection_id == cid)))
    assert left_new == foreign
    assert {status for _k, status in rows} <= {OutboxStatus.POSTED, OutboxStatus.PENDING}
    posted = [k for k, status in rows if status is OutboxStatus.POSTED]
    assert len(posted) == out["posted"] and held == len(rows) - len(posted) > 0
    assert set(keys_in_ledger(rworld, "qbo", ACME_REALM, posted).values()) == {1}  # the sandbox agrees
    kinds = rworld.kinds()
    assert EventKind.CONNECTION_ALLOWANCE_USED_UP in kinds and EventKind.DOCUMENT_HELD in kinds
    waiting = [e.message for e in rworld.events
               if e.kind == EventKind.DOCUMENT_HELD and "wait to be planned" in e.message]
    assert waiting and "they need an exchange rate from the ledger" in waiting[0]
