"""Shared PostgreSQL mode: two ``sync --once`` processes on one database never post a document twice.

Each process claims outbox rows with ``FOR UPDATE SKIP LOCKED`` under a per-connection advisory
lock; whatever the interleaving, every document reaches the ledger exactly once and the two
processes' ``posted`` counts add up to what the ledgers hold.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.helpers.cli import control, run_cli
from tests.helpers.db import pg_database

pytestmark = pytest.mark.slow


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL database both workers share."""
    with pg_database() as url:
        yield url


def _ledger_keys(url: str) -> Counter[str]:
    import re

    info = control(url, "info")
    companies = [("qbo", c["realm_id"]) for c in info["qbo"]["companies"]]
    companies += [("xero", t["tenant_id"]) for t in info["xero"]["tenants"]]
    keys: Counter[str] = Counter()
    for service, company in companies:
        for doc in control(url, f"ledger/{service}/{company}")["documents"]:
            if doc.get("status") != "active":
                continue
            for text in (doc.get("reference"), (doc.get("raw") or {}).get("PrivateNote")):
                m = re.search(r"\brls-[a-z2-7]{26}\b", str(text or ""))
                if m:
                    keys[m.group(0)] += 1
                    break
    return keys


def test_two_workers_on_one_postgresql_database_post_each_document_once(sandbox_url: str,
                                                                        pg_url: str, tmp_path: Path) -> None:
    requests.post(f"{sandbox_url}/_sandbox/reset", json={"seed": 1}, timeout=30).raise_for_status()
    init = run_cli("demo", "init", "--sandbox", sandbox_url, "--db", pg_url, "--data-dir", str(tmp_path / "a"))
    assert init.returncode == 0, init.stderr
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs = [subprocess.Popen([sys.executable, "-m", "desktop", "sync", "--once", "--json", "--db", pg_url,
                               "--data-dir", str(tmp_path / name)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for name in ("w1", "w2")]
    finished = []
    for proc in procs:
        with proc:
            finished.append((proc, *proc.communicate(timeout=300)))
    for proc, out, err in finished:
        assert proc.returncode == 0, out + err
    outputs = [json.loads(out) for _proc, out, _err in finished]
    posted = sum(o["posted"] for o in outputs)
    keys = _ledger_keys(sandbox_url)
    assert posted > 0
    assert [k for k, n in keys.items() if n > 1] == []  # no document twice
    assert posted == sum(keys.values())
    assert sum(o["ingested"] for o in outputs) > 0


@pytest.mark.timeout(900)
def test_two_workers_sync_two_thousand_returns_with_zero_duplicates(sandbox_url: str,
                                                                     pg_url: str, tmp_path: Path) -> None:
    """2,000 new returns (3 % of them bad) plus a few seeded ones through two concurrent ``sync --once``
    processes on one PostgreSQL database, at the platforms' production rate limits.

    The volume goes to the two Xero tenants: Xero requests of 50 post 1,000 returns in about a minute
    at 60 calls a minute, where QuickBooks — which counts every batch item as a call, 500 a minute —
    would need two. The RMS write-back is one call per return; the two workers lease revisions
    before writing them back, so they split that work rather than replaying each other's.
    """
    requests.post(f"{sandbox_url}/_sandbox/reset", json={"seed": 2, "rms": {"scale": 0.01}},
                  timeout=60).raise_for_status()
    for org in ("KIWI-NZ", "TEA-UK"):
        requests.post(f"{sandbox_url}/_sandbox/rms/generate", json={"org": org, "count": 1000, "bad_ratio": 0.03,
                                                                    "seed": 5}, timeout=120).raise_for_status()
    returns = _rms_ids(sandbox_url)
    assert len(returns) >= 2000
    init = run_cli("demo", "init", "--sandbox", sandbox_url, "--db", pg_url, "--data-dir", str(tmp_path / "a"))
    assert init.returncode == 0, init.stderr
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs = [subprocess.Popen([sys.executable, "-m", "desktop", "sync", "--once", "--json", "--db", pg_url,
                               "--data-dir", str(tmp_path / name)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for name in ("w1", "w2")]
    finished = []
    for proc in procs:
        with proc:
            finished.append((proc, *proc.communicate(timeout=840)))
    for proc, out, err in finished:
        assert proc.returncode == 0, out + err
    outputs = [json.loads(out) for _proc, out, _err in finished]
    keys = _ledger_keys(sandbox_url)
    assert [k for k, n in keys.items() if n > 1] == []  # zero duplicates
    assert sum(o["posted"] for o in outputs) == sum(keys.values())
    assert sum(o["failed"] + o["uncertain"] for o in outputs) == 0
    assert set(keys) == _posted_outbox_keys(pg_url)  # every planned document of every valid revision, once
    # Every return ends posted or stopped by pre-flight for a person (never left half done), and no
    # bad record reached a ledger.
    states, bad = _return_states(pg_url), _bad_ids(sandbox_url)
    assert returns - bad <= set(states) <= returns
    assert {s for latest in states.values() for s in latest} <= {"posted", "quarantined", "superseded"}
    posted = {rid for rid, latest in states.items() if "posted" in latest}
    assert posted == _posted_return_ids(pg_url) and len(posted) >= 1500
    assert not posted & bad


def _rms_ids(url: str) -> set[str]:
    rms = control(url, "info")["rms"]
    ids: set[str] = set()
    cursor = ""
    while True:
        params: dict[str, str | int] = {"limit": 500, "cursor": cursor}
        page = requests.get(f"{rms['base_url']}/v1/returns", params=params, headers={"X-API-Key": rms["api_key"]},
                            timeout=30).json()
        ids.update(d["id"] for d in page["returns"])
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return ids


def _bad_ids(url: str) -> set[str]:
    return {b["id"] for b in control(url, "rms/bad")["bad"]}


def _pg_rows(pg_url: str, sql: str) -> list[Any]:
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql)))
    finally:
        engine.dispose()


def _posted_outbox_keys(pg_url: str) -> set[str]:
    rows = _pg_rows(pg_url, "SELECT idempotency_key, status FROM outbox_documents")
    assert {str(s).lower() for _k, s in rows} == {"posted"}, "a planned document did not post"
    return {k for k, _s in rows}


def _posted_return_ids(pg_url: str) -> set[str]:
    return {r for (r,) in _pg_rows(pg_url, "SELECT DISTINCT r.rms_id FROM returns r JOIN outbox_documents o "
                                          "ON o.return_id = r.id WHERE o.status = 'POSTED' OR o.status = 'posted'")}


def _return_states(pg_url: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for rid, status in _pg_rows(pg_url, "SELECT rms_id, sync_status FROM returns"):
        out.setdefault(rid, set()).add(str(status).lower())
    return out
