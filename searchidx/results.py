"""What a search gives back: hits, pages of results, stored articles, index statistics; and the limits.

Engine-free: plain frozen dataclasses that every entry point (library, CLI,
web page, JSON API) renders, and the one place each limit on a request is set.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import overload

from searchidx.searching.snippets import MarkedText

# The deepest hit a query can reach (--limit, --page x --limit, offset + limit).
MAX_HITS = 10_000
# Hits of `similar` at most; of one API or web request at most.
MAX_SIMILAR = 1_000
# Totals of matches are exact up to this many; past it a query may give an estimate (Lucene's default too).
EXACT_TOTAL_UP_TO = 1_000
MAX_API_LIMIT = 100
MAX_QUERY_CHARS = 500
# Snippets: fragments per hit, and characters in all.
MAX_SNIPPETS = 10
SNIPPET_CHARS = (40, 2000)


@dataclass(frozen=True)
class Hit:
    """One ranked document.

    ``snippet`` is plain text (its fragments joined by `` … ``) and
    ``highlights`` the ``[start, end)`` offsets of the matched words in it;
    ``snippets`` holds each fragment with its own offsets, and
    ``title_highlights`` the offsets in the title. ``date`` is a UTC datetime
    or ``None``; ``url`` and ``source`` are ``None`` when the article has no URL.
    A ``related`` hit follows the matches: it holds none of the query's words
    but is among the articles most like the best matches, and its ``score``
    is that likeness, on its own scale.
    """

    rank: int
    id: str
    title: str
    date: datetime | None
    url: str | None
    source: str | None
    path: str
    score: float
    snippet: str
    highlights: tuple[tuple[int, int], ...]
    snippets: tuple[MarkedText, ...] = ()
    title_highlights: tuple[tuple[int, int], ...] = ()
    by_meaning: bool = False  # after the matches: no word of the query, but near it in meaning
    related: bool = False  # after the matches: no word of the query, but like the best matches
    record: str = ""  # its own id in a file of several articles (a JSON Lines record's "id"), or ""

    def marked_snippet(self, before: str = "[[", after: str = "]]") -> str:
        """The snippet with ``before``/``after`` around each matched word."""
        return MarkedText(self.snippet, self.highlights).marked(before, after)

    def marked_title(self, before: str = "[[", after: str = "]]") -> str:
        """The title with ``before``/``after`` around each matched word."""
        return MarkedText(self.title, self.title_highlights).marked(before, after)

    def snippet_html(self) -> str:
        """The snippet as HTML: escaped, then the matches wrapped in ``<mark>``."""
        return MarkedText(self.snippet, self.highlights).html()

    def title_html(self) -> str:
        """The title as HTML: escaped, then the matches wrapped in ``<mark>``."""
        return MarkedText(self.title, self.title_highlights).html()


@dataclass(frozen=True)
class Results(Sequence[Hit]):
    """The hits of one query (one page of them), best first.

    ``total`` counts every matching document, exactly when ``total_is_exact``
    (always up to 1,000 matches), else as an estimate; ``plain_words`` is true when the
    query's syntax was broken and its words were searched as plain words;
    ``suggestion`` is the query with its misspelt words corrected, and
    ``corrected`` says that it was searched instead of the query as typed
    (``parsed_query`` is always what was searched); ``approximate`` is true
    when nothing matched and fuzzy matches are shown; ``undated_left_out``
    counts the matches that a date filter left out for having no date (only
    counted when nothing else matched); ``took`` is in seconds; ``mode`` is
    how the matches were ranked: ``keyword`` (by their words), ``hybrid``
    (words and meaning) or ``semantic`` (the best matches by meaning alone).
    In every mode ``hits`` and ``total`` are the articles that match the query.
    Two lists may follow the page's last match when the matches end on it (never
    in ``hits`` nor in ``total``, ranked after them): ``related``, the articles
    most like the best matches (keyword mode, plain words: see
    :mod:`searchidx.searching.related`), and ``found_by_meaning``, the articles nearest
    the query in meaning that hold none of its words (hybrid and semantic
    modes; with no match at all, they are all there is). ``notes`` say, in a
    sentence each, how what was searched differs from what was typed.
    """

    query: str
    parsed_query: str
    total: int
    hits: tuple[Hit, ...]
    total_is_exact: bool = True
    plain_words: bool = False
    took: float = 0.0
    page: int = 1
    limit: int = 10
    offset: int = 0
    suggestion: str | None = None
    corrected: bool = False
    approximate: bool = False
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    undated_left_out: int = 0
    mode: str = "keyword"
    related: tuple[Hit, ...] = ()
    found_by_meaning: tuple[Hit, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def following(self) -> tuple[Hit, ...]:
        """The articles listed after the matches, not counted: related ones, or ones found by meaning."""
        return self.related + self.found_by_meaning

    @property
    def pages(self) -> int:
        """How many pages of ``limit`` hits the matches fill."""
        return -(-self.total // self.limit)

    @overload
    def __getitem__(self, index: int) -> Hit: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Hit, ...]: ...
    def __getitem__(self, index: int | slice) -> Hit | tuple[Hit, ...]:
        return self.hits[index]

    def __len__(self) -> int:
        return len(self.hits)

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)


@dataclass(frozen=True)
class Article:
    """A stored document in full."""

    id: str
    title: str
    date: datetime | None
    url: str | None
    source: str | None
    path: str
    body: str
    record: str = ""  # its own id in a file of several articles (a JSON Lines record's "id"), or ""


@dataclass(frozen=True)
class Stats:
    """What an index holds."""

    path: Path | str
    documents: int
    first_date: datetime | None
    last_date: datetime | None
    per_year: dict[str, int]
    top_sources: dict[str, int]
    size_bytes: int
    last_ingest: str | None
    schema_version: str | None
    backend: str = "whoosh"
    # For a cluster: its name, health, nodes, and the index's shards and replicas.
    cluster: dict[str, str] | None = None
