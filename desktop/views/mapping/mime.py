"""The drag payload: one RMS code as JSON ``{"kind": …, "value": …}`` under our own MIME type.

A private MIME type keeps other applications' drops (and ours of other things) out: the ledger
tree accepts nothing else.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QByteArray, QMimeData

from desktop.views.mapping.editing import CODE_KINDS, CodeRef

MIME_TYPE = "application/x-returns-ledger-code"


def encode(code: CodeRef) -> QMimeData:
    data = QMimeData()
    data.setData(MIME_TYPE, QByteArray(json.dumps({"kind": code.kind, "value": code.value}).encode()))
    data.setText(code.value)  # a drop into a text field still says something sensible
    return data


def decode(data: QMimeData | None) -> CodeRef | None:
    """The code a drag carries, or ``None`` for anything that is not one of ours (or is damaged)."""
    if data is None or not data.hasFormat(MIME_TYPE):
        return None
    try:
        raw = json.loads(bytes(data.data(MIME_TYPE).data()).decode())
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(raw, dict) or raw.get("kind") not in CODE_KINDS or not isinstance(raw.get("value"), str):
        return None
    return CodeRef(raw["kind"], raw["value"])
