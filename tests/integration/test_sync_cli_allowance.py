"""``returns-ledger sync --once`` past QuickBooks' read quota: it posts what it can and says what waits.

The real commands in this process (``demo init`` against the sandbox, then ``sync --once``). The
sandbox's monthly read quota is set to what the demo company has read so far: the sync posts the
documents whose references are cached, holds the rest, skips the ledger read-back, and the summary
(text and ``--json``) says the allowance is used up, until when and what to do — no failure.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.cli import main
from tests.helpers.allowance import use_up_qbo_reads
from tests.helpers.sandbox import ACME_REALM, SandboxHandle

pytestmark = [pytest.mark.db, pytest.mark.slow]

ORG = "ACME-US"


def test_sync_once_past_the_quota_posts_what_it_can_and_says_what_waits(
        sandbox: SandboxHandle, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    where = ["--data-dir", str(tmp_path / "data"), "--db", db_url]
    root = sandbox.control_url.rsplit("/_sandbox", 1)[0]
    assert main(["demo", "init", "--sandbox", root, "--json", *where]) == 0
    use_up_qbo_reads(sandbox, ACME_REALM)
    capsys.readouterr()

    code = main(["sync", "--once", "--org", ORG, "--json", *where])

    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert out["posted"] > 0 and out["failed"] == 0 and "errors" not in out
    [warning] = [w for w in out["warnings"] if w["step"] == "allowance"]
    assert warning["org"] == ORG
    assert "QuickBooks' allowance of metered reads for this month is used up until" in warning["warning"]
    assert "post by themselves on the first sync after it resets" in warning["warning"]

    code = main(["sync", "--once", "--org", ORG, *where])  # the text summary: the same words
    text = capsys.readouterr().out
    assert code == 0 and f"  {ORG}: QuickBooks' allowance of metered reads" in text
