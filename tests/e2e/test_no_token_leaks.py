"""The leak scan: after the real app connects ledgers and caches their reference data, no token
the sandbox issued appears anywhere in the database, the data directory or the log file."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from desktop.app import build_services
from desktop.services.core.config import AppConfig


@pytest.mark.db
def test_no_issued_token_is_written_anywhere(db_url: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    services = build_services(AppConfig(data_dir=data, db_url=db_url, demo=True))
    try:
        assert services.sandbox is not None and services.sandbox.wait(60)
        info = services.sandbox.info
        assert info is not None
        summaries = services.connections.summaries()
        assert len(summaries) == 4 and all(s.reference_fetched_at for s in summaries)
        # Use every connection once more, so refreshed tokens are in play too.
        for s in summaries:
            services.connections.test(services.actor, s.id)
        tokens = requests.get(f"{info['control_url']}/tokens", timeout=10).json()["tokens"]
        assert services.sink.flush(timeout=10)
        with services.database.session() as session:
            meta = sa.MetaData()
            meta.reflect(bind=services.database.engine)
            dump = "\n".join(repr(tuple(row)) for table in meta.tables.values()
                             for row in session.execute(sa.select(table)))
    finally:
        services.shutdown()
    secrets = {t["value"] for t in tokens} | {info["qbo"]["client_secret"], info["xero"]["client_secret"],
                                              info["rms"]["api_key"]}
    assert len(tokens) >= 8  # codes, access and refresh tokens for four companies
    assert "Kiwi Cycles Ltd" in dump and "connection.connected" in dump  # the dump is real
    files = [f for f in data.rglob("*") if f.is_file()]
    assert any(f.suffix == ".log" for f in files)
    for secret in secrets:
        assert secret not in dump, f"a token ({secret[:4]}…) is in the database"
        for file in files:
            assert secret.encode() not in file.read_bytes(), f"a token ({secret[:4]}…) is in {file.name}"
