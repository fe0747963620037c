"""``returns-ledger approvals`` through the CLI's own ``main()`` in the test's process (the process
boundary is not what is tested here), on SQLite and PostgreSQL: the person running the CLI sets the
threshold, may not approve or reject their own request (exit 3, audited), and another person's
approval is what lets the entry reach the sandbox ledger. The trail still verifies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.services.auth.platforms import Platform
from desktop.services.auth.roles import Actor, Role
from desktop.services.manual import ManualForm
from desktop.services.manual.approvals import ApprovalService
from desktop.services.store.models import ManualEntryPath
from tests.helpers.cli import run_cli_here as run_cli
from tests.helpers.returns import ReturnsWorld

pytestmark = pytest.mark.slow

CHECKER = Actor("oscar", Role.OPERATOR)


def test_the_cli_refuses_self_approval_and_a_second_person_lets_it_through(rworld: ReturnsWorld,
                                                                            tmp_path: Path) -> None:
    cid, org = rworld.ready(Platform.QBO)
    rma = rworld.clean_return(org, single=True)
    where = ("--db", rworld.db_url, "--data-dir", str(tmp_path / "cli"))
    enrolled = run_cli("users", "list", "--json", *where)  # the first command enrols its person as the admin
    assert enrolled.returncode == 0, enrolled.stderr
    [me] = json.loads(enrolled.stdout)
    maker = Actor(me["username"], Role.ADMIN)

    on = run_cli("approvals", "threshold", "--org", org, "--amount", "0", "--json", *where)
    assert on.returncode == 0, on.stderr
    assert json.loads(on.stdout)["threshold"] == "0"
    refund = rworld.manual.prepare(org, rma).refund
    assert refund is not None
    result = rworld.manual.submit(maker, ManualForm(org, rma, ManualEntryPath.QUEUED, amount=refund.amount))
    assert result.approval_id is not None
    before = rworld.ledger_count("qbo")

    own = run_cli("approvals", "approve", str(result.approval_id), "--note", "looks fine", *where)
    own_reject = run_cli("approvals", "reject", str(result.approval_id), "--note", "changed my mind", *where)
    no_note = run_cli("approvals", "reject", str(result.approval_id), *where)
    listed = run_cli("approvals", "list", "--json", *where)

    assert own.returncode == 3 and "second person" in own.stderr and "Traceback" not in own.stderr
    assert own_reject.returncode == 3
    assert no_note.returncode == 2, "--note is required to reject"
    assert [r["id"] for r in json.loads(listed.stdout)] == [result.approval_id]
    assert rworld.outbox_rows(rma) == [] and rworld.ledger_count("qbo") == before
    refusals = [t for a, action, t in rworld.audit() if action == "access.refused" and a == maker.username]
    assert refusals.count("approve_own_request") == 2

    ApprovalService(rworld.db, rworld.clock, rworld.bus, rworld.manual, rworld.mapping).approve(
        CHECKER, result.approval_id, "checked")
    assert rworld.fast_poster().post_pending(cid, worker_id="w1").posted == 1
    assert rworld.ledger_count("qbo") == before + 1

    done = run_cli("approvals", "list", "--status", "approved", "--json", *where)
    [row] = json.loads(done.stdout)
    assert (row["decided_by"], row["requested_by"], row["note"]) == ("oscar", maker.username, "checked")
    verify = run_cli("audit", "verify", *where)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    off = run_cli("approvals", "threshold", "--org", org, "--off", *where)
    assert off.returncode == 0 and "off" in off.stdout
