"""Every mutating CLI command as a viewer, an operator and an admin, in real processes, on both databases.

The sandbox runs in its own process; ``demo init`` connects the demo organizations as the
installation's first person (its admin). Then the same commands run as each role:

- single workstation (SQLite): the identity is the OS account running the test, so the test
  changes that account's role in ``users`` (through the real ``UserService``, as a second admin);
- shared PostgreSQL: each role is its own PostgreSQL login (a member of rls_viewer / rls_operator /
  rls_admin after ``db roles --grant``, enrolled with ``users add``), named in ``--db``.

A refused command exits 3, names the role it needs, changes nothing and leaves an
``access.refused`` entry in the audit log; an allowed one succeeds. ``LOGNAME``/``USER`` change
nobody's identity.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from desktop.services.admin.users import REFUSED, UserService
from desktop.services.auth.platforms import Platform
from desktop.services.auth.roles import Actor, Role
from desktop.services.auth.vault import TokenVault
from desktop.services.core.clock import SystemClock
from desktop.services.core.identity import os_login
from desktop.services.demo import simulated_consent
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import (
    AuditLog,
    LedgerConnection,
    MappingSet,
    Organization,
    ReconciliationRun,
    ReconciliationStatus,
    Setting,
    User,
    Variance,
    VarianceStatus,
)
from tests.helpers.cli import run_cli_here
from tests.helpers.db import create_pg_database

# The long CLI tours get a 900 s hang detector (not a timing: a loaded machine takes longer than 300 s).
pytestmark = [pytest.mark.slow, pytest.mark.db, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
RMS_CSV = ROOT / "tests" / "data" / "rms" / "acme_returns.csv"
ARTICLE = {Role.VIEWER: "a viewer", Role.OPERATOR: "an operator", Role.ADMIN: "an admin"}


def _cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "desktop", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}, check=False)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[dict[str, Any]]:
    """``returns-ledger sandbox serve`` in its own process; yields its start-up JSON."""
    with subprocess.Popen([sys.executable, "-m", "desktop", "sandbox", "serve"], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True, cwd=ROOT) as proc:  # never a pipe nobody reads
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line, "sandbox serve printed nothing"
            yield json.loads(line)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0


def _root(info: dict[str, Any]) -> str:
    return str(info["control_url"]).rsplit("/_sandbox", 1)[0]


@dataclass
class World:
    backend: str
    data_dir: Path
    owner_url: str            # the database as its owner (and first admin) reaches it
    urls: dict[Role, str]     # each role's --db
    logins: dict[Role, str]   # who each role is, as the audit log names them
    info: dict[str, Any]
    files: dict[str, str]
    variances: list[int]

    def as_(self, role: Role) -> list[str]:
        """The global options of a command run as ``role`` (on SQLite: make the OS account that role)."""
        if self.backend == "sqlite":
            db = Database(self.owner_url)
            try:
                UserService(db, SystemClock()).change_role(Actor("boss", Role.ADMIN), os_login(), role)
            finally:
                db.dispose()
        return ["--data-dir", str(self.data_dir), "--db", self.urls[role]]

    def refusals(self, who: str) -> list[AuditLog]:
        db = Database(self.owner_url)
        try:
            with db.session() as s:
                return list(s.scalars(sa.select(AuditLog).where(AuditLog.action == REFUSED, AuditLog.actor == who)
                                      .order_by(AuditLog.seq)))
        finally:
            db.dispose()

    def fill(self, args: list[str]) -> list[str]:
        values = {**self.files, "sandbox": _root(self.info), "v1": str(self.variances[0]),
                  "v2": str(self.variances[1]), "v3": str(self.variances[2])}
        return [a.format(**values) for a in args]


def _pg_sql(server: str, *statements: str) -> None:
    engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for sql in statements:
            conn.execute(sa.text(sql))
    engine.dispose()


def _ok(done: subprocess.CompletedProcess[str], what: str) -> None:
    assert done.returncode == 0, f"{what}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"


def _seed_variances(owner_url: str) -> list[int]:
    """Three open variances of ACME-US for the review commands (a reconciliation found them)."""
    db = Database(owner_url)
    try:
        with db.write_session() as s:
            org = s.scalars(sa.select(Organization).where(Organization.code == "ACME-US")).one()
            now = SystemClock().now()
            run = ReconciliationRun(organization_id=org.id, period_start=now.date(), period_end=now.date(),
                                    started_at=now, finished_at=now, status=ReconciliationStatus.COMPLETED,
                                    summary={})
            rows = [Variance(variance_class="missing_in_ledger", rma=f"RMA-TEST-{i}", fields={},
                             status=VarianceStatus.OPEN) for i in range(3)]
            run.variances = rows
            s.add(run)
            s.flush()
            return [v.id for v in rows]
    finally:
        db.dispose()


def _forget_grants(owner_url: str) -> None:
    db = Database(owner_url)
    try:
        with db.session() as s:
            refs = list(s.execute(sa.select(LedgerConnection.credential_ref)).scalars())
    finally:
        db.dispose()
    vault = TokenVault(SystemClock())
    for ref in refs:
        vault.forget(ref)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, sandbox: dict[str, Any],
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data = tmp_path_factory.mktemp(f"roles-{request.param}")
    requests.post(f"{sandbox['control_url']}/reset", json={"seed": 1}, timeout=30).raise_for_status()
    cleanup: list[Any] = []
    if request.param == "sqlite":
        owner = f"sqlite:///{data / 'returns-ledger.sqlite3'}"
        me = os_login()
        urls, logins = dict.fromkeys(Role, owner), dict.fromkeys(Role, me)
    else:
        server = os.environ.get("RLS_TEST_PG_URL")
        if not server:
            pytest.fail("RLS_TEST_PG_URL is not set: run the suite through scripts/test.sh", pytrace=False)
        name, owner = create_pg_database(server)
        tag = uuid.uuid4().hex[:8]
        logins = {role: f"rls_c{tag}_{role.value}" for role in Role}
        urls = {role: make_url(owner).set(username=login).render_as_string(hide_password=False)
                for role, login in logins.items()}
        _pg_sql(server, *(f'CREATE ROLE "{login}" LOGIN' for login in logins.values()))
        cleanup.append(lambda: _pg_sql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                                       *(f'DROP ROLE IF EXISTS "{login}"' for login in logins.values())))
    base = ["--data-dir", str(data), "--db", owner]
    try:
        _ok(_cli("demo", "init", "--sandbox", _root(sandbox), *base), "demo init as the first person")
        cleanup.insert(0, lambda: _forget_grants(owner))
        # The rest of the set-up through the same main() in this process (the tests run commands in real ones).
        if request.param == "sqlite":
            _ok(run_cli_here("users", "add", "boss", "--role", "admin", *base), "a second admin")
        else:
            _ok(run_cli_here("db", "roles", *base), "db roles as the owner")
            for role, login in logins.items():
                _ok(run_cli_here("db", "roles", "--grant", login, role.value, *base), f"grant {login}")
                _ok(run_cli_here("users", "add", login, "--role", role.value, *base), f"enrol {login}")
        mapping, empty = data / "acme.json", data / "empty.json"
        _ok(run_cli_here("mapping", "export", "--org", "ACME-US", "--format", "json", "--out", str(mapping), *base),
            "export")
        doc = json.loads(mapping.read_text(encoding="utf-8"))
        assert doc["rules"], "the demo mapping has rules"
        empty.write_text(json.dumps({**doc, "rules": []}), encoding="utf-8")
        files = {"mapping": str(mapping), "empty": str(empty), "csv": str(RMS_CSV)}
        yield World(request.param, data, owner, urls, logins, sandbox, files, _seed_variances(owner))
    finally:
        for step in cleanup:
            step()


ADMIN_ONLY: list[list[str]] = [
    ["fx", "set", "--org", "KIWI-NZ", "--currency", "AUD", "--date", "2026-01-01", "--rate", "1.0925", "--confirm"],
    ["fx", "remove", "--org", "KIWI-NZ", "--currency", "AUD", "--date", "2026-01-01"],
    ["mapping", "import", "{empty}", "--org", "ACME-US", "--allow-empty", "--note", "wipe it"],
    ["mapping", "import", "{mapping}", "--org", "ACME-US", "--note", "re-import"],
    ["connect", "--org", "ACME-US", "--platform", "qbo", "--env", "local", "--browser", "none", "--timeout", "5"],
    ["demo", "init", "--sandbox", "{sandbox}"],
    ["users", "list"],
    ["users", "add", "carol", "--role", "operator"],
    ["users", "role", "boss", "viewer"],
    ["users", "deactivate", "boss"],
    ["users", "reactivate", "boss"],
    ["db", "upgrade"],
    ["db", "roles"],
]
OPERATOR_UP: list[list[str]] = [
    ["sync", "--once", "--org", "ACME-US", "--json"],
    ["import", "{csv}", "--org", "ACME-US"],
    ["reconcile", "--org", "ACME-US", "--from", "2020-01-01", "--to", "2030-12-31"],
    ["variances", "resolve", "--id", "{v1}", "--note", "fixed in the ledger"],
    ["variances", "accept", "--id", "{v2}"],
]
READS: list[list[str]] = [
    ["connections"], ["mapping", "history", "--org", "ACME-US"], ["fx", "list", "--org", "KIWI-NZ"],
    ["variances", "list", "--org", "ACME-US"], ["metrics"], ["mapping", "export", "--org", "ACME-US"],
]


def _state(world: World) -> tuple[Any, ...]:
    """What the refused commands would have changed: mappings, settings, users, variances, connections."""
    db = Database(world.owner_url)
    try:
        with db.session() as s:
            count = sa.func.count()
            return (s.scalar(sa.select(count).select_from(MappingSet)),
                    s.scalar(sa.select(sa.func.max(Setting.updated_at))),
                    tuple(s.execute(sa.select(User.username, User.role, User.is_active).order_by(User.username)
                                    ).all()),
                    tuple(s.execute(sa.select(Variance.id, Variance.status).order_by(Variance.id)).all()),
                    s.scalar(sa.select(sa.func.max(LedgerConnection.updated_at))),
                    s.scalar(sa.select(count).select_from(ReconciliationRun)))
    finally:
        db.dispose()


def _assert_refused(world: World, role: Role, args: list[str], needed: Role,
                    env: dict[str, str] | None = None, *, process: bool = False) -> None:
    """``args`` as ``role`` is refused (exit 3), says why, and is audited. The command runs through
    the same ``main()`` in this process unless ``process`` (or ``env``) asks for a real one."""
    who = world.logins[role]
    before = world.refusals(who)
    argv = [*world.fill(args), *world.as_(role)]
    done = _cli(*argv, env=env) if process or env else run_cli_here(*argv)
    assert done.returncode == 3, f"{args} as {role.value}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert f"{who} is {ARTICLE[role]} and may not" in done.stderr, done.stderr
    assert f"needs the {needed.value} role" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    after = world.refusals(who)
    assert len(after) == len(before) + 1, f"{args}: the refusal is audited"
    assert after[-1].details["role"] == role.value and after[-1].details["needed"] == needed.value


def test_a_viewer_is_refused_every_change_and_may_still_read(world: World) -> None:
    world.as_(Role.VIEWER)
    before = _state(world)
    for i, args in enumerate(ADMIN_ONLY):
        _assert_refused(world, Role.VIEWER, args, Role.ADMIN, process=i == 0)  # one in a real process
    for i, args in enumerate([*OPERATOR_UP, ["worker", "--no-initial-sync"]]):
        _assert_refused(world, Role.VIEWER, args, Role.OPERATOR, process=i == 0)
    assert _state(world) == before, "a viewer changed nothing"
    for args in READS:
        _ok(run_cli_here(*args, *world.as_(Role.VIEWER)), f"{args} as a viewer")


def test_environment_variables_change_nobodys_identity(world: World) -> None:
    admin = "boss" if world.backend == "sqlite" else world.logins[Role.ADMIN]
    env = {"LOGNAME": admin, "USER": admin, "USERNAME": admin, "PGUSER": admin}
    _assert_refused(world, Role.VIEWER, ["users", "add", "mallory", "--role", "admin"], Role.ADMIN, env=env)


def test_an_operator_runs_the_sync_but_is_refused_admin_work(world: World) -> None:
    for i, args in enumerate(ADMIN_ONLY):
        _assert_refused(world, Role.OPERATOR, args, Role.ADMIN, process=i == 0)
    synced = _cli(*world.fill(OPERATOR_UP[0]), *world.as_(Role.OPERATOR))
    _ok(synced, "sync as an operator")
    totals = json.loads(synced.stdout)
    assert totals["ingested"] > 0 and totals["posted"] > 0 and "errors" not in totals
    for args in OPERATOR_UP[1:]:  # the sync above ran in a real process; these through the same main() here
        _ok(run_cli_here(*world.fill(args), *world.as_(Role.OPERATOR)), f"{args} as an operator")
    db = Database(world.owner_url)
    try:
        with db.session() as s:
            status = dict(s.execute(sa.select(Variance.id, Variance.status).where(
                Variance.id.in_(world.variances[:2]))).all())
    finally:
        db.dispose()
    assert status == {world.variances[0]: VarianceStatus.RESOLVED, world.variances[1]: VarianceStatus.ACCEPTED}


def test_an_admin_does_the_admin_work(world: World) -> None:
    admin = world.as_(Role.ADMIN)
    # (Wiping the mapping is refused even to an admin once returns use it: validation, not permission.)
    # The first command of each list in a real process, the rest through the same main() in this one;
    # ``connect`` below runs all the way in a real process.
    for i, args in enumerate([a for a in ADMIN_ONLY if a[0] not in ("connect", "demo", "users", "db")
                              and "{empty}" not in a]):
        _ok((_cli if i == 0 else run_cli_here)(*world.fill(args), *admin), f"{args} as an admin")
    users = [["users", "add", "carol", "--role", "operator"], ["users", "role", "carol", "viewer"],
             ["users", "deactivate", "carol"], ["users", "reactivate", "carol"]]
    for i, args in enumerate(users):
        _ok((_cli if i == 0 else run_cli_here)(*args, *admin), f"{args} as an admin")
    listed = run_cli_here("users", "list", "--json", *admin)
    _ok(listed, "users list")
    assert {"username": "carol", "role": "viewer", "active": True}.items() <= next(
        u for u in json.loads(listed.stdout) if u["username"] == "carol").items()
    _ok(run_cli_here("db", "upgrade", *admin), "db upgrade as an admin")
    _ok(run_cli_here("variances", "resolve", "--id", str(world.variances[2]), "--note", "ok", *admin),
        "review as admin")
    if world.backend == "postgresql":
        # Granting is the tables' owner's: an admin's own login is refused, saying whose it is.
        done = run_cli_here("db", "roles", *admin)
        assert done.returncode == 3 and "only their owner (postgres) can grant" in done.stderr, done.stderr
        _ok(run_cli_here("db", "roles", "--data-dir", str(world.data_dir), "--db", world.owner_url),
            "db roles as owner")
    _connect_as_admin(world, admin)


def _connect_as_admin(world: World, admin: list[str]) -> None:
    """``connect`` all the way: the person approves in the (simulated) browser, the command finishes."""
    tenant = world.info["xero"]["tenants"][0]
    cmd = [sys.executable, "-m", "desktop", "connect", "--org", tenant["rms_org"], "--platform", "xero", "--env",
           "local", "--browser", "none", "--tenant", tenant["tenant_id"], "--timeout", "120", "--json", *admin]
    with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"}) as proc:
        watchdog = threading.Timer(240, proc.kill)
        watchdog.start()
        try:
            assert proc.stderr is not None
            seen: list[str] = []
            for line in proc.stderr:
                seen.append(line)
                if line.startswith(_root(world.info)):
                    break
            else:
                pytest.fail(f"connect printed no sign-in address: {''.join(seen)}")
            redirect = simulated_consent(world.info, Platform.XERO, line.strip(), tenant["tenant_id"])
            assert requests.get(redirect, timeout=60).status_code == 200
            out, err = proc.communicate(timeout=180)
        finally:
            watchdog.cancel()
    assert proc.returncode == 0, "".join(seen) + err
    assert json.loads(out)["state"] == "connected"


def test_someone_not_enrolled_is_refused_and_audited(tmp_path: Path) -> None:
    """Single workstation: the OS account is the identity; if ``users`` does not know it, nothing runs."""
    url = f"sqlite:///{tmp_path / 'returns-ledger.sqlite3'}"
    upgrade(url)
    db = Database(url)
    try:
        assert UserService(db, SystemClock()).current_actor("boss").role is Role.ADMIN  # someone else came first
    finally:
        db.dispose()
    done = _cli("fx", "list", "--org", "KIWI-NZ", "--data-dir", str(tmp_path))
    assert done.returncode == 3 and f"{os_login()} is not a user of this installation" in done.stderr, done.stderr
    assert f"returns-ledger users add {os_login()}" in done.stderr
    db = Database(url)
    try:
        with db.session() as s:
            entry = s.scalars(sa.select(AuditLog).order_by(AuditLog.seq.desc()).limit(1)).one()
            enrolled = list(s.scalars(sa.select(User.username)))
    finally:
        db.dispose()
    assert (entry.actor, entry.action, entry.target) == (os_login(), REFUSED, "sign_in")
    assert enrolled == ["boss"], "refusing enrols nobody"


def test_db_password_goes_to_the_keyring_from_stdin_never_argv(tmp_path: Path) -> None:
    import keyring

    from desktop.services.core.config import KEYRING_SERVICE
    from desktop.services.store.db import db_password_entry
    url = f"postgresql+psycopg://alice{uuid.uuid4().hex[:8]}@db.example.test:5432/rls"
    secret = f"pw-{uuid.uuid4().hex}"
    done = subprocess.run([sys.executable, "-m", "desktop", "db", "password", "--json", "--db", url,
                           "--data-dir", str(tmp_path)], input=secret + "\n", capture_output=True, text=True,
                          cwd=ROOT, timeout=120, check=False)
    entry = db_password_entry(url)
    assert entry is not None
    try:
        _ok(done, "db password")
        assert json.loads(done.stdout)["keyring_entry"] == entry and secret not in done.stdout + done.stderr
        assert keyring.get_password(KEYRING_SERVICE, entry) == secret
    finally:
        keyring.delete_password(KEYRING_SERVICE, entry)
    sqlite = _cli("db", "password", "--data-dir", str(tmp_path))
    assert sqlite.returncode == 2 and "Only a PostgreSQL login has a password" in sqlite.stderr
