"""What the index was built from: every source file's content hash and what became of its records.

The manifest is a SQLite database beside the Whoosh files in the index
directory. It lets ``ingest`` re-read only new and changed files, remove the
documents of deleted files, and recognise duplicates across runs. It is
written after the Whoosh commit; if a crash comes in between, the next run
sees the files as changed and writes the same documents again (updates by id
are idempotent), so a lagging manifest costs time, never documents.
The database is in write-ahead-log mode, and readers open it read-only: an
ingest that is writing blocks none of them (``stats`` and ``serve`` answer
throughout).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

MANIFEST_NAME = "searchidx-manifest.sqlite3"
BUSY_SECONDS = 10.0  # how long a statement waits for another connection's lock before it fails
# The meta key of the number of the last ingest that finished.
FINISHED_INGEST = "finished_ingest"
TABLES = {"files", "records", "meta", "records_by_path", "records_by_doc", "records_by_content"}
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
    dated INTEGER NOT NULL DEFAULT 0,
    story TEXT,
    sketch BLOB,
    crawled TEXT,
    ingested INTEGER
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
    An indexed document's ``story`` and ``sketch`` are those of
    :mod:`searchidx.ingesting.stories`; ``crawled`` is when a web archive's
    page was captured (ISO 8601), so a later capture in another file replaces it;
    ``ingested`` is the ingest that brought its text as it is (see :meth:`Manifest.finished_ingest`).
    """

    path: str
    location: str
    status: Status
    doc_id: str | None = None
    content_key: str | None = None
    detail: str = ""
    dated: bool = False
    story: str | None = None
    sketch: bytes | None = None
    crawled: str | None = None
    ingested: int | None = None


class Manifest:
    """The manifest of one index; changes become visible on :meth:`commit`."""

    def __init__(self, index_dir: Path | None, *, read_only: bool = False) -> None:
        """The manifest in ``index_dir``, or (``None``) an empty one in memory, as a cluster's is loaded.

        ``read_only`` opens an existing manifest for reading only (``stats``, ``check``, the web server):
        it writes nothing, so an ingest that is writing never makes it fail. Writers keep the database
        in write-ahead-log mode, in which readers are never blocked by a writer.
        """
        if index_dir is None:
            self._connection = sqlite3.connect(":memory:")
        elif read_only:
            self._connection = _reader(index_dir / MANIFEST_NAME)
            return
        else:
            self._connection = sqlite3.connect(index_dir / MANIFEST_NAME, timeout=BUSY_SECONDS)
        self._prepare()

    def _prepare(self) -> None:
        """Create what is missing of the schema (nothing is written when it is all there); WAL mode."""
        tables = {name for (name,) in self._connection.execute("SELECT name FROM sqlite_master")}
        if not tables >= TABLES:
            self._connection.executescript(SCHEMA)
        columns = {row[1] for row in self._connection.execute("PRAGMA table_info(files)")}
        if "stamp" not in columns:  # a manifest from before stamps
            self._connection.execute("ALTER TABLE files ADD COLUMN stamp TEXT NOT NULL DEFAULT ''")
        columns = {row[1] for row in self._connection.execute("PRAGMA table_info(records)")}
        if "story" not in columns:  # a manifest from before stories (its index is rebuilt)
            self._connection.execute("ALTER TABLE records ADD COLUMN story TEXT")
            self._connection.execute("ALTER TABLE records ADD COLUMN sketch BLOB")
            self._connection.execute("ALTER TABLE records ADD COLUMN crawled TEXT")
        if "ingested" not in columns:  # a manifest from before watches (its index is rebuilt)
            self._connection.execute("ALTER TABLE records ADD COLUMN ingested INTEGER")
        (journal,) = self._connection.execute("PRAGMA journal_mode").fetchone()
        if journal not in ("wal", "memory"):
            # Once per manifest (it stays so): readers can then read while an ingest writes. When busy,
            # or on a file system without shared memory, the next ingest tries again.
            # A reader that opened it this way does not wait for another connection's lock to do it.
            self._connection.execute("PRAGMA busy_timeout = 100")
            with contextlib.suppress(sqlite3.OperationalError):
                self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute(f"PRAGMA busy_timeout = {int(BUSY_SECONDS * 1000)}")

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
                f"SELECT {_COLUMNS} FROM records WHERE path IN ({marks}) ORDER BY rowid",
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

    def indexed_sketches(self) -> Iterator[tuple[str, str, bytes]]:
        """Each indexed document's id, story and sketch (those from before stories have none)."""
        rows = self._connection.execute(
            "SELECT doc_id, story, sketch FROM records WHERE status = 'indexed' AND sketch IS NOT NULL"
        )
        yield from rows

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
            (r.path, r.location, r.status, r.doc_id, r.content_key, r.detail, int(r.dated), r.story, r.sketch,
             r.crawled, r.ingested)
            for r in records
        ]  # fmt: skip
        marks = ", ".join("?" * len(_COLUMNS.split(", ")))
        self._connection.executemany(f"INSERT INTO records ({_COLUMNS}) VALUES ({marks})", rows)

    def supersede(self, doc_id: str) -> None:
        """The indexed record of ``doc_id`` is a duplicate now: a later capture of its page replaced it."""
        self._connection.execute(
            "UPDATE records SET status = 'duplicate', detail = doc_id"
            " WHERE doc_id = ? AND status = 'indexed'",
            (doc_id,),
        )

    def reject(self, doc_id: str, reason: str) -> None:
        """The document ``doc_id`` was not indexed after all (a cluster refused it): a skipped record."""
        self._connection.execute(
            "UPDATE records SET status = 'skipped', detail = ?, doc_id = NULL"
            " WHERE doc_id = ? AND status = 'indexed'",
            (reason, doc_id),
        )

    def common_folder(self) -> str | None:
        """The deepest folder that holds every recorded source file (``None`` when none is recorded)."""
        rows = self._connection.execute("SELECT path FROM files")
        folders: set[str] = {os.path.dirname(path) for (path,) in rows}
        if not folders:
            return None
        try:
            return os.path.commonpath(folders)
        except ValueError:  # relative and absolute paths, or several drives
            return None

    def story_count(self) -> int:
        """How many distinct stories the indexed documents are versions of."""
        (count,) = self._connection.execute(
            "SELECT COUNT(DISTINCT COALESCE(story, doc_id)) FROM records WHERE status = 'indexed'"
        ).fetchone()
        return int(count)

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

    def finished_ingest(self) -> int:
        """The number of the last ingest that finished (0: none yet).

        Ingests are numbered in turn; each document's record and field ``ingested`` say which one
        brought its text as it is. An ingest that is running, or was stopped, takes the number after
        this one, and takes it again when it is run again: saved searches report the documents of
        finished ingests only, so a stopped ingest's documents are reported once, when it is done.
        """
        return int(self.meta().get(FINISHED_INGEST, "0"))

    def finish_ingest(self, number: int) -> None:
        """Record that ingest ``number`` finished (made durable by the next :meth:`commit`)."""
        self.set_meta(FINISHED_INGEST, str(number))

    def indexed_texts(self) -> Iterator[tuple[str, str, int | None]]:
        """Each indexed document's id, content key and the ingest that brought its text."""
        yield from self._connection.execute(
            "SELECT doc_id, content_key, ingested FROM records WHERE status = 'indexed'"
        )

    def clear(self) -> None:
        """Forget everything (for a full rebuild)."""
        self._connection.executescript("DELETE FROM records; DELETE FROM files; DELETE FROM meta;")

    def _first(self, where: str, value: str) -> Record | None:
        row = self._connection.execute(
            f"SELECT {_COLUMNS} FROM records {where} LIMIT 1",
            (value,),
        ).fetchone()
        return _record(row) if row else None


