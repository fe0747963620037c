"""A reconciliation reports its phases and, cancelled, records nothing: no half-written run, no variances."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from desktop.services.core.progress import OperationCancelled, Tracker
from desktop.services.reconcile.engine import PHASES
from desktop.services.store.models import ReconciliationRun, Variance
from tests.helpers.reconcile import qbo_memo
from tests.helpers.worlds import ADMIN, QBO_ORG, World

pytestmark = pytest.mark.db


def _rows(world: World) -> tuple[int, int]:
    with world.db.session() as s:
        return (int(s.scalar(sa.select(sa.func.count()).select_from(ReconciliationRun)) or 0),
                int(s.scalar(sa.select(sa.func.count()).select_from(Variance)) or 0))


def test_a_cancelled_reconciliation_records_nothing_and_the_next_one_runs(recon: World) -> None:
    recon.connect(QBO_ORG, refresh_reference=False)
    recon.post(QBO_ORG, "CreditMemo", qbo_memo(recon))
    _, deleted, _ = recon.post(QBO_ORG, "CreditMemo", qbo_memo(recon))
    recon.tamper(QBO_ORG, {"op": "delete", "id": deleted, "type": "CreditMemo"})  # a variance to find
    seen: list[tuple[int, int | None, str]] = []

    def on_report(done: int, total: int | None, message: str) -> None:
        seen.append((done, total, message))
        if done == 2:  # the ledger was read: the person presses Cancel
            tracker.cancel()

    tracker = Tracker(on_report)
    with pytest.raises(OperationCancelled, match="stopped on request; nothing was recorded"):
        recon.reconcile.run(QBO_ORG, recon.period, actor=ADMIN, progress=tracker)
    assert [d for d, _t, _m in seen] == [0, 1, 2]  # it stopped at the next phase, before comparing
    assert {t for _d, t, _m in seen} == {PHASES}
    assert seen[1][2] == f"{QBO_ORG}: 1 ledger document read; loading what was posted…"  # one was deleted
    assert _rows(recon) == (0, 0)  # no "running" run left, no variance recorded
    assert recon.reconcile.latest(QBO_ORG) is None

    seen.clear()
    report = recon.reconcile.run(QBO_ORG, recon.period, actor=ADMIN, progress=Tracker(lambda *r: seen.append(r)))
    assert [v.variance_class.value for v in report.variances] == ["deleted_in_ledger"]
    assert [d for d, _t, _m in seen] == [0, 1, 2, 3, PHASES - 1]
    assert _rows(recon) == (1, 1)
