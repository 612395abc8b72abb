"""searchidx's parsed queries as OpenSearch's query DSL.

The query language is parsed once, by :mod:`searchidx.query.parsing`, into a tree
of Whoosh query objects; this module writes the same tree as the DSL, node
for node: words OR-ed with the same field weights, phrases, ``NOT``,
prefixes, fuzzy words and date ranges. The cluster indexes the terms
searchidx's own analyzer makes (see :mod:`searchidx.engines.opensearch.backend`), so
a term here is the exact term indexed, as on Whoosh.

A prefix or wildcard is scored as Whoosh scores it, each word it stands for
as a word of its own (BM25 with that word's IDF) and the words OR-ed, with
a bounded rewrite: see :data:`SCORED_EXPANSIONS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from whoosh import query as wq
from whoosh.util.times import long_to_datetime

from searchidx.errors import QueryError
from searchidx.query.bounds import MAX_EXPANSIONS, MAX_EXPANSIONS_PER_QUERY, Expansion
from searchidx.query.ranking import lucene_idf

Dsl = dict[str, Any]
# (field, stems) -> documents holding each stem in that field, for the blended IDF of fuzzy words.
Frequencies = Callable[[str, list[str]], dict[str, int]]
# (typed word, edits, prefix letters) -> the archive's words as written within reach.
Neighbours = Callable[[str, int, int], list[str]]
MATCH_NOTHING: Dsl = {"match_none": {}}
# A prefix or wildcard query matches every word it stands for, but scores at most this many of
# them (per shard; Lucene's top_terms rewrite, which keeps the first ones in term order, not the
# most frequent): a fixed cost whatever the prefix, the bound a Whoosh index keeps (searchidx.query.bounds).
SCORED_EXPANSIONS = MAX_EXPANSIONS
# ... and all of a query's prefixes and wildcards (one per field searched) score at most this many
# words together, leaving room for the rest of the query under the cluster's limit of 1,024
# clauses in all (``a* b* c* d* e* f*`` would otherwise fail as too many clauses).
SCORED_EXPANSIONS_PER_QUERY = MAX_EXPANSIONS_PER_QUERY


class Translator:
    """Writes query trees as DSL; fuzzy words are expanded with the cluster's own words."""

    def __init__(
        self,
        documents: Callable[[], int],
        frequencies: Frequencies,
        neighbours: Neighbours,
        stem: Callable[[str], str],
    ) -> None:
        self._documents = documents
        self._frequencies = frequencies
        self._neighbours = neighbours
        self._stem = stem
        self._scored: int | None = None  # words a prefix or wildcard scores, while a tree is written

    def dsl(self, node: Any) -> Dsl:
        """The DSL of a query tree; called again for each node below (and its children)."""
        if self._scored is not None:
            return self._dsl(node)
        self._scored = scored_expansions(node)
        try:
            return self._dsl(node)
        finally:
            self._scored = None

    def _dsl(self, node: Any) -> Dsl:
        boost = float(getattr(node, "boost", 1.0))
        found = self._node(node)
        if boost != 1.0 and "bool" in found:
            found["bool"]["boost"] = boost
        return found

    def _node(self, node: Any) -> Dsl:
        if node is wq.NullQuery or isinstance(node, wq.NullQuery.__class__):
            return MATCH_NOTHING
        if isinstance(node, wq.Every):  # "*" (searchidx.query.bounds): every article
            return {"match_all": {}}
        if isinstance(node, Expansion):  # a pattern bounded to words of a Whoosh index: those words
            return self._dsl(node.searched())
        if isinstance(node, wq.FuzzyTerm):  # before Term: a fuzzy term is one
            return self._fuzzy(node)
        if isinstance(node, wq.Prefix):
            return _expansion("prefix", node, self._scored or SCORED_EXPANSIONS)
        if isinstance(node, wq.Wildcard):
            return _expansion("wildcard", node, self._scored or SCORED_EXPANSIONS)
        if isinstance(node, wq.Term):
            return {"term": {node.fieldname: {"value": node.text, "boost": node.boost}}}
        if isinstance(node, wq.Phrase):
            return self._phrase(node)
        if isinstance(node, wq.DateRange):
            return {"range": {node.fieldname: _bounds(node.startdate, node.enddate, node)}}
        if isinstance(node, wq.NumericRange):  # what Whoosh makes of date:2015: ticks since year 1
            return {"range": {node.fieldname: _bounds(_moment(node.start), _moment(node.end), node)}}
        if isinstance(node, wq.TermRange):
            return {"range": {node.fieldname: _bounds(node.start, node.end, node)}}
        if isinstance(node, wq.Not):
            return {"bool": {"must": [{"match_all": {}}], "must_not": [self.dsl(node.query)]}}
        if isinstance(node, wq.AndNot):
            return {"bool": {"must": [self.dsl(node.a)], "must_not": [self.dsl(node.b)]}}
        if isinstance(node, wq.AndMaybe):
            return {"bool": {"must": [self.dsl(node.a)], "should": [self.dsl(node.b)]}}
        if isinstance(node, wq.Require):
            return {"bool": {"must": [self.dsl(node.a)], "filter": [self.dsl(node.b)]}}
        if isinstance(node, wq.DisjunctionMax):
            return {
                "dis_max": {
                    "queries": [self.dsl(sub) for sub in node.subqueries],
                    "tie_breaker": node.tiebreak,
                }
            }
        if isinstance(node, wq.And):
            return {"bool": {"must": [self.dsl(sub) for sub in node.subqueries]}}
        if isinstance(node, wq.Or):
            return {"bool": {"should": [self.dsl(sub) for sub in node.subqueries], "minimum_should_match": 1}}
        if isinstance(node, wq.ConstantScoreQuery):
            return {"constant_score": {"filter": self.dsl(node.child), "boost": node.score}}
        raise QueryError(f"This part of the query cannot be searched on a cluster: {node}. Rephrase it.")

    def _phrase(self, node: Any) -> Dsl:
        # Whoosh's slop counts the step between neighbours (1: adjacent); Lucene's the words between.
        return {
            "match_phrase": {
                node.fieldname: {
                    "query": " ".join(node.words),
                    "slop": max(node.slop - 1, 0),
                    "boost": node.boost,
                }
            }
        }

    def _fuzzy(self, node: Any) -> Dsl:
        """The stems of the archive's words within reach of the word typed, scored with one IDF.

        As on Whoosh (:class:`searchidx.query.parsing._FuzzyTerm`): the edit distance
        is measured on words as written, and each stem found weighs the IDF of
        the most common one (Elasticsearch's blended frequencies).
        """
        typed = getattr(node, "typed", node.text)
        words = self._neighbours(typed, max(int(node.maxdist), 1), max(int(node.prefixlength), 1))
        stems = list(dict.fromkeys(self._stem(word) for word in words if self._stem(word)))
        if not stems:
            return MATCH_NOTHING
        counts = self._frequencies(node.fieldname, stems)
        stems = [stem for stem in stems if counts.get(stem)]
        if not stems:
            return MATCH_NOTHING
        common = self._idf(max(counts[stem] for stem in stems))
        should = [
            {
                "term": {
                    node.fieldname: {
                        "value": stem,
                        "boost": node.boost * common / max(self._idf(counts[stem]), 1e-9),
                    }
                }
            }
            for stem in stems
        ]
        return {"bool": {"should": should, "minimum_should_match": 1}}

    def _idf(self, frequency: int) -> float:
        return lucene_idf(self._documents(), frequency)


