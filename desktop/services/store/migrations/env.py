"""Alembic environment, configured in code by :mod:`desktop.services.store.migrate`.

There is no ``alembic.ini`` at runtime: ``migrate`` builds the :class:`alembic.config.Config`,
opens the connection (through ``make_engine``, so SQLite gets its pragmas) and hands it over in
``config.attributes["connection"]``. Offline (SQL script) mode is not supported.

Importing this module outside an Alembic run (a layer check walking every module, say) does
nothing: the migrations only run when Alembic has installed its ``context``.
"""

from __future__ import annotations

from alembic import context

from desktop.services.store.migrate import migration_context_options
from desktop.services.store.models import metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None or context.is_offline_mode():
        raise RuntimeError("run migrations through desktop.services.store.migrate (online, with a connection)")
    context.configure(connection=connection, target_metadata=metadata, **migration_context_options())
    with context.begin_transaction():
        context.run_migrations()


if hasattr(context, "config"):  # executed by Alembic, not merely imported
    run_migrations()
