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

from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, runtime_checkable

from searchidx.query.spelling import Lexicon
from searchidx.results import Sort, Stats, Watch, WatchProgress

if TYPE_CHECKING:
    from searchidx.inputs.manifest import Manifest  # SQLite: only an ingest opens the records

T = TypeVar("T")
# How a backend orders hits: as a person sorts them, or by arrival in an ingests' window (the latest
# ingest's first, each ingest's newest first: a watch's feed).
Order = Sort | Literal["-ingested"]


@dataclass(frozen=True)
class Filters:
    """What a hit must match besides the query.

    ``start``/``end`` are naive UTC datetimes (either may be open); when
    ``ranged``, documents without a date are left out. ``undated`` keeps only
    those; ``source`` one site's articles; ``ingested`` ``(after, through)`` the
    articles whose text the ingests numbered after ``after`` up to ``through``
    brought (see :meth:`searchidx.inputs.manifest.Manifest.finished_ingest`).
    """

    start: datetime | None = None
    end: datetime | None = None
    ranged: bool = False
    undated: bool = False
    source: str | None = None
    ingested: tuple[int, int] | None = None

    @property
    def any(self) -> bool:
        """Whether anything is filtered at all."""
        return self.ranged or self.undated or self.source is not None or self.ingested is not None


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


@dataclass(frozen=True)
class StoryMatches:
    """How many distinct stories the matching documents are versions of (``None``: not counted), and,
    for each story asked about, the ids of its matching versions."""

    count: int | None
    versions: dict[str, tuple[str, ...]]


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
        sort: Order,
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

    def match_counts(self, searches: Sequence[tuple[Any, Filters]]) -> tuple[list[int], int]:
        """How many documents each ``(query, filters)`` matches, and how many match any of them."""

    def facets(self, query: Any, filters: Filters, names: list[str]) -> dict[str, dict[str, int]]:
        """Counts by facet of the documents matching ``query`` and ``filters``, in facet order."""

    def day_counts(self, query: Any | None, filters: Filters, *, stories: bool = False) -> DayCounts:
        """How many documents match ``query`` (every document when None) and ``filters``, per UTC day.

        With ``stories``, how many stories: each counted once, on the day of its first matching version
        (undated when none of them has a date).
        """

    def stories(self, query: Any, filters: Filters, shown: Collection[str], *, count: bool) -> StoryMatches:
        """Of the documents matching ``query`` and ``filters``: how many distinct stories they are
        versions of (when ``count``), and the versions of each of the ``shown`` stories."""

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


# How long an ingest waits for another ingest's lock on the same index, by default (seconds).
DEFAULT_WAIT = 180.0


class Store(Protocol):
    """What an ingest writes to, on either engine: the index's records, and a writer per batch."""

    @property
    def manifest(self) -> Manifest:
        """The index's ingest records, open for writing."""

    @property
    def location(self) -> Path | str:
        """The index: a folder, or a cluster's index as searchidx shows it."""

    @property
    def fresh(self) -> bool:
        """Whether the index held no document when opened (every document can be added, not updated)."""

    def new_writer(self, files: int, size: int) -> Any:
        """A writer for the next batch: ``files`` files of ``size`` bytes in all are to be read."""

    def commit(self, writer: Any, *, replace_all: bool = False) -> None:
        """Make what ``writer`` wrote searchable (``replace_all``: everything older is dropped)."""

    def document_count(self) -> int:
        """How many documents the index holds now."""

    def watches(self) -> WatchStore:
        """Where the index keeps its saved searches."""


class WatchStore(Protocol):
    """Where an index keeps its saved searches (:class:`~searchidx.results.Watch`): in its folder, or on
    its cluster, so every machine that searches it sees them."""

    def watches(self) -> list[Watch]:
        """Every watch, by name."""

    def save(self, watch: Watch) -> None:
        """Keep ``watch``, in place of the one of its name if there is one."""

    def remove(self, name: str) -> bool:
        """Forget the watch named ``name``; whether there was one."""

    def advance(self, progress: WatchProgress, through: dict[str, int]) -> None:
        """Move each named watch's ``progress`` on to the ingest given (never back), in one change."""

    def finished_ingest(self) -> int:
        """The number of the last ingest that finished (0: none): what a watch may report up to."""


@runtime_checkable
class FolderStore(Store, Protocol):
    """A store in a folder on this machine, whose vectors (kept beside it) are made from its documents."""

    @property
    def location(self) -> Path:
        """The index's folder."""

    def stored_documents(self, ids: Collection[str]) -> Iterator[dict[str, Any]]:
        """The stored fields of the committed documents among ``ids``."""
