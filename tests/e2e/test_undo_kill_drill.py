"""SIGKILL during ``returns-ledger runs undo``: the void landed, the answer was lost, the process died.

The sandbox drops the connection of one take-back after doing it (the 11th, ``commit_then_drop``)
and holds the client's retry of it; once the retry is held, the undo is SIGKILLed — so the ledger
has the void and the app never heard of it. Started again, the undo reads that document first,
finds it voided and settles it without a second request; every document of the run ends taken back,
each asked for exactly once (counted by the sandbox), and the RMS shows the returns unposted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from desktop.services.core.keys import parse_key
from tests.helpers.cli import control, run_cli
from tests.helpers.waiting import wait_until

pytestmark = pytest.mark.slow

SEED = 20261207
ORG = "ACME-US"
TAKE_BACK = {"service": "qbo", "method": "POST", "path_regex": r"/(creditmemo|refundreceipt|journalentry)$"}


def _post(url: str, path: str, body: dict[str, Any]) -> None:
    requests.post(f"{url}/_sandbox/{path}", json=body, timeout=30).raise_for_status()


def _cli_json(*args: str, ok: tuple[int, ...] = (0,)) -> Any:
    done = run_cli(*args, "--json", timeout=300)
    assert done.returncode in ok, done.stdout + done.stderr
    return json.loads(done.stdout)


def _ours(url: str, realm: str, keys: set[str]) -> list[dict[str, Any]]:
    docs = control(url, f"ledger/qbo/{realm}")["documents"]
    return [d for d in docs if parse_key(str(d.get("reference") or (d.get("raw") or {}).get("PrivateNote")))
            in keys]


def test_a_killed_undo_resumes_and_voids_each_document_exactly_once(sandbox_url: str, tmp_path: Path) -> None:
    url, data = sandbox_url, str(tmp_path / "data")
    _post(url, "reset", {"seed": SEED, "rms": {"scale": 0.2, "bad_ratio": 0}})
    _post(url, "config", {"service": "qbo", "rate_limits": {"per_minute": 100_000}})
    init = run_cli("demo", "init", "--sandbox", url, "--json", "--data-dir", data)
    assert init.returncode == 0, init.stderr
    synced = run_cli("sync", "--once", "--org", ORG, "--json", "--data-dir", data, timeout=300)
    assert synced.returncode in (0, 1), synced.stdout + synced.stderr
    runs = [r for r in _cli_json("runs", "list", "--org", ORG, "--data-dir", data) if r["kind"] == "push"]
    run = max(runs, key=lambda r: r["posted"])
    assert run["posted"] >= 15, runs
    shown = _cli_json("runs", "show", str(run["id"]), "--data-dir", data)
    keys = {d["key"] for d in shown["documents"]}
    realm = next(c["realm_id"] for c in control(url, "info")["qbo"]["companies"] if c["rms_org"] == ORG)
    dry = run_cli("runs", "undo", str(run["id"]), "--dry-run", "--data-dir", data, timeout=300)
    assert dry.returncode == 0 and dry.stdout.startswith(f"Dry run: undoing run {run['id']} would take back"), dry
    listed = run_cli("runs", "list", "--data-dir", data)
    assert listed.returncode == 0 and listed.stdout.startswith("ID  ORG"), listed
    # The retry of the 11th take-back (the 12th request) is held; the 11th is done, then dropped.
    _post(url, "faults", {"rules": [{**TAKE_BACK, "action": "delay", "delay_s": 60, "after": 11, "times": 1},
                                    {**TAKE_BACK, "action": "commit_then_drop", "after": 10, "times": 1}]})
    proc = subprocess.Popen([sys.executable, "-m", "desktop", "runs", "undo", str(run["id"]), "--json",
                             "--data-dir", data], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: [r["fired"] for r in control(url, "faults")["rules"]] == [1, 1], 180,
                   what="the undo to retry a take-back the ledger already did", interval=0.2)
        proc.kill()  # SIGKILL: the void is in the ledger, the app never settled it
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        requests.delete(f"{url}/_sandbox/faults", timeout=30).raise_for_status()
    killed = _ours(url, realm, keys)
    assert sum(1 for d in killed if d["status"] in ("voided", "deleted")) == 11, "ten settled, one unheard of"

    resumed = _cli_json("runs", "undo", str(run["id"]), "--data-dir", data)

    assert resumed["outcome"] == "done", resumed["counts"]
    assert resumed["counts"].get("already_voided", 0) + resumed["counts"].get("already_deleted", 0) == 1
    final = _ours(url, realm, keys)
    assert len(final) == len(keys)
    assert all(d["status"] in ("voided", "deleted") for d in final), "no live document of the run is left"
    assert all(d["takeback_requests"] == 1 for d in final), "each document was asked to go exactly once"
    assert _cli_json("runs", "undo", str(run["id"]), "--data-dir", data)["outcome"] == "nothing_to_do"
    backs = control(url, "rms/writebacks")["writebacks"]
    latest: dict[str, str] = {}
    for w in backs:
        latest[w["return_id"]] = w["status"]
    assert list(latest.values()).count("voided") >= 1
