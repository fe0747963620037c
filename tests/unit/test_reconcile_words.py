"""Every reconciliation code a person can meet has words: the page, the log, alerts and the CLI say them."""

from __future__ import annotations

from desktop.services.core.words import CLASS_WORDS, class_words, doc_words
from desktop.services.reconcile.model import VarianceClass


def test_every_variance_class_has_words_without_underscores() -> None:
    assert set(CLASS_WORDS) == {c.value for c in VarianceClass}
    assert all("_" not in class_words(c.value) and class_words(c.value)[0].isupper() for c in VarianceClass)


def test_a_variance_without_a_document_is_about_the_return() -> None:
    assert doc_words(None) == "Return" and doc_words("") == "Return"
    assert doc_words("CreditMemo") == "Credit memo" and doc_words("ManualJournal") == "Manual journal"
    assert doc_words("SomethingNew") == "Document"
