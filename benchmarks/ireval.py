"""A small evaluator of ranked retrieval: nDCG@k (graded, linear gain), MAP and Recall@k.

Only judged queries count; a document without a judgment has gain 0.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence

Qrels = Mapping[str, Mapping[str, int]]
Run = Mapping[str, Sequence[str]]


def ndcg_at(ranking: Sequence[str], gains: Mapping[str, int], k: int = 10) -> float:
    """Normalised DCG of the top ``k``: sum of gain / log2(rank + 1), over the ideal ranking's."""
    dcg = sum(gains.get(doc, 0) / math.log2(rank + 1) for rank, doc in enumerate(ranking[:k], start=1))
    ideal = sorted((gain for gain in gains.values() if gain > 0), reverse=True)[:k]
    best = sum(gain / math.log2(rank + 1) for rank, gain in enumerate(ideal, start=1))
    return dcg / best if best else 0.0


def average_precision(ranking: Sequence[str], gains: Mapping[str, int], depth: int = 1000) -> float:
    """Mean of the precision at each relevant document's rank, over all relevant documents."""
    relevant = {doc for doc, gain in gains.items() if gain > 0}
    if not relevant:
        return 0.0
    found = 0
    total = 0.0
    for rank, doc in enumerate(ranking[:depth], start=1):
        if doc in relevant:
            found += 1
            total += found / rank
    return total / len(relevant)


def recall_at(ranking: Sequence[str], gains: Mapping[str, int], k: int = 100) -> float:
    """Share of the relevant documents found in the top ``k``."""
    relevant = {doc for doc, gain in gains.items() if gain > 0}
    return len(relevant & set(ranking[:k])) / len(relevant) if relevant else 0.0


def evaluate(run: Run, qrels: Qrels) -> dict[str, float]:
    """Mean nDCG@10, MAP (depth 1000) and Recall@100 over the judged queries."""
    queries = [query for query, gains in qrels.items() if any(gain > 0 for gain in gains.values())]
    return {
        "ndcg@10": statistics.fmean(ndcg_at(run.get(q, []), qrels[q]) for q in queries),
        "map": statistics.fmean(average_precision(run.get(q, []), qrels[q]) for q in queries),
        "recall@100": statistics.fmean(recall_at(run.get(q, []), qrels[q]) for q in queries),
    }