def scored_expansions(query: Any) -> int:
    """How many words each prefix or wildcard of ``query`` scores: :data:`SCORED_EXPANSIONS`,
    fewer when the query has so many of them that together they would pass
    :data:`SCORED_EXPANSIONS_PER_QUERY`."""
    patterns = sum(1 for node in _nodes(query) if isinstance(node, (wq.Prefix, wq.Wildcard)))
    return max(1, min(SCORED_EXPANSIONS, SCORED_EXPANSIONS_PER_QUERY // max(patterns, 1)))


def _nodes(query: Any) -> Iterator[Any]:
    yield query
    for child in query.children():
        yield from _nodes(child)


def _expansion(kind: str, node: Any, scored: int) -> Dsl:
    """A prefix or wildcard (``kind``) query: every document holding one of its words, scored as on Whoosh.

    The filter matches every word (Lucene's constant-score rewrite, as
    before); the optional clause adds the BM25 score of each word found in
    the document, with that word's own IDF, as Whoosh's OR of the words
    does: a ``top_terms_N`` rewrite, the scoring Boolean rewrite bounded to
    ``scored`` words, so that ``c*`` costs a 100-word OR, not an error for
    passing the 1,024 clauses a query may hold (a ``scoring_boolean``
    rewrite) nor one score for every hit (the constant-score rewrite alone).
    A document holding only words past the bound still matches (as on
    Whoosh), with a score of 0. The node's boost (the field weight) is set
    on the ``bool`` by :meth:`Translator.dsl`, once.
    """
    field = node.fieldname
    scored_words = {"value": node.text, "rewrite": f"top_terms_{scored}"}
    return {
        "bool": {
            "filter": [{kind: {field: {"value": node.text}}}],
            "should": [{kind: {field: scored_words}}],
        }
    }


def _bounds(start: Any, end: Any, node: Any) -> Dsl:
    bounds: Dsl = {}
    if start is not None:
        bounds["gt" if getattr(node, "startexcl", False) else "gte"] = _value(start)
    if end is not None:
        bounds["lt" if getattr(node, "endexcl", False) else "lte"] = _value(end)
    return bounds


def _moment(ticks: int | None) -> datetime | None:
    return long_to_datetime(ticks) if ticks is not None else None


def _value(value: Any) -> Any:
    return value.isoformat() + ("Z" if value.tzinfo is None else "") if isinstance(value, datetime) else value
