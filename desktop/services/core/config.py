"""Where the app keeps its data, and which database it talks to.

The data directory defaults to the per-user data directory (platformdirs); ``--data-dir`` and
``--db`` override it. The database URL defaults to a SQLite file inside the data directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import platformdirs

from desktop import APP_ID

#: The OS keyring service every secret of the app is kept under (tokens, API keys, database passwords).
KEYRING_SERVICE = "returns-ledger-sync"


@dataclass(frozen=True)
class AppConfig:
    """Resolved locations for one run of the app."""

    data_dir: Path
    db_url: str
    demo: bool = False

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_ID, appauthor=False))


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def resolve_config(data_dir: str | Path | None, db_url: str | None, *, demo: bool = False) -> AppConfig:
    """Build the config from command-line values (either may be None)."""
    directory = Path(data_dir).expanduser().resolve() if data_dir else default_data_dir()
    url = db_url or sqlite_url(directory / "returns-ledger.sqlite3")
    return AppConfig(data_dir=directory, db_url=url, demo=demo)
