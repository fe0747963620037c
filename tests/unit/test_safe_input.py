"""Every file input has a size and a depth limit: hostile files are refused at once, with a message."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tracemalloc
from decimal import Decimal
from pathlib import Path

import pytest

from desktop.services.core.safe_input import MAX_DEPTH, InputRejected, load_json, load_yaml, read_capped
from desktop.services.mapping.io import loads, read_file

ROOT = Path(__file__).resolve().parents[2]

BILLION_LAUGHS = "\n".join(
    ["a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
       f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]" for i in range(8)]
    + ["rules: [*i]"])


def test_the_yaml_bomb_is_refused_without_expanding_it() -> None:
    assert len(BILLION_LAUGHS) < 1024
    tracemalloc.start()
    try:
        with pytest.raises(InputRejected, match="aliases are not accepted"):
            load_yaml(BILLION_LAUGHS, name="bomb.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * 1024 * 1024, f"refusing it took {peak} bytes"


def test_a_mapping_file_with_aliases_is_not_a_mapping_file() -> None:
    with pytest.raises(ValueError, match="anchors and aliases"):
        loads(BILLION_LAUGHS)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 200_000])
def test_json_nested_too_deep_is_refused_not_a_recursion_error(depth: int) -> None:
    with pytest.raises(InputRejected, match=f"deeper than {MAX_DEPTH} levels"):
        load_json("[" * depth + "]" * depth, name="deep.json")
    with pytest.raises(ValueError, match="deeper than"):
        loads('{"rules": ' + "[" * depth + "]" * depth + "}")


def test_yaml_nested_too_deep_is_refused() -> None:
    with pytest.raises(InputRejected, match="nesting deeper"):
        load_yaml("[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5))


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = json.dumps({"note": "[" * 1000 + '\\"{' * 500, "amount": 1})
    assert load_json(text.replace('"amount": 1', '"amount": 12.50'))["amount"] == Decimal("12.50")


def test_json_numbers_are_exact_and_non_numbers_refused() -> None:
    assert load_json('{"x": 0.1}')["x"] == Decimal("0.1")
    with pytest.raises(InputRejected, match="not valid JSON"):
        load_json('{"x": NaN}')


def test_a_file_over_its_limit_is_refused_before_it_is_read_whole(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * 2048)
    with pytest.raises(InputRejected, match="larger than the 1 KB"):
        read_capped(big, 1024)
    assert read_capped(big, 4096) == b"#" * 2048
    with pytest.raises(InputRejected, match="larger than"):
        read_capped(io.BytesIO(b"x" * 11), 10, name="standard input")
    with pytest.raises(InputRejected, match=r"Cannot read missing\.yaml"):
        read_capped(tmp_path / "missing.yaml", 10)


def test_read_file_reads_a_mapping_document(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text('{"format": "returns-ledger-mapping/1", "rules": []}', encoding="utf-8")
    assert read_file(path)["rules"] == []


@pytest.mark.slow
def test_the_cli_refuses_the_bomb_with_a_message_and_no_traceback(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BILLION_LAUGHS, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "desktop", "mapping", "import", str(bomb), "--org", "ACME-US",
                           "--dry-run", "--data-dir", str(tmp_path / "data")], cwd=ROOT, text=True,
                          capture_output=True, timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "aliases are not accepted" in proc.stderr and "Traceback" not in proc.stderr + proc.stdout
