"""How matches are scored: BM25 over the title and body fields, with Lucene's IDF.

Whoosh's own BM25F takes IDF as ``log(N / (df + 1)) + 1``, which never falls
below 1: a word found in almost every document ("what", "new") still weighs
as much as a rare one found in a few. Lucene's ``log(1 + (N - df + 0.5) /
(df + 0.5))`` lets such words count for almost nothing, which is what natural
language queries need. ``docs/relevance.md`` has the measurements behind the
parameters.
"""

from __future__ import annotations

from math import log
from typing import Any

from whoosh.scoring import BM25F

K1 = 1.2
B = 0.75
# A headline word counts as this many words of the text inside the body field
# (which holds the headline too), before BM25 saturates the term frequency.
HEADLINE_WEIGHT = 2.0
# Query-time weights of a match in each field: the title field adds a small,
# separately saturated bonus for headline matches.
FIELD_BOOSTS = {"title": 0.25, "body": 1.0}


class LuceneIdfBM25F(BM25F):  # type: ignore[misc]  # Whoosh is untyped
    """Whoosh's BM25F with the IDF of Lucene's BM25."""

    def idf(self, searcher: Any, fieldname: str, text: str) -> float:
        """``log(1 + (N - df + 0.5) / (df + 0.5))`` over all documents."""
        parent = searcher.get_parent()
        return lucene_idf(parent.doc_count_all(), parent.doc_frequency(fieldname, text))


def lucene_idf(documents: int, frequency: int) -> float:
    """Lucene's BM25 IDF of a term in ``frequency`` of ``documents`` documents."""
    return log(1 + (documents - frequency + 0.5) / (frequency + 0.5))


def weighting() -> Any:
    """The scoring model every search uses."""
    return LuceneIdfBM25F(B=B, K1=K1)
