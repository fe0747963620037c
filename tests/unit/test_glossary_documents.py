"""The guide's glossary defines every ledger document name the screens show (issue 16 follow-up):
the document types in a person's words (a return's documents, a variance's document, the export)
— among them a QuickBooks sales receipt and a Xero invoice, a dearer exchange's charge — and the
bridge's rows, the charge's own row included."""

from __future__ import annotations

from pathlib import Path

from desktop.services.core.words import DOC_WORDS, doc_words
from desktop.services.reconcile.bridge import STEP_LABELS

GLOSSARY = Path(__file__).resolve().parents[2] / "docs" / "guide" / "glossary.md"


def _rows() -> set[str]:
    """The first cell of every table row of the glossary."""
    return {line.split("|")[1].strip() for line in GLOSSARY.read_text(encoding="utf-8").splitlines()
            if line.startswith("| ") and line.count("|") >= 3}


def test_every_document_name_has_a_glossary_row() -> None:
    names = {*DOC_WORDS.values(), doc_words(None), "Vendor credit"}
    assert {"Sales receipt", "Invoice"} <= names
    assert names - _rows() == set()


def test_every_bridge_row_is_in_the_glossary() -> None:
    text = " ".join(GLOSSARY.read_text(encoding="utf-8").split())
    assert [label for label in [*STEP_LABELS.values(), "RMS refunds"] if f"*{label}*" not in text] == []
