"""Headless sync end to end: real processes for the sandbox, ``demo init``, ``sync --once`` and ``worker``.

``returns-ledger sandbox serve`` runs in one subprocess; the CLI commands run in others against a
temporary ``--data-dir``, inside the test session's D-Bus keyring (``scripts/test.sh``), and reach
the sandbox only over HTTP — exactly how an administrator would script it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.helpers.cli import control, run_cli
from tests.helpers.waiting import wait_until

pytestmark = pytest.mark.slow

DEMO_ORGS = {"ACME-US": "qbo", "MAPLE-CA": "qbo", "KIWI-NZ": "xero", "TEA-UK": "xero"}


@pytest.fixture(scope="module")
def demo_dir(sandbox_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("demo-data")
    requests.post(f"{sandbox_url}/_sandbox/reset", json={"seed": 1}, timeout=30).raise_for_status()
    done = run_cli("demo", "init", "--sandbox", sandbox_url, "--json", "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    orgs = json.loads(done.stdout)["organizations"]
    assert {o["code"]: o["platform"] for o in orgs} == DEMO_ORGS
    assert all(o["company"] for o in orgs)
    assert "secret" not in done.stdout.lower() and "api_key" not in done.stdout.lower()
    return data


def _our_ledger_documents(url: str) -> int:
    info = control(url, "info")
    companies = [("qbo", c["realm_id"]) for c in info["qbo"]["companies"]]
    companies += [("xero", t["tenant_id"]) for t in info["xero"]["tenants"]]
    return sum(1 for service, company in companies for d in control(url, f"ledger/{service}/{company}")["documents"]
               if "rls-" in str(d.get("reference") or ""))


def test_sandbox_info_endpoint_gives_the_start_up_json(sandbox_url: str) -> None:
    info = control(sandbox_url, "info")
    assert info["control_url"] == f"{sandbox_url}/_sandbox"
    assert {"qbo", "xero", "rms"} <= set(info) and info["qbo"]["client_id"] and info["rms"]["base_url"]


def test_sync_once_ingests_quarantines_the_bad_and_reports_json(sandbox_url: str, demo_dir: Path) -> None:
    bad = control(sandbox_url, "rms/bad")["bad"]
    done = run_cli("sync", "--once", "--json", "--data-dir", str(demo_dir), timeout=240)
    result = json.loads(done.stdout)
    assert set(result) >= {"ingested", "quarantined", "posted", "failed", "uncertain", "pulled_changes"}
    assert result["ingested"] > 0
    assert result["quarantined"] == len(bad) > 0  # every bad seeded record is held, and no valid one
    assert result["pulled_changes"] == 0
    again = json.loads(run_cli("sync", "--once", "--json", "--data-dir", str(demo_dir), timeout=240).stdout)
    assert again["ingested"] == 0 and again["posted"] == 0  # exactly once: nothing new the second time
    if "errors" in result:
        pytest.fail(f"a sync step failed: {result['errors']}")
    assert done.returncode == 0, done.stderr
    assert result["posted"] > 0 and result["posted"] == _our_ledger_documents(sandbox_url)
    assert result["failed"] == 0 and result["uncertain"] == 0
    assert again["pulled_changes"] == 0  # what we posted reads back as posted: no false "edited"

    # An accountant edits one posted document in each ledger: the next cycle pulls exactly those two.
    info = control(sandbox_url, "info")
    realm = next(c["realm_id"] for c in info["qbo"]["companies"] if c["rms_org"] == "ACME-US")
    tenant = next(t["tenant_id"] for t in info["xero"]["tenants"] if t["rms_org"] == "KIWI-NZ")
    memo = next(d for d in control(sandbox_url, f"ledger/qbo/{realm}")["documents"]
                if d["type"] == "CreditMemo" and "rls-" in str(d["reference"]) and d["status"] == "active")
    note = next(d for d in control(sandbox_url, f"ledger/xero/{tenant}")["documents"]
                if d["type"] == "CreditNote" and "rls-" in str(d["reference"]) and d["raw"]["Status"] == "AUTHORISED"
                and not d["raw"]["Payments"] and not d["raw"]["Allocations"])
    for service, company, doc in (("qbo", realm, memo), ("xero", tenant, note)):
        requests.post(f"{sandbox_url}/_sandbox/ledger/{service}/{company}/tamper", timeout=30, json={
            "op": "edit", "id": doc["id"], "type": doc["type"], "set": {"total": "1.00"}}).raise_for_status()
    before = len(control(sandbox_url, "rms/writebacks")["writebacks"])
    third = json.loads(run_cli("sync", "--once", "--json", "--data-dir", str(demo_dir), timeout=240).stdout)
    assert third["pulled_changes"] == 2 and third["posted"] == 0
    new = control(sandbox_url, "rms/writebacks")["writebacks"][before:]
    assert sorted((w["status"], w["documents"][0]["id"]) for w in new) == sorted(
        [("edited", memo["id"]), ("edited", note["id"])])


def test_sync_once_for_an_unknown_organization_fails_clearly(demo_dir: Path) -> None:
    done = run_cli("sync", "--once", "--org", "NOPE-XX", "--json", "--data-dir", str(demo_dir))
    assert done.returncode != 0
    assert "NOPE-XX" in done.stdout + done.stderr


def _webhook_pulls(data_dir: Path, org: str) -> list[dict[str, Any]]:
    import sqlalchemy as sa

    from desktop.services.store.db import Database
    from desktop.services.store.models import EventLog
    db = Database(f"sqlite:///{data_dir / 'returns-ledger.sqlite3'}")
    try:
        with db.session() as s:
            rows = s.execute(sa.select(EventLog.details).where(EventLog.kind == "sync.finished",
                                                               EventLog.org == org)).scalars().all()
    finally:
        db.dispose()
    return [d for d in rows if d.get("trigger") == "webhook" and d.get("job") == "pull"]


def test_worker_pulls_on_a_signed_webhook_and_stops_cleanly_on_sigterm(sandbox_url: str, demo_dir: Path) -> None:
    with subprocess.Popen([sys.executable, "-m", "desktop", "worker", "--webhook-port", "0",
                           "--data-dir", str(demo_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}) as proc:
        try:
            assert proc.stderr is not None
            line = proc.stderr.readline()
            assert "scheduling" in line and "ACME-US" in line and "webhooks at http://127.0.0.1:" in line, line
            assert "sandbox qbo/xero subscribed" in line, line  # Xero's intent-to-receive passed
            webhook = line.split("webhooks at ", 1)[1].split()[0]
            assert requests.post(f"{webhook}/webhooks/xero", data=b"{}", timeout=10).status_code == 401
            # An accountant enters a credit memo in QuickBooks: a signed webhook makes the worker pull.
            info = control(sandbox_url, "info")
            realm = next(c["realm_id"] for c in info["qbo"]["companies"] if c["rms_org"] == "ACME-US")
            requests.post(f"{sandbox_url}/_sandbox/ledger/qbo/{realm}/tamper", timeout=30, json={
                "op": "create", "type": "CreditMemo", "document": {
                    "CustomerRef": {"value": "1"}, "Line": [{"Amount": "5.00", "DetailType": "SalesItemLineDetail",
                                                             "SalesItemLineDetail": {"ItemRef": {"value": "1"},
                                                                                     "TaxCodeRef": {"value": "NON"}}}]}}
                          ).raise_for_status()
            # A deadline, not a timing expectation: the worker's start-up round may still be posting
            # on a loaded machine, and the webhook's pull queues behind it.
            wait_until(lambda: _webhook_pulls(demo_dir, "ACME-US"), 240, what="a pull after the webhook",
                       interval=0.2)
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=120)
            rest = proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
    assert code == 0, rest
    assert "stopped cleanly" in rest
