"""The vectors of an index's articles, kept beside it in ``<index>/vectors/``, searched exactly.

A generation is two files: ``G.npy`` (one float32 row of
:data:`~searchidx.meaning.model.DIMENSIONS` per article, memory-mapped when read)
and ``G.npz`` (each row's document id, content key, date and source, for the
filters). ``CURRENT`` names the generation in use and is replaced atomically
after both files are written, so a killed ingest leaves the last complete
generation; the next ingest embeds what it lacks. Cosine search is a matrix
product over every row: at 384 floats a row, a million articles are 1.5 GB
and about half a second a query on two cores, which is where an approximate
index would start to pay.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from searchidx.engines.protocol import Filters

FOLDER = "vectors"
CURRENT = "CURRENT"
NO_DATE = np.datetime64("NaT", "s")


@dataclass(frozen=True)
class Entry:
    """What one row describes: the document, the content its vector was made from, and its filters' fields."""

    doc_id: str
    content_key: str
    date: datetime | None
    source: str


@dataclass(frozen=True)
class Nearest:
    """Document ids, nearest first, and their cosine similarity to the query."""

    ids: list[str]
    similarities: list[float]


class VectorStore:
    """One generation of an index's vectors, opened for reading."""

    def __init__(self, folder: Path, generation: str) -> None:
        self.generation = generation
        self.matrix = np.load(folder / f"{generation}.npy", mmap_mode="r")
        with np.load(folder / f"{generation}.npz", allow_pickle=False) as table:
            self.ids: np.ndarray = table["ids"]
            self.keys: np.ndarray = table["keys"]
            self.dates: np.ndarray = table["dates"]
            self.sources: np.ndarray = table["sources"]
        self._row_of: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def entries(self) -> dict[str, tuple[str, int]]:
        """Each document id's content key and row."""
        return {
            str(doc): (str(key), row) for row, (doc, key) in enumerate(zip(self.ids, self.keys, strict=True))
        }

    def entry(self, row: int) -> Entry:
        """What row ``row`` describes."""
        when = self.dates[row]
        date = None if np.isnat(when) else when.astype("datetime64[s]").item()
        return Entry(str(self.ids[row]), str(self.keys[row]), date, str(self.sources[row]))

    def nearest(self, query: np.ndarray, depth: int, filters: Filters) -> Nearest:
        """The ``depth`` rows most like ``query`` among those ``filters`` keep."""
        allowed = self._allowed(filters)
        if not len(self) or not allowed.any():
            return Nearest([], [])
        similarities = np.asarray(self.matrix @ query, dtype=np.float32)
        similarities[~allowed] = -np.inf
        depth = min(depth, int(allowed.sum()))
        best = np.argpartition(-similarities, depth - 1)[:depth]
        # Ties are ordered by id, so the order never depends on the rows' order.
        best = best[np.lexsort((self.ids[best], -similarities[best]))]
        return Nearest([str(doc) for doc in self.ids[best]], [float(value) for value in similarities[best]])

    def count(self, filters: Filters) -> int:
        """How many rows ``filters`` keep."""
        return int(self._allowed(filters).sum())

    def similarities(self, query: np.ndarray, doc_ids: Iterable[str]) -> dict[str, float]:
        """The cosine similarity of each document named that has a vector."""
        rows = self._rows()
        wanted = [(doc, rows[doc]) for doc in doc_ids if doc in rows]
        if not wanted:
            return {}
        values = np.asarray(self.matrix[[row for _, row in wanted]] @ query, dtype=np.float32)
        return {doc: float(value) for (doc, _), value in zip(wanted, values, strict=True)}

    def _rows(self) -> dict[str, int]:
        if self._row_of is None:
            self._row_of = {str(doc): row for row, doc in enumerate(self.ids)}
        return self._row_of

    def _allowed(self, filters: Filters) -> np.ndarray:
        allowed = np.ones(len(self), dtype=bool)
        undated = np.isnat(self.dates)
        if filters.undated:
            allowed &= undated
        elif filters.ranged:
            allowed &= ~undated
            if filters.start is not None:
                allowed &= self.dates >= np.datetime64(filters.start, "s")
            if filters.end is not None:
                allowed &= self.dates < np.datetime64(filters.end, "s")
        if filters.source is not None:
            allowed &= self.sources == filters.source
        return allowed


def open_store(index: Path) -> VectorStore | None:
    """The index's vectors, or None when it has none."""
    for _ in range(3):
        generation = current_generation(index)
        if generation is None:
            return None
        try:
            return VectorStore(index / FOLDER, generation)
        except FileNotFoundError:  # an ingest replaced that generation as it was being opened
            continue
    return None


def current_generation(index: Path) -> str | None:
    """The name of the generation in use (cheap: to tell whether an open store is stale)."""
    try:
        return (index / FOLDER / CURRENT).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None


def write_store(index: Path, entries: list[Entry], matrix: np.ndarray) -> None:
    """Make ``entries`` (row i's vector is ``matrix[i]``) the index's vectors, atomically."""
    folder = index / FOLDER
    folder.mkdir(exist_ok=True)
    generation = secrets.token_hex(8)
    with (folder / f"{generation}.npy").open("wb") as out:
        np.save(out, np.ascontiguousarray(matrix, dtype=np.float32))
        os.fsync(out.fileno())
    with (folder / f"{generation}.npz").open("wb") as out:
        np.savez(
            out,
            ids=np.array([entry.doc_id for entry in entries], dtype=str),
            keys=np.array([entry.content_key for entry in entries], dtype=str),
            dates=np.array([_moment(entry.date) for entry in entries], dtype="datetime64[s]"),
            sources=np.array([entry.source for entry in entries], dtype=str),
        )
        os.fsync(out.fileno())
    pointer = folder / f"{CURRENT}.{generation}"
    pointer.write_text(generation, encoding="ascii")
    os.replace(pointer, folder / CURRENT)
    remove_other_generations(index, keep=generation)


def remove_store(index: Path) -> None:
    """Forget the index's vectors (``ingest --no-semantic``)."""
    with contextlib.suppress(FileNotFoundError):
        (index / FOLDER / CURRENT).unlink()
    remove_other_generations(index, keep=None)


def remove_other_generations(index: Path, keep: str | None) -> None:
    """Delete every generation's files but ``keep``'s (left by an older or a killed ingest)."""
    folder = index / FOLDER
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if path.name != CURRENT and path.name.split(".")[0] != keep:
            with contextlib.suppress(OSError):  # a reader on Windows may hold it; the next ingest retries
                path.unlink()


def _moment(when: datetime | None) -> np.datetime64:
    return NO_DATE if when is None else np.datetime64(when.replace(tzinfo=None), "s")
