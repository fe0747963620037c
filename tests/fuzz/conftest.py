"""The fuzz suite's figures: with ``RLS_FUZZ_REPORT=<file>`` the session writes what each property
ran (see :mod:`tests.fuzz.budget`) as JSON, for ``bench/fuzz_long.py`` to print."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.fuzz.budget import PROFILE, SCALE, figures


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = os.environ.get("RLS_FUZZ_REPORT")
    if target:
        Path(target).write_text(json.dumps({"profile": PROFILE, "scale": SCALE, "exit_status": int(exitstatus),
                                            "properties": figures()}, indent=2), encoding="utf-8")
