"""``returns-ledger mapping import|export|history`` through the CLI's own ``main()`` in the test's process.

The organization's reference cache holds the ACME-US demo company's chart as the QBO connector
read it from the sandbox, so the shipped template is checked against real reference data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from desktop.services.admin import audit
from desktop.services.mapping.io import TEMPLATE_DIR
from desktop.services.platforms.base import RefKind
from desktop.services.store import migrate
from desktop.services.store.db import Database
from desktop.services.store.models import AuditLog, RefAccount, RefItem, RefTaxCode, RefTracking
from desktop.services.store.testing import T0, make_connection, make_org
from tests.helpers.cli import run_cli_here
from tests.helpers.sandbox import ACME_REALM, SandboxHandle, memory_connection

pytestmark = pytest.mark.slow



def _cli(data_dir: Path, *args: str) -> tuple[int, str, str]:
    proc = run_cli_here(*args, "--data-dir", str(data_dir))  # the process boundary is not what is tested
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def data_dir(tmp_path: Path, sandbox: SandboxHandle) -> Path:
    """A data directory whose database knows ACME-US, its QBO connection and reference data."""
    from desktop.services.auth.platforms import Platform
    url = f"sqlite:///{tmp_path / 'returns-ledger.sqlite3'}"
    migrate.upgrade(url)
    conn = memory_connection(sandbox.info, Platform.QBO, ACME_REALM).connector
    info, data = conn.company_info(), conn.reference_data()
    db = Database(url)
    with db.write_session() as s:
        org = make_org(s, code="ACME-US")
        make_org(s, code="EMPTY-CO")
        c = make_connection(s, org)
        c.company = {"home_currency": info.home_currency, "currencies": list(info.currencies),
                     "closed_through": None, "country": info.country, "multicurrency": info.multicurrency}
        common: dict[str, Any] = {"connection_id": c.id, "fetched_at": T0}
        for r in data[RefKind.ACCOUNT]:
            s.add(RefAccount(remote_id=r.remote_id, name=r.name, code=r.code, type=r.type, active=r.active,
                             currency=r.currency, raw=r.raw, **common))
        for r in data[RefKind.ITEM]:
            s.add(RefItem(remote_id=r.remote_id, name=r.name, type=r.type, active=r.active, raw=r.raw,
                          income_account_remote_id=r.parent_id, **common))
        for r in data[RefKind.TAX_CODE]:
            s.add(RefTaxCode(remote_id=r.remote_id, name=r.name, type=r.type, active=r.active, raw=r.raw, **common))
        seen: set[str] = set()
        for r in data[RefKind.TRACKING]:
            if r.type == "Class" and r.remote_id not in seen:  # the cache table keys tracking by id alone
                seen.add(r.remote_id)
                s.add(RefTracking(remote_id=r.remote_id, name=r.name, kind="class", active=r.active, raw=r.raw,
                                  **common))
    db.dispose()
    return tmp_path


def test_import_a_template_export_it_and_import_the_export(data_dir: Path, tmp_path: Path) -> None:
    template = str(TEMPLATE_DIR / "qbo-us.yaml")
    n = len(yaml.safe_load(Path(template).read_text(encoding="utf-8"))["rules"])  # 17 before the goods rules
    assert n >= 17
    code, out, err = _cli(data_dir, "mapping", "import", template, "--org", "ACME-US", "--dry-run", "--json")
    assert code == 0, err
    assert json.loads(out)["saved"] is False and len(json.loads(out)["changes"]["added"]) == n

    code, out, err = _cli(data_dir, "mapping", "import", template, "--org", "ACME-US", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["saved"], result["version"], result["rules"]) == (True, 1, n)

    exported = tmp_path / "acme.json"
    code, _, err = _cli(data_dir, "mapping", "export", "--org", "ACME-US", "--format", "json", "--out", str(exported))
    assert code == 0 and f"Wrote {n} rules of ACME-US version 1" in err
    doc = json.loads(exported.read_text())
    assert doc["organization"] == "ACME-US" and doc["version"] == 1
    checking = next(r for r in doc["rules"] if r["component"] == "refund" and r["currency"] == "USD")
    assert checking["account"]["name"] == "Checking" and checking["account"]["id"]

    code, out, err = _cli(data_dir, "mapping", "import", str(exported), "--org", "ACME-US", "--note", "restore")
    assert code == 0, err
    assert out.strip() == f"Imported {n} rules into ACME-US: version 2 is active (no changes)."
    code, out, _ = _cli(data_dir, "mapping", "export", "--org", "ACME-US")
    assert code == 0 and yaml.safe_load(out)["rules"] == doc["rules"], "YAML and JSON exports agree"

    code, out, _ = _cli(data_dir, "mapping", "history", "--org", "ACME-US", "--json")
    assert [(h["version"], h["active"], h["note"]) for h in json.loads(out)] == [
        (2, True, "restore"), (1, False, "imported from qbo-us.yaml")]
    db = Database(f"sqlite:///{data_dir / 'returns-ledger.sqlite3'}")
    with db.session() as s:
        assert [a.action for a in s.execute(sa.select(AuditLog).order_by(AuditLog.seq)).scalars()] == \
            ["user.enrolled", "mapping.imported", "mapping.imported"]  # the first person became the admin
        assert audit.verify_chain(s).intact
    db.dispose()


def test_import_refuses_an_invalid_file_and_lists_every_problem(data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"format": "returns-ledger-mapping/1", "rules": [
        {"component": "merchandise", "account": "Sales Returns and Allowances"},
        {"component": "clearing", "account": "Old Returns Reserve"},
        {"component": "label_cost", "account": "Checking"},
        {"component": "refund", "account": "Postage Float"},
    ]}))
    code, out, err = _cli(data_dir, "mapping", "import", str(bad), "--org", "ACME-US")
    assert code == 1, err
    assert out.startswith("Not imported: ")
    assert "[inactive_account] Refunds clearing → account 'Old Returns Reserve' is inactive in QuickBooks" in out
    assert "[wrong_account_type] Return label cost → account 'Checking' is a Bank account" in out
    assert "[not_found] Account 'Postage Float' was not found in QuickBooks" in out
    code, out, _ = _cli(data_dir, "mapping", "import", str(bad), "--org", "ACME-US", "--json")
    assert code == 1 and {p["code"] for p in json.loads(out)["problems"]} >= {"inactive_account", "not_found"}
    code, out, _ = _cli(data_dir, "mapping", "history", "--org", "ACME-US")
    assert out.strip() == "ACME-US has no mapping yet.", "nothing was saved"


def test_errors_are_one_clear_line(data_dir: Path, tmp_path: Path) -> None:
    code, _, err = _cli(data_dir, "mapping", "export", "--org", "ACME-US")
    assert code == 2 and err.startswith("error: ACME-US has no mapping yet — import a template")
    code, _, err = _cli(data_dir, "mapping", "import", str(TEMPLATE_DIR / "qbo-us.yaml"), "--org", "EMPTY-CO")
    assert code == 2 and "no cached chart of accounts" in err
    code, _, err = _cli(data_dir, "mapping", "import", str(tmp_path / "missing.yaml"), "--org", "ACME-US")
    assert code == 2 and err.startswith("error: Cannot read")
    code, _, err = _cli(data_dir, "mapping", "history", "--org", "NOPE")
    assert code == 2 and "There is no organization 'NOPE'" in err
