"""Reconciliation gives way when the ledger's metered allowance runs low (issue 14, item 3).

Past the usage warning (80 %) the scheduled job reconciles an organization at most once an hour;
with the allowance used up it waits until it resets. A person can still reconcile by hand.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from desktop.services.connections.usage import ALLOWANCE_KEY, usage_figures
from desktop.services.reconcile.service import SLOW_INTERVAL
from desktop.services.store.models import Organization, ReconciliationRun, Setting
from tests.helpers.reconcile import qbo_memo
from tests.helpers.worlds import ADMIN, QBO_ORG, World


def _allowance(world: World, value: int) -> None:
    with world.db.write_session() as s:
        org_id = s.execute(sa.select(Organization.id).where(Organization.code == QBO_ORG)).scalar_one()
        row = s.execute(sa.select(Setting).where(Setting.organization_id == org_id,
                                                 Setting.key == ALLOWANCE_KEY)).scalar_one_or_none()
        if row is None:
            s.add(Setting(organization_id=org_id, key=ALLOWANCE_KEY, value=value, updated_at=world.clock.now(),
                          updated_by="test"))
        else:
            row.value = value


def _scheduled(world: World) -> dict[str, Any]:
    out: dict[str, Any] = world.reconcile.run_scheduled(ADMIN, [QBO_ORG])[QBO_ORG]
    world.connections.usage.flush()
    return out


@pytest.mark.db
def test_scheduled_reconciliation_slows_past_the_warning_and_waits_when_used_up(recon: World) -> None:
    recon.connect(QBO_ORG, refresh_reference=False)
    recon.post(QBO_ORG, "CreditMemo", qbo_memo(recon))
    assert "skipped" not in _scheduled(recon)
    used = usage_figures(recon.db, recon.clock, QBO_ORG)[0].used
    assert used > 0

    _allowance(recon, used * 100 // 90 + 1)  # about 90 % used
    assert usage_figures(recon.db, recon.clock, QBO_ORG)[0].warning
    slowed = _scheduled(recon)
    assert "slowed to once every 60 minutes" in slowed["skipped"], slowed

    with recon.db.write_session() as s:  # the last run was over an hour ago
        s.execute(sa.update(ReconciliationRun).values(
            finished_at=recon.clock.now() - SLOW_INTERVAL - timedelta(minutes=1)))
    assert "skipped" not in _scheduled(recon)

    _allowance(recon, 1)  # used up
    waits = _scheduled(recon)
    assert "waits until the allowance resets" in waits["skipped"], waits
    assert "QuickBooks reads this month" in waits["skipped"]
    by_hand = recon.reconcile.run(QBO_ORG, recon.period, actor=ADMIN)
    assert by_hand.variances == []
