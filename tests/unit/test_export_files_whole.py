"""Every file the app writes for a person (exports, reports, packs, crash reports) reaches the disk
whole or not at all, through one writer (``core.progress.write_file`` / ``replace_when_done``): a
failure half-way leaves the file as it was and no partial file beside it. A scan keeps it the one
way: no other module opens a file for writing."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from desktop.services.core.progress import write_file
from tests.helpers.source_scan import findings

#: Files allowed to open files for writing themselves: the one writer; the emulators (the outside
#: world); the audit checkpoint (its own atomic replace under a lock) and the audit key export
#: (created owner-only, never overwritten: os.open with O_EXCL); lock files (empty, held open to lock).
ALLOWED = ("desktop/services/core/progress.py", "desktop/sandbox/", "desktop/services/admin/audit_checkpoint.py",
           "desktop/commands/audit.py", "desktop/services/auth/locks.py")


def test_a_failed_write_leaves_the_old_file_and_no_partial_one(tmp_path: Path) -> None:
    target = tmp_path / "metrics.csv"
    target.write_text("the export of yesterday\n", encoding="utf-8")
    with pytest.raises(UnicodeEncodeError):
        write_file(target, "a,b\n" * 10_000 + "\ud800")  # fails after most of it was written
    assert target.read_text(encoding="utf-8") == "the export of yesterday\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.csv"]


def test_a_good_write_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "mapping.yaml"
    target.write_text("old\n", encoding="utf-8")
    assert write_file(target, "rules: []\n", what="mapping export") == target
    assert target.read_text(encoding="utf-8") == "rules: []\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mapping.yaml"]


def _writes(tree: ast.AST) -> list[int]:
    """Lines that write a file directly: ``x.write_text(…)``/``write_bytes``, ``open(…, "w"…)``, ``x.open("w"…)``."""
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name in ("write_text", "write_bytes"):
            out.append(node.lineno)
        elif name == "open":
            modes = [a for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            modes += [k.value for k in node.keywords if k.arg == "mode" and isinstance(k.value, ast.Constant)]
            if any(isinstance(m, ast.Constant) and any(c in str(m.value) for c in "wax") for m in modes):
                out.append(node.lineno)
    return out


def test_no_module_writes_a_file_but_the_one_writer() -> None:
    found = findings(_writes, ALLOWED)
    assert found == [], "write through desktop.services.core.progress.write_file instead: " + ", ".join(found)
