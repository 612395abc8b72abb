"""An :class:`~searchidx.searching.index.Index`'s side of searching by meaning: its vectors, kept fresh.

The store is reopened when an ingest has written a new generation; the
model is loaded on the first search by meaning, not before.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from searchidx.errors import NoVectorsError, QueryError
from searchidx.results import MODES

if TYPE_CHECKING:
    import numpy as np

    from searchidx.meaning.vectors import VectorStore

NO_VECTORS = (
    "This index has no vectors to search by meaning. Build them with `searchidx ingest DIR --semantic`, "
    "or search with --mode keyword."
)


class Meaning:
    """The vectors beside one index folder (none for a cluster), opened when first needed."""

    def __init__(self, folder: Path | None) -> None:
        self._folder = folder
        self._store: VectorStore | None = None
        self._lock = threading.Lock()

    def store(self) -> VectorStore | None:
        """The newest generation of vectors, or None when the index has none."""
        if self._folder is None:
            return None
        from searchidx.meaning.vectors import current_generation, open_store

        generation = current_generation(self._folder)
        with self._lock:
            if generation is None:
                self._store = None
            elif self._store is None or self._store.generation != generation:
                self._store = open_store(self._folder)
            return self._store

    def mode(self, asked: str | None) -> str:
        """The mode a search runs in: ``asked``, or hybrid when the index has vectors and keyword when not."""
        if asked is None:
            return "hybrid" if self.store() is not None else "keyword"
        if asked not in MODES:
            raise QueryError(f"Unknown search mode {asked!r}; use one of {', '.join(MODES)}.")
        if asked != "keyword" and self.store() is None:
            raise NoVectorsError(NO_VECTORS)
        return asked

    def query_vector(self, text: str) -> np.ndarray:
        """The query's vector (the model is loaded on the first call in a process)."""
        from searchidx.meaning.model import QUERY_THREADS, embedder

        return embedder(QUERY_THREADS).query(text)

    def required(self) -> VectorStore:
        """The newest generation of vectors; :class:`NoVectorsError` when the index has none."""
        store = self.store()
        if store is None:
            raise NoVectorsError(NO_VECTORS)
        return store
