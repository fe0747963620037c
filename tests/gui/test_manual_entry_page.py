"""The Manual entry page driven by the keyboard, against the sandbox ledgers over real HTTP.

Both fallback paths are proven by counting the ledger's documents (``GET /_sandbox/ledger/…``):
queue → the outbox posts it once when the ledger is reachable; entered directly as N → the sync
adopts N and posts nothing. Validation is pre-flight's; a refused entry counts as prevented.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt

from desktop.services.auth.platforms import Platform
from desktop.services.auth.roles import Actor, Role
from desktop.services.store.models import ManualEntryStatus, OutboxStatus
from desktop.views.manual.entries import Column, EntriesModel
from desktop.views.pages.manual_entry import ManualEntryPage
from tests.helpers.gui import page_context
from tests.helpers.returns import ReturnsWorld
from tests.helpers.sandbox import SandboxHandle

OPERATOR = Actor("olga", Role.OPERATOR)


@pytest.fixture
def world(tmp_path: Path, sandbox: SandboxHandle) -> Iterator[ReturnsWorld]:
    with ReturnsWorld(f"sqlite:///{tmp_path / 'app.sqlite3'}", tmp_path, sandbox=sandbox) as w:
        yield w


def _page(qtbot, tmp_path: Path, world: ReturnsWorld) -> ManualEntryPage:  # type: ignore[no-untyped-def]
    ctx = page_context(world, QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat), actor=OPERATOR)
    page = ManualEntryPage(ctx)
    qtbot.addWidget(page)
    page.resize(1100, 900)
    page.show()
    page.activateWindow()
    qtbot.waitActive(page)
    qtbot.waitUntil(lambda: page.form.org.count() > 0, timeout=5000)
    return page


def _choose_org(page: ManualEntryPage, org: str) -> None:
    index = next(i for i in range(page.form.org.count()) if page.form.org.itemData(i)[0] == org)
    page.form.org.setCurrentIndex(index)


def _type_return(qtbot, page: ManualEntryPage, rma: str, amount: str = "") -> None:  # type: ignore[no-untyped-def]
    page.form.rma.setFocus()
    qtbot.keyClicks(page.form.rma, rma)
    if amount:
        qtbot.keyClicks(page.form.amount, amount)


def _pick_direct(qtbot, page: ManualEntryPage) -> None:  # type: ignore[no-untyped-def]
    """On the path choice, Down picks "I entered it directly…" and Tab goes to its number."""
    page.form.queue.setFocus()
    qtbot.keyClick(page.form.queue, Qt.Key.Key_Down)
    assert page.form.direct.isChecked() and page.form.number.isEnabled()
    qtbot.keyClick(page.form.direct, Qt.Key.Key_Tab)
    assert page.form.number.hasFocus(), "the number is next in the tab order"


def _checked(page: ManualEntryPage, rma: str) -> bool:
    return page.last_check is not None and page.last_check.rma == rma and page.form.record_button.isEnabled()


def test_validation_shows_preflight_problems_and_a_refusal_counts_as_prevented(qtbot, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                                world: ReturnsWorld) -> None:
    _cid, org = world.ready(Platform.QBO)
    rma = world.clean_return(org, single=True)
    refund = world.manual.prepare(org, rma).refund
    assert refund is not None
    page = _page(qtbot, tmp_path, world)
    _choose_org(page, org)
    _type_return(qtbot, page, rma, f"{refund.amount + Decimal('1'):f}")
    _pick_direct(qtbot, page)
    qtbot.waitUntil(lambda: _checked(page, rma) and {p.code for p in page.last_check.problems}
                    == {"amount_mismatch", "doc_number_required"}, timeout=10_000)
    assert "2 problem(s)" in page.check.verdict.text() and "amount mismatch" in page.check.verdict.text()
    assert page.check.preview.rowCount() >= 2, "the debit/credit preview shows even when something is wrong"

    qtbot.keyClick(page.form.rma, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.last_result is not None, timeout=10_000)
    assert not page.last_result.ok and page.last_result.prevented == 2
    qtbot.waitUntil(lambda: page.prevented.text().startswith("2 manual entry errors prevented"), timeout=5000)
    assert world.outbox_rows(rma) == []
    assert world.manual.prevented_count(org) == 2


def test_queue_path_posts_once_when_the_ledger_is_reachable(qtbot, tmp_path: Path, world: ReturnsWorld) -> None:  # type: ignore[no-untyped-def]
    cid, org = world.ready(Platform.QBO)
    rma = world.clean_return(org, single=False)
    refund = world.manual.prepare(org, rma).refund
    assert refund is not None
    before = world.ledger_count("qbo")
    page = _page(qtbot, tmp_path, world)
    _choose_org(page, org)
    _type_return(qtbot, page, rma, f"{refund.amount:f}")
    qtbot.waitUntil(lambda: _checked(page, rma) and not page.last_check.problems, timeout=10_000)
    assert page.check.verdict.text().count("Ready") == 1

    qtbot.keyClick(page.form.note, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.last_result is not None, timeout=10_000)
    assert page.last_result.ok
    n = len(world.outbox_rows(rma))
    assert world.ledger_count("qbo") == before, "nothing is sent while recording"

    first = world.poster().post_pending(cid, worker_id="w1")  # the ledger is reachable: the sync runs
    second = world.poster().post_pending(cid, worker_id="w2")
    assert (first.posted, second.posted) == (n, 0)
    assert world.ledger_count("qbo") == before + n
    page.reload()
    qtbot.waitUntil(lambda: page.entries.rowCount() == n and all(
        page.entries.data(page.entries.index(r, Column.STATUS)) == "Posted by sync" for r in range(n)),
        timeout=5000)


@pytest.mark.parametrize("platform", [Platform.QBO, Platform.XERO], ids=["qbo", "xero"])
def test_entered_directly_path_adopts_n_and_posts_nothing(qtbot, tmp_path: Path, world: ReturnsWorld,  # type: ignore[no-untyped-def]
                                                          platform: Platform) -> None:
    cid, org = world.ready(platform)
    rma = world.clean_return(org, single=True)
    doc = world.manual.prepare(org, rma).documents[0]
    world.enter_in_ledger(platform.value, doc.doc_type, doc.payload, "HAND-0042")
    before = world.ledger_count(platform.value)
    page = _page(qtbot, tmp_path, world)
    _choose_org(page, org)
    _type_return(qtbot, page, rma)
    _pick_direct(qtbot, page)
    qtbot.keyClicks(page.form.number, "HAND-0042")
    qtbot.waitUntil(lambda: _checked(page, rma) and not page.last_check.problems, timeout=10_000)
    qtbot.keyClick(page.form.number, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.last_result is not None, timeout=10_000)
    assert page.last_result.ok

    qtbot.mouseClick(page.adopt_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.status.text().startswith("1 adopted"), timeout=10_000)
    assert world.poster().post_pending(cid, worker_id="w1").posted == 0
    assert world.ledger_count(platform.value) == before, "the sync adopted N and posted nothing"
    [row] = world.outbox_rows(rma)
    assert row.status is OutboxStatus.POSTED and row.remote_number == "HAND-0042"
    qtbot.waitUntil(lambda: page.entries.rowCount() == 1 and page.entries.data(
        page.entries.index(0, Column.STATUS)) == "Adopted", timeout=5000)
    assert page.entries.data(page.entries.index(0, 0), Qt.ItemDataRole.UserRole + 1)["status"] == \
        ManualEntryStatus.MATCHED.value


def test_the_entries_model_passes_qtmodeltester(qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    model = EntriesModel()
    at = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    model.set_rows([{"id": i, "org": "ACME-US", "rma": f"RMA-{i}", "path": "queued" if i % 2 else "entered_directly",
                     "status": "queued", "doc_type": "CreditMemo", "number": None if i % 2 else f"N{i}",
                     "outbox": "pending", "total": "12.50", "currency": "USD", "by": "olga", "at": at}
                    for i in range(25)])
    qtmodeltester.check(model)
    assert model.data(model.index(1, Column.PATH)) == "Queued"
    assert model.data(model.index(0, Column.TOTAL)) == "12.50 USD"
