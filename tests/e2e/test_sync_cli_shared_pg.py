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

import pytest
import requests

from tests.conftest import _create_pg_database, _drop_pg_database, _pg_server_url
from tests.e2e.test_sync_cli import _cli, _control, sandbox_url  # noqa: F401 - the module's sandbox fixture

pytestmark = pytest.mark.slow


@pytest.fixture
def pg_url() -> Iterator[str]:
    server = _pg_server_url()
    assert server is not None
    name, url = _create_pg_database(server)
    try:
        yield url
    finally:
        _drop_pg_database(server, name)


def _ledger_keys(url: str) -> Counter[str]:
    import re

    info = _control(url, "info")
    companies = [("qbo", c["realm_id"]) for c in info["qbo"]["companies"]]
    companies += [("xero", t["tenant_id"]) for t in info["xero"]["tenants"]]
    keys: Counter[str] = Counter()
    for service, company in companies:
        for doc in _control(url, f"ledger/{service}/{company}")["documents"]:
            if doc.get("status") != "active":
                continue
            for text in (doc.get("reference"), (doc.get("raw") or {}).get("PrivateNote")):
                m = re.search(r"\brls-[a-z2-7]{26}\b", str(text or ""))
                if m:
                    keys[m.group(0)] += 1
                    break
    return keys


def test_two_workers_on_one_postgresql_database_post_each_document_once(sandbox_url: str,  # noqa: F811
                                                                        pg_url: str, tmp_path: Path) -> None:
    requests.post(f"{sandbox_url}/_sandbox/reset", json={"seed": 1}, timeout=30).raise_for_status()
    init = _cli("demo", "init", "--sandbox", sandbox_url, "--db", pg_url, "--data-dir", str(tmp_path / "a"))
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
