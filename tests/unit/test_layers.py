"""Layer rules as failing checks: services and the sandbox run with PySide6 absent."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PROBE = textwrap.dedent(
    """
    import importlib, pkgutil, sys

    class _NoQt:
        def find_spec(self, name, path=None, target=None):
            if name == "PySide6" or name.startswith("PySide6."):
                raise ImportError(f"{name} is unavailable in this check")
            return None

    sys.meta_path.insert(0, _NoQt())
    imported = []
    for root in ("desktop.services", "desktop.sandbox"):
        pkg = importlib.import_module(root)
        imported.append(root)
        for info in pkgutil.walk_packages(pkg.__path__, root + "."):
            if ".migrations.versions." in info.name:
                continue
            importlib.import_module(info.name)
            imported.append(info.name)
    leaked = sorted(m for m in sys.modules if m == "PySide6" or m.startswith("PySide6."))
    assert not leaked, leaked
    print(len(imported))
    print("\\n".join(imported))
    """
)


def test_every_services_and_sandbox_module_imports_without_pyside6() -> None:
    proc = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    count, *names = proc.stdout.split("\n")
    assert int(count) >= 3
    assert "desktop.services.core.errors" in names
    assert "desktop.services.core.config" in names


def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    kept = re.search(r"Contracts: (\d+) kept, 0 broken\.", proc.stdout)
    assert kept is not None and int(kept.group(1)) >= 4, proc.stdout
    assert "Views talk only to services" in proc.stdout
