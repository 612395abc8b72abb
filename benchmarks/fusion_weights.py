"""The hybrid ranking's word weight on the tuning sets: a replay of ``relevance.py --mode hybrid``.

Each collection is ingested once with vectors, as ``benchmarks/relevance.py``
does. Every judged query of SciFact's training split and of the five test
collections is searched once in keyword mode through ``Index.search`` (1,000
deep, with its scores) and embedded as ``Index`` embeds a query; then each
weight's ranking is made as ``Index`` makes it (the best 100 matches re-ranked
with the vector store's similarities by ``searchidx.searching.fusion.rerank``, then, when
the matches end before the depth, the nearest articles that are not matches),
at the harness's depth of 1,000 and at the default page's (10 hits). One step
of ``Index`` is left out: in a query of two or three plain words (a name) the
matches holding every word rank first, which no query of these sets is.
``tune`` is SciFact train + Cranfield nDCG@10, the sets the weight is chosen
on; the test collections are printed beside, never to choose by.

    python benchmarks/fusion_weights.py [--weights 0.6,0.65,0.7]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ireval import evaluate
from relevance import COLLECTIONS, RELEVANCE, Collection, ingest_collection, load_collection

from searchidx import Index
from searchidx.engines.protocol import Filters
from searchidx.meaning.model import QUERY_THREADS, embedder
from searchidx.meaning.vectors import VectorStore, open_store
from searchidx.searching.fusion import CANDIDATES, KEYWORD_WEIGHT, rerank

DEPTHS = (1000, 10)
# (collection, split) in the order printed; the first two are the tuning sets.
SETS = [("scifact", "train"), ("cranfield", "test"), ("scifact", "test"), ("lisa", "test"),
        ("npl", "test"), ("adi", "test")]  # fmt: skip


@dataclass
class Replay:
    """One set's queries as the keyword side ranked them, their vectors, and the vectors' store."""

    qrels: dict[str, dict[str, int]]
    keyword: dict[str, list[tuple[str, float]]]
    vectors: dict[str, Any]
    store: VectorStore
    ids: dict[str, str]


def replay(collections: dict[str, list[Collection]], work: Path) -> dict[tuple[str, str], Replay]:
    """Ingest each collection with vectors and search each query once in keyword mode."""
    replays = {}
    for name, splits in collections.items():
        index, ids = ingest_collection(splits[0], work / name, semantic=True)
        store = open_store(Path(index))
        assert store is not None
        with Index(index) as ix:
            for split, collection in zip(
                ("train", "test") if len(splits) == 2 else ("test",), splits, strict=True
            ):
                keyword, vectors = {}, {}
                for query, text in collection.queries.items():
                    found = ix.search(text, limit=max(DEPTHS), snippets=0, mode="keyword")
                    keyword[query] = [(hit.id, hit.score) for hit in found.hits]
                    meant = found.suggestion if found.corrected and found.suggestion else text
                    vectors[query] = embedder(QUERY_THREADS).query(meant)
                replays[name, split] = Replay(collection.qrels, keyword, vectors, store, ids)
    return replays


def fused_ndcg(replay: Replay, weight: float, depth: int) -> float:
    """nDCG@10 of the hybrid ranking at ``weight``, asked ``depth`` deep, as ``Index`` makes it."""
    window = max(CANDIDATES, depth)
    runs = {}
    for query, ranked in replay.keyword.items():
        matches = ranked[:window]
        found = replay.store.nearest(replay.vectors[query], window, Filters())
        closeness = replay.store.similarities(replay.vectors[query], [doc for doc, _ in matches[:CANDIDATES]])
        listed = [item.doc_id for item in rerank(matches, closeness, found.similarities, weight)]
        if len(ranked) < depth:  # the matches end on the page: the nearest others follow them
            held = set(listed)
            listed += [doc for doc in found.ids if doc not in held][: depth - len(listed)]
        runs[query] = [replay.ids[doc] for doc in listed[:depth]]
    return evaluate(runs, replay.qrels)["ndcg@10"]


def main() -> int:
    """Replay, then print each weight's row."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="0.6,0.625,0.65,0.675,0.7,0.725,0.75",
                        help="comma-separated word weights")  # fmt: skip
    args = parser.parse_args()
    weights = [float(weight) for weight in args.weights.split(",")]
    collections = {
        name: [
            load_collection(RELEVANCE / name, split)
            for split in (["train", "test"] if name == "scifact" else ["test"])
        ]
        for name in COLLECTIONS
    }
    with tempfile.TemporaryDirectory(prefix="searchidx-fusion-") as work:
        replays = replay(collections, Path(work))
        print(
            f"weight   tune@{DEPTHS[0]}  tune@{DEPTHS[1]}  "
            + "  ".join(f"{n} {s}" for n, s in SETS[1:])
            + "  mean of 5"
        )
        for weight in weights:
            deep = [fused_ndcg(replays[key], weight, DEPTHS[0]) for key in SETS]
            page = [fused_ndcg(replays[key], weight, DEPTHS[1]) for key in SETS[:2]]
            tests = "  ".join(f"{value:.4f}" for value in deep[1:])
            mark = "  (KEYWORD_WEIGHT)" if weight == KEYWORD_WEIGHT else ""
            print(
                f"{weight:<6}  {sum(deep[:2]):.4f}  {sum(page):.4f}  {tests}  {sum(deep[1:]) / 5:.4f}{mark}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
