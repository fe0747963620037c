"""The returns and audit-log exports through their services: counts of the total, and a cancel that
leaves no file (a step of one row, so a handful of rows is several steps)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.services.admin.audit_trail import AuditFilter, AuditTrail
from desktop.services.auth.platforms import Platform
from desktop.services.core import csv_safe
from desktop.services.core.progress import OperationCancelled, Tracker
from desktop.services.queries.returns import ReturnFilter
from tests.helpers.returns import ReturnsWorld
from tests.helpers.sandbox import SandboxHandle
from tests.helpers.worlds import ADMIN

pytestmark = pytest.mark.db


@pytest.fixture
def world(db_url: str, sandbox: SandboxHandle, tmp_path: Path) -> Iterator[ReturnsWorld]:
    with ReturnsWorld(db_url, tmp_path, sandbox=sandbox) as w:
        w.ready(Platform.QBO)  # returns ingested; audited set-up steps
        yield w


def test_returns_and_audit_exports_count_and_a_cancel_leaves_no_file(world: ReturnsWorld, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_safe, "EXPORT_STEP", 1)
    trail = AuditTrail(world.db, data_dir=tmp_path / "trail", clock=world.clock)
    every, held = ReturnFilter(), world.query.count(ReturnFilter())
    exports = {
        "returns.csv": lambda path, p: world.query.export_to(path, every, progress=p),
        "audit.csv": lambda path, p: trail.export_csv(ADMIN, AuditFilter(), path, progress=p).entries,
    }
    totals = {"returns.csv": held, "audit.csv": trail.count(ADMIN, AuditFilter())}
    assert min(totals.values()) >= 2  # a cancel after the first row stops before the last
    for name, export in exports.items():
        seen: list[tuple[int, int | None, str]] = []
        assert export(tmp_path / name, Tracker(lambda *r, seen=seen: seen.append(r))) == totals[name]
        assert seen[0] == (1, totals[name], f"1 of {totals[name]:,} rows written to {name}")

        stopped = tmp_path / f"stopped-{name}"
        stop = threading.Event()
        tracker = Tracker(lambda *_r, stop=stop: stop.set(), stop)  # Cancel as soon as the first count shows
        with pytest.raises(OperationCancelled, match=f"{stopped.name} was not written"):
            export(stopped, tracker)
        assert not stopped.exists()
    assert sorted(p.name for p in tmp_path.glob("*.csv")) == ["audit.csv", "returns.csv"]
    assert not list(tmp_path.glob(".*.part"))
