"""The best k hits of a query on a Whoosh index, without scoring every match.

Whoosh's own collector either scores every matching document, whose cost
grows with the archive, or skips blocks with a threshold that can miss a
true top-k hit on an index of several segments (``../shared/README.md``).
This module ranks the way Lucene does (MaxScore, Turtle and Flood 1995, with
block-max bounds, Ding and Suel 2011), over the postings Whoosh wrote, with
numpy doing the arithmetic a block at a time:

- every term of the query gets an upper bound on what it can add to a score,
  per segment and per posting block, from the largest weight and the
  smallest field length the block records (the same length byte the score
  reads), times the boosts above it, widened by :data:`SLACK`;
- the terms that can lift a document the most are read whole; the others
  only in the blocks holding a document that can still reach the current
  k-th best score (the threshold), which is carried from segment to segment
  and only ever rises, so a document is passed over only when even its
  upper bound falls below a score k documents already have;
- the documents left are scored in Whoosh's own order of operations (the
  query tree, each union's running sum), so scores, order and ties (lower
  document number first) equal Whoosh's exhaustive ranking bit for bit.

The number of matches is counted exactly up to :data:`~searchidx.results.EXACT_TOTAL_UP_TO`;
beyond it, when terms were not read whole, it is an estimate (``exact`` is
false). Query parts other than words and their ORs (phrases, fuzzy words,
AND) are scored by Whoosh itself, whole, as one clause; a prefix or
wildcard bounded to its most frequent words (:class:`searchidx.query.bounds.Expansion`)
is an OR of those words, and ``*`` (:class:`whoosh.query.Every`) every live
document at one score, without reading a posting.

The search's deadline (:mod:`searchidx.query.deadlines`) is checked between
leaves, every :data:`~searchidx.engines.whoosh.blocks.CLOCK_BLOCKS` posting blocks decoded, every
:data:`CLOCK_MATCHES` matches of a clause Whoosh scores, and by Whoosh's own
posting reader at every block it reads (a phrase, a date sort).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from whoosh import query as wq
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.scoring import BM25F
from whoosh.util.numeric import byte_to_length

from searchidx.engines.whoosh.blocks import NO_IDS, NO_SCORES, BlockTable, block_table, term_info
from searchidx.engines.whoosh.postings import length_bytes
from searchidx.query.bounds import Expansion
from searchidx.query.deadlines import check
from searchidx.query.parsing import preloaded
from searchidx.results import EXACT_TOTAL_UP_TO

# Bounds are widened by this share so that float32 weights and a different
# order of additions can never make a true score exceed its bound.
SLACK = 1e-6
LENGTH_TABLE = np.array([byte_to_length(code) for code in range(256)], dtype=np.float64)
# The deadline is checked every this many matches of a clause Whoosh scores.
CLOCK_MATCHES = 1024
_lengths_by_reader: weakref.WeakKeyDictionary[Any, dict[str, np.ndarray]] = weakref.WeakKeyDictionary()


def _clocked(goto: Any) -> Any:
    """Whoosh's posting reader's move to a block, the search's deadline checked first."""

    def going(self: Any, position: int) -> Any:
        check()
        return goto(self, position)

    going.clocked = True  # type: ignore[attr-defined]
    return going


# Whoosh's own matchers (phrases, date sorts, the clauses it scores) read postings a block at a time
# through this method: a phrase of common words that matches nothing never returns to a loop of ours.
if not getattr(W3LeafMatcher._goto, "clocked", False):
    W3LeafMatcher._goto = _clocked(W3LeafMatcher._goto)


@dataclass(frozen=True)
class Ranked:
    """The best documents (global numbers, best first) with their scores, and the number of matches."""

    docnums: list[int]
    scores: list[float]
    total: int
    exact: bool


