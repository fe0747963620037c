"""The guide's glossary names every status and class with the very words the screens show.

The words come from the app's own label tables (Returns, Connections, Reconciliation, Manual entry,
the RMS tile and the reconciliation bridge); a label added to one of them must be explained in
docs/guide/glossary.md.
"""

from __future__ import annotations

from pathlib import Path

from desktop.services.reconcile.bridge import STEP_LABELS
from desktop.services.rms.endpoint import RmsStatus
from desktop.views.connections.model import STATES
from desktop.views.manual.entries import PATHS, STATUS_TEXT
from desktop.views.reconcile.model import CLASS_LABELS
from desktop.views.returns.model import STATUSES

GLOSSARY = Path(__file__).resolve().parents[2] / "docs" / "guide" / "glossary.md"


def test_every_label_on_screen_is_in_the_glossary() -> None:
    text = " ".join(GLOSSARY.read_text(encoding="utf-8").split())  # Markdown wraps lines anywhere
    rms_states = [RmsStatus("https://x", True).state_text, RmsStatus("https://x", False).state_text,
                  RmsStatus(None, False).state_text]
    labels = ([label for label, _colour in STATUSES.values()] + [label for label, _colour in STATES.values()]
              + list(CLASS_LABELS.values()) + list(STATUS_TEXT.values()) + list(PATHS.values())
              + list(STEP_LABELS.values()) + rms_states)
    missing = [label for label in labels if label not in text]
    assert missing == []
