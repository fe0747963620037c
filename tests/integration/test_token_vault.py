"""The token vault against the real Secret Service, with single-flight refresh across threads
and processes. The refresher stands in for the platform's token endpoint (counted calls);
the connectors' own tests drive the real endpoints of the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import keyring
import pytest

from desktop.services.auth.vault import KEYRING_SERVICE, NeedsReconnect, TokenResult, TokenVault
from tests.helpers.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


class _Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


class _CountingRefresher:
    """Rotates like a real token endpoint: each call answers a new pair, old token refused."""

    def __init__(self, first_refresh: str, hold: threading.Event | None = None) -> None:
        self.calls: list[str] = []
        self.current = first_refresh
        self.hold = hold  # a refresh in flight waits for it (the endpoint is slow until the test says)
        self._lock = threading.Lock()

    def __call__(self, refresh_token: str) -> TokenResult:
        with self._lock:
            self.calls.append(refresh_token)
            assert refresh_token == self.current, "refresh with a rotated-away token (invalid_grant)"
            n = len(self.calls)
            self.current = f"refresh-{n}"
        if self.hold is not None:
            assert self.hold.wait(10), "the test never let the refresh finish"
        return TokenResult(access_token=f"access-{n}", expires_in_s=3600, refresh_token=f"refresh-{n}",
                           refresh_expires_in_s=100 * 86400)


@pytest.fixture
def connection_id() -> Iterator[str]:
    cid = f"test-{uuid.uuid4().hex}"
    yield cid
    TokenVault(_Clock()).forget(cid)


def _connect(vault: TokenVault, cid: str) -> None:
    vault.store_token_result(cid, TokenResult("access-0", 3600, "refresh-0", 100 * 86400))


def test_valid_token_is_served_from_memory_without_refreshing(connection_id: str) -> None:
    clock = _Clock()
    vault = TokenVault(clock)
    _connect(vault, connection_id)
    refresher = _CountingRefresher("refresh-0")
    assert vault.access_token(connection_id, refresher) == "access-0"
    assert refresher.calls == []


def test_eight_threads_refresh_exactly_once(connection_id: str) -> None:
    clock = _Clock()
    vault = TokenVault(clock)
    _connect(vault, connection_id)
    clock.at += timedelta(hours=2)  # access token expired
    everyone_asked = threading.Event()
    refresher = _CountingRefresher("refresh-0", hold=everyone_asked)  # in flight until all eight have asked
    results: list[str] = []
    asked: list[int] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        asked.append(1)
        if len(asked) == 8:
            everyone_asked.set()
        results.append(vault.access_token(connection_id, refresher))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert refresher.calls == ["refresh-0"]
    assert results == ["access-1"] * 8


def test_rotated_refresh_token_survives_a_restart(connection_id: str) -> None:
    clock = _Clock()
    vault = TokenVault(clock)
    _connect(vault, connection_id)
    clock.at += timedelta(hours=2)
    refresher = _CountingRefresher("refresh-0")
    assert vault.access_token(connection_id, refresher) == "access-1"
    # The keyring, not memory, now holds the rotated token: a new vault ("after a restart") uses it.
    stored = json.loads(keyring.get_password(KEYRING_SERVICE, f"grant:{connection_id}") or "{}")
    assert stored["refresh_token"] == "refresh-1"
    clock.at += timedelta(hours=2)
    restarted = TokenVault(clock)
    assert restarted.access_token(connection_id, refresher) == "access-2"
    assert refresher.calls == ["refresh-0", "refresh-1"]


def test_a_rejected_token_is_refreshed_once_even_before_expiry(connection_id: str) -> None:
    vault = TokenVault(_Clock())
    _connect(vault, connection_id)
    refresher = _CountingRefresher("refresh-0")
    assert vault.access_token(connection_id, refresher, rejected="access-0") == "access-1"
    # A second caller that was holding the same rejected token gets the new one, no new call.
    assert vault.access_token(connection_id, refresher, rejected="access-0") == "access-1"
    assert refresher.calls == ["refresh-0"]


def test_grace_period_keeps_the_previous_refresh_token(connection_id: str) -> None:
    clock = _Clock()
    vault = TokenVault(clock)
    _connect(vault, connection_id)
    clock.at += timedelta(hours=1)
    vault.access_token(connection_id, _CountingRefresher("refresh-0"), grace=timedelta(minutes=30))
    grant = vault.load_grant(connection_id)
    assert grant is not None
    assert grant.refresh_token == "refresh-1"
    assert grant.previous_refresh_token == "refresh-0"
    assert grant.previous_valid_until == clock.at + timedelta(minutes=30)


def test_missing_grant_needs_a_person(connection_id: str) -> None:
    with pytest.raises(NeedsReconnect, match="no stored authorization"):
        TokenVault(_Clock()).access_token(connection_id, _CountingRefresher("x"))


def test_forget_removes_every_keyring_entry(connection_id: str) -> None:
    vault = TokenVault(_Clock())
    _connect(vault, connection_id)
    vault.forget(connection_id)
    assert keyring.get_password(KEYRING_SERVICE, f"grant:{connection_id}") is None
    assert keyring.get_password(KEYRING_SERVICE, f"access:{connection_id}") is None


_WORKER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime, timedelta
    from pathlib import Path
    import sqlalchemy as sa
    from desktop.services.auth.vault import TokenResult, TokenVault
    from desktop.services.auth.locks import FileLock, PostgresAdvisoryLock
    cid, lock_kind, target, counter = sys.argv[1:5]
    class Clock:
        def now(self):
            return datetime.now(UTC) + timedelta(hours=2)   # the stored access token has expired
    lock = PostgresAdvisoryLock(sa.create_engine(target)) if lock_kind == "pg" else FileLock(Path(target))

    def refresher(refresh_token):
        with open(counter, "a") as fh:
            fh.write(refresh_token + "\\n")
        print("refreshing", flush=True)  # holding the lock, mid-refresh...
        sys.stdin.readline()  # ...until the parent has seen the other process wait for it
        return TokenResult("access-from-" + str(__import__("os").getpid()), 3600 * 5, "refresh-next", 8640000)

    vault = TokenVault(Clock(), process_lock=lock)
    print("ready", flush=True)
    sys.stdin.readline()
    print(vault.access_token(cid, refresher), flush=True)
    """
)


