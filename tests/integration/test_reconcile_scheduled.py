"""The scheduled reconciliation job, on the sync scheduler's APScheduler, flags a tamper within one
cycle and the variance alert arrives by email (SMTP with STARTTLS) — end to end over real HTTP."""

from __future__ import annotations

import keyring
import pytest

from desktop.services.alerts import AlertService, AlertSettings, Recipient, SmtpSettings
from desktop.services.alerts.settings import smtp_secret_name
from desktop.services.core.events import EventKind
from tests.helpers.alerts import SMTP_PASSWORD, SMTP_USER, Mailbox, body_of, remember
from tests.helpers.reconcile import qbo_memo
from tests.helpers.worlds import QBO_ORG, NoSteps, World

#: Short enough for a test, long enough that a run never overlaps the next on a busy machine
#: (APScheduler would skip it with a warning).
CYCLE_S = 2


@pytest.mark.db
@pytest.mark.slow
def test_the_scheduled_job_flags_a_tamper_within_one_cycle_and_mails_it(
        recon: World, mailbox: Mailbox, keyring_service: str) -> None:
    recon.connect(QBO_ORG, refresh_reference=False)
    _, edited, _ = recon.post(QBO_ORG, "CreditMemo", qbo_memo(recon))
    smtp = SmtpSettings(host=mailbox.host, port=mailbox.port, sender="rls@example.test", username=SMTP_USER,
                        ca_file=mailbox.ca_file, timeout_s=10)
    keyring.set_password(keyring_service, smtp_secret_name(smtp), SMTP_PASSWORD)
    remember(keyring_service, smtp_secret_name(smtp))
    alerts = AlertService(recon.db, recon.bus, recon.clock, keyring_service=keyring_service, settings=AlertSettings(
        smtp, (Recipient("books", "books@example.test", ("email",), rules=("variance_found",)),)))
    alerts.attach()
    sched = recon.new_scheduler(NoSteps(), worker_id=None, mapping_problems=None)
    try:
        job = recon.reconcile.schedule_into(sched, interval_s=CYCLE_S)
        assert sched.scheduler.get_job("reconcile") is job
        sched.start(orgs=[])
        clean = recon.wait_for(lambda e: e.kind == EventKind.RECONCILIATION_FINISHED)
        assert clean.details["variances"] == 0

        finished = lambda: sum(1 for e in recon.events if e.kind == EventKind.RECONCILIATION_FINISHED)  # noqa: E731
        recon.tamper(QBO_ORG, {"op": "edit", "id": edited, "type": "CreditMemo", "set": {"total": "30.00"}})
        runs_before = finished()
        flagged = recon.wait_for(lambda e: e.kind == EventKind.RECONCILIATION_VARIANCE)
        # Within one cycle, counted in runs rather than seconds: at most the run already under way
        # when the ledger was edited finished without seeing it; the next one flags it.
        assert finished() - runs_before <= 1
        assert flagged.details["class"] == "amount_mismatch" and flagged.details["ledger_id"] == edited
        assert flagged.org == QBO_ORG and flagged.rma
        [mail] = mailbox.wait(1, timeout=20)
    finally:
        sched.shutdown(wait=True)
        alerts.close()
    assert mail["To"] == "books@example.test"
    assert "ACME-US: 1 new reconciliation variance(s)" in mail["Subject"]
    assert "Amount differs: 1" in body_of(mail)
    # later cycles find the same variance: still one open entry, no second mail
    assert [v["class"] for v in recon.reconcile.queue(QBO_ORG)] == ["amount_mismatch"]
    assert len(mailbox.messages) == 1
