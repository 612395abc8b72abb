"""Searching an index: :class:`Index` for many queries, :func:`search` for one.

Plain words match documents with ANY of them (BM25F over title and body),
ranked so that documents with more of the words, and with them in the title,
come first; see :mod:`searchidx.query.parsing` for the rest of the language.

The engine behind an :class:`Index` is a backend (:mod:`searchidx.engines.protocol`):
Whoosh for a folder, OpenSearch for an index URL. This module is the same
for both: options, the speller's corrections, paging, snippets and results.

Threads: one :class:`Index` may be shared by many threads (a web server);
every query sees the last committed (or, on a cluster, refreshed) state.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar, cast

from searchidx.engines.factory import open_backend, open_watches
from searchidx.engines.protocol import Backend, DayCounts, Filters, Order, Page, Row, WatchStore
from searchidx.errors import QueryError, WatchNotFoundError
from searchidx.inputs.dates import parse_when
from searchidx.inputs.urls import site_of
from searchidx.meaning.queries import Meaning
from searchidx.query.deadlines import within
from searchidx.query.parsing import (
    ParsedQuery,
    bounded,
    corrected,
    every_word,
    fuzzy,
    marks_for,
    parse_query,
    valid_text,
)
from searchidx.query.spelling import Speller
from searchidx.results import (
    FACETS,
    MAX_HITS,
    MAX_SIMILAR,
    MAX_SNIPPETS,
    MAX_TREND_QUERIES,
    MODES,
    SNIPPET_CHARS,
    SORTS,
    UNITS,
    Article,
    Hit,
    MarkedText,
    Results,
    Series,
    Sort,
    Stats,
    TopWord,
    Trend,
    Unit,
    Version,
    Watch,
    WatchCounts,
    WatchNews,
)
from searchidx.searching.fusion import CANDIDATES, rerank
from searchidx.searching.grouping import first_versions, other_versions, page_of_stories, story_of
from searchidx.searching.related import (
    FEEDBACK_DOCS,
    OVERFETCH,
    feedback_terms,
    plain_words,
    related_query,
    searched_stems,
    shares_enough,
)
from searchidx.searching.snippets import join_fragments, make_snippet, mark
from searchidx.searching.trends import WORDS_SAMPLE, build_trend, top_words
from searchidx.searching.watches import SharedListing, check_watch, watch_options

F = TypeVar("F", bound=Callable[..., Any])
When = str | date | datetime | None
# An export of every hit reads them this many at a time.
EXPORT_CHUNK = 5_000


def _reads_index(method: F) -> F:
    """A method of :class:`Index` whose engine failures become searchidx's errors (damage, a lost cluster),
    run within its ``deadline`` keyword argument when it has one (see :mod:`searchidx.query.deadlines`)."""

    @functools.wraps(method)
    def reading(self: Index, *args: Any, **kwargs: Any) -> Any:
        with within(kwargs.get("deadline")):
            return self._backend.reading(lambda: method(self, *args, **kwargs))

    return cast(F, reading)


class Index:
    """An index opened once and queried many times: a folder (Whoosh) or a cluster's URL (OpenSearch).

    >>> with Index("index/") as ix:  # doctest: +SKIP
    ...     ix.search("Putin parade", since="2015")[0].title
    'President Putin to Visit China for World War II March'
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._backend: Backend = open_backend(path)
        self._location = path
        self._watch_store: WatchStore | None = None
        self.location = self._backend.location
        # The analyzer of titles, bodies and queries (Whoosh keeps the one an index was built with).
        self._analyzer = self._backend.schema["body"].analyzer
        self._meaning = Meaning(getattr(self._backend, "path", None))

    @property
    def path(self) -> Path | str:
        """The index's folder, or the URL of a cluster's index."""
        folder: Path | None = getattr(self._backend, "path", None)
        return folder if folder is not None else self.location

    def source_folder(self) -> str | None:
        """The folder holding every source file the ingest records of a folder index name (else ``None``)."""
        from searchidx.inputs.manifest import MANIFEST_NAME, Manifest  # SQLite: a query does not load it

        folder: Path | None = getattr(self._backend, "path", None)
        if folder is None or not (folder / MANIFEST_NAME).exists():
            return None
        manifest = Manifest(folder, read_only=True)
        try:
            return manifest.common_folder()
        finally:
            manifest.close()

    def __repr__(self) -> str:
        return f"Index({self.location!r})"

    def __enter__(self) -> Index:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release this thread's searcher or connection (others are released when their threads end)."""
        self._backend.close()

    @_reads_index
    def search(
        self,
        query: str,
        *,
        limit: int = 10,
        page: int = 1,
        offset: int | None = None,
        since: When = None,
        until: When = None,
        undated: bool = False,
        source: str | None = None,
        sort: Sort = "relevance",
        facets: str | Iterable[str] = (),
        snippets: int = 2,
        snippet_chars: int = 240,
        exact: bool = False,
        exact_total: bool = False,
        now: datetime | None = None,
        mode: str | None = None,
        related: bool = True,
        deadline: float | None = None,
        all_versions: bool = False,
    ) -> Results:
        """Search and return one page of hits with snippets, and the facet counts asked for.

        ``since``/``until`` take a ``date``/``datetime`` or the CLI's forms
        (``2015-03``, ``last week``, ``7d``...); documents without a date are
        left out when either is given, and ``undated`` keeps only those. ``source`` keeps the articles of one
        site (a host as :attr:`Hit.source` gives it). ``sort`` is ``relevance``, ``date``
        (oldest first) or ``-date`` (newest first). ``facets`` names any of
        ``year``, ``month``, ``source`` (a list, or one comma-separated string).
        ``offset`` overrides ``page``. A misspelt word the archive lacks is
        searched as its correction (``Results.corrected``) unless ``exact``.
        ``Results.total`` is exact up to 1,000 matches, and past that may be an
        estimate (``Results.total_is_exact``), unless ``exact_total``.
        ``mode`` is ``keyword`` (the words), ``semantic`` (the meaning: the
        articles whose vectors are closest to the query's) or ``hybrid``
        (both, fused); the default is hybrid on an index with vectors
        (``ingest --semantic``), else keyword. A date sort ranks the keyword
        matches only. When plain words match fewer articles than the page
        holds, the rest of it is the articles most like the best matches
        (``Results.related``, ranked after every match, not counted in the
        total; see :mod:`searchidx.searching.related`), unless ``related`` is false.
        ``deadline`` (a :func:`time.monotonic` instant) stops a search still
        running then with :class:`~searchidx.errors.SearchTimeoutError`; every
        query's cost is bounded anyway (:mod:`searchidx.query.bounds`).
        The versions of one story (syndicated copies, updates: see
        :mod:`searchidx.ingesting.stories`) are one hit, at the rank of the best,
        with the others in :attr:`Hit.versions`, unless ``all_versions``; totals
        and facets count articles either way, and ``Results.stories`` the stories.
        """
        started = time.perf_counter()
        facet_names = _check(limit, page, offset, sort, facets, snippets, snippet_chars)
        if undated and (since is not None or until is not None):
            raise QueryError("Articles without a date cannot also be dated since or until a day; "
                             "give either the undated filter or a date range.")  # fmt: skip
        parsed = self._parsed(query)
        skip = offset if offset is not None else (page - 1) * limit
        filters = _filters(since, until, undated, source, now or datetime.now(UTC))
        depth = min(skip + limit, MAX_HITS)
        mode = self._mode(mode, sort)

        def find(skip: int, depth: int, with_related: bool) -> _Searched:
            if mode != "keyword":
                return self._by_meaning(query, parsed, mode, filters, skip, depth, exact=exact,
                                        exact_total=exact_total)  # fmt: skip
            searched = self._search(parsed, depth, filters, sort, skip, exact=exact, exact_total=exact_total)
            if not searched.page.rows and not searched.page.exact:  # past the last page: say exactly where
                searched = self._search(parsed, depth, filters, sort, skip, exact=exact, exact_total=True)
            if with_related and related and sort == "relevance":
                searched = self._with_related(searched, filters, skip, depth)
            return searched

        if all_versions:
            searched = find(skip, depth, True)
            rows = searched.page.rows
        else:
            searched, rows = self._stories_page(lambda skip, depth: find(skip, depth, False), skip, limit)
            if related and mode == "keyword" and sort == "relevance":
                rows = self._stories_with_related(searched, rows, filters, skip, limit)
        if skip < searched.total and skip + limit > MAX_HITS:  # a page past the last one is said so
            raise QueryError(f"Pages go no deeper than hit {MAX_HITS:,}; narrow the search instead.")
        words, phrases = self._marking(searched.query, rows) if snippets else (frozenset(), ())
        stories, versions = self._stories(searched, filters, [] if all_versions else rows)
        shown = [
            self._hit(rank, row, words, phrases, snippets, snippet_chars, versions.get(row.fields["id"], ()))
            for rank, row in enumerate(rows, start=skip + 1)
        ]
        hits = tuple(hit for hit in shown if not (hit.related or hit.by_meaning))
        left_out = (
            self._backend.undated_matches(searched.query, filters.source)
            if searched.total == 0 and filters.ranged
            else 0
        )
        return Results(
            query=query,
            parsed_query=str(searched.query),
            total=searched.total,
            total_is_exact=searched.page.exact,
            hits=hits,
            plain_words=parsed.fallback,
            notes=parsed.notes,
            took=time.perf_counter() - started,
            page=page if offset is None else skip // limit + 1,
            limit=limit,
            offset=skip,
            suggestion=searched.suggestion,
            corrected=searched.corrected,
            approximate=searched.approximate,
            facets=self._backend.facets(searched.query, filters, facet_names) if facet_names else {},
            undated_left_out=left_out,
            mode=mode,
            related=tuple(hit for hit in shown if hit.related),
            found_by_meaning=tuple(hit for hit in shown if hit.by_meaning),
            stories=stories,
            grouped=not all_versions,
        )

    def _stories_page(
        self, find: Callable[[int, int], _Searched], skip: int, limit: int
    ) -> tuple[_Searched, list[Row]]:
        """The page of stories ``skip`` to ``skip + limit`` (:mod:`searchidx.searching.grouping`), each
        at the rank of its best version, and the search whose ranking it was read from."""
        found: list[_Searched] = []

        def ranked(window: int) -> tuple[list[Row], bool]:
            found.append(find(0, window))
            page = found[-1].page
            return page.rows, _complete(page, window)

        rows = page_of_stories(ranked, skip, limit, MAX_HITS)
        if not any(row.by_meaning for row in rows):
            return found[-1], rows
        # What follows the matches is on the page where they end (or on the first when none matches).
        matched = first_versions(row for row in found[-1].page.rows if not row.by_meaning)
        return found[-1], rows if skip < len(matched) or (not matched and skip == 0) else []

    def _stories_with_related(
        self, searched: _Searched, rows: list[Row], filters: Filters, skip: int, limit: int
    ) -> list[Row]:
        """The page of stories, with the related articles after the last one when the stories end on it
        (as :meth:`_with_related` adds them to a page of articles)."""
        if not _complete(searched.page, len(searched.page.rows)):
            return rows
        stories = len(first_versions(searched.page.rows))
        page = Page(rows, stories, exact=True)  # a page of stories, of all there are
        with_related = self._with_related(replace(searched, page=page), filters, skip, skip + limit)
        shown = {story_of(row) for row in rows}
        return rows + [row for row in with_related.page.rows[len(rows) :] if story_of(row) not in shown]

    def _stories(
        self, searched: _Searched, filters: Filters, rows: list[Row]
    ) -> tuple[int | None, dict[str, tuple[Version, ...]]]:
        """How many stories match (counted with an exact total, else ``None``), and the other matching
        versions of each matching row's story, by its id."""
        if not searched.total:
            return 0, {}
        matches = [row for row in rows if not (row.related or row.by_meaning)]
        if not (searched.page.exact or matches):
            return None, {}
        shown = frozenset(story_of(row) for row in matches)
        found = self._backend.stories(searched.query, filters, shown, count=searched.page.exact)
        wanted = [doc for ids in found.versions.values() for doc in ids]
        stored = self._backend.documents(wanted) if wanted else {}
        return found.count, other_versions(matches, found.versions, stored)

    def _parsed(self, text: str) -> ParsedQuery:
        """The query parsed, its prefixes, wildcards and fuzzy words bounded to the words the index
        holds most often (:mod:`searchidx.query.bounds`; each bound met is said in its notes)."""
        return bounded(parse_query(text, self._backend.schema), self._backend.lexicon())

    def _mode(self, asked: str | None, sort: Sort) -> str:
        mode = self._meaning.mode(asked)
        if mode == "semantic" and sort != "relevance":
            raise QueryError("A search by meaning is ranked by closeness only; to sort by date, "
                             "search with --mode keyword or hybrid.")  # fmt: skip
        return "keyword" if sort != "relevance" else mode

    def _by_meaning(
        self,
        text: str,
        parsed: ParsedQuery,
        mode: str,
        filters: Filters,
        skip: int,
        depth: int,
        *,
        exact: bool,
        exact_total: bool,
    ) -> _Searched:
        """The page ``skip``-``depth`` of a hybrid or semantic search: the keyword matches (as
        :meth:`_search` finds them) ranked with their meaning, then, on the page where the matches end,
        the articles nearest in meaning that hold none of the words (:mod:`searchidx.searching.fusion`)."""
        window = max(CANDIDATES, depth)
        store = self._meaning.required()  # one generation for the whole search
        keyword = self._search(
            parsed, window, filters, "relevance", 0, exact=exact, exact_total=exact_total, ids_only=True
        )
        # A misspelt word the words' side corrected is corrected for the meaning too.
        meant = keyword.suggestion if keyword.corrected and keyword.suggestion else text
        vector = self._meaning.query_vector(meant)
        found = store.nearest(vector, window, filters)
        matches = [(row.fields["id"], row.score) for row in keyword.page.rows]
        closeness = store.similarities(vector, [doc for doc, _ in matches[:CANDIDATES]])
        if mode == "hybrid":
            fused = rerank(
                matches, closeness, found.similarities, ahead=self._holding_every_word(keyword, filters)
            )
        else:
            fused = rerank(matches, closeness, found.similarities, weight=0.0)
        ranked = [(item.doc_id, item.score, False) for item in fused]
        total = keyword.total
        if keyword.page.exact and (skip < total < depth or total == skip == 0):
            held = {doc for doc, _ in matches}
            others = [(doc, score, True) for doc, score in zip(found.ids, found.similarities, strict=True)
                      if doc not in held]  # fmt: skip
            ranked += others[: depth - total]
        shown = ranked[skip:depth]
        # A document removed since its vector was written (a killed ingest) is left out.
        stored = self._backend.documents([doc for doc, _, _ in shown])
        rows = [Row(stored[doc], score, by_meaning) for doc, score, by_meaning in shown if doc in stored]
        return replace(keyword, page=Page(rows, total, keyword.page.exact))

    def _holding_every_word(self, keyword: _Searched, filters: Filters) -> set[str]:
        """Of the best keyword matches of a short plain query (a name: "James Baker"), those holding
        every word, which hybrid ranks first (:func:`searchidx.query.parsing.every_word`); else none."""
        every = every_word(keyword.query)
        if every is None:
            return set()
        rows = self._backend.run(every, CANDIDATES, filters, "relevance", 0, ids_only=True).rows
        return {row.fields["id"] for row in rows}

    def _with_related(self, searched: _Searched, filters: Filters, skip: int, depth: int) -> _Searched:
        """The page with the articles most like the best matches after the last match, when a plain
        query's matches end on it before ``depth`` (see :mod:`searchidx.searching.related`)."""
        from searchidx.searching.related import MIN_LIKENESS, likeness

        page = searched.page
        if not (page.exact and skip < page.total < depth and plain_words(searched.query)):
            return searched
        best = page.rows if skip == 0 else self._run(searched.query, FEEDBACK_DOCS, filters)
        texts, words = [_text(row) for row in best[:FEEDBACK_DOCS]], searched_stems(searched.query)
        frequencies, documents = self._backend.lexicon().stem_frequencies, self._backend.document_count()
        terms = feedback_terms(texts, self._analyzer, frequencies, documents, words)
        if not terms:
            return searched
        wanted = depth - page.total
        candidates = self._run(related_query(terms, searched.query), wanted * OVERFETCH, filters)
        sharing = [row for row in candidates if shares_enough(_text(row), self._analyzer, terms)]
        # Only the articles measurably like the best matches follow them; when none is, none does.
        alike = likeness(texts, list(map(_text, sharing)), self._analyzer, frequencies, documents, words)
        liked = (row for row, alikeness in zip(sharing, alike, strict=True) if alikeness >= MIN_LIKENESS)
        rows = page.rows + [replace(row, related=True) for row in islice(liked, wanted)]
        return replace(searched, page=replace(page, rows=rows))

    def _run(self, query: Any, depth: int, filters: Filters) -> list[Row]:
        """The first ``depth`` rows of ``query`` by relevance."""
        return self._backend.run(query, depth, filters, "relevance", 0).rows

    def _search(
        self,
        parsed: ParsedQuery,
        depth: int,
        filters: Filters,
        sort: Sort,
        skip: int,
        *,
        exact: bool,
        exact_total: bool,
        ids_only: bool = False,
    ) -> _Searched:
        """The query that answers: the corrected one when a word is misspelt, else as typed, else fuzzy.

        A word the archive lacks, or holds far less often than a near spelling
        (see :mod:`searchidx.query.spelling`), is searched as its correction, with
        the query as typed offered instead; when nothing matches at all, every
        word is made fuzzy once.
        """
        corrections = Speller(self._backend.lexicon(), self._analyzer).correct(parsed.words)
        fixed = corrected(parsed, corrections, self._analyzer) if corrections else None

        def run(query: Any, depth: int, filters: Filters, sort: Sort, skip: int) -> Page:
            return self._backend.run(
                query, depth, filters, sort, skip, exact_total=exact_total, ids_only=ids_only
            )

        if fixed is not None and not exact and any(fix.searched for fix in corrections.values()):
            page = run(fixed.query, depth, filters, sort, skip)
            if page.total:
                return _Searched(fixed.query, page, suggestion=fixed.text, corrected=True)
        page = run(parsed.query, depth, filters, sort, skip)
        suggestion = fixed.text if fixed is not None else None
        if page.total:
            return _Searched(parsed.query, page, suggestion=suggestion)
        loose = fuzzy(parsed)
        page = run(loose, depth, filters, sort, skip)
        if page.total:
            return _Searched(loose, page, suggestion=suggestion, approximate=True)
        return _Searched(parsed.query, page, suggestion=suggestion)

    def every_hit(
        self,
        query: str,
        *,
        since: When = None,
        until: When = None,
        undated: bool = False,
        source: str | None = None,
        sort: Sort = "relevance",
        snippets: int = 1,
        exact: bool = False,
        now: datetime | None = None,
        deadline: float | None = None,
    ) -> Iterator[Hit]:
        """Every hit of ``query``, in order, with snippets: for exports (no page limit; read in chunks).

        The options mean what they mean to :meth:`search`; ``deadline`` holds
        for finding the hits and reading each chunk of them, not for the time
        the caller takes between hits.
        """
        _check(1, 1, None, sort, (), snippets, 240)
        parsed = self._parsed(query)
        filters = _filters(since, until, undated, source, now or datetime.now(UTC))
        searched = self._answering(parsed, filters, sort, exact, deadline=deadline)
        yield from self._hits_of(searched.query, filters, sort, snippets, deadline, total=searched.total)

    def _hits_of(
        self, query: Any, filters: Filters, sort: Order, snippets: int, deadline: float | None, *,
        total: int | None = None, listing: SharedListing | None = None,
    ) -> Iterator[Hit]:  # fmt: skip
        """The hits of ``query`` in ``sort`` order, read in chunks: the first ``total``, or all of them
        (``sort`` then by date or arrival, whose totals are exact). With a ``listing``, what the hits share
        with others of it is read once."""
        ids = listing is not None  # the listing reads each article's fields once
        analyzer = listing.analysis if listing is not None else None
        skip = 0
        while total is None or skip < total:
            depth = skip + EXPORT_CHUNK if total is None else min(skip + EXPORT_CHUNK, total)
            page = self._page_between(query, filters, sort, skip, depth, deadline=deadline, ids=ids)
            total = page.total if total is None else total
            rows = listing.rows(page.rows, self._backend.documents) if listing is not None else page.rows
            words, phrases = self._marking(query, rows) if snippets else (frozenset(), ())
            for rank, row in enumerate(rows, start=skip + 1):
                yield self._hit(rank, row, words, phrases, snippets, 240, analyzer=analyzer)
            skip = depth

    @_reads_index
    def _answering(
        self, parsed: ParsedQuery, filters: Filters, sort: Sort, exact: bool, *, deadline: float | None
    ) -> _Searched:
        return self._search(parsed, 1, filters, sort, 0, exact=exact, exact_total=True)

    @_reads_index
    def _page_between(
        self, query: Any, filters: Filters, sort: Order, skip: int, depth: int, *, deadline: float | None,
        ids: bool = False,
    ) -> Page:  # fmt: skip
        return self._backend.run(query, depth, filters, sort, skip, ids_only=ids)

    @_reads_index
    def trend(
        self,
        queries: str | Iterable[str],
        *,
        by: Unit | None = None,
        since: When = None,
        until: When = None,
        source: str | None = None,
        words: int = 10,
        sources: int = 10,
        now: datetime | None = None,
        deadline: float | None = None,
        stories: bool = False,
    ) -> Trend:
        """Attention over time: each query's matches per day, week, month or year, side by side.

        Each :class:`~searchidx.searching.trends.Series` counts every match of its query
        (a misspelt word corrected, as :meth:`search` does) per period, as a
        count and as a share of all dated articles of that period (of
        ``source`` only, when given), and the matches without a date; ``by``
        defaults to the finest unit giving 40 periods or fewer over the span of
        the matches (or ``since``..``until``). ``words`` top words (against the
        whole archive, in the 200 most relevant matches) and ``sources`` top
        sources come with each series; 0 leaves them out. ``deadline`` as for
        :meth:`search`. With ``stories`` the counts are of stories (the versions of
        one story counted once, in the period of its first matching version).

        >>> with Index("index/") as ix:  # doctest: +SKIP
        ...     ix.trend(["oil", "coffee"], by="month").series[0].counts
        (17, 8, 0, 1)
        """
        texts = [queries] if isinstance(queries, str) else list(queries)
        _check_trend(texts, by, words, sources)
        filters = _filters(since, until, False, source, now or datetime.now(UTC))
        answered = [self._answered(text, filters, words, stories) for text in texts]
        everything = self._backend.day_counts(None, Filters(source=filters.source), stories=stories)
        trend = build_trend(
            [(text, _answering_text(text, searched), counts) for text, searched, counts in answered],
            everything,
            unit=by,
            first=filters.start.date() if filters.start else None,
            last=filters.end.date() if filters.end else None,
        )
        described = [
            self._described(series, searched, filters, words, sources)
            for series, (_, searched, _) in zip(trend.series, answered, strict=True)
        ]
        counted = "stories" if stories else "articles"
        return Trend(trend.unit, trend.periods, trend.articles, tuple(described), counted)

    def _answered(
        self, text: str, filters: Filters, words: int, stories: bool
    ) -> tuple[str, _Searched, DayCounts]:
        """The query that answers ``text`` (with its most relevant matches when top words are asked for)."""
        parsed = self._parsed(text)
        depth = WORDS_SAMPLE if words else 1
        searched = self._search(parsed, depth, filters, "relevance", 0, exact=False, exact_total=False)
        return text, searched, self._backend.day_counts(searched.query, filters, stories=stories)

    def _described(
        self, series: Series, searched: _Searched, filters: Filters, words: int, sources: int
    ) -> Series:
        """The series with its top words and top sources."""
        found: tuple[TopWord, ...] = ()
        if words and searched.page.rows:
            lexicon = self._backend.lexicon()

            def frequencies(candidates: list[str]) -> dict[str, int]:
                lexicon.prepare(candidates)
                return {word: lexicon.frequency(word) for word in candidates}

            texts = [(row.fields.get("title", ""), row.fields.get("body", "")) for row in searched.page.rows]
            found = tuple(top_words(texts, frequencies, lexicon.documents(), words))
        top: tuple[tuple[str, int], ...] = ()
        if sources and searched.page.total:
            counted = self._backend.facets(searched.query, filters, ["source"])["source"]
            top = tuple(list(counted.items())[:sources])
        return replace(series, top_words=found, top_sources=top)

    @_reads_index
    def similar(
        self,
        reference: str,
        *,
        limit: int = 10,
        page: int = 1,
        offset: int | None = None,
        exact_total: bool = False,
        deadline: float | None = None,
    ) -> Results:
        """The documents most like the one ``reference`` names (id, URL or path), itself excluded.

        Paged as :meth:`search` is: ``offset`` overrides ``page``; the total as :meth:`search` counts it;
        ``deadline`` as for :meth:`search`.
        """
        started = time.perf_counter()
        _check(limit, page, offset, "relevance", (), 2, 240, deepest=MAX_SIMILAR)
        skip = offset if offset is not None else (page - 1) * limit
        stored = self._backend.document(valid_text(reference))
        found, words, shown = self._backend.similar(stored, skip + limit, skip, exact_total=exact_total)
        hits = tuple(
            self._hit(rank, row, words, (), 2, 240) for rank, row in enumerate(found.rows, start=skip + 1)
        )
        return Results(
            query=f"similar:{stored['id']}", parsed_query=shown, total=found.total,
            total_is_exact=found.exact, hits=hits,
            took=time.perf_counter() - started, page=skip // limit + 1, limit=limit, offset=skip,
        )  # fmt: skip

    @_reads_index
    def get(self, reference: str) -> Article:
        """The stored document that ``reference`` names: its id, its URL, or its file's path."""
        stored = self._backend.document(valid_text(reference))
        return Article(
            id=stored["id"],
            title=stored.get("title", ""),
            date=_utc(stored.get("date")),
            url=stored.get("url") or None,
            source=stored.get("source") or None,
            path=stored.get("path", ""),
            body=stored.get("body", ""),
            record=stored.get("record", ""),
            crawled=_utc(stored.get("crawled")),
        )

    def modes(self) -> tuple[str, ...]:
        """How this index can be searched: keyword, and hybrid and semantic when it has vectors."""
        return MODES if self._meaning.store() is not None else ("keyword",)

    @_reads_index
    def document_count(self) -> int:
        """How many documents the index holds (as of the last commit)."""
        return self._backend.document_count()

    @_reads_index
    def marks(self, article: Article, query: str) -> tuple[MarkedText, MarkedText]:
        """The article's title and body with the words (and phrases) of ``query`` marked.

        A query that cannot be parsed (empty, only stop words) marks nothing.
        """
        try:
            parsed = self._parsed(query)
        except QueryError:
            return MarkedText(article.title), MarkedText(article.body)
        shown = {"title": article.title, "body": article.body}
        words, phrases = self._marking(parsed.query, [Row(shown, 0.0)])
        title = mark(article.title, words, phrases, self._analyzer)
        return title, mark(article.body, words, phrases, self._analyzer)

    # Saved searches: what each ingest brought them (searchidx.searching.watches).

    def watch(
        self,
        name: str,
        query: str,
        *,
        since: When = None,
        until: When = None,
        undated: bool = False,
        source: str | None = None,
        mode: str | None = None,
        hook: str = "",
        now: datetime | None = None,
    ) -> Watch:
        """Save ``query`` and its filters (as :meth:`search` takes them; relative dates such as ``7d`` are
        read when it reports) as the watch ``name``: the articles the next ingests bring that match it
        are its news (:meth:`watch_news`). ``hook`` is a command the ``searchidx ingest`` command runs
        with them after each ingest (:meth:`hook_news`). A watch matches the query's words as typed
        (no correction), so ``mode`` may only be ``keyword``. Raises :class:`QueryError` for a bad name,
        query or filter, or a name taken.
        """
        now = now or datetime.now(UTC)
        options = watch_options(since=since, until=until, undated=undated, source=source)
        check_watch(name, mode)
        self._parsed(query)  # a query that cannot be searched is said now, not at the next ingest
        _filters(since, until, undated, source, now)
        store = self._watches()
        if any(watch.name == name for watch in store.watches()):
            raise QueryError(f"The index at {self.location} has a watch named {name!r} already; remove "
                             f"it first (`searchidx watch rm {name}`) or choose another name.")  # fmt: skip
        finished = store.finished_ingest()
        watch = Watch(name, query, options, created=finished, reported=finished, hook=hook, hooked=finished,
                      made=now.astimezone(UTC).isoformat(timespec="seconds"))  # fmt: skip
        store.save(watch)
        return watch

    def query_notes(self, query: str) -> tuple[str, ...]:
        """How searching ``query`` reads it otherwise than typed (a broken syntax searched as plain
        words, operators typed in capitals...), a sentence each: what ``query`` says of it. Raises
        :class:`QueryError` for a query that cannot be searched."""
        return self._parsed(query).notes

    def watches(self) -> list[Watch]:
        """The index's saved searches, by name."""
        return self._watches().watches()

    def unwatch(self, name: str) -> Watch:
        """Forget the watch ``name`` and return it; :class:`WatchNotFoundError` when there is none."""
        watch = self._watch_named(name)
        self._watches().remove(name)
        return watch

    def watch_news(
        self, name: str | None = None, *, peek: bool = False, snippets: int = 2
    ) -> list[WatchNews]:
        """What each watch (or the one named) has not reported yet: its matches among the articles of
        the ingests that finished since, newest first, all of them. They are marked reported unless
        ``peek``: asked again, a watch says only what later ingests brought. An article whose text
        changes is news again; one re-read with the same text is not; a removed one is not reported.
        """
        store = self._watches()
        watches = [self._watch_named(name)] if name is not None else store.watches()
        through = store.finished_ingest()
        listing = SharedListing(self._analyzer)
        news = [self._news(watch, watch.reported, through, snippets, listing=listing) for watch in watches]
        if not peek:
            self.reported(*news)
        return news

    def reported(self, *news: WatchNews) -> None:
        """Record that ``news`` (of :meth:`watch_news` with ``peek``) was shown: asked again, each watch
        says only what later ingests brought (what a listing marks once it was printed whole)."""
        self._watches().advance("reported", {each.watch.name: each.through for each in news})

    def watch_counts(self) -> WatchCounts:
        """How many articles each watch has not reported yet (what :meth:`watch_news` would list), and
        how many different articles that is (``articles``)."""
        store = self._watches()
        through = store.finished_ingest()
        watches = store.watches()
        waiting = [watch for watch in watches if through > max(watch.reported, watch.created)]
        counts, articles = self._match_counts(
            [self._window(watch, watch.reported, through) for watch in waiting]
        )
        found = dict(zip((watch.name for watch in waiting), counts, strict=True))
        return WatchCounts({watch.name: found.get(watch.name, 0) for watch in watches}, articles)

    @_reads_index
    def _match_counts(self, searches: list[tuple[Any, Filters]]) -> tuple[list[int], int]:
        return self._backend.match_counts(searches)

    def watch_feed(self, name: str, *, limit: int = 50) -> WatchNews:
        """The watch's matches among the articles every ingest since it was made brought, whatever was
        reported: what its feed shows. The latest ``limit`` to arrive: the last ingest's first (an
        archive's old articles brought today come before yesterday's), each ingest's newest first."""
        watch = self._watch_named(name)
        through = self._watches().finished_ingest()
        return self._news(watch, watch.created, through, 2, limit=limit, order="-ingested")

    def hook_news(self) -> list[WatchNews]:
        """For each watch with a command (``hook``), the matching articles of the ingests since its
        command was last given articles (:meth:`hooked` records that it was)."""
        store = self._watches()
        through = store.finished_ingest()
        listing = SharedListing(self._analyzer)
        hooked = [watch for watch in store.watches() if watch.hook]
        return [self._news(watch, watch.hooked, through, 1, listing=listing) for watch in hooked]

    def hooked(self, news: WatchNews) -> None:
        """Record that the watch's command was given the articles of ``news`` (a command's progress and
        a person's are each their own)."""
        self._watches().advance("hooked", {news.watch.name: news.through})

    def _watches(self) -> WatchStore:
        """Where the index keeps its watches (opened on first use: a search never needs them)."""
        if self._watch_store is None:
            self._watch_store = open_watches(self._location)
        return self._watch_store

    def _watch_named(self, name: str) -> Watch:
        for watch in self._watches().watches():
            if watch.name == name:
                return watch
        raise WatchNotFoundError(f"The index at {self.location} has no watch named {name!r}; "
                                 "`searchidx watch list` lists its watches.")  # fmt: skip

    def _window(self, watch: Watch, after: int, through: int) -> tuple[Any, Filters]:
        """The watch's query (as typed: no correction) and filters, on the articles of the ingests
        after ``after`` up to ``through``."""
        get = watch.option
        filters = _filters(
            get("since"), get("until"), get("undated") == "true", get("source"), datetime.now(UTC)
        )
        return self._parsed(watch.query).query, replace(
            filters, ingested=(max(after, watch.created), through)
        )

    @_reads_index
    def _news(
        self, watch: Watch, after: int, through: int, snippets: int, *, limit: int | None = None,
        listing: SharedListing | None = None, order: Order = "-date",
    ) -> WatchNews:  # fmt: skip
        if through <= max(after, watch.created):
            return WatchNews(watch, after, through, ())
        query, filters = self._window(watch, after, through)
        hits = self._hits_of(query, filters, order, snippets, None, total=limit, listing=listing)
        return WatchNews(watch, after, through, tuple(hits))

    @_reads_index
    def stats(self) -> Stats:
        """Documents, date range, documents per year, top sources, size, last ingest, schema version
        (and, for a cluster, its name, health, shards and replicas)."""
        return self._backend.stats()

    def _marking(self, query: Any, rows: list[Row]) -> tuple[frozenset[str], tuple[tuple[str, ...], ...]]:
        """(the words to mark alone, the phrases to mark) for the hits ``rows`` of ``query``."""
        phrase_only, phrases = marks_for(query)
        return self._backend.marked_words(query, rows) - phrase_only, phrases

    def _hit(
        self, rank: int, row: Row, words: frozenset[str], phrases: tuple[tuple[str, ...], ...],
        fragments: int, chars: int, versions: tuple[Version, ...] = (), analyzer: Any = None,
    ) -> Hit:  # fmt: skip
        """One hit; ``words`` (stems) and ``phrases`` are marked where they occur (found by ``analyzer``,
        the index's unless given)."""
        stored = row.fields
        analyzer = analyzer or self._analyzer
        snippet = (
            ()
            if fragments == 0
            else make_snippet(
                stored.get("body", ""),
                words,
                analyzer,
                phrases=phrases,
                max_chars=chars,
                max_fragments=fragments,
            )
        )
        joined = join_fragments(snippet)
        title = stored.get("title", "")
        title_marks = mark(title, words, phrases, analyzer).highlights if fragments else ()
        return Hit(
            rank=rank,
            id=stored["id"],
            title=title,
            date=_utc(stored.get("date")),
            url=stored.get("url") or None,
            source=stored.get("source") or None,
            path=stored.get("path", ""),
            score=row.score,
            snippet=joined.text,
            highlights=joined.highlights,
            snippets=snippet,
            title_highlights=title_marks,
            by_meaning=row.by_meaning,
            related=row.related,
            record=stored.get("record", ""),
            crawled=_utc(stored.get("crawled")),
            story=story_of(row),
            versions=versions,
        )


