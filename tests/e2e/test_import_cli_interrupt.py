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
from desktop.services.rms.ingest import IngestService
from desktop.services.store import migrate
from desktop.services.store.db import Database
from tests.helpers.rms_files import ORG, held, make_import_org, write_export

pytestmark = [pytest.mark.db]

RECORDS = 500  # batches of 200, 200, 100


def test_ctrl_c_stops_at_the_batch_boundary_and_says_what_was_saved(db_url: str, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    migrate.upgrade(db_url)
    db = Database(db_url)
    try:
        make_import_org(db)
        export = write_export(tmp_path / "big.csv", RECORDS, damaged=50)
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
        assert out.startswith("Import stopped on request after 200 records: those are saved (196 ingested, "
                              "4 quarantined); 300 records in the file were not read.")
        assert held(db) == {"rows": 200, "quarantined": 4, "with_reason": 4}
        assert signal.getsignal(signal.SIGINT) is before  # the handler was put back

        monkeypatch.undo()
        code = main([*args, "--json"])

        out, err = capsys.readouterr()
        assert code == 0, err
        summary = json.loads(out)
        assert (summary["unchanged"], summary["ingested"], summary["quarantined"]) == (200, 294, 6)
        assert (summary["read"], summary["cancelled"], summary["not_read"]) == (500, False, None)
        assert held(db) == {"rows": 500, "quarantined": 10, "with_reason": 10}
    finally:
        db.dispose()
