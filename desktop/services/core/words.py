"""Reconciliation's codes in a person's words: one table each, for the page, the log, alerts and the CLI.

The codes themselves stay in ``--json`` output and exports; whatever a person reads says these words
(the guide's glossary lists them).
"""

from __future__ import annotations

__all__ = ["CLASS_WORDS", "DOC_WORDS", "class_words", "doc_words"]

#: Each variance class in the words of the person reading it — the page, the log and the CLI's text
#: say these; ``--json`` and exports keep the codes. The guide's glossary lists them.
CLASS_WORDS: dict[str, str] = {
    "missing_in_ledger": "Missing in ledger", "missing_in_rms": "Missing in RMS",
    "amount_mismatch": "Amount differs", "tax_mismatch": "Tax differs", "fx_mismatch": "Rate differs",
    "date_mismatch": "Date differs", "voided_in_ledger": "Voided in ledger",
    "deleted_in_ledger": "Deleted in ledger", "duplicate_in_ledger": "Duplicate in ledger",
    "rounding": "Rounding", "not_posted_quarantined": "Not posted: held by pre-flight",
    "quantity_mismatch": "Quantity differs",
}

#: Ledger document types in a person's words (the types both platforms' documents carry).
DOC_WORDS: dict[str, str] = {
    "CreditMemo": "Credit memo", "RefundReceipt": "Refund receipt", "CreditNote": "Credit note",
    "Payment": "Payment", "JournalEntry": "Journal entry", "ManualJournal": "Manual journal",
    "SalesReceipt": "Sales receipt", "Invoice": "Invoice",
}


def class_words(code: str) -> str:
    """A variance class code in words (an unknown code as itself)."""
    return CLASS_WORDS.get(code, code)


def doc_words(doc_type: str | None) -> str:
    """What a variance is about: its document type in words, or "Return" when no document was posted."""
    if not doc_type:
        return "Return"
    return DOC_WORDS.get(doc_type, "Document")