def search(
    query: str,
    *,
    index: str | os.PathLike[str] | None = None,
    limit: int = 10,
    page: int = 1,
    since: When = None,
    until: When = None,
    undated: bool = False,
    source: str | None = None,
    sort: Sort = "relevance",
    facets: str | Iterable[str] = (),
    snippets: int = 2,
    exact: bool = False,
    exact_total: bool = False,
    mode: str | None = None,
    related: bool = True,
    all_versions: bool = False,
) -> Results:
    """Search the index once: open it, run :meth:`Index.search`, close it.

    ``index`` defaults to ``$SEARCHIDX_INDEX`` or ``index/``. Raises
    :class:`QueryError` for an empty query, one with no searchable words, or
    a bad option; :class:`IndexNotFoundError` when there is no index.

    Example: ``search("Putin parade", index="index/", limit=5)[0].title``.
    """
    with Index(index) as ix:
        return ix.search(
            query,
            limit=limit,
            page=page,
            since=since,
            until=until,
            undated=undated,
            source=source,
            sort=sort,
            facets=facets,
            snippets=snippets,
            exact=exact,
            exact_total=exact_total,
            mode=mode,
            related=related,
            all_versions=all_versions,
        )


@dataclass(frozen=True)
class _Searched:
    """The query that answered a search, and everything derived from running it."""

    query: Any
    page: Page
    suggestion: str | None = None
    corrected: bool = False
    approximate: bool = False

    @property
    def total(self) -> int:
        """How many documents the query matched."""
        return self.page.total


