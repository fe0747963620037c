"""`python -m desktop` is the same as the `returns-ledger` command."""

import sys

from desktop.cli import main

sys.exit(main())