def _waits_for_the_lock(lock_kind: str, target: str, pid: int, connection_id: str) -> bool:
    """Whether process ``pid`` is blocked on the vault's lock for ``connection_id`` (PostgreSQL's
    view of advisory locks, or the kernel's of ``flock``)."""
    if lock_kind == "pg":
        import sqlalchemy as sa

        from desktop.services.auth.locks import _lock_key  # the key the vault's lock takes
        key = _lock_key(connection_id)
        engine = sa.create_engine(target)
        try:
            with engine.connect() as conn:
                return bool(conn.execute(sa.text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    " AND classid = :hi AND objid = :lo"), {"hi": (key >> 32) & 0xFFFFFFFF,
                                                             "lo": key & 0xFFFFFFFF}).scalar())
        finally:
            engine.dispose()
    blocked = [line.split() for line in Path("/proc/locks").read_text().splitlines() if "->" in line]
    return any(str(pid) in fields for fields in blocked)


def _say(proc: subprocess.Popen[str], line: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()


@pytest.mark.parametrize("lock_kind", ["pg", "file"])
def test_two_processes_refresh_exactly_once(lock_kind: str, connection_id: str, tmp_path: Path) -> None:
    target = _pg_url() if lock_kind == "pg" else str(tmp_path)
    real_now = _Clock()
    real_now.at = datetime.now(UTC)
    vault = TokenVault(real_now)
    vault.store_token_result(connection_id, TokenResult("stale", 60, "refresh-0", 8640000))
    counter = tmp_path / "calls.txt"
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, connection_id, lock_kind, target, str(counter)],
                              cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    first, second = procs
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready", proc.stderr
        _say(first, "go")
        assert first.stdout is not None and first.stdout.readline().strip() == "refreshing"
        _say(second, "go")  # the first holds the lock mid-refresh: the second must wait for it
        wait_until(lambda: _waits_for_the_lock(lock_kind, target, second.pid, connection_id), 30,
                   what="the second process to wait for the vault's lock")
        _say(first, "finish")
        outs = [p.communicate(timeout=60) for p in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    assert counter.read_text().splitlines() == ["refresh-0"]
    tokens = {out.strip() for out, _ in outs}
    assert len(tokens) == 1 and next(iter(tokens)).startswith("access-from-")


def _pg_url() -> str:
    url = os.environ.get("RLS_TEST_PG_URL")
    if not url:
        pytest.fail("RLS_TEST_PG_URL is not set: run through scripts/test.sh", pytrace=False)
    return url