def _complete(page: Page, window: int) -> bool:
    """Whether the first ``window`` rows of a search are all its matches."""
    return len(page.rows) < window or (page.exact and page.total <= window)


def _text(row: Row) -> str:
    """A row's headline and text, as feedback reads them."""
    return f"{row.fields.get('title', '')}\n{row.fields.get('body', '')}"


def _check(
    limit: int, page: int, offset: int | None, sort: str, facets: str | Iterable[str], snippets: int,
    chars: int, *, deepest: int = MAX_HITS,
) -> list[str]:  # fmt: skip
    """The facet names, once every option is known to be sane."""
    if not 1 <= limit <= deepest:
        raise QueryError(f"The limit must be between 1 and {deepest:,} (got {limit}).")
    if page < 1 or (offset is not None and offset < 0):
        raise QueryError("The page must be 1 or more, and the offset 0 or more.")
    if sort not in SORTS:
        raise QueryError(f"Unknown sort {sort!r}; use relevance, date or -date.")
    names = [name.strip() for name in facets.split(",")] if isinstance(facets, str) else list(facets)
    names = [name for name in names if name]
    unknown = [name for name in names if name not in FACETS]
    if unknown:
        raise QueryError(f"Unknown facet {unknown[0]!r}; use year, month or source.")
    if not 0 <= snippets <= MAX_SNIPPETS or not SNIPPET_CHARS[0] <= chars <= SNIPPET_CHARS[1]:
        raise QueryError(f"Snippets must be 0-{MAX_SNIPPETS} fragments of {SNIPPET_CHARS[0]}-"
                         f"{SNIPPET_CHARS[1]} characters in all.")  # fmt: skip
    return names


