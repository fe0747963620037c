"""Reconciliation: do the books match the returns? (issue 7, DESIGN.md §3)

- :mod:`.model` — the records compared and the variance classes;
- :mod:`.compare` — the pure, field-by-field comparison and the rounding tolerance;
- :mod:`.ledger_read` — reading a period (and single documents) back from QBO / Xero;
- :mod:`.engine` — loading what we intended from the database and the RMS, then comparing;
- :mod:`.service` — recorded runs, the review queue, events and the scheduled job.

The metrics built on these runs (sync accuracy, time to reconcile) are read in
:mod:`desktop.services.queries.metrics`, with the third headline figure, errors prevented.

Import the submodules directly; this package re-exports nothing so that importing the pure
comparison never drags in the database or HTTP layers.
"""
