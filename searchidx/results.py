"""What the library gives back, and what a request may ask for: the vocabulary every layer shares.

Hits, pages of results, marked text, stored articles, index statistics, trends
and check reports, as plain frozen dataclasses that every entry point (library,
CLI, web page, JSON API) renders; the one place each limit on a request is set,
and the choices a request may name (modes, sorts, units). Public, and
engine-free: it imports nothing of searchidx.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Literal, overload

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

# The choices a request may name.
MODES = ("hybrid", "keyword", "semantic")
Sort = Literal["relevance", "date", "-date"]
SORTS = ("relevance", "date", "-date")
Unit = Literal["day", "week", "month", "year"]
UNITS: tuple[Unit, ...] = ("day", "week", "month", "year")
# Facets a search can count its matches by, and the values of those without a date or a source.
FACETS = ("year", "month", "source")
NO_DATE = "(no date)"
NO_SOURCE = "(no source)"
# At most this many queries share one chart.
MAX_TREND_QUERIES = 8
# A marked word's [start, end) offsets in its text.
Span = tuple[int, int]


@dataclass(frozen=True)
class MarkedText:
    """A text and the ``[start, end)`` offsets of the marked words in it."""

    text: str
    highlights: tuple[Span, ...] = ()

    def marked(self, before: str, after: str, escape: Callable[[str], str] = str) -> str:
        """The text with ``before``/``after`` around every highlight, each piece of text escaped first."""
        pieces: list[str] = []
        position = 0
        for start, end in self.highlights:
            pieces += [escape(self.text[position:start]), before, escape(self.text[start:end]), after]
            position = end
        pieces.append(escape(self.text[position:]))
        return "".join(pieces)

    def html(self) -> str:
        """HTML: the text escaped, then each highlight wrapped in ``<mark>``."""
        return self.marked("<mark>", "</mark>", escape=html.escape)


@dataclass(frozen=True)
class Version:
    """Another version of a hit's story that matches too: a syndicated copy, an update."""

    id: str
    title: str
    date: datetime | None
    url: str | None
    source: str | None
    path: str


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
    crawled: datetime | None = None  # when a crawler captured it (web archives; UTC), never its date
    story: str = ""  # the story it is a version of: the same for every version (the first one's id)
    versions: tuple[Version, ...] = ()  # the story's other matching versions, first to run first (grouped)

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
    ``stories`` counts the distinct stories among the matches (counted with an
    exact total; ``None`` when the total is an estimate). When ``grouped``,
    each hit is a story, shown once at the rank of its best version, with its
    other matching versions in :attr:`Hit.versions`; pages are of stories.
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
    stories: int | None = None
    grouped: bool = False

    @property
    def following(self) -> tuple[Hit, ...]:
        """The articles listed after the matches, not counted: related ones, or ones found by meaning."""
        return self.related + self.found_by_meaning

    @property
    def pages(self) -> int:
        """How many pages of ``limit`` hits the matches fill (of stories, when grouped and counted)."""
        listed = self.stories if self.grouped and self.stories is not None else self.total
        return -(-listed // self.limit)

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
    crawled: datetime | None = None  # when a crawler captured it (web archives; UTC)


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
    stories: int = 0  # the distinct stories the documents are versions of


@dataclass(frozen=True)
class Period:
    """One bar of a chart: its first and last day, and how it is written (``2015-03``, ``2015-W10``...)."""

    start: date
    end: date
    label: str


@dataclass(frozen=True)
class TopWord:
    """A word the matching articles use more than the archive does.

    ``matching``: how many of the ``sampled`` matching articles hold it;
    ``archive``: how many articles of the whole archive do; ``score``: the
    log-likelihood of that difference (higher is more distinctive).
    """

    word: str
    matching: int
    sampled: int
    archive: int
    score: float


@dataclass(frozen=True)
class Series:
    """One query's matches per period, as counts and as shares of all dated articles in each period.

    ``undated`` matches are counted (``total`` includes them) but have no
    period; ``searched`` is the query as searched (a misspelt word corrected).
    A period without any dated article has a count (0) but no share: ``None``.
    """

    query: str
    searched: str
    counts: tuple[int, ...]
    shares: tuple[float | None, ...]
    undated: int
    top_words: tuple[TopWord, ...] = ()
    top_sources: tuple[tuple[str, int], ...] = ()

    @property
    def dated(self) -> int:
        """Matches with a date, charted."""
        return sum(self.counts)

    @property
    def total(self) -> int:
        """Every match, dated or not."""
        return self.dated + self.undated


@dataclass(frozen=True)
class Trend:
    """Several queries' series over the same periods, with the dated articles of each period.

    ``counted`` is what the counts are of: ``articles``, or ``stories`` (each story once, in the
    period of its first version; ``articles`` then holds the dated stories of each period).
    """

    unit: Unit
    periods: tuple[Period, ...]
    articles: tuple[int, ...]
    series: tuple[Series, ...] = field(default_factory=tuple)
    counted: str = "articles"


# A watch's name: what `watch news NAME` and the feed's address take.
WATCH_NAME = r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}"  # the \- for a browser's pattern (its v flag)
# The filters a watch keeps with its query, as `query` takes them.
WATCH_OPTIONS = ("since", "until", "source", "undated")
# How far a watch has gone: what a person was shown (`watch news`), what its command was given.
WatchProgress = Literal["reported", "hooked"]


