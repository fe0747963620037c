"""Deterministic idempotency keys and document numbers (DESIGN.md §7).

A document's key is a pure function of (organization, RMS id, revision, role): the same
revision of the same return always yields the same key, so a crashed worker that re-runs the
recipes re-creates the same outbox rows, and an "uncertain" post can be looked up in the ledger
by the key written into the document. Keys must fit the tightest slot they travel in — QBO's
``requestid`` inside a batch allows 36 characters — and survive URLs and the ledgers' free-text
fields unchanged, hence lower-case base32 (no ``+``, ``/`` or ``=``).
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import date

KEY_PREFIX = "rls-"
_KEY_BODY = 26  # base32 characters: 130 bits of SHA-256, collision-free in practice
KEY_LENGTH = len(KEY_PREFIX) + _KEY_BODY  # 30 ≤ 36 (QBO batch requestid)
_KEY_RE = re.compile(r"\brls-[a-z2-7]{26}\b")

#: QBO ``DocNumber`` maximum (the emulator and the real service refuse longer with 2050).
DOC_NUMBER_MAX = 21

#: One letter per role so two documents of one revision never share a DocNumber (QBO 6140).
ROLE_LETTERS: dict[str, str] = {
    "credit_memo": "C",
    "refund_receipt": "R",
    "credit_note": "C",
    "refund_payment": "P",
    "fee_journal": "F",
    "label_journal": "L",
    "store_credit_journal": "G",   # store credit moved to the liability (gift card) account
    "store_credit_payment": "G",
    "sales_receipt": "X",          # a dearer exchange's difference charged (QBO)
    "invoice": "X",                # … (Xero)
    "charge_payment": "Y",         # … paid in (Xero)
    "goods_journal": "D",          # returned goods at cost: inventory / write-off against COGS
    "vendor_credit": "V",          # goods returned to the vendor: a vendor credit against the supplier
    "summary_journal": "S",
}


def _digest(*parts: str) -> str:
    # Length-prefixed parts: ("a|b", "c") and ("a", "b|c") never hash the same text.
    raw = hashlib.sha256("".join(f"{len(p)}:{p}" for p in parts).encode("utf-8")).digest()
    return base64.b32encode(raw[:20]).decode("ascii").lower()  # 32 characters; callers take ≤ 26


def idempotency_key(org_code: str, rms_id: str, revision: int, role: str, posting_round: int = 0) -> str:
    """``rls-`` + 26 base32 characters: deterministic, distinct per role and revision — and per
    posting round (round *n* > 0: posted again after an undo took round *n* − 1 back)."""
    extra = (str(posting_round),) if posting_round else ()
    return KEY_PREFIX + _digest("doc", org_code, rms_id, str(revision), role, *extra)[:_KEY_BODY]


def summary_key(org_code: str, day: date, currency: str) -> str:
    """Key of the daily summary journal of one organization, day and currency."""
    return KEY_PREFIX + _digest("summary", org_code, day.isoformat(), currency)[:_KEY_BODY]


def doc_number(rma_number: str, revision: int, role: str, posting_round: int = 0) -> str:
    """A readable, unique QBO ``DocNumber`` of at most 21 characters.

    ``RMA-ACME-100042-2C`` when it fits; otherwise the RMA number is shortened and a 5-character
    hash of the full number keeps it unique (``RMA-ACME-1~k3j9q-2C``). A posting round after an
    undo adds ``.n`` (``RMA-ACME-100042-2C.1``): the voided document keeps its number in the ledger.
    """
    tail = f"-{revision}{ROLE_LETTERS.get(role, role[:1].upper())}" + (f".{posting_round}" if posting_round else "")
    if len(rma_number) + len(tail) <= DOC_NUMBER_MAX:
        return rma_number + tail
    mark = "~" + _digest("docnum", rma_number)[:5]
    keep = max(0, DOC_NUMBER_MAX - len(tail) - len(mark))
    return (rma_number[:keep] + mark + tail)[-DOC_NUMBER_MAX:]


def memo_text(key: str, rma_number: str, revision: int, what: str = "") -> str:
    """What goes into QBO ``PrivateNote`` / Xero ``Reference``/``Narration``: key first, then for people."""
    text = f"RLS {key} · {rma_number} r{revision}"
    return f"{text} · {what}" if what else text


def parse_key(text: str | None) -> str | None:
    """The idempotency key inside a memo/reference written by :func:`memo_text`, if any."""
    if not text:
        return None
    m = _KEY_RE.search(text)
    return m.group(0) if m else None


def is_key(text: str) -> bool:
    return len(text) == KEY_LENGTH and _KEY_RE.fullmatch(text) is not None