def top_documents(
    searcher: Any,
    query: Any,
    k: int,
    allow: Any = None,
    *,
    exclude: set[int] | None = None,
    count_all: bool = False,
    prune: bool = True,
) -> Ranked:
    """The ``k`` best documents of ``query`` on ``searcher``, as Whoosh's exhaustive ranking would give them.

    ``allow`` is what a hit must also match: a query, a set of global
    document numbers, a mask over them, or ``None``; ``exclude`` global document numbers no hit
    may be. ``count_all`` counts every match exactly. ``prune=False`` reads
    every term whole (the reference the tests compare with).
    """
    positive, excluded = _split_exclusions(query)
    plan = _Plan(positive, searcher)
    best = _Best(k)
    context = searcher.context(weighting=searcher.weighting)
    segments = []
    for subsearcher, offset in searcher.leaf_searchers():
        if not subsearcher.reader().doc_count_all():  # also Whoosh's reader of an index with no segment
            continue
        usable = _usable(subsearcher, offset, allow, excluded, exclude or set(), context)
        segments.append(_Segment(subsearcher, offset, context, usable, plan))
    _rank(segments, plan, best, prune)
    total, exact = _count(segments, EXACT_TOTAL_UP_TO if not count_all else None)
    return Ranked(best.docnums.tolist(), best.scores.tolist(), total, exact)


def matching_documents(searcher: Any, query: Any, allow: Any = None) -> np.ndarray:
    """Every document ``query`` (and ``allow``) matches, as ascending global numbers.

    The union of the query's leaves, each read with numpy as :func:`top_documents`
    reads it, so the set is the one its exact total counts; far faster than
    Whoosh's matcher for the many matches of common words (charts and facets).
    """
    positive, excluded = _split_exclusions(query)
    plan = _Plan(positive, searcher)
    context = searcher.context(weighting=searcher.weighting)
    found = [NO_IDS]
    for subsearcher, offset in searcher.leaf_searchers():
        if not subsearcher.reader().doc_count_all():
            continue
        usable = _usable(subsearcher, offset, allow, excluded, set(), context)
        segment = _Segment(subsearcher, offset, context, usable, plan)
        for leaf in segment.leaves:
            check()
            segment.seen[leaf.ids()] = True
        found.append(np.flatnonzero(segment.seen) + offset)
    return np.concatenate(found)


def matches_among(searcher: Any, query: Any, candidates: np.ndarray, allow: Any = None) -> np.ndarray:
    """Which of ``candidates`` (global numbers, ascending) ``query`` (and ``allow``) matches.

    The same set :func:`matching_documents` gives, but each word read only in
    the posting blocks that hold a candidate: a few documents' matches (the
    versions of a page's stories) without reading every posting of the words.
    """
    return _among(searcher, query, candidates, allow, scored=False)[0]


