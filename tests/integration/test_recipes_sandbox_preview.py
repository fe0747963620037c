"""``returns-ledger preview`` through the real CLI: a return ingested into the database, the
shipped QBO US mapping template, and reference data the connector read from the sandbox."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from desktop.services.auth.platforms import Platform
from desktop.services.connections.refcache import store_reference_data
from desktop.services.core.domain import Customer
from desktop.services.core.enums import FeeType, RefundMethod
from desktop.services.mapping.io import TEMPLATE_DIR
from desktop.services.platforms.base import RefKind
from desktop.services.rms.records import add_line_taxes, to_rows
from desktop.services.store import migrate
from desktop.services.store.db import Database
from desktop.services.store.testing import make_connection, make_org
from tests.helpers.cli import run_cli_here
from tests.helpers.recipes import fee, make_return, taxed_line
from tests.helpers.sandbox import ACME_REALM, SandboxHandle, memory_connection

pytestmark = pytest.mark.slow

LA = [("US-CA", "7.25"), ("US-CA-LA", "2.25")]


def _cli(data_dir: Path, *args: str) -> tuple[int, str, str]:
    proc = run_cli_here(*args, "--data-dir", str(data_dir))  # the process boundary is not what is tested
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def data_dir(tmp_path: Path, sandbox: SandboxHandle) -> Path:
    url = f"sqlite:///{tmp_path / 'returns-ledger.sqlite3'}"
    migrate.upgrade(url)
    connector = memory_connection(sandbox.info, Platform.QBO, ACME_REALM).connector
    info, data = connector.company_info(), connector.reference_data()
    now = datetime.now(UTC)
    db = Database(url)
    with db.write_session() as s:
        org = make_org(s, code="ACME-US", timezone="America/Los_Angeles")
        c = make_connection(s, org)
        c.company = {"home_currency": info.home_currency, "currencies": list(info.currencies),
                     "closed_through": info.closed_through.isoformat() if info.closed_through else None,
                     "country": info.country, "multicurrency": info.multicurrency}
        conn_id = c.id
        org_id = org.id
    store_reference_data(db, conn_id, info, data, now)
    # the mapping first: an import is refused while returns to post would stay unmapped (US-TX)
    code, out, err = _cli(tmp_path, "mapping", "import", str(TEMPLATE_DIR / "qbo-us.yaml"), "--org", "ACME-US")
    assert code == 0, err + out
    with db.write_session() as s:
        known = next(r for r in data[RefKind.CUSTOMER] if r.active and r.code and r.currency == "USD")
        good = make_return("ACME-US", "USD", [taxed_line(1, "2", "19.99", "USD", LA),
                                              taxed_line(2, "1", "5.55", "USD", LA)],
                           [fee(FeeType.RESTOCKING_FEE, "5.00", "USD"), fee(FeeType.LABEL_COST, "7.50", "USD")],
                           RefundMethod.ORIGINAL_PAYMENT, updated=now)
        good = replace(good, rma_number="RMA-PREVIEW-1", rms_id="rms-preview-1",
                       customer=Customer("c1", known.name, known.code or ""))
        texas = replace(good, rma_number="RMA-PREVIEW-2", rms_id="rms-preview-2", fees=(),
                        lines=(taxed_line(1, "1", "10.00", "USD", [("US-TX", "6.25")]),))
        for record in (good, texas):
            row = to_rows(record, org_id, {"organization": "ACME-US"}, now)
            s.add(row)
            s.flush()
            add_line_taxes(row, record)
    db.dispose()
    return tmp_path


def test_preview_prints_balanced_documents_and_passes_preflight(data_dir: Path) -> None:
    code, out, err = _cli(data_dir, "preview", "--org", "ACME-US", "--return", "RMA-PREVIEW-1", "--json")
    assert code == 0, err + out
    data = json.loads(out)
    assert data["problems"] == [] and data["refund"] == "44.85"
    docs = data["documents"]
    assert [d["doc_type"] for d in docs] == ["RefundReceipt", "JournalEntry", "JournalEntry"]
    rr = docs[0]
    assert rr["total"] == "49.85" and rr["balanced"] and rr["key"].startswith("rls-")
    for d in docs:
        debit = sum(Decimal(j["debit"]) for j in d["journal"] if j["debit"])
        credit = sum(Decimal(j["credit"]) for j in d["journal"] if j["credit"])
        assert debit == credit == Decimal(d["total"])
    assert {j["account"] for j in rr["journal"]} == {"Sales Returns and Allowances", "Sales Tax Payable", "Checking"}
    assert rr["payload"]["TxnTaxDetail"]["TxnTaxCodeRef"]["value"]
    code, text, _ = _cli(data_dir, "preview", "--org", "ACME-US", "--return", "RMA-PREVIEW-1")
    assert code == 0 and "Pre-flight: OK" in text and "Total USD" in text and "RefundReceipt (refund_receipt)" in text


def test_preview_reports_what_preflight_would_quarantine(data_dir: Path) -> None:
    code, out, _ = _cli(data_dir, "preview", "--org", "ACME-US", "--return", "RMA-PREVIEW-2", "--json")
    assert code == 1
    problems = json.loads(out)["problems"]
    assert [p["code"] for p in problems] == ["missing_tax_code"] and "US-TX" in problems[0]["message"]
    code, _, err = _cli(data_dir, "preview", "--org", "ACME-US", "--return", "RMA-NOPE")
    assert code == 2 and "RMA-NOPE" in err
