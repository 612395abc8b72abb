"""``search()``: a query in, ranked :class:`Hit` objects with snippets out.

Plain words match documents with ANY of them (BM25F over title and body),
ranked so that documents with more of the words, and with them in the title,
come first. Whoosh's query language works too: ``"quoted phrases"``,
``AND``/``OR``/``NOT``, ``title:``/``body:``/``url:`` fields and ``date:``
ranges such as ``date:[20150101 to 20151231]``.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, overload

from whoosh import query as whoosh_query
from whoosh.collectors import TermsCollector, TopCollector
from whoosh.qparser import MultifieldParser, OrGroup

from searchidx.errors import QueryError
from searchidx.schema import index_path, open_index, text_analyzer
from searchidx.snippets import Snippet, make_snippet

SEARCH_FIELDS = ["title", "body"]
# Between AND (1.0) and plain OR (0.0): a document with more of the words wins.
OR_COHERENCE = 0.9
SNIPPET_CHARS = 240
SNIPPET_FRAGMENTS = 3


@dataclass(frozen=True)
class Hit:
    """One ranked document.

    ``snippet`` is plain text; ``highlights`` are the ``[start, end)`` offsets
    of the matched words in it (see :meth:`marked_snippet`). ``date`` is a UTC
    datetime or ``None``; ``url`` is ``""`` when the article has none.
    """

    rank: int
    id: str
    title: str
    date: datetime | None
    url: str
    path: str
    score: float
    snippet: str
    highlights: tuple[tuple[int, int], ...]

    def marked_snippet(self, before: str = "[[", after: str = "]]") -> str:
        """The snippet with ``before``/``after`` around each matched word."""
        return Snippet(self.snippet, self.highlights).marked(before, after)


@dataclass(frozen=True)
class Results(Sequence[Hit]):
    """The hits of one query, best first; ``total`` counts every matching document."""

    query: str
    total: int
    hits: tuple[Hit, ...]

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


def search(
    query: str,
    *,
    index: str | os.PathLike[str] | None = None,
    limit: int = 10,
) -> Results:
    """Search the index and return the ``limit`` best hits with snippets.

    ``index`` defaults to ``$SEARCHIDX_INDEX`` or ``index/``. Raises
    :class:`QueryError` for an empty query or one with no searchable words,
    :class:`IndexNotFoundError` when there is no index.

    Example: ``search("Putin parade", index="index/", limit=5)[0].title``.
    """
    if limit < 1:
        raise QueryError(f"The limit must be 1 or more (got {limit}).")
    if not query.strip():
        raise QueryError('The query is empty. Give one or more words to search for, e.g. "Putin parade".')
    ix = open_index(index_path(index))
    try:
        parsed = _parse(query, ix.schema)
        with ix.searcher() as searcher:
            # replace=0 turns off early termination, which can drop a true
            # top-k document on a multi-segment index.
            collector = TermsCollector(TopCollector(limit, replace=0))
            searcher.search_with_collector(parsed, collector)
            results = collector.results()
            analyzer = text_analyzer()
            hits = tuple(_hit(rank, result, analyzer) for rank, result in enumerate(results, start=1))
            return Results(query=query, total=len(results), hits=hits)
    finally:
        ix.close()


def _parse(text: str, schema: Any) -> Any:
    parser = MultifieldParser(SEARCH_FIELDS, schema, group=OrGroup.factory(OR_COHERENCE))
    parsed = _exclude_negations(parser.parse(text))
    if parsed is whoosh_query.NullQuery:
        raise QueryError(
            f"The query {text!r} has no searchable words (only stop words or punctuation). "
            "Add a more specific word."
        )
    return parsed


def _exclude_negations(node: Any) -> Any:
    """Make ``a OR b OR NOT c`` mean "a or b, but not c".

    With OR as the default group Whoosh keeps ``NOT c`` as one more optional
    clause, which matches every document without ``c``. A ``NOT`` among other
    clauses excludes instead, as in Lucene; a lone ``NOT c`` still means
    "everything without c".
    """
    node = node.apply(_exclude_negations)
    if not isinstance(node, whoosh_query.Or):
        return node
    negatives = [sub.query for sub in node.subqueries if isinstance(sub, whoosh_query.Not)]
    positives = [sub for sub in node.subqueries if not isinstance(sub, whoosh_query.Not)]
    if not negatives or not positives:
        return node
    kept = copy.copy(node)
    kept.subqueries = positives
    return whoosh_query.AndNot(kept, whoosh_query.Or(negatives))


def _hit(rank: int, result: Any, analyzer: Any) -> Hit:
    stored = result.fields()
    terms = {
        text.decode("utf-8") if isinstance(text, bytes) else str(text)
        for field, text in result.matched_terms()
        if field in SEARCH_FIELDS
    }
    snippet = make_snippet(
        stored.get("body", ""),
        terms,
        analyzer,
        max_chars=SNIPPET_CHARS,
        max_fragments=SNIPPET_FRAGMENTS,
    )
    date = stored.get("date")
    return Hit(
        rank=rank,
        id=stored["id"],
        title=stored.get("title", ""),
        date=date.replace(tzinfo=UTC) if isinstance(date, datetime) else None,
        url=stored.get("url", ""),
        path=stored.get("path", ""),
        score=float(result.score),
        snippet=snippet.text,
        highlights=snippet.highlights,
    )
