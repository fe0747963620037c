"""The app in subprocesses, as an administrator would script it: the CLI, and ``sandbox serve``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``returns-ledger ARGS`` in a subprocess; its exit code and output."""
    return subprocess.run([sys.executable, "-m", "desktop", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONUNBUFFERED": "1"}, check=False)


@contextmanager
def sandbox_process() -> Iterator[str]:
    """``returns-ledger sandbox serve`` in a subprocess: its root URL; stopped with SIGTERM (exit 0) afterwards.

    Its stderr goes to a file, never to a pipe nobody reads: a full pipe would stall the server."""
    with tempfile.TemporaryFile() as errors, \
            subprocess.Popen([sys.executable, "-m", "desktop", "sandbox", "serve"], stdout=subprocess.PIPE,
                             stderr=errors, text=True) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line:
                errors.seek(0)
                raise AssertionError(f"sandbox serve printed nothing: {errors.read()[-2000:].decode(errors='replace')}")
            yield str(json.loads(line)["control_url"]).rsplit("/_sandbox", 1)[0]
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0  # a hang detector: a loaded machine stops it slowly


def control(url: str, path: str) -> Any:
    """``GET /_sandbox/PATH`` of the sandbox at ``url``."""
    resp = requests.get(f"{url}/_sandbox/{path}", timeout=30)
    resp.raise_for_status()
    return resp.json()


def run_cli_here(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``returns-ledger ARGS`` through the same ``main()`` in this process (no interpreter start-up).

    For the many quick calls of a permission matrix; tests about processes themselves (signals,
    environment variables, exit on a closed pipe) use :func:`run_cli`. Output is captured from
    ``sys.stdout``/``sys.stderr`` as the command writes it; ``stdin`` (if given) is what it reads.
    """
    import contextlib
    import io

    from desktop.cli import main

    out, err = io.StringIO(), io.StringIO()
    real_stdin = sys.stdin
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8")), encoding="utf-8")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse
                code = exc.code if isinstance(exc.code, int) else 2
    finally:
        sys.stdin = real_stdin
    return subprocess.CompletedProcess(["returns-ledger", *args], code, out.getvalue(), err.getvalue())
