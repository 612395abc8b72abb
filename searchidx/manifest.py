"""What the index was built from: every source file's content hash and what became of its records.

The manifest is a SQLite database beside the Whoosh files in the index
directory. It lets ``ingest`` re-read only new and changed files, remove the
documents of deleted files, and recognise duplicates across runs. It is
written after the Whoosh commit; if a crash comes in between, the next run
sees the files as changed and writes the same documents again (updates by id
are idempotent), so a lagging manifest costs time, never documents.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

MANIFEST_NAME = "searchidx-manifest.sqlite3"
Status = Literal["indexed", "duplicate", "skipped"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    stamp TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS records (
    path TEXT NOT NULL,
    location TEXT NOT NULL,
    status TEXT NOT NULL,
    doc_id TEXT,
    content_key TEXT,
    detail TEXT NOT NULL DEFAULT '',
    dated INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS records_by_path ON records (path);
CREATE INDEX IF NOT EXISTS records_by_doc ON records (doc_id);
CREATE INDEX IF NOT EXISTS records_by_content ON records (content_key);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Record:
    """What one record of a source file became.

    ``status`` is ``indexed`` (``doc_id`` is in the index), ``duplicate``
    (``detail`` is the id of the document it repeats) or ``skipped``
    (``detail`` is the reason). ``location`` is the path, or ``path:record``.
    """

    path: str
    location: str
    status: Status
    doc_id: str | None = None
    content_key: str | None = None
    detail: str = ""
    dated: bool = False


class Manifest:
    """The manifest of one index; changes become visible on :meth:`commit`."""

    def __init__(self, index_dir: Path | None) -> None:
        """The manifest in ``index_dir``, or (``None``) an empty one in memory, as a cluster's is loaded."""
        self._connection = sqlite3.connect(index_dir / MANIFEST_NAME if index_dir is not None else ":memory:")
        self._connection.executescript(SCHEMA)
        columns = {row[1] for row in self._connection.execute("PRAGMA table_info(files)")}
        if "stamp" not in columns:  # a manifest from before stamps
            self._connection.execute("ALTER TABLE files ADD COLUMN stamp TEXT NOT NULL DEFAULT ''")

    def close(self) -> None:
        """Close the database (uncommitted changes are dropped)."""
        self._connection.close()

    def commit(self) -> None:
        """Make this run's changes durable."""
        self._connection.commit()

    def file_hashes(self) -> dict[str, str]:
        """Every known source file and its content hash."""
        return dict(self._connection.execute("SELECT path, hash FROM files"))

    def file_stamps(self) -> dict[str, str]:
        """Every known source file's size and modification time when it was hashed (``""``: unknown)."""
        return dict(self._connection.execute("SELECT path, stamp FROM files"))

    def restamp(self, stamps: dict[str, str]) -> None:
        """Record new stamps of files whose content did not change (touched, copied back...)."""
        self._connection.executemany(
            "UPDATE files SET stamp = ? WHERE path = ?", [(v, k) for k, v in stamps.items()]
        )

    def records_of(self, paths: Iterable[str]) -> list[Record]:
        """The records of the given source files."""
        found: list[Record] = []
        for chunk in _chunks(list(paths)):
            marks = ",".join("?" * len(chunk))
            rows = self._connection.execute(
                "SELECT path, location, status, doc_id, content_key, detail, dated"
                f" FROM records WHERE path IN ({marks}) ORDER BY rowid",
                chunk,
            )
            found += [_record(row) for row in rows]
        return found

    def duplicates_of(self, doc_ids: Iterable[str]) -> set[str]:
        """The source files holding a duplicate of one of ``doc_ids``."""
        paths: set[str] = set()
        for chunk in _chunks(list(doc_ids)):
            marks = ",".join("?" * len(chunk))
            rows = self._connection.execute(
                f"SELECT path FROM records WHERE status = 'duplicate' AND detail IN ({marks})", chunk
            )
            paths.update(path for (path,) in rows)
        return paths

    def indexed_locations(self) -> dict[str, str]:
        """Where each document the records say is in the index comes from, by id."""
        rows = self._connection.execute("SELECT doc_id, location FROM records WHERE status = 'indexed'")
        return dict(rows)

    def indexed_contents(self) -> dict[str, str]:
        """The content key of each document the records say is in the index, by id."""
        rows = self._connection.execute("SELECT doc_id, content_key FROM records WHERE status = 'indexed'")
        return dict(rows)

    def indexed_by_id(self, doc_id: str) -> Record | None:
        """The record that put ``doc_id`` in the index, if any."""
        return self._first("WHERE status = 'indexed' AND doc_id = ?", doc_id)

    def indexed_by_content(self, content_key: str) -> Record | None:
        """An indexed record with this title and body, if any."""
        return self._first("WHERE status = 'indexed' AND content_key = ?", content_key)

    def forget(self, paths: Iterable[str]) -> None:
        """Drop the given source files and their records."""
        for chunk in _chunks(list(paths)):
            marks = ",".join("?" * len(chunk))
            self._connection.execute(f"DELETE FROM records WHERE path IN ({marks})", chunk)
            self._connection.execute(f"DELETE FROM files WHERE path IN ({marks})", chunk)

    def remember(self, path: str, content_hash: str, records: list[Record], stamp: str = "") -> None:
        """Record a source file's hash, its stamp and what became of its records."""
        self._connection.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?)", (path, content_hash, stamp))
        rows = [
            (r.path, r.location, r.status, r.doc_id, r.content_key, r.detail, int(r.dated)) for r in records
        ]
        self._connection.executemany(
            "INSERT INTO records (path, location, status, doc_id, content_key, detail, dated)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def reject(self, doc_id: str, reason: str) -> None:
        """The document ``doc_id`` was not indexed after all (a cluster refused it): a skipped record."""
        self._connection.execute(
            "UPDATE records SET status = 'skipped', detail = ?, doc_id = NULL"
            " WHERE doc_id = ? AND status = 'indexed'",
            (reason, doc_id),
        )

    def undated_count(self) -> int:
        """How many indexed documents have no date."""
        (count,) = self._connection.execute(
            "SELECT COUNT(*) FROM records WHERE status = 'indexed' AND dated = 0"
        ).fetchone()
        return int(count)

    def set_meta(self, key: str, value: str) -> None:
        """Store one piece of information about the index (last ingest time, ...)."""
        self._connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def meta(self) -> dict[str, str]:
        """Everything :meth:`set_meta` stored."""
        return dict(self._connection.execute("SELECT key, value FROM meta"))

    def clear(self) -> None:
        """Forget everything (for a full rebuild)."""
        self._connection.executescript("DELETE FROM records; DELETE FROM files; DELETE FROM meta;")

    def _first(self, where: str, value: str) -> Record | None:
        row = self._connection.execute(
            f"SELECT path, location, status, doc_id, content_key, detail, dated FROM records {where} LIMIT 1",
            (value,),
        ).fetchone()
        return _record(row) if row else None


def _record(row: tuple[str, str, Status, str | None, str | None, str, int]) -> Record:
    path, location, status, doc_id, content_key, detail, dated = row
    return Record(path, location, status, doc_id, content_key, detail, bool(dated))


def _chunks(values: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
