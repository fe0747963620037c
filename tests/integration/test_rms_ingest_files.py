"""File import (CSV and JSON exports of an RMS) on both databases, and the ``import`` CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from desktop.services.auth.roles import Actor, Role
from desktop.services.core.errors import NeedsPersonError
from desktop.services.rms.file_import import import_file, read_csv
from desktop.services.rms.ingest import IngestService
from desktop.services.rms.records import from_row
from desktop.services.store.coltypes import json_loads_exact
from desktop.services.store.db import Database
from desktop.services.store.models import Return, ReturnSyncStatus
from tests.helpers.cli import run_cli_here
from tests.helpers.rms import ingest_bus, ingest_service, rows
from tests.helpers.sandbox import SandboxHandle, fast_rms_client

OPERATOR = Actor("olivia", Role.OPERATOR)  # importing a file needs run_sync

pytestmark = pytest.mark.db


@pytest.fixture
def service(db: Database, sandbox: SandboxHandle) -> IngestService:
    """The ingest service over the migrated ``db``, with the demo organizations (and RMS profiles) in place."""
    return ingest_service(db, ingest_bus(), fast_rms_client(sandbox.info))


DATA = Path(__file__).resolve().parents[1] / "data" / "rms"
CSV = DATA / "acme_returns.csv"
JSON = DATA / "acme_returns.json"


def by_rms_id(db: Database) -> dict[tuple[str, int], Return]:
    return {(r.rms_id, r.revision): r for r in rows(db, "ACME-US")}


def test_csv_export_is_validated_and_upserted_like_a_pull(db: Database, service: IngestService) -> None:
    result = import_file(service, CSV, "ACME-US", OPERATOR)

    assert (result.ingested, result.quarantined, result.unchanged, result.superseded) == (4, 2, 0, 1)
    stored = by_rms_id(db)
    assert stored[("ret_csv_0002", 1)].sync_status is ReturnSyncStatus.SUPERSEDED
    assert stored[("ret_csv_0002", 2)].sync_status is ReturnSyncStatus.NEW
    first = from_row(stored[("ret_csv_0001", 1)])
    assert [str(line.net) for line in first.lines] == ["249.00 USD", "69.98 USD"]
    assert [(t.jurisdiction, t.rate, str(t.amount)) for t in first.lines[1].taxes] == [
        ("US-CA", Decimal("7.25"), "5.07 USD"), ("US-CA-LA", Decimal("2.25"), "1.57 USD")]
    assert [(f.type.value, str(f.amount)) for f in first.fees] == [("label_cost", "8.40 USD"),
                                                                   ("outbound_shipping_refunded", "9.99 USD")]
    assert str(first.computed_refund()) == "359.26 USD" == str(first.refund_total)
    withheld = from_row(stored[("ret_csv_0002", 2)])
    assert [(f.type.value, str(f.amount)) for f in withheld.fees] == [("restocking_fee", "20.99 USD")]

    bad = {q.rms_id: q for q in result.quarantine}
    three = {p.code: p.message for p in bad["ret_csv_0003"].problems}
    assert set(three) == {"negative_quantity", "malformed_amount", "unknown_reason_code"}
    assert all(m.startswith("acme_returns.csv row 6: Line 1 (SKU ACM-BOTTLE-1L)") for m in three.values())
    assert "'12.3.4' is not a decimal amount" in three["malformed_amount"]
    assert "import it again" in three["malformed_amount"]
    four = bad["ret_csv_0004"].problems
    assert [p.code for p in four] == ["currency_mismatch"]
    assert four[0].message.startswith("acme_returns.csv row 8: Line 2 (SKU ACM-BOTTLE-1L): currency 'CAD' differs")
    assert four[0].field == "lines[1].currency"
    held = stored[("ret_csv_0004", 1)]
    assert held.sync_status is ReturnSyncStatus.QUARANTINED
    assert [q.code for q in held.quarantine_reasons] == ["currency_mismatch"]
    assert held.raw_payload["lines"][1]["unit_price"] == "24.95"  # kept as the file said it

    again = import_file(service, CSV, "ACME-US", OPERATOR)
    assert (again.ingested, again.quarantined, again.unchanged, again.superseded) == (0, 0, 6, 0)
    assert len(by_rms_id(db)) == 6


def test_json_export_each_bad_record_has_its_reason(db: Database, service: IngestService) -> None:
    result = import_file(service, JSON, "ACME-US", OPERATOR)

    assert (result.ingested, result.quarantined) == (1, 4)
    codes = {q.rms_id: {p.code for p in q.problems} for q in result.quarantine}
    assert codes == {"ret_json_0002": {"malformed_amount", "missing_field"},
                     "ret_json_0003": {"refund_total_mismatch"},
                     "ret_json_0004": {"wrong_organization"},
                     "ret_json_0005": {"bad_timestamp"}}
    messages = {q.rms_id: [p.message for p in q.problems] for q in result.quarantine}
    assert any("is a JSON number" in m and m.startswith("acme_returns.json record 2: ")
               for m in messages["ret_json_0002"])
    assert "refund total of 50.00 USD" in messages["ret_json_0003"][0]
    assert "add up to 49.90 USD" in messages["ret_json_0003"][0]
    # The raw payload is kept exactly, the float-looking number included (as a Decimal, not a float).
    raw = json_loads_exact(JSON.read_text())["returns"]
    stored = by_rms_id(db)
    for doc in raw:
        assert stored[(doc["id"], 1)].raw_payload == doc


def test_a_corrected_file_replaces_a_quarantined_revision(db: Database, service: IngestService,
                                                          tmp_path: Path) -> None:
    import_file(service, CSV, "ACME-US", OPERATOR)
    fixed = tmp_path / "fixed.csv"
    fixed.write_text(CSV.read_text(encoding="utf-8").replace(",CAD,2026-11-21T11:00", ",USD,2026-11-21T11:00"),
                     encoding="utf-8")

    result = import_file(service, fixed, "ACME-US", OPERATOR)

    assert (result.ingested, result.replaced, result.quarantined, result.unchanged) == (1, 1, 0, 5)
    row = by_rms_id(db)[("ret_csv_0004", 1)]
    assert row.sync_status is ReturnSyncStatus.NEW
    assert [q.resolved_by for q in row.quarantine_reasons] == ["ingest: replaced by a corrected payload"]
    assert str(from_row(row).computed_refund()) == "84.89 USD"


def test_files_that_are_not_exports_are_refused_whole(db: Database, service: IngestService,
                                                      tmp_path: Path) -> None:
    notes = tmp_path / "notes.csv"
    notes.write_text("name,amount\nx,1\n")
    with pytest.raises(NeedsPersonError, match="no column id, currency, unit_price"):
        import_file(service, notes, "ACME-US", OPERATOR)
    broken = tmp_path / "broken.json"
    broken.write_text('{"returns": [1.5,')
    with pytest.raises(NeedsPersonError, match="not valid JSON"):
        import_file(service, broken, "ACME-US", OPERATOR)
    with pytest.raises(NeedsPersonError, match="not set up"):
        import_file(service, CSV, "NOPE", OPERATOR)
    assert rows(db, "ACME-US") == []


def test_csv_reader_rebuilds_the_api_shape(service: IngestService) -> None:
    items = read_csv(CSV.read_text(encoding="utf-8"), service.context_for("ACME-US"), "x.csv")
    first = items[0].raw
    assert isinstance(first, dict)
    assert first["customer"] == {"id": "cus_100", "name": "Olivia Johnson", "email": "olivia.johnson@example.com"}
    assert first["lines"][0]["tax"] == [{"jurisdiction": "US-CA", "amount": "18.05", "rate": "0.0725"},
                                        {"jurisdiction": "US-CA-LA", "amount": "5.60", "rate": "0.0225"}]
    assert first["fees"] == [{"type": "label_cost", "amount": "8.40"},
                             {"type": "outbound_shipping_refunded", "amount": "9.99"}]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli_here(*args)  # the CLI's own main() in this process: the process boundary is not what is tested


def test_import_cli(db_url: str, service: IngestService, tmp_path: Path) -> None:
    copy = tmp_path / "acme_returns.csv"
    shutil.copy(CSV, copy)

    proc = _cli("import", str(copy), "--org", "ACME-US", "--db", db_url, "--data-dir", str(tmp_path), "--json")

    assert proc.returncode == 0, proc.stderr
    out: dict[str, Any] = json.loads(proc.stdout)
    assert {k: out[k] for k in ("ingested", "quarantined", "unchanged")} == {
        "ingested": 4, "quarantined": 2, "unchanged": 0}
    reasons = [p["message"] for q in out["quarantine"] for p in q["problems"]]
    assert any(m.startswith("acme_returns.csv row 6: ") for m in reasons)
    assert any(m.startswith("acme_returns.csv row 8: ") for m in reasons)

    text = _cli("import", str(JSON), "--org", "ACME-US", "--db", db_url, "--data-dir", str(tmp_path))
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith(f"{JSON}: 1 ingested, 4 quarantined, 0 unchanged")
    assert "[refund_total_mismatch] acme_returns.json record 3: " in text.stdout

    unknown = _cli("import", str(JSON), "--org", "NOPE", "--db", db_url, "--data-dir", str(tmp_path))
    assert unknown.returncode == 2
    assert "Organization 'NOPE' is not set up" in unknown.stderr
    check = Database(db_url)
    with check.session() as session:
        kinds = session.scalars(sa.text("SELECT kind FROM event_log")).all()
    check.dispose()
    assert kinds.count("return.ingested") == 5 and kinds.count("return.quarantined") == 6
