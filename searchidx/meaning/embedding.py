"""Bring an index's vectors in line with its documents after an ingest's commit (``ingest --semantic``).

Every document the index holds gets the vector of its current headline and
text: a vector whose content key still matches is kept, a document written
by this run or missing from the store (a first ``--semantic`` ingest, or one
killed while embedding) is embedded, and vectors of documents that are gone
are dropped. The result replaces the store in one step
(:func:`searchidx.meaning.vectors.write_store`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from searchidx.meaning.model import BATCH, DIMENSIONS, embedder
from searchidx.meaning.vectors import Entry, open_store, write_store


@dataclass(frozen=True)
class Article:
    """A document's row in the store, and the text its vector is made from."""

    entry: Entry
    text: str


# The stored articles of the given documents (id -> content key), read from the index.
StoredArticles = Callable[[dict[str, str]], Iterable[Article]]
Progress = Callable[[int, int], None]


def sync_vectors(
    index: Path,
    live: dict[str, str],
    written: dict[str, Article],
    stored: StoredArticles,
    progress: Progress,
) -> int:
    """Give the ``live`` documents (id -> content key) their vectors; return how many were embedded.

    ``written`` holds this run's documents; any other live document without
    a current vector is read with ``stored``.
    """
    old = open_store(index)
    known = old.entries() if old is not None else {}
    kept: list[tuple[Entry, int]] = []
    wanted: list[Article] = []
    missing: dict[str, str] = {}
    for doc_id, content_key in live.items():
        had = known.get(doc_id)
        article = written.get(doc_id)
        if old is not None and had is not None and had[0] == content_key:
            kept.append((article.entry if article is not None else old.entry(had[1]), had[1]))
        elif article is not None:
            wanted.append(article)
        else:
            missing[doc_id] = content_key
    if missing:
        wanted += stored(missing)
    if old is not None and not wanted and len(kept) == len(old) and not written:
        return 0  # nothing changed: the store stays as it is
    reused = old.matrix[[row for _, row in kept]] if old is not None and kept else _no_rows()
    matrix = np.concatenate([reused, *_embedded(wanted, progress)])
    write_store(index, [entry for entry, _ in kept] + [article.entry for article in wanted], matrix)
    return len(wanted)


def _embedded(articles: list[Article], progress: Progress) -> Iterator[np.ndarray]:
    model = embedder()
    step = BATCH * 16
    for start in range(0, len(articles), step):
        chunk = articles[start : start + step]
        yield model.documents([article.text for article in chunk])
        progress(start + len(chunk), len(articles))


def _no_rows() -> np.ndarray:
    return np.zeros((0, DIMENSIONS), dtype=np.float32)
