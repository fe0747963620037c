"""The data store: SQLAlchemy models, engine and session handling, migrations, the event sink.

Public entry points:

- :class:`desktop.services.store.db.Database` (``.session()``, ``.write_session()``) and
  :func:`desktop.services.store.db.make_engine`;
- :mod:`desktop.services.store.models` — the tables;
- :func:`desktop.services.store.migrate.upgrade` / ``current_revision`` / ``head_revision``;
- :class:`desktop.services.store.event_sink.EventLogSink` and ``recent_events``.

Submodules are imported on demand (``from desktop.services.store.db import Database``) so that
importing the package stays cheap for the CLI.
"""
