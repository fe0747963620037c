"""``desktop.app``: services are built in order, shut down in reverse, and the log file is redacted."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from desktop.app import LOG_FILE, build_services, configure_file_logging
from desktop.services.core.config import AppConfig
from desktop.services.store.event_sink import recent_events


@pytest.mark.db
def test_services_start_in_order_and_stop_in_reverse(db_url: str, tmp_path: Path) -> None:
    config = AppConfig(data_dir=tmp_path / "data", db_url=db_url, demo=True)
    handlers_before = list(logging.getLogger().handlers)
    services = build_services(config)
    try:
        assert services.sandbox is not None and services.sandbox.wait(15)
        assert services.sandbox.error is None
        assert services.sandbox.info is not None and "qbo" in services.sandbox.info
        services.bus.emit("app.check", "info", "composition root works", org="ACME-US")
        assert services.sink.flush(timeout=10)
        kinds = {row.kind for row in recent_events(services.database, limit=50)}
        assert {"app.started", "sandbox.ready", "sandbox.company_available", "app.check"} <= kinds
        assert (config.log_dir / LOG_FILE).is_file()
        # The demo connected every sandbox company through the real sign-in flow.
        summaries = services.connections.summaries()
        assert sorted(c.org_code for c in summaries) == ["ACME-US", "KIWI-NZ", "MAPLE-CA", "TEA-UK"]
        assert {c.state for c in summaries} == {"connected"}
        refs = _credential_refs(services)
        assert all(services.vault.load_grant(ref) is not None for ref in refs)
    finally:
        stopped = services.shutdown()
    assert stopped == ["ledger requests", "scheduler", "sandbox", "demo keyring entries", "alerts", "event log",
                       "database", "logging"]
    assert all(services.vault.load_grant(ref) is None for ref in refs), "a throwaway demo leaves no keyring entry"
    assert services.shutdown() == stopped  # idempotent
    assert logging.getLogger().handlers == handlers_before
    text = (config.log_dir / LOG_FILE).read_text(encoding="utf-8")
    positions = [text.index(f"shut down: {name}") for name in ("sandbox", "event log", "database")]
    assert positions == sorted(positions) and text.rstrip().endswith("shutdown complete")


def _credential_refs(services: object) -> list[str]:
    import sqlalchemy as sa

    from desktop.services.store.models import LedgerConnection
    with services.database.session() as s:  # type: ignore[attr-defined]
        return list(s.execute(sa.select(LedgerConnection.credential_ref)).scalars())


def test_log_file_never_contains_tokens(tmp_path: Path) -> None:
    remove = configure_file_logging(tmp_path)
    try:
        log = logging.getLogger("desktop.test_redaction")
        log.info("refreshing with refresh_token=%s", "RT-8f3a9c2e7b1d4f6a")
        log.info("calling QBO with Authorization: Bearer %s", "eyJhbGciOiJSUzI1NiJ9.payload.sig")
        try:
            raise RuntimeError("token endpoint said: access_token=AT-5e1d9b7c3a2f8e4d")
        except RuntimeError:
            log.info("handled", exc_info=True)
    finally:
        remove()
    text = (tmp_path / LOG_FILE).read_text(encoding="utf-8")
    for secret in ("RT-8f3a9c2e7b1d4f6a", "eyJhbGciOiJSUzI1NiJ9", "AT-5e1d9b7c3a2f8e4d"):
        assert secret not in text
    assert text.count("***") >= 3
    assert "refreshing with refresh_token=***" in text
