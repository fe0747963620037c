"""The frozen bundle's entry point: the same front door as the ``returns-ledger`` command."""

import multiprocessing
import sys

# Alembic imports the migration scripts from files: never write __pycache__ next to them
# (an installed bundle is read-only, and `dpkg -r` must leave nothing behind).
sys.dont_write_bytecode = True

if __name__ == "__main__":
    multiprocessing.freeze_support()  # harmless when unused; required if a library ever spawns
    from desktop.cli import main

    sys.exit(main())
