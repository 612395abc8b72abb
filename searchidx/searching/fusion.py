"""Hybrid ranking: the keyword matches ranked by their words and their meaning together.

Only matches are ranked: an article that holds none of the query's words is
never among them (it may follow them, found by meaning, labelled; see
:meth:`searchidx.searching.index.Index.search`). The best :data:`CANDIDATES`
keyword matches are re-ranked; every match below them keeps its keyword
place after them, so no match is ever dropped and a page never depends on
how deep the search went.

Each side's scores are standardised by the mean and spread of its own top
:data:`CANDIDATES` (a z-score: how far above that side's typical candidate a
document is): the keyword side's over its best matches, the meaning side's
over the archive's nearest vectors. A match's fused score is
``weight * words + (1 - weight) * meaning``; a match without a vector counts
as the farthest of the nearest. The weight and the scaling were chosen on
SciFact's training queries and Cranfield (``docs/relevance.md``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import NamedTuple

CANDIDATES = 100
KEYWORD_WEIGHT = 0.675


class Fused(NamedTuple):
    """One match in the hybrid ranking, with the score it was ranked by."""

    doc_id: str
    score: float


def rerank(
    keyword: Sequence[tuple[str, float]],
    closeness: Mapping[str, float],
    nearest: Sequence[float],
    weight: float = KEYWORD_WEIGHT,
    ahead: Collection[str] = frozenset(),
) -> list[Fused]:
    """The keyword matches, the best :data:`CANDIDATES` of them ranked by fused score (ties by id).

    ``keyword`` is (id, score) best first, every match the page needs;
    ``closeness`` the similarity to the query of those matches (a match
    missing from it has no vector); ``nearest`` the similarities of the
    archive's nearest vectors, best first, which scale the meaning side.
    ``weight`` 0 ranks the candidates by meaning alone. Candidates in
    ``ahead`` (those holding every word of a short query: a name) rank before
    the others, each group by fused score. The matches past the candidates
    follow in keyword order with their keyword scores.
    """
    candidates, rest = keyword[:CANDIDATES], keyword[CANDIDATES:]
    words, _ = _standardised([score for _, score in candidates])
    meaning, farthest = _standardised(list(nearest[:CANDIDATES]))
    fused = [
        Fused(
            doc,
            weight * words(score)
            + (1 - weight) * (meaning(closeness[doc]) if doc in closeness else farthest),
        )
        for doc, score in candidates
    ]
    ranked = sorted(fused, key=lambda item: (item.doc_id not in ahead, -item.score, item.doc_id))
    return ranked + [Fused(doc, score) for doc, score in rest]


def _standardised(top: list[float]) -> tuple[Callable[[float], float], float]:
    """The z-score of a value against ``top``, and the weakest of ``top``'s z-score."""
    if not top:
        return (lambda value: 0.0), 0.0
    mean = sum(top) / len(top)
    spread = math.sqrt(sum((score - mean) ** 2 for score in top) / len(top)) or 1.0
    return (lambda value: (value - mean) / spread), (min(top) - mean) / spread
