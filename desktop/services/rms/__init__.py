"""The RMS side of sync: the API client, validation, the ingest upsert, and export-file import.

- :mod:`~desktop.services.rms.client` — ``RmsClient``: organizations, the change feed, one return,
  write-back (``docs/rms-api.yaml``).
- :mod:`~desktop.services.rms.context` — ``OrgContext``: what validation needs per organization.
- :mod:`~desktop.services.rms.parse` — ``parse_return``: payload → ``ReturnRecord`` + problems.
- :mod:`~desktop.services.rms.records` — store rows ⟷ ``ReturnRecord``.
- :mod:`~desktop.services.rms.ingest` — ``IngestService``: pull by cursor, idempotent upsert,
  quarantine, supersede.
- :mod:`~desktop.services.rms.copies` — ``CopyCheck``: one content per revision in a batch (a pull
  page or a whole import file): duplicates and ``conflicting_revision``.
- :mod:`~desktop.services.rms.feed_guard` — ``FeedGuard``: a feed page the RMS never sends readably is
  retried, counted and set aside (``rms set-aside`` / ``rms repull``).
- :mod:`~desktop.services.rms.results` — ``IngestResult``: what an ingest did.
- :mod:`~desktop.services.rms.file_import` — CSV/JSON exports through the same path
  (``docs/rms-file-import.md``).
"""
