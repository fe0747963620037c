"""``returns-ledger import``: the first Ctrl+C stops after the batch being written; the command says how many
records were saved and how many were not read, exits 130, and the same import again adds only the rest."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from desktop.cli import main
from desktop.services.core.failures import EXIT_CODES
from desktop.services.rms.ingest import BATCH_SIZE, IngestService
from desktop.services.store import migrate
from desktop.services.store.db import Database
from tests.helpers.rms_files import ORG, held, make_import_org, write_export

pytestmark = [pytest.mark.db]

BATCH = BATCH_SIZE  # what one import transaction holds (500)
RECORDS = 2 * BATCH + BATCH // 2  # two whole batches and a half one
DAMAGED = 50  # every 50th record is damaged (quarantined)


def test_ctrl_c_stops_at_the_batch_boundary_and_says_what_was_saved(db_url: str, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    migrate.upgrade(db_url)
    db = Database(db_url)
    try:
        make_import_org(db)
        export = write_export(tmp_path / "big.csv", RECORDS, damaged=DAMAGED)
        real = IngestService._commit_batch
        batches = {"n": 0}

        def commit(self: IngestService, *args: Any, **kwargs: Any) -> Any:
            part = real(self, *args, **kwargs)
            batches["n"] += 1
            if batches["n"] == 1:
                os.kill(os.getpid(), signal.SIGINT)  # the person presses Ctrl+C while batch 1 is written
            return part

        monkeypatch.setattr(IngestService, "_commit_batch", commit)
        before = signal.getsignal(signal.SIGINT)  # the default, or "ignore" inside a test worker process
        args = ["import", str(export), "--org", ORG, "--db", db_url, "--data-dir", str(tmp_path / "data")]

        code = main(args)

        out, err = capsys.readouterr()
        assert code == EXIT_CODES["interrupted"] == 130 and "Traceback" not in out + err
        assert "Stopping after the batch being written" in err
        bad_first, bad_all = BATCH // DAMAGED, RECORDS // DAMAGED
        assert out.startswith(f"Import stopped on request after {BATCH} records: those are saved "
                              f"({BATCH - bad_first} ingested, {bad_first} quarantined); {RECORDS - BATCH} records "
                              "in the file were not read.")
        assert held(db) == {"rows": BATCH, "quarantined": bad_first, "with_reason": bad_first}
        assert signal.getsignal(signal.SIGINT) is before  # the handler was put back

        monkeypatch.undo()
        code = main([*args, "--json"])

        out, err = capsys.readouterr()
        assert code == 0, err
        summary = json.loads(out)
        rest_bad = bad_all - bad_first
        assert (summary["unchanged"], summary["ingested"], summary["quarantined"]) == (
            BATCH, RECORDS - BATCH - rest_bad, rest_bad)
        assert (summary["read"], summary["cancelled"], summary["not_read"]) == (RECORDS, False, None)
        assert held(db) == {"rows": RECORDS, "quarantined": bad_all, "with_reason": bad_all}
    finally:
        db.dispose()
