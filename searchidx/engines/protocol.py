"""The seam between searchidx and a search engine: what :class:`searchidx.Index` asks of one.

Two engines answer: Whoosh, in a folder on this machine (the default, see
:mod:`searchidx.engines.whoosh.backend`), and an OpenSearch cluster, named by an
``http(s)://host:port/index`` URL (:mod:`searchidx.engines.opensearch.backend`, with the
``searchidx[opensearch]`` extra). Reading files, the query language, the
speller's ranking, snippets and rendering are searchidx's own and the same for
both; a backend runs a parsed query, counts facets, looks words up and
returns stored documents.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Protocol, TypeVar

from searchidx.results import Stats

Sort = Literal["relevance", "date", "-date"]
T = TypeVar("T")
CLUSTER_SCHEMES = ("http://", "https://")


def is_cluster(location: str | os.PathLike[str] | None) -> bool:
    """Whether an index location names an OpenSearch index (a URL) rather than a folder."""
    return isinstance(location, str) and location.strip().lower().startswith(CLUSTER_SCHEMES)


def index_location(index: str | os.PathLike[str] | None) -> str | os.PathLike[str] | None:
    """``index`` if given, else ``$SEARCHIDX_INDEX`` when it names a cluster, else ``None`` (a folder)."""
    if index is None and is_cluster(os.environ.get("SEARCHIDX_INDEX")):
        return os.environ["SEARCHIDX_INDEX"].strip()
    return index


@dataclass(frozen=True)
class Filters:
    """What a hit must match besides the query.

    ``start``/``end`` are naive UTC datetimes (either may be open); when
    ``ranged``, documents without a date are left out. ``undated`` keeps only
    those; ``source`` one site's articles.
    """

    start: datetime | None = None
    end: datetime | None = None
    ranged: bool = False
    undated: bool = False
    source: str | None = None

    @property
    def any(self) -> bool:
        """Whether anything is filtered at all."""
        return self.ranged or self.undated or self.source is not None


@dataclass(frozen=True)
class Row:
    """One matching document: its stored fields (``date`` a naive UTC datetime or None) and score.

    ``by_meaning``: it follows the matches, found by its vector alone (no word of the query is in it);
    ``related``: it follows the matches as one of the articles most like them.
    """

    fields: dict[str, Any]
    score: float
    by_meaning: bool = False
    related: bool = False


@dataclass(frozen=True)
class Page:
    """The rows asked for (from ``skip``), and how many documents match in all.

    ``total`` is exact when ``exact``; else it is an estimate, and more than
    :data:`~searchidx.results.EXACT_TOTAL_UP_TO` documents match.
    """

    rows: list[Row]
    total: int
    exact: bool = True


@dataclass(frozen=True)
class DayCounts:
    """Matching documents per UTC day, and how many have no date."""

    days: dict[date, int]
    undated: int = 0


class Lexicon(Protocol):
    """The words an archive holds, as the speller needs them (:mod:`searchidx.query.spelling`)."""

    def documents(self) -> int:
        """How many documents there are; 0 when there is nothing to correct against."""

    def prepare(self, words: Iterable[str]) -> None:
        """The speller will ask about these words (a cluster counts them all in one request)."""

    def frequency(self, word: str) -> int:
        """How many documents hold ``word`` as written (folded, lower case)."""

    def name_share(self, word: str) -> float:
        """The share (0 to 1) of the word's occurrences that are written capitalized."""

    def stem_frequencies(self, stems: Iterable[str]) -> dict[str, int]:
        """How many documents hold each of the ``stems`` in the body field (a cluster: one request)."""

    def words_within(self, text: str, edits: int, prefix: int = 1) -> list[str]:
        """The archive's words within ``edits`` edits of ``text`` that share its first ``prefix`` letters."""

    def expansions(self, node: Any) -> dict[str, int] | None:
        """The indexed terms a prefix, wildcard or fuzzy word of a query stands for, each with the
        number of documents holding it in the node's field; None when the engine bounds them itself
        (see :mod:`searchidx.query.bounds`)."""


class Backend(Protocol):
    """One engine's index, opened for searching."""

    location: str
    schema: Any

    def reading(self, action: Callable[[], T]) -> T:
        """``action()``, with the engine's failures turned into searchidx's errors."""

    def lexicon(self) -> Lexicon:
        """The words of the archive, for the speller."""

    def run(
        self,
        query: Any,
        depth: int,
        filters: Filters,
        sort: Sort,
        skip: int,
        *,
        exact_total: bool = False,
        ids_only: bool = False,
    ) -> Page:
        """The rows ``skip`` to ``depth`` of ``query``'s hits, in ``sort`` order, and the total.

        The total may be an estimate past :data:`~searchidx.results.EXACT_TOTAL_UP_TO`
        matches unless ``exact_total``. With ``ids_only`` a row's fields are its
        ``id`` alone (cheaper: :meth:`documents` reads the rest of those wanted).
        """

    def undated_matches(self, query: Any, source: str | None) -> int:
        """How many documents match ``query`` (and ``source``) but have no date."""

    def facets(self, query: Any, filters: Filters, names: list[str]) -> dict[str, dict[str, int]]:
        """Counts by facet of the documents matching ``query`` and ``filters``, in facet order."""

    def day_counts(self, query: Any | None, filters: Filters) -> DayCounts:
        """How many documents match ``query`` (every document when None) and ``filters``, per UTC day."""

    def marked_words(self, query: Any, rows: list[Row]) -> frozenset[str]:
        """The indexed words the hits ``rows`` of ``query`` can have matched (prefixes expanded)."""

    def document(self, reference: str) -> dict[str, Any]:
        """The stored fields of the document ``reference`` names (id, URL or path)."""

    def documents(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored fields of each document named by its id, of those the index still holds."""

    def similar(
        self, fields: dict[str, Any], depth: int, skip: int, *, exact_total: bool = False
    ) -> tuple[Page, frozenset[str], str]:
        """The documents most like the stored one (not itself), the words that matched, the query shown."""

    def document_count(self) -> int:
        """How many documents the index holds."""

    def stats(self) -> Stats:
        """What the index holds."""

    def close(self) -> None:
        """Release what this thread holds."""


def open_backend(location: str | os.PathLike[str] | None) -> Backend:
    """The backend of an index location: a URL is an OpenSearch index, anything else a Whoosh folder."""
    location = index_location(location)
    if location is not None and is_cluster(location):
        from searchidx.engines.opensearch.backend import (
            OpenSearchBackend,  # the optional extra, only when asked for
        )

        return OpenSearchBackend(str(location))
    from searchidx.engines.whoosh.backend import WhooshBackend

    return WhooshBackend(location)