def scored_among(
    searcher: Any, query: Any, candidates: np.ndarray, allow: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`matches_among`, and each candidate's score as :func:`top_documents` gives it (the
    matches of a few documents, such as an ingest's, with their scores in one reading)."""
    return _among(searcher, query, candidates, allow, scored=True)


def _among(
    searcher: Any, query: Any, candidates: np.ndarray, allow: Any, *, scored: bool
) -> tuple[np.ndarray, np.ndarray]:
    positive, excluded = _split_exclusions(query)
    plan = _Plan(positive, searcher)
    context = searcher.context(weighting=searcher.weighting)
    matched = np.zeros(len(candidates), dtype=bool)
    scores = np.zeros(len(candidates), dtype=np.float64)
    for subsearcher, offset in searcher.leaf_searchers():
        size = int(subsearcher.reader().doc_count_all())
        inside = (candidates >= offset) & (candidates < offset + size)
        if not inside.any():
            continue
        local = candidates[inside] - offset
        usable = _usable(subsearcher, offset, allow, excluded, set(), context)
        segment = _Segment(subsearcher, offset, context, usable, plan)
        for leaf in segment.leaves:
            check()
            leaf.scores_at(local, segment.seen)
        matched[inside] = segment.seen[local]
        if scored:
            scores[inside] = _scores(plan.root, segment.leaves, local)
    return matched, scores


# ------------------------------------------------------------ the query plan


@dataclass
class _Node:
    """One node of the query tree as Whoosh scores it: a term, a union (OR) or a clause Whoosh scores."""

    kind: str  # "term", "or", "every", "whoosh", "null"
    query: Any
    children: list[_Node] = field(default_factory=list)
    leaf: int = -1  # index into the plan's leaves, for "term" and "whoosh"


@dataclass(frozen=True)
class _Term:
    """A query term and the index-wide statistics its BM25F score takes (as Whoosh's scorer reads them)."""

    fieldname: str
    text: bytes
    boost: float
    idf: float
    avgfl: float
    b: float
    k1: float

    def bm25(self, weight: Any, length: Any) -> Any:
        """Whoosh's ``scoring.bm25``, operation for operation, so the floats come out the same."""
        idf, b, k1 = self.idf, self.b, self.k1
        return idf * ((weight * (k1 + 1)) / (weight + k1 * ((1 - b) + b * length / self.avgfl)))


class _Plan:
    """The query as a tree for exact scores, and its leaves (terms and Whoosh clauses) with their boosts."""

    def __init__(self, query: Any, searcher: Any) -> None:
        self.searcher = searcher
        self.leaves: list[_Node] = []
        self.scales: list[float] = []  # what a leaf's score is multiplied by on its way to the root
        self.terms: dict[int, _Term] = {}
        self.root = self._node(query, 1.0)

    def _node(self, query: Any, scale: float) -> _Node:
        if isinstance(query, Expansion):  # the words a prefix or wildcard was bounded to, OR-ed
            return self._node(query.searched(), scale)
        if isinstance(query, wq.FuzzyTerm) and hasattr(query, "expanded"):  # its near spellings, OR-ed
            return self._node(query.expanded(self.searcher), scale)
        if isinstance(query, wq.Every) and query.fieldname is None:
            return self._leaf("every", query, scale)
        if type(query) is wq.Term and self._scored_here(query):
            term = self._term(query)
            if term is None:
                return _Node("null", query)
            node = self._leaf("term", query, scale * query.boost)
            self.terms[node.leaf] = term
            return node
        if type(query) is wq.Or and not query.scale and not query.minmatch:
            subqueries = query.subqueries
            if not subqueries:
                return _Node("null", query)
            if len(subqueries) == 1:  # Whoosh uses the lone clause's matcher as it is, boost and all
                return self._node(subqueries[0], scale)
            children = [self._node(sub, scale * query.boost) for sub in subqueries]
            return _Node("or", query, children)
        return self._leaf("whoosh", query, scale)

    def _scored_here(self, term: Any) -> bool:
        """Whether this module scores the term (BM25F on a scorable field), rather than Whoosh."""
        schema = self.searcher.schema
        scorable = term.fieldname not in schema or schema[term.fieldname].scorable
        return scorable and isinstance(self.searcher.weighting, BM25F) and not term.minquality

    def _term(self, query: Any) -> _Term | None:
        """The term's statistics, or ``None`` for a term no segment can match (Whoosh's null matcher)."""
        searcher, weighting = self.searcher, self.searcher.weighting
        if query.fieldname not in searcher.schema:
            return None
        fieldobj = searcher.schema[query.fieldname]
        try:
            text = fieldobj.to_bytes(query.text)
        except ValueError:
            return None
        return _Term(
            fieldname=query.fieldname,
            text=text,
            boost=query.boost,
            idf=searcher.idf(query.fieldname, text),
            avgfl=searcher.avg_field_length(query.fieldname) or 1,
            b=weighting._field_B.get(query.fieldname, weighting.B),
            k1=weighting.K1,
        )

    def _leaf(self, kind: str, query: Any, scale: float) -> _Node:
        node = _Node(kind, query, leaf=len(self.leaves))
        self.leaves.append(node)
        self.scales.append(scale)
        return node


def _split_exclusions(query: Any) -> tuple[Any, list[Any]]:
    """``a ANDNOT b ANDNOT c`` as ``a`` and ``[b, c]``: a hit scores as ``a`` and matches none of the rest."""
    excluded = []
    while isinstance(query, wq.AndNot):
        excluded.append(query.b)
        query = query.a
    return query, excluded


# ------------------------------------------------------------ the best k so far


class _Best:
    """The k best (score, global docnum) pairs seen so far; ties go to the lower document number."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.scores = NO_SCORES
        self.docnums = NO_IDS

    def add(self, scores: np.ndarray, docnums: np.ndarray) -> None:
        """Keep the k best of those held and these."""
        scores = np.concatenate([self.scores, scores])
        docnums = np.concatenate([self.docnums, docnums])
        order = np.lexsort((docnums, -scores))[: self.k]
        self.scores, self.docnums = scores[order], docnums[order]

    def threshold(self, partial: np.ndarray) -> float:
        """The k-th best of the scores held and ``partial`` (lower bounds of other documents' scores)."""
        pool = np.concatenate([self.scores, partial]) if len(partial) else self.scores
        if len(pool) < self.k or self.k == 0:
            return 0.0
        return float(np.partition(pool, len(pool) - self.k)[len(pool) - self.k])


def _below(bounds: np.ndarray | float, threshold: float) -> Any:
    """Whether upper bounds fall below the threshold by more than rounding can explain."""
    return bounds < threshold * (1 - SLACK)


# ------------------------------------------------------------ one segment


class _Segment:
    """One segment of the index: its documents that may match, the leaves' postings, and the ranking."""

    def __init__(
        self, searcher: Any, offset: int, context: Any, usable: np.ndarray | None, plan: _Plan
    ) -> None:
        self.searcher = searcher
        self.reader = searcher.reader()
        self.offset = offset
        self.context = context
        self.size = int(self.reader.doc_count_all())
        self.usable = usable
        self.seen = np.zeros(self.size, dtype=bool)
        self.partial = np.zeros(self.size, dtype=np.float64)  # the sum of the leaves read whole
        self.leaders = NO_IDS  # the documents of its best partial sums (k at most)
        self.exact = True
        self.pending: list[_Leaf] = []  # leaves not read whole, for counting
        self.leaves = [
            self.leaf(plan, node, scale) for node, scale in zip(plan.leaves, plan.scales, strict=True)
        ]

    def leaf(self, plan: _Plan, node: _Node, scale: float) -> _Leaf:
        """The postings of a leaf in this segment."""
        check()
        if node.kind == "term":
            return _TermPostings(self, plan.terms[node.leaf], scale)
        if node.kind == "every":
            return _EveryDocument(self, node.query, scale)
        return _WhooshClause(self, node.query, scale)

    def lengths(self, fieldname: str) -> np.ndarray:
        """Each document's length in ``fieldname`` as the score reads it (decoded from its byte)."""
        cached = _lengths_by_reader.setdefault(self.reader, {})
        if fieldname not in cached:
            cached[fieldname] = LENGTH_TABLE[length_bytes(self.reader, fieldname, self.size)]
        return cached[fieldname]

    def read_whole(self, leaf: int, k: int) -> np.ndarray:
        """Add the scores of every document the leaf matches to the partial sums; the ``k`` best
        partial sums of the segment after it (for the threshold).

        Only the sums of the documents it matched have risen: the best are
        among them and the best before it, found without a pass over the segment.
        """
        ids, scores = self.leaves[leaf].whole()
        self.partial[ids] += scores
        self.seen[ids] = True
        read = np.zeros(self.size, dtype=bool)
        read[ids] = True
        contenders = np.concatenate([ids, self.leaders[~read[self.leaders]]])
        sums = self.partial[contenders]
        if len(contenders) > k:
            best = np.argpartition(sums, len(sums) - k)[len(sums) - k :] if k else NO_IDS
            contenders, sums = contenders[best], sums[best]
        self.leaders = contenders
        leading: np.ndarray = sums
        return leading

    def finish(self, plan: _Plan, best: _Best, rest: list[int], floor: float) -> None:
        """Add this segment's best documents to ``best``, reading the ``rest`` of the leaves where needed.

        ``floor`` is a lower bound of the k-th best score found over all segments.
        """
        candidates = np.flatnonzero(self.seen)
        sums = self.partial[candidates]
        threshold = max(floor, best.threshold(sums))
        if rest:
            self.exact = False
            self.pending = [self.leaves[index] for index in rest]
            # The leaves' bounds over the whole segment first: where no candidate can reach the
            # threshold even so, no block table is read.
            reachable = ~_below(sums + self.rest_bound(rest), threshold)
            candidates, sums = candidates[reachable], sums[reachable]
            if len(candidates):
                candidates = self._complete(candidates, sums, self.pending, best, threshold, floor)
        else:
            candidates = candidates[~_below(sums, threshold)]
        scores = _scores(plan.root, self.leaves, candidates)
        matched = scores > 0  # Whoosh's union counts a document whose scores add up to 0 as no match
        best.add(scores[matched], candidates[matched] + self.offset)

    def _complete(
        self,
        candidates: np.ndarray,
        sums: np.ndarray,
        rest: list[_Leaf],
        best: _Best,
        threshold: float,
        floor: float,
    ) -> np.ndarray:
        """The candidates that can still reach the top k, once the leaves not read whole are added.

        Each candidate's ceiling is its sum so far plus, for every leaf left,
        the bound of the block it would be in; a leaf is read only in the
        blocks of the candidates whose ceiling still reaches the threshold,
        and its exact scores then replace its bounds.
        """
        bounds = np.array([leaf.block_bounds(candidates) for leaf in rest]).reshape(
            len(rest), len(candidates)
        )
        ceilings = sums + bounds.sum(axis=0)
        for position, leaf in enumerate(rest):
            check()
            keep = ~_below(ceilings, threshold)
            candidates, sums, ceilings, bounds = candidates[keep], sums[keep], ceilings[keep], bounds[:, keep]
            exact = leaf.scores_at(candidates, self.seen)
            sums += exact
            ceilings += exact - bounds[position]
            threshold = max(floor, best.threshold(sums))
        survivors: np.ndarray = candidates[~_below(ceilings, threshold)]
        return survivors

    def rest_bound(self, rest: list[int]) -> float:
        """An upper bound on what the leaves numbered ``rest`` can add to a document's score here."""
        return float(sum(self.leaves[index].bound for index in rest))

    def ceiling(self, rest: list[int]) -> float:
        """An upper bound on any document's score in this segment, once the ``rest`` are added."""
        if not self.seen.any():
            return 0.0  # only the documents already seen are candidates
        return float(self.partial.max()) + self.rest_bound(rest)

    def count(self) -> int:
        """How many documents are known to match."""
        return int(self.seen.sum())


def _rank(segments: list[_Segment], plan: _Plan, best: _Best, prune: bool) -> None:
    """MaxScore over all segments at once: leaves are read whole while documents only they hold can win.

    The leaves are taken by their bound (the largest over the segments),
    highest first; after each, the threshold is the k-th best partial sum
    over every segment, so every segment prunes with what all of them found.
    """
    count = len(plan.leaves)
    bounds = [
        max((segment.leaves[index].bound for segment in segments), default=0.0) for index in range(count)
    ]
    order = sorted(range(count), key=lambda index: -bounds[index])
    rest = [*np.cumsum([bounds[index] for index in reversed(order)])[::-1].tolist(), 0.0]
    threshold, step = 0.0, 0
    while step < count and not (prune and _below(rest[step], threshold)):
        leading = [NO_SCORES]
        for segment in segments:
            check()
            leading.append(segment.read_whole(order[step], best.k))
        threshold = best.threshold(np.concatenate(leading))
        step += 1
    unread = order[step:]
    # The most promising segments first: the threshold they set prunes the others more.
    for segment in sorted(segments, key=lambda segment: -segment.ceiling(unread)):
        segment.finish(plan, best, unread, threshold)


def _usable(
    searcher: Any, offset: int, allow: Any, excluded: list[Any], exclude: set[int], context: Any
) -> np.ndarray | None:
    """Which of a segment's documents a hit may be (live, allowed, not excluded); ``None`` for all."""
    reader = searcher.reader()
    size = int(reader.doc_count_all())
    unwanted = [_local_mask(reader.deleted_docs_set, 0, size), _local_mask(exclude, offset, size)]
    unwanted += [_matching(searcher, query, context, size) for query in excluded]
    wanted = [] if allow is None else [_allowed(searcher, allow, offset, size, context)]
    masks = [~mask for mask in unwanted if mask is not None] + wanted
    return np.logical_and.reduce(masks) if masks else None


def _allowed(searcher: Any, allow: Any, offset: int, size: int, context: Any) -> np.ndarray:
    """The segment's documents ``allow`` lets through: a set of global document numbers, a mask over
    them, or a query."""
    if isinstance(allow, np.ndarray):
        return allow[offset : offset + size]
    if isinstance(allow, set | frozenset):
        mask = _local_mask(allow, offset, size)
        return mask if mask is not None else np.zeros(size, dtype=bool)
    return _matching(searcher, allow, context, size)


def _local_mask(docnums: Iterable[int], offset: int, size: int) -> np.ndarray | None:
    """The segment's documents among the global ``docnums``; ``None`` when there are none."""
    local = [doc - offset for doc in docnums if offset <= doc < offset + size]
    if not local:
        return None
    mask = np.zeros(size, dtype=bool)
    mask[np.array(local, dtype=np.int64)] = True
    return mask


def _matching(searcher: Any, query: Any, context: Any, size: int) -> np.ndarray:
    matched = np.zeros(size, dtype=bool)
    ids = np.fromiter(query.matcher(searcher, context.set(weighting=None)).all_ids(), dtype=np.int64)
    matched[ids] = True
    return matched


# ------------------------------------------------------------ leaves


class _Leaf:
    """A leaf's postings in one segment: an upper bound on its scores, read whole or where needed."""

    bound: float
    frequency: int

    def whole(self) -> tuple[np.ndarray, np.ndarray]:
        """Every usable document the leaf matches and its score there (ids ascending)."""
        raise NotImplementedError

    def contribution(self, candidates: np.ndarray) -> np.ndarray:
        """The leaf's score in each candidate (0 where it does not match), from what was read."""
        raise NotImplementedError

    def block_bounds(self, candidates: np.ndarray) -> np.ndarray:
        """An upper bound on the leaf's score in each candidate."""
        return self.contribution(candidates)

    def scores_at(self, candidates: np.ndarray, seen: np.ndarray) -> np.ndarray:
        """The leaf's scores in the candidates (reading what holds them), marking what it read as ``seen``."""
        seen[self.whole()[0]] = True
        return self.contribution(candidates)

    def ids(self) -> np.ndarray:
        """Every usable document the leaf matches (for counting)."""
        return self.whole()[0]

    def word(self) -> Any:
        """What the leaf searches for, whatever the field (for estimating totals)."""
        return id(self)


class _WhooshClause(_Leaf):
    """A clause Whoosh scores itself (a phrase, a prefix, fuzzy words, AND...), every match of it."""

    def __init__(self, segment: _Segment, query: Any, scale: float) -> None:
        matcher = preloaded(query).matcher(segment.searcher, segment.context)
        ids: list[int] = []
        scores: list[float] = []
        while matcher.is_active():
            ids.append(matcher.id())
            scores.append(matcher.score())
            matcher.next()
            if len(ids) % CLOCK_MATCHES == 0:
                check()
        self._ids = np.array(ids, dtype=np.int64)
        self._scores = np.array(scores, dtype=np.float64)
        if segment.usable is not None and len(ids):
            keep = segment.usable[self._ids]
            self._ids, self._scores = self._ids[keep], self._scores[keep]
        self.frequency = len(self._ids)
        self.bound = float(self._scores.max()) * scale * (1 + SLACK) if self.frequency else 0.0

    def whole(self) -> tuple[np.ndarray, np.ndarray]:
        return self._ids, self._scores

    def contribution(self, candidates: np.ndarray) -> np.ndarray:
        return _lookup(self._ids, self._scores, candidates)


class _EveryDocument(_Leaf):
    """``*`` (Whoosh's ``Every()``): every usable document, each scoring the query's boost, as Whoosh's
    list matcher scores it, without reading a posting."""

    def __init__(self, segment: _Segment, query: Any, scale: float) -> None:
        usable = segment.usable
        self._ids = np.arange(segment.size, dtype=np.int64) if usable is None else np.flatnonzero(usable)
        self._scores = np.full(len(self._ids), float(query.boost), dtype=np.float64)
        self.frequency = len(self._ids)
        self.bound = float(query.boost) * scale * (1 + SLACK) if self.frequency else 0.0

    def whole(self) -> tuple[np.ndarray, np.ndarray]:
        return self._ids, self._scores

    def contribution(self, candidates: np.ndarray) -> np.ndarray:
        return _lookup(self._ids, self._scores, candidates)


class _TermPostings(_Leaf):
    """One term's postings in one segment, decoded a block at a time, scored as Whoosh's BM25F scorer does."""

    def __init__(self, segment: _Segment, term: _Term, scale: float) -> None:
        self.segment = segment
        self.term = term
        self._read_ids = NO_IDS
        self._read_scores = NO_SCORES
        self._blocks: BlockTable | None = None
        self._bounds: np.ndarray | None = None  # each block's bound, once asked for
        self.terminfo = term_info(segment.reader, term.fieldname, term.text)
        if self.terminfo is None:
            self.bound, self.frequency = 0.0, 0
            return
        self.scale = scale * (1 + SLACK)
        self.bound = term.bm25(self.terminfo.max_weight(), self.terminfo.min_length()) * self.scale
        self.frequency = int(self.terminfo.doc_frequency())

    def _usable_only(self, ids: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        usable = self.segment.usable
        if usable is None:
            return ids, weights
        keep = usable[ids]
        return ids[keep], weights[keep]

    def _scored(self, ids: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ids, weights = self._usable_only(ids, weights)
        scores = self.term.bm25(weights, self.segment.lengths(self.term.fieldname)[ids])
        if self.term.boost != 1.0:
            scores = scores * self.term.boost
        return ids, scores

    def blocks(self) -> BlockTable:
        """The term's posting blocks (read on first use, or kept from an earlier search)."""
        if self._blocks is None:
            term = self.term
            self._blocks = block_table(self.segment.reader, self.terminfo, term.fieldname, term.text)
        return self._blocks

    def whole(self) -> tuple[np.ndarray, np.ndarray]:
        if self.terminfo is None:
            return NO_IDS, NO_SCORES
        table = self.blocks()
        self._read_ids, self._read_scores = self._scored(*table.whole())
        return self._read_ids, self._read_scores

    def ids(self) -> np.ndarray:
        if self.terminfo is None:
            return NO_IDS
        return self._usable_only(*self.blocks().whole())[0]  # no score: counting needs none

    def word(self) -> Any:
        return self.term.text

    def _blocks_of(self, candidates: np.ndarray) -> tuple[BlockTable, np.ndarray, np.ndarray]:
        """The block each candidate would be in, and whether there is one."""
        table = self.blocks()
        block = np.searchsorted(table.last_ids, candidates)
        return table, block, block < len(table.last_ids)

    def block_bounds(self, candidates: np.ndarray) -> np.ndarray:
        bounds = np.zeros(len(candidates), dtype=np.float64)
        if self.terminfo is None or not len(candidates):
            return bounds
        table, block, inside = self._blocks_of(candidates)
        if self._bounds is None:
            self._bounds = self.term.bm25(table.max_weights, table.min_lengths) * self.scale
        bounds[inside] = self._bounds[block[inside]]
        return bounds

    def scores_at(self, candidates: np.ndarray, seen: np.ndarray) -> np.ndarray:
        if self.terminfo is None or not len(candidates):
            return np.zeros(len(candidates), dtype=np.float64)
        table, block, inside = self._blocks_of(candidates)
        self._read_ids, self._read_scores = self._scored(*table.decode(np.unique(block[inside]).tolist()))
        seen[self._read_ids] = True
        return _lookup(self._read_ids, self._read_scores, candidates)

    def contribution(self, candidates: np.ndarray) -> np.ndarray:
        return _lookup(self._read_ids, self._read_scores, candidates)


def _lookup(ids: np.ndarray, scores: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """``scores`` at each candidate found in the sorted ``ids``, 0 elsewhere."""
    found = np.zeros(len(candidates), dtype=np.float64)
    if not len(ids) or not len(candidates):
        return found
    position = np.minimum(np.searchsorted(ids, candidates), len(ids) - 1)
    hit = ids[position] == candidates
    found[hit] = scores[position[hit]]
    return found


def _scores(node: _Node, leaves: list[_Leaf], candidates: np.ndarray) -> np.ndarray:
    """The candidates' scores through the query tree, added up in the order Whoosh adds them."""
    if node.kind == "null":
        return np.zeros(len(candidates), dtype=np.float64)
    if node.kind != "or":
        return leaves[node.leaf].contribution(candidates)
    total = np.zeros(len(candidates), dtype=np.float64)
    boost = node.query.boost
    for child in node.children:
        total += _scores(child, leaves, candidates) * boost
    return total


# ------------------------------------------------------------ counting


def _count(segments: list[_Segment], exact_up_to: int | None) -> tuple[int, bool]:
    """The number of matches: exact up to ``exact_up_to`` (``None``: always), an estimate past it."""
    known = sum(segment.count() for segment in segments)
    for segment in segments:
        if exact_up_to is not None and known >= exact_up_to:
            break
        if not segment.exact:  # count the leaves not read whole, until the count no longer needs to be exact
            before = segment.count()
            for leaf in segment.pending:
                check()
                segment.seen[leaf.ids()] = True
            segment.exact, segment.pending = True, []
            known += segment.count() - before
    if all(segment.exact for segment in segments):
        return known, True
    return max(known, sum(_estimate(segment) for segment in segments)), False


def _estimate(segment: _Segment) -> int:
    """A segment's matches: those counted, plus those the leaves not read whole would add.

    A word searched in several fields is one event (a headline word is in
    the body too), words are taken as independent, and each word's share of
    the segment as its share of the documents a hit may be.
    """
    if segment.exact:
        return segment.count()
    shares: dict[Any, float] = {}
    for leaf in segment.pending:
        word = leaf.word()
        shares[word] = max(shares.get(word, 0.0), min(1.0, leaf.frequency / max(segment.size, 1)))
    missed = 1.0
    for share in shares.values():
        missed *= 1 - share
    documents = segment.size if segment.usable is None else int(segment.usable.sum())
    seen = segment.count()
    return max(seen, round(seen + max(0, documents - seen) * (1 - missed)))