@dataclass(frozen=True)
class Watch:
    """A saved search, kept with the index: its query (with ``options``: the filters of
    :data:`WATCH_OPTIONS`, as typed) and how far it has reported.

    Ingests are numbered in turn. ``created`` is the last ingest that had finished when the watch
    was made (its articles are not news); ``reported`` the last one whose articles ``watch news``
    showed; ``hook`` a command run with the articles of each later ingest, ``hooked`` the last
    ingest whose articles it was given. ``made`` is when it was made (UTC, ISO 8601).
    """

    name: str
    query: str
    options: tuple[tuple[str, str], ...] = ()
    created: int = 0
    reported: int = 0
    hook: str = ""
    hooked: int = 0
    made: str = ""

    def option(self, name: str) -> str | None:
        """The value of one of :data:`WATCH_OPTIONS`, or ``None`` when it was not given."""
        return dict(self.options).get(name)


class WatchCounts(dict[str, int]):
    """How many articles each watch has not reported yet, by name, and ``articles``: how many different
    articles that is (one news to several watches is counted once)."""

    def __init__(self, counts: dict[str, int], articles: int) -> None:
        super().__init__(counts)
        self.articles = articles


@dataclass(frozen=True)
class WatchNews:
    """What a watch has not reported yet: the matching articles of the ingests after ``after`` up to
    ``through``, newest first, and how many there are (``total``, every one of them in ``hits``)."""

    watch: Watch
    after: int
    through: int
    hits: tuple[Hit, ...]

    @property
    def total(self) -> int:
        """How many new articles match (all of them are in :attr:`hits`)."""
        return len(self.hits)


@dataclass(frozen=True)
class HookRun:
    """What a watch's command did after an ingest: the articles it was given, and why it failed
    (``""`` when it succeeded; its articles are given again after the next ingest when it failed)."""

    watch: str
    articles: int
    failure: str = ""


# What to do about the problems a check finds.
REBUILD = "Rebuild it with `searchidx ingest --full DIR` from the folders it was built from."
RERUN = "Run the same `searchidx ingest DIR` again to bring the records and the index together."


@dataclass(frozen=True)
class CheckReport:
    """What :func:`check` found: the counts it read, and each problem in one sentence."""

    path: Path | str  # a folder, or a cluster's index
    segments: int  # on a cluster: the shards
    documents: int
    recorded: int
    problems: tuple[str, ...]
    advice: str
    seconds: float
    part: str = "segment"  # what ``segments`` counts: a cluster's index is read by shard

    @property
    def healthy(self) -> bool:
        """Whether no problem was found."""
        return not self.problems
