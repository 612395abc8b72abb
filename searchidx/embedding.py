"""Bring an index's vectors in line with its documents after an ingest's commit (``ingest --semantic``).

Every document the index holds gets the vector of its current headline and
text: a vector whose content key still matches is kept, a document written
by this run or missing from the store (a first ``--semantic`` ingest, or one
killed while embedding) is embedded, and vectors of documents that are gone
are dropped. The result replaces the store in one step
(:func:`searchidx.vectors.write_store`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from searchidx.semantic import BATCH, DIMENSIONS, embedder, embedding_text
from searchidx.vectors import Entry, open_store, write_store


@dataclass(frozen=True)
class Article:
    """What a vector is made from and filtered by."""

    doc_id: str
    content_key: str
    title: str
    body: str
    date: datetime | None
    source: str


# The stored articles of the given ids, read from the index (for those this run did not write).
StoredArticles = Callable[[set[str]], Iterable[Article]]
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
    missing: set[str] = set()
    for doc_id, content_key in live.items():
        had = known.get(doc_id)
        article = written.get(doc_id)
        if old is not None and had is not None and had[0] == content_key:
            kept.append((_entry(article) if article is not None else old.entry(had[1]), had[1]))
        elif article is not None:
            wanted.append(article)
        else:
            missing.add(doc_id)
    if missing:
        wanted += [article for article in stored(missing) if live.get(article.doc_id) == article.content_key]
    if old is not None and not wanted and len(kept) == len(old) and not written:
        return 0  # nothing changed: the store stays as it is
    reused = old.matrix[[row for _, row in kept]] if old is not None and kept else _no_rows()
    matrix = np.concatenate([reused, *_embedded(wanted, progress)])
    write_store(index, [entry for entry, _ in kept] + [_entry(article) for article in wanted], matrix)
    return len(wanted)


def _embedded(articles: list[Article], progress: Progress) -> Iterator[np.ndarray]:
    model = embedder()
    step = BATCH * 16
    for start in range(0, len(articles), step):
        chunk = articles[start : start + step]
        yield model.documents([embedding_text(article.title, article.body) for article in chunk])
        progress(start + len(chunk), len(articles))


def _entry(article: Article) -> Entry:
    return Entry(article.doc_id, article.content_key, article.date, article.source)


def _no_rows() -> np.ndarray:
    return np.zeros((0, DIMENSIONS), dtype=np.float32)