def _answering_text(text: str, searched: _Searched) -> str:
    """What was searched for ``text``: its correction when a misspelt word was corrected."""
    return searched.suggestion if searched.corrected and searched.suggestion else text


def _check_trend(texts: list[str], by: str | None, words: int, sources: int) -> None:
    """Raise :class:`QueryError` unless the options of a trend are sane."""
    if not texts:
        raise QueryError('Give one or more queries to chart, e.g. "oil" "coffee".')
    if len(texts) > MAX_TREND_QUERIES:
        raise QueryError(f"At most {MAX_TREND_QUERIES} queries fit one chart (got {len(texts)}).")
    if by is not None and by not in UNITS:
        raise QueryError(f"Unknown period {by!r}; use day, week, month or year.")
    if not 0 <= words <= 100 or not 0 <= sources <= 100:
        raise QueryError("Top words and top sources must each be 0-100.")


def _filters(since: When, until: When, undated: bool, source: str | None, now: datetime) -> Filters:
    """The filters of a search, with the date range checked and the source as sites are stored."""
    site = (site_of(valid_text(source)) or None) if source and source.strip() else None
    if since is None and until is None:
        return Filters(undated=undated, source=site)
    start = _bound(since, now, first=True) if since is not None else None
    end = _bound(until, now, first=False) if until is not None else None
    if start is not None and end is not None and start > end:
        raise QueryError("--since is after --until: nothing can match. Swap them or widen the range.")
    return Filters(start=start, end=end, ranged=True, source=site)


