"""Searching an index: :class:`Index` for many queries, :func:`search` for one.

Plain words match documents with ANY of them (BM25F over title and body),
ranked so that documents with more of the words, and with them in the title,
come first; see :mod:`searchidx.querying` for the rest of the language.

Threads: one :class:`Index` may be shared by many threads (a web server).
Each thread gets its own Whoosh searcher, reopened when an ingest has
committed since, so every query sees the last committed state.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar, cast

from whoosh import query as wq
from whoosh import sorting
from whoosh.collectors import FilterCollector, SortingCollector, TopCollector

from searchidx.dates import parse_when
from searchidx.errors import DocumentNotFoundError, QueryError
from searchidx.facets import FACETS, MISSING_DATE, count_facets, date_of, newest_first_key, whole_column
from searchidx.querying import (
    SEARCH_FIELDS,
    ParsedQuery,
    corrected,
    fuzzy,
    marks_for,
    parse_query,
    preloaded,
    words_to_mark,
)
from searchidx.ranking import weighting
from searchidx.results import MAX_HITS, MAX_SIMILAR, MAX_SNIPPETS, SNIPPET_CHARS, Article, Hit, Results, Stats
from searchidx.schema import document_id, index_path, open_index, read_index_files
from searchidx.snippets import MarkedText, join_fragments, make_snippet, mark
from searchidx.spelling import Speller
from searchidx.urls import canonical_url

Sort = Literal["relevance", "date", "-date"]
F = TypeVar("F", bound=Callable[..., Any])
When = str | date | datetime | None
SORTS = ("relevance", "date", "-date")
SIMILAR_TERMS = 25


def _reads_index(method: F) -> F:
    """A method of :class:`Index` whose failures to read the index files become :class:`IndexDamagedError`."""

    @functools.wraps(method)
    def reading(self: Index, *args: Any, **kwargs: Any) -> Any:
        return read_index_files(self.path, lambda: method(self, *args, **kwargs))

    return cast(F, reading)


class Index:
    """An index opened once and queried many times.

    >>> with Index("index/") as ix:  # doctest: +SKIP
    ...     ix.search("Putin parade", since="2015")[0].title
    'President Putin to Visit China for World War II March'
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = index_path(path)
        self._ix = open_index(self.path)
        # The analyzer the index was built with (Whoosh keeps it in the index).
        self._analyzer = self._ix.schema["body"].analyzer
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"Index({str(self.path)!r})"

    def __enter__(self) -> Index:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release this thread's searcher (others are released when their threads end)."""
        searcher = getattr(self._local, "searcher", None)
        if searcher is not None:
            searcher.close()
            self._local.searcher = None

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
        now: datetime | None = None,
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
        """
        started = time.perf_counter()
        facet_names = _check(limit, page, offset, sort, facets, snippets, snippet_chars)
        if undated and (since is not None or until is not None):
            raise QueryError("Articles without a date cannot also be dated since or until a day; "
                             "give either the undated filter or a date range.")  # fmt: skip
        parsed = parse_query(query, self._ix.schema)
        skip = offset if offset is not None else (page - 1) * limit
        searcher = self._searcher()
        allow = self._filter(searcher, since, until, undated, source, now or datetime.now(UTC))
        searched = self._search(searcher, parsed, min(skip + limit, MAX_HITS), allow, sort, exact=exact)
        if skip < searched.total and skip + limit > MAX_HITS:  # a page past the last one is said so
            raise QueryError(f"Pages go no deeper than hit {MAX_HITS:,}; narrow the search instead.")
        words, phrases = self._marking(searcher, searched.query) if snippets else (frozenset(), ())
        hits = tuple(
            self._hit(rank, result, words, phrases, snippets, snippet_chars)
            for rank, result in enumerate(searched.found[skip : skip + limit], start=skip + 1)
        )
        left_out = (
            self._undated_matches(searcher, searched.query, source)
            if searched.total == 0 and (since is not None or until is not None)
            else 0
        )
        return Results(
            query=query,
            parsed_query=str(searched.query),
            total=searched.total,
            hits=hits,
            plain_words=parsed.fallback,
            took=time.perf_counter() - started,
            page=page if offset is None else skip // limit + 1,
            limit=limit,
            offset=skip,
            suggestion=searched.suggestion,
            corrected=searched.corrected,
            approximate=searched.approximate,
            facets=self._facets(searcher, searched.query, allow, facet_names) if facet_names else {},
            undated_left_out=left_out,
        )

    def _search(
        self, searcher: Any, parsed: ParsedQuery, depth: int, allow: Any, sort: Sort, *, exact: bool
    ) -> _Searched:
        """The query that answers: the corrected one when a word is misspelt, else as typed, else fuzzy.

        A word the archive lacks, or holds far less often than a near spelling
        (see :mod:`searchidx.spelling`), is searched as its correction, with
        the query as typed offered instead; when nothing matches at all, every
        word is made fuzzy once.
        """
        corrections = Speller(searcher.reader(), self._analyzer).correct(parsed.words)
        fixed = corrected(parsed, corrections, self._analyzer) if corrections else None
        if fixed is not None and not exact and any(fix.searched for fix in corrections.values()):
            found, total = self._run(searcher, fixed.query, depth, allow, sort)
            if total:
                return _Searched(fixed.query, found, total, suggestion=fixed.text, corrected=True)
        found, total = self._run(searcher, parsed.query, depth, allow, sort)
        suggestion = fixed.text if fixed is not None else None
        if total:
            return _Searched(parsed.query, found, total, suggestion=suggestion)
        loose = fuzzy(parsed)
        found, total = self._run(searcher, loose, depth, allow, sort)
        if total:
            return _Searched(loose, found, total, suggestion=suggestion, approximate=True)
        return _Searched(parsed.query, found, 0, suggestion=suggestion)

    @_reads_index
    def similar(
        self, reference: str, *, limit: int = 10, page: int = 1, offset: int | None = None
    ) -> Results:
        """The documents most like the one ``reference`` names (id, URL or path), itself excluded.

        Paged as :meth:`search` is: ``offset`` overrides ``page``.
        """
        started = time.perf_counter()
        _check(limit, page, offset, "relevance", (), 2, 240, deepest=MAX_SIMILAR)
        skip = offset if offset is not None else (page - 1) * limit
        searcher = self._searcher()
        docnum = self._docnum(searcher, reference)
        stored = searcher.stored_fields(docnum)
        terms = []
        for name in SEARCH_FIELDS:
            text = stored.get(name) or ""
            terms += [
                wq.Term(name, word, boost=weight)
                for word, weight in searcher.key_terms_from_text(name, text, numterms=SIMILAR_TERMS)
            ]
        like = wq.Or(terms)
        collector = TopCollector(skip + limit, usequality=False, replace=0)
        searcher.search_with_collector(preloaded(like), FilterCollector(collector, restrict={docnum}))
        found = collector.results()
        words = frozenset(term.text for term in terms)
        hits = tuple(
            self._hit(rank, result, words, (), 2, 240)
            for rank, result in enumerate(found[skip : skip + limit], start=skip + 1)
        )
        return Results(
            query=f"similar:{stored['id']}", parsed_query=str(like), total=len(found), hits=hits,
            took=time.perf_counter() - started, page=skip // limit + 1, limit=limit, offset=skip,
        )  # fmt: skip

    @_reads_index
    def get(self, reference: str) -> Article:
        """The stored document that ``reference`` names: its id, its URL, or its file's path."""
        searcher = self._searcher()
        stored = searcher.stored_fields(self._docnum(searcher, reference))
        return Article(
            id=stored["id"],
            title=stored.get("title", ""),
            date=_utc(stored.get("date")),
            url=stored.get("url") or None,
            source=stored.get("source") or None,
            path=stored.get("path", ""),
            body=stored.get("body", ""),
        )

    @_reads_index
    def document_count(self) -> int:
        """How many documents the index holds (as of the last commit)."""
        return int(self._searcher().doc_count())

    @_reads_index
    def marks(self, article: Article, query: str) -> tuple[MarkedText, MarkedText]:
        """The article's title and body with the words (and phrases) of ``query`` marked.

        A query that cannot be parsed (empty, only stop words) marks nothing.
        """
        try:
            parsed = parse_query(query, self._ix.schema)
        except QueryError:
            return MarkedText(article.title), MarkedText(article.body)
        words, phrases = self._marking(self._searcher(), parsed.query)
        title = mark(article.title, words, phrases, self._analyzer)
        return title, mark(article.body, words, phrases, self._analyzer)

    @_reads_index
    def stats(self) -> Stats:
        """Documents, date range, documents per year, top sources, size, last ingest, schema version."""
        searcher = self._searcher()
        reader = searcher.reader()
        live = list(reader.all_doc_ids())
        raw_dates = whole_column(reader, "date", translate=False) if live else []
        dates = [moment for doc in live if (moment := date_of(raw_dates[doc])) is not None]
        counts = count_facets(reader, live, ("year", "source"))
        meta = self._meta()
        return Stats(
            path=self.path,
            documents=len(live),
            first_date=_utc(min(dates)) if dates else None,
            last_date=_utc(max(dates)) if dates else None,
            per_year=counts["year"],
            top_sources=dict(list(counts["source"].items())[:10]),
            size_bytes=sum(entry.stat().st_size for entry in self.path.iterdir() if entry.is_file()),
            last_ingest=meta.get("last_ingest"),
            schema_version=meta.get("schema_version"),
        )

    def _searcher(self) -> Any:
        searcher = getattr(self._local, "searcher", None)
        if searcher is None:
            searcher = self._ix.searcher(weighting=weighting())
        elif not searcher.up_to_date():
            if searcher.doc_count_all():
                searcher = searcher.refresh()
            else:  # Whoosh cannot refresh the reader of an index that had no documents
                searcher.close()
                searcher = self._ix.searcher(weighting=weighting())
        self._local.searcher = searcher
        return searcher

    def _run(self, searcher: Any, query: Any, depth: int, allow: Any, sort: Sort) -> tuple[Any, int]:
        """(the top ``depth`` results, the number of matches)."""
        if sort == "relevance" or searcher.doc_count_all() == 0:  # an empty index has no date column
            # No block skipping (usequality=False) and no early termination
            # (replace=0): skipping can drop a true top-k document on a
            # multi-segment index, and the collector then counts every match
            # as it scores it, where Whoosh would run the query a second time
            # to count them.
            ranked: Any = TopCollector(depth, usequality=False, replace=0)
        elif sort == "date":
            ranked = SortingCollector(sorting.FieldFacet("date"), limit=depth)
        else:
            ranked = SortingCollector(
                sorting.TranslateFacet(newest_first_key, sorting.FieldFacet("date")), limit=depth
            )
        collector = FilterCollector(ranked, allow=allow) if allow is not None else ranked
        searcher.search_with_collector(preloaded(query), collector)
        results = ranked.results()
        return results, len(results)

    def _marking(self, searcher: Any, query: Any) -> tuple[frozenset[str], tuple[tuple[str, ...], ...]]:
        """(the words to mark alone, the phrases to mark) for the hits of ``query``."""
        phrase_only, phrases = marks_for(query)
        return words_to_mark(query, searcher.reader()) - phrase_only, phrases

    def _hit(
        self, rank: int, result: Any, words: frozenset[str], phrases: tuple[tuple[str, ...], ...],
        fragments: int, chars: int,
    ) -> Hit:  # fmt: skip
        """One hit; ``words`` (stems) and ``phrases`` are marked where they occur."""
        stored = result.fields()
        snippet = (
            ()
            if fragments == 0
            else make_snippet(
                stored.get("body", ""),
                words,
                self._analyzer,
                phrases=phrases,
                max_chars=chars,
                max_fragments=fragments,
            )
        )
        joined = join_fragments(snippet)
        title = stored.get("title", "")
        return Hit(
            rank=rank,
            id=stored["id"],
            title=title,
            date=_utc(stored.get("date")),
            url=stored.get("url") or None,
            source=stored.get("source") or None,
            path=stored.get("path", ""),
            score=float(result.score or 0.0),
            snippet=joined.text,
            highlights=joined.highlights,
            snippets=snippet,
            title_highlights=mark(title, words, phrases, self._analyzer).highlights if fragments else (),
        )

    def _facets(self, searcher: Any, query: Any, allow: Any, names: list[str]) -> dict[str, dict[str, int]]:
        docnums = set(searcher.docs_for_query(query))
        if allow is not None:
            docnums &= allow if isinstance(allow, set) else set(searcher.docs_for_query(allow))
        return count_facets(searcher.reader(), sorted(docnums), names)

    def _filter(
        self, searcher: Any, since: When, until: When, undated: bool, source: str | None, now: datetime
    ) -> Any:
        """What a hit must match besides the query: a query, a set of documents, or ``None`` for anything.

        Documents without a date have no term to search for, so ``undated``
        is the set of documents whose date column is empty.
        """
        site = _site_filter(source)
        if undated:
            chosen = self._undated(searcher)
            return chosen & set(searcher.docs_for_query(site)) if site is not None else chosen
        parts = [part for part in (_date_filter(since, until, now), site) if part is not None]
        return wq.And(parts) if len(parts) > 1 else (parts[0] if parts else None)

    def _undated(self, searcher: Any) -> set[int]:
        reader = searcher.reader()
        if not reader.doc_count_all():
            return set()
        dates = whole_column(reader, "date", translate=False)
        return {doc for doc in reader.all_doc_ids() if dates[doc] == MISSING_DATE}

    def _undated_matches(self, searcher: Any, query: Any, source: str | None) -> int:
        """How many documents match ``query`` (and ``source``) but have no date."""
        matches = set(searcher.docs_for_query(query)) & self._undated(searcher)
        site = _site_filter(source)
        return len(matches & set(searcher.docs_for_query(site)) if site is not None else matches)

    def _docnum(self, searcher: Any, reference: str) -> int:
        reference = reference.strip()
        candidates = [reference, document_id(canonical) if (canonical := canonical_url(reference)) else None]
        for doc_id in filter(None, candidates):
            docnum = searcher.document_number(id=doc_id)
            if docnum is not None:
                return int(docnum)
        path = str(Path(reference).expanduser().resolve())
        docnums = list(searcher.document_numbers(path=path))
        if len(docnums) == 1:
            return int(docnums[0])
        if docnums:
            ids = ", ".join(searcher.stored_fields(doc)["id"] for doc in docnums[:5])
            raise DocumentNotFoundError(
                f"{reference} holds {len(docnums)} documents; name one by its id ({ids}, ...)."
            )
        raise DocumentNotFoundError(
            f"No document {reference!r} in the index at {self.path}. Give an id, URL or file path "
            "as `searchidx query --json` shows it."
        )

    def _meta(self) -> dict[str, str]:
        from searchidx.manifest import MANIFEST_NAME, Manifest  # SQLite: only `stats` reads the manifest

        if not (self.path / MANIFEST_NAME).exists():
            return {}
        manifest = Manifest(self.path)
        try:
            return manifest.meta()
        finally:
            manifest.close()


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
        )


@dataclass(frozen=True)
class _Searched:
    """The query that answered a search, and everything derived from running it."""

    query: Any
    found: Any
    total: int
    suggestion: str | None = None
    corrected: bool = False
    approximate: bool = False


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


def _site_filter(source: str | None) -> Any:
    return (
        wq.Term("source", source.strip().lower().removeprefix("www.")) if source and source.strip() else None
    )


def _date_filter(since: When, until: When, now: datetime) -> Any:
    if since is None and until is None:
        return None
    start = _bound(since, now, first=True) if since is not None else None
    end = _bound(until, now, first=False) if until is not None else None
    if start is not None and end is not None and start > end:
        raise QueryError("--since is after --until: nothing can match. Swap them or widen the range.")
    return wq.DateRange("date", start, end)


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
