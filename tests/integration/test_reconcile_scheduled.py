"""The scheduled reconciliation job, on the sync scheduler's APScheduler, flags a tamper within one
cycle and the variance alert arrives by email (SMTP with STARTTLS) — end to end over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import keyring
import pytest

from desktop.services.alerts import AlertService, AlertSettings, Recipient, SmtpSettings
from desktop.services.alerts.settings import smtp_secret_name
from desktop.services.core.events import Event, EventKind
from desktop.services.pipeline.scheduler import SyncScheduler
from tests.integration.test_alerts_support import (  # noqa: F401 - fixtures are used by name
    SMTP_PASSWORD,
    SMTP_USER,
    Mailbox,
    body_of,
    keyring_service_fixture,
    mailbox_fixture,
    remember,
)
from tests.integration.test_reconcile_support import (  # noqa: F401 - the fixture is used by name
    ADMIN,
    QBO_ORG,
    ReconWorld,
    qbo_memo,
    recon_fixture,
)

#: Short enough for a test, long enough that a run never overlaps the next on a busy machine
#: (APScheduler would skip it with a warning).
CYCLE_S = 2


class _NoSteps:
    """The sync steps are not under test here: the scheduler only hosts the reconciliation job."""

    def ingest(self, org: str) -> Mapping[str, Any]:
        return {}

    def push(self, org: str, worker_id: str) -> Mapping[str, Any]:
        return {}

    def pull(self, org: str) -> Mapping[str, Any]:
        return {}


def _wait(events: list[Event], what: Callable[[Event], bool], timeout: float = 20.0) -> Event:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in list(events) if what(e)]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError("timed out waiting for an event")


@pytest.mark.db
@pytest.mark.slow
def test_the_scheduled_job_flags_a_tamper_within_one_cycle_and_mails_it(
        recon: ReconWorld, mailbox: Mailbox, keyring_service: str) -> None:
    recon.connect(QBO_ORG)
    _, edited, _ = recon.post(QBO_ORG, "CreditMemo", qbo_memo(recon))
    smtp = SmtpSettings(host=mailbox.host, port=mailbox.port, sender="rls@example.test", username=SMTP_USER,
                        ca_file=mailbox.ca_file, timeout_s=10)
    keyring.set_password(keyring_service, smtp_secret_name(smtp), SMTP_PASSWORD)
    remember(keyring_service, smtp_secret_name(smtp))
    alerts = AlertService(recon.db, recon.bus, recon.clock, keyring_service=keyring_service, settings=AlertSettings(
        smtp, (Recipient("books", "books@example.test", ("email",), rules=("variance_found",)),)))
    alerts.attach()
    sched = SyncScheduler(_NoSteps(), recon.connections, None, recon.clock, recon.bus, db=recon.db, actor=ADMIN)
    try:
        job = recon.service.schedule_into(sched, interval_s=CYCLE_S)
        assert sched.scheduler.get_job("reconcile") is job
        sched.start(orgs=[])
        clean = _wait(recon.events, lambda e: e.kind == EventKind.RECONCILIATION_FINISHED)
        assert clean.details["variances"] == 0

        recon.tamper(QBO_ORG, {"op": "edit", "id": edited, "type": "CreditMemo", "set": {"total": "30.00"}})
        tampered_at = time.monotonic()
        flagged = _wait(recon.events, lambda e: e.kind == EventKind.RECONCILIATION_VARIANCE)
        assert time.monotonic() - tampered_at < CYCLE_S + 5  # within one cycle (plus the run itself)
        assert flagged.details["class"] == "amount_mismatch" and flagged.details["ledger_id"] == edited
        assert flagged.org == QBO_ORG and flagged.rma
        [mail] = mailbox.wait(1, timeout=20)
    finally:
        sched.shutdown(wait=True)
        alerts.close()
    assert mail["To"] == "books@example.test"
    assert "ACME-US: 1 new reconciliation variance(s)" in mail["Subject"]
    assert "amount mismatch: 1" in body_of(mail)
    # later cycles find the same variance: still one open entry, no second mail
    assert [v["class"] for v in recon.service.queue(QBO_ORG)] == ["amount_mismatch"]
    assert len(mailbox.messages) == 1