_COLUMNS = "path, location, status, doc_id, content_key, detail, dated, story, sketch, crawled, ingested"


def _record(row: tuple[Any, ...]) -> Record:
    path, location, status, doc_id, content_key, detail, dated, story, sketch, crawled, ingested = row
    return Record(path, location, status, doc_id, content_key, detail, bool(dated), story, sketch, crawled,
                  ingested)  # fmt: skip


def _chunks(values: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _reader(path: Path) -> sqlite3.Connection:
    """A read-only connection to the manifest at ``path``.

    A manifest in write-ahead-log mode is read through a shared-memory file beside it; in a folder
    this process cannot write (a read-only mount, another user's archive), where no writer can be
    either, it is read as the immutable file it then is; one whose log a killed ingest left is
    recovered by an ordinary connection first.
    """
    uri = (path.resolve().as_uri()) + "?mode=ro"
    connection = sqlite3.connect(uri, uri=True, timeout=BUSY_SECONDS)
    try:
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master")}
    except sqlite3.OperationalError:
        connection.close()
        if os.access(path.parent, os.W_OK):
            # The write-ahead log of an ingest that was killed must be recovered first, which a
            # read-only connection cannot do; this one only reads, after that.
            connection = sqlite3.connect(path, timeout=BUSY_SECONDS)
        else:
            connection = sqlite3.connect(uri + "&immutable=1", uri=True)
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master")}
    if not tables >= TABLES:  # a first ingest killed before it wrote its tables: nothing recorded yet
        connection.close()
        connection = sqlite3.connect(":memory:")
        connection.executescript(SCHEMA)
    return connection


def compare_records(ids: dict[str, int], recorded: dict[str, str]) -> list[str]:
    """What disagrees between the ids in the index (and how often each occurs) and the ingest records."""
    problems = []
    missing = sorted(set(recorded) - set(ids))
    if missing:
        problems.append(f"{len(missing)} documents of the ingest records are not in the index "
                        f"(the first: {recorded[missing[0]]}).")  # fmt: skip
    unrecorded = len(set(ids) - set(recorded))
    if unrecorded:
        problems.append(f"{unrecorded} documents in the index are not in the ingest records "
                        "(an ingest was interrupted after its commit).")  # fmt: skip
    return problems
