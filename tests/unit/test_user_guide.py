"""The user guide under docs/guide/ stays true: its pictures exist, its links resolve, and every
``returns-ledger …`` command it shows parses with the app's real argument parser."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from desktop.cli import build_parser

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide"
PAGES = sorted(GUIDE.glob("*.md"))
_IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s#]+\.md)(#[^)]*)?\)")
_FENCE = re.compile(r"```(?:sh|bash|shell)?\n(.*?)```", re.S)
_INLINE = re.compile(r"`(returns-ledger [^`]+)`")


def _commands(text: str) -> list[str]:
    """Command lines from shell blocks (after any pipe) and inline code, placeholders with … left out."""
    found: list[str] = []
    for block in _FENCE.findall(text):
        for line in block.splitlines():
            line = line.split(" #", 1)[0].strip()
            if "returns-ledger" in line:
                found.append(line[line.index("returns-ledger"):])
    found += [c for c in _INLINE.findall(text) if "…" not in c]
    return found


def test_the_guide_exists_with_its_pages() -> None:
    names = {p.name for p in PAGES}
    assert {"index.md", "first-run.md", "connecting.md", "mapping.md", "glossary.md", "manual-entry.md",
            "reconciliation.md", "roles-and-approvals.md", "exports-and-backups.md", "troubleshooting.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_picture_and_page_it_refers_to_exists(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for target in _IMAGE.findall(text):
        assert (page.parent / target).is_file(), f"{page.name}: missing picture {target}"
    for target, _anchor in _LINK.findall(text):
        assert (page.parent / target).is_file(), f"{page.name}: missing page {target}"


def test_the_guide_shows_pictures_of_the_assistant_and_the_rms_dialog() -> None:
    pictures = {t for p in PAGES for t in _IMAGE.findall(p.read_text(encoding="utf-8"))}
    assert {"images/assistant-rms-light.png", "images/rms-light.png", "images/assistant-ledgers-light.png",
            "images/return-preview-light.png"} <= pictures
    for picture in pictures:  # each light picture has its dark twin, as the screenshot tour writes them
        assert (GUIDE / picture.replace("-light.png", "-dark.png")).is_file(), picture


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_command_in_it_parses(page: Path) -> None:
    parser = build_parser()
    for command in _commands(page.read_text(encoding="utf-8")):
        argv = shlex.split(command)[1:]
        try:
            parser.parse_args(argv)
        except SystemExit as exc:
            pytest.fail(f"{page.name}: `{command}` does not parse (exit {exc.code})")


def test_commands_are_found() -> None:
    commands = [c for p in PAGES for c in _commands(p.read_text(encoding="utf-8"))]
    assert len(commands) > 30
    assert any(c.startswith("returns-ledger rms connect --url") for c in commands)
