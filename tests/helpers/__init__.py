"""What the test modules share, and nothing pytest collects.

Worlds are built from the app's own composition root (``desktop.services.runtime``), so a test
exercises the services wired exactly as the app and the headless commands wire them:

- ``db``: PostgreSQL throwaway databases, a migrated :class:`~desktop.services.store.db.Database`,
  and the check that fails a test on a WARNING it did not ask for.
- ``sandbox``: the handle on the emulators (control API), in-memory connectors, fast RMS clients.
- ``worlds``: :class:`~tests.helpers.worlds.World` — a database, clock, bus, keyring-backed
  connections and the services built over them; ``returns``/``writeback`` add what those tests do.
- ``posting``, ``reconcile``, ``dashboard``, ``rms``: the data those tests build.
- ``recipes``, ``mapping``: hand-built reference snapshots, rules and returns (no I/O).
- ``alerts``: a local SMTP server (STARTTLS + login) and a webhook receiver.
- ``qbo_client``, ``xero_client``: small HTTP clients for the emulator tests.
- ``cli``: the CLI and the sandbox in subprocesses (end-to-end tests).
- ``gui``, ``mapping_world``, ``mapping_drag``: page contexts, the mapping editor's world and its drag and
  drop, offscreen or with the mouse under xvfb (these import Qt).
- ``waiting``: waiting on a condition with a deadline, for what sends no event (files, processes).

Fixtures stay in ``conftest.py`` files and call these; test modules never import one another
(``tests/unit/test_test_imports.py``).
"""
