"""Manual fallback entry (see :mod:`desktop.services.manual.service`)."""

from desktop.services.manual.model import AdoptResult, ExportResult, ManualForm, Prepared, SubmitResult
from desktop.services.manual.service import ManualEntryService

__all__ = ["AdoptResult", "ExportResult", "ManualEntryService", "ManualForm", "Prepared", "SubmitResult"]