def _bound(when: str | date | datetime, now: datetime, *, first: bool) -> datetime:
    """A naive UTC datetime (as the index stores dates) for one end of a range."""
    if isinstance(when, datetime):
        moment = when if when.tzinfo else when.replace(tzinfo=UTC)
    elif isinstance(when, date):
        moment = parse_when(when.isoformat(), now=now)[0 if first else 1]
    else:
        try:
            moment = parse_when(when, now=now)[0 if first else 1]
        except ValueError as error:
            raise QueryError(str(error)) from error
    return moment.astimezone(UTC).replace(tzinfo=None)


def _utc(value: object) -> datetime | None:
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) else None


def trend(
    queries: str | Iterable[str],
    *,
    index: str | os.PathLike[str] | None = None,
    by: Unit | None = None,
    since: When = None,
    until: When = None,
    source: str | None = None,
    words: int = 10,
    sources: int = 10,
    stories: bool = False,
) -> Trend:
    """Chart once: open the index, run :meth:`Index.trend`, close it.

    Example: ``trend(["oil", "coffee"], index="index/", by="month").series[1].counts``.
    """
    with Index(index) as ix:
        return ix.trend(queries, by=by, since=since, until=until, source=source, words=words, sources=sources,
                        stories=stories)  # fmt: skip
