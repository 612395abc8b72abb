"""Hybrid ranking: the keyword ranking and the nearest vectors, fused into one list.

Each side's scores are standardised by the mean and spread of its own top
:data:`CANDIDATES` (a z-score: how far above that side's typical candidate a
document is), and a document's fused score is ``KEYWORD_WEIGHT * words +
(1 - KEYWORD_WEIGHT) * meaning``. A document the words do not match counts
as the weakest keyword candidate; one the keyword side found gets its exact
closeness on the other side, inside the vectors' top 100 or not. The weight
and the scaling were chosen on SciFact's training queries and Cranfield
(``docs/relevance.md``: z-scores beat scaling each side to 0-1 there).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

CANDIDATES = 100
KEYWORD_WEIGHT = 0.675


class Fused(NamedTuple):
    """One document of the fused ranking; ``by_meaning`` when no query word matched it."""

    doc_id: str
    score: float
    by_meaning: bool


def fuse(
    keyword: Sequence[tuple[str, float]],
    nearest: Sequence[tuple[str, float]],
    closeness: Mapping[str, float],
    weight: float = KEYWORD_WEIGHT,
) -> list[Fused]:
    """The union of both rankings, best fused score first (ties by id).

    ``keyword`` and ``nearest`` are (id, score) best first; ``closeness``
    holds the similarity to the query of keyword hits outside ``nearest``
    (one without a vector counts as the farthest of ``nearest``). A
    document's score does not depend on how deep either list goes past
    :data:`CANDIDATES`, so the pages of one query never overlap.
    """
    words, no_words = _standardised(keyword, dict(keyword))
    meaning, farthest = _standardised(nearest, {**closeness, **dict(nearest)})
    fused = [
        Fused(
            doc,
            weight * words.get(doc, no_words) + (1 - weight) * meaning.get(doc, farthest),
            doc not in words,
        )
        for doc in dict.fromkeys([doc for doc, _ in keyword] + [doc for doc, _ in nearest])
    ]
    return sorted(fused, key=lambda item: (-item.score, item.doc_id))


def _standardised(
    ranking: Sequence[tuple[str, float]], values: Mapping[str, float]
) -> tuple[dict[str, float], float]:
    """``values`` as z-scores against the ranking's top CANDIDATES, and the weakest one's z-score."""
    top = [score for _, score in ranking[:CANDIDATES]]
    if not top:
        return {}, 0.0
    mean = sum(top) / len(top)
    spread = math.sqrt(sum((score - mean) ** 2 for score in top) / len(top)) or 1.0
    return {doc: (value - mean) / spread for doc, value in values.items()}, (min(top) - mean) / spread
