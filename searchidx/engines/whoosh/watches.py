"""The saved searches of an index in a folder: a small SQLite database beside the index's files.

Apart from the ingest records, so saving a watch or marking its news seen never waits for an ingest
that is writing them (an ingest holds their write lock for a whole batch), and a rebuild
(``ingest --full``), which clears the records, keeps the watches.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from searchidx.errors import IndexWriteError
from searchidx.inputs.manifest import MANIFEST_NAME, Manifest
from searchidx.results import Watch, WatchProgress

WATCHES_NAME = "searchidx-watches.sqlite3"
BUSY_SECONDS = 10.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS watches (
    name TEXT PRIMARY KEY,
    query TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '[]',
    created INTEGER NOT NULL,
    reported INTEGER NOT NULL,
    hook TEXT NOT NULL DEFAULT '',
    hooked INTEGER NOT NULL DEFAULT 0,
    made TEXT NOT NULL DEFAULT ''
)
"""
_COLUMNS = "name, query, options, created, reported, hook, hooked, made"


class FolderWatches:
    """The watches of the index in ``folder`` (the database is made when the first one is saved)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._path = folder / WATCHES_NAME

    def watches(self) -> list[Watch]:
        """Every watch, by name."""
        if not self._path.exists():
            return []
        with self._connected() as connection:
            rows = connection.execute(f"SELECT {_COLUMNS} FROM watches ORDER BY name").fetchall()
        return [_watch(row) for row in rows]

    def save(self, watch: Watch) -> None:
        """Keep ``watch``, in place of the one of its name if there is one."""
        row = (watch.name, watch.query, json.dumps(list(watch.options)), watch.created, watch.reported,
               watch.hook, watch.hooked, watch.made)  # fmt: skip
        with self._connected() as connection:
            connection.execute(
                f"INSERT OR REPLACE INTO watches ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row
            )

    def remove(self, name: str) -> bool:
        """Forget the watch named ``name``; whether there was one."""
        if not self._path.exists():
            return False
        with self._connected() as connection:
            return connection.execute("DELETE FROM watches WHERE name = ?", (name,)).rowcount > 0

    def advance(self, progress: WatchProgress, through: dict[str, int]) -> None:
        """Move each named watch's ``progress`` on to the ingest given (never back), in one change."""
        if not through or not self._path.exists():
            return
        column = {"reported": "reported", "hooked": "hooked"}[progress]  # a column's name, never the caller's
        with self._connected() as connection:
            connection.executemany(
                f"UPDATE watches SET {column} = MAX({column}, ?) WHERE name = ?",
                [(number, name) for name, number in through.items()],
            )

    def finished_ingest(self) -> int:
        """The number of the last ingest that finished, from the ingest records (0: none)."""
        if not (self._folder / MANIFEST_NAME).exists():
            return 0
        manifest = Manifest(self._folder, read_only=True)
        try:
            return manifest.finished_ingest()
        finally:
            manifest.close()

    def _connected(self) -> _Connection:
        return _Connection(self._path)


class _Connection:
    """The database opened for one change or read, committed and closed after it; a failure to write
    it is :class:`IndexWriteError`."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None

    def __enter__(self) -> sqlite3.Connection:
        try:
            self._connection = sqlite3.connect(self._path, timeout=BUSY_SECONDS)
            self._connection.execute(SCHEMA)
        except sqlite3.Error as error:
            raise IndexWriteError(
                self._path.parent, f"its saved searches cannot be written ({error})"
            ) from error
        return self._connection

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        assert self._connection is not None
        try:
            if kind is None:
                self._connection.commit()
        except sqlite3.Error as failure:
            raise IndexWriteError(
                self._path.parent, f"its saved searches cannot be written ({failure})"
            ) from failure
        finally:
            self._connection.close()


def _watch(row: tuple[object, ...]) -> Watch:
    name, query, options, created, reported, hook, hooked, made = row
    pairs = tuple((str(key), str(value)) for key, value in json.loads(str(options)))
    return Watch(str(name), str(query), pairs, int(str(created)), int(str(reported)), str(hook),
                 int(str(hooked)), str(made))  # fmt: skip
