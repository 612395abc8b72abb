"""Ranking quality on test collections with human judgments, searchidx beside its peers.

Every corpus record is written as a JSON Lines article and ingested through
searchidx's real ingest path; every query runs through the public ``Index``
API as a user types it (words OR-combined, punctuation and all), and its
ranking is what the CLI and web page list: the matches, then the related
articles that follow them when fewer match than asked for. In the same
process the same queries run on two references: plain Whoosh (the schema a
typical user writes: StemmingAnalyzer on title and body, BM25F defaults,
MultifieldParser with OrGroup), SQLite FTS5 (``porter unicode61``,
``bm25()``, the query's words OR-ed as quoted terms) and, when the ``bench``
extra is installed, bm25s (``bm25s.BM25()`` defaults over title + " " + text,
its English stop words and Snowball stems for documents and queries alike).

    python benchmarks/relevance.py [--collection NAME|PATH ...] [--split test|train]
                                   [--backend opensearch [--cluster URL]]

``--backend opensearch`` adds searchidx on an OpenSearch index beside
searchidx on Whoosh (same ingest, same queries), on the cluster at ``--cluster``
or on one node started from ``cluster/`` for the run.

Prints, per collection: queries, nDCG@10, MAP (depth 1000), Recall@100 and the
mean query time for each engine, and searchidx's lead over the best reference;
then each engine's mean nDCG@10 and Recall@100 over the collections run (by
default all five in ``../shared/data/relevance``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ireval import evaluate
from whoosh import index as whoosh_index
from whoosh.analysis import StemmingAnalyzer
from whoosh.fields import ID, TEXT, Schema
from whoosh.qparser import MultifieldParser, OrGroup

from searchidx import Index, ingest
from searchidx.inputs.urls import document_id

ROOT = Path(__file__).resolve().parents[1]
RELEVANCE = ROOT.parent / "shared" / "data" / "relevance"
DEPTH = 1000
WORD = re.compile(r"\w+")
Runs = dict[str, list[str]]


@dataclass(frozen=True)
class Collection:
    """A BEIR-layout test collection, restricted to the judged queries of one split."""

    name: str
    corpus: dict[str, tuple[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def load_collection(folder: Path, split: str) -> Collection:
    """Read ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv``."""
    corpus = {}
    for line in (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        corpus[str(record["_id"])] = (record.get("title") or "", record.get("text") or "")
    qrels: dict[str, dict[str, int]] = {}
    for line in (folder / "qrels" / f"{split}.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        query, doc, score = line.split("\t")
        qrels.setdefault(query, {})[doc] = int(score)
    queries = {}
    for line in (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if str(record["_id"]) in qrels:
            queries[str(record["_id"])] = record["text"]
    return Collection(folder.name, corpus, queries, qrels)


def ingest_collection(
    collection: Collection, work: Path, location: str | None = None, *, semantic: bool = False
) -> tuple[str, dict[str, str]]:
    """Ingest the corpus as JSON Lines into ``location`` (default: a folder in ``work``).

    Returns the index and each searchidx document id's id in the collection.
    """
    folder = work / "articles"
    folder.mkdir(parents=True)
    source = folder / "corpus.jsonl"
    with source.open("w", encoding="utf-8") as out:
        for doc, (title, text) in collection.corpus.items():
            out.write(json.dumps({"id": doc, "title": title, "body": text}) + "\n")
    index = location or str(work / "index")
    ingest(folder, index=index, full=True, semantic=semantic)
    return index, {document_id(f"{source.resolve()}#{doc}"): doc for doc in collection.corpus}


def run_searchidx(
    collection: Collection, work: Path, location: str | None = None, mode: str = "keyword"
) -> tuple[Runs, float]:
    """Ingest the corpus into ``location`` (default: a folder in ``work``) and run every query
    through ``Index.search`` in ``mode`` (hybrid and semantic ingest with vectors)."""
    index, ids = ingest_collection(collection, work, location, semantic=mode != "keyword")
    with Index(index) as ix:

        def ranked(text: str) -> list[str]:
            # As the CLI and web page list them: the matches, then any related articles.
            results = ix.search(text, limit=DEPTH, snippets=0, mode=mode)
            return [ids[hit.id] for hit in (*results, *results.following)]

        return _timed(collection, ranked)


def run_plain_whoosh(collection: Collection, work: Path) -> tuple[Runs, float]:
    """The reference a typical Whoosh user writes."""
    analyzer = StemmingAnalyzer()
    schema = Schema(id=ID(stored=True), title=TEXT(analyzer=analyzer), body=TEXT(analyzer=analyzer))
    (work / "whoosh").mkdir(parents=True)
    ix = whoosh_index.create_in(str(work / "whoosh"), schema)
    writer = ix.writer()
    for doc, (title, text) in collection.corpus.items():
        writer.add_document(id=doc, title=title, body=text)
    writer.commit()
    parser = MultifieldParser(["title", "body"], schema, group=OrGroup)
    with ix.searcher() as searcher:

        def ranked(text: str) -> list[str]:
            return [hit["id"] for hit in searcher.search(parser.parse(text), limit=DEPTH)]

        return _timed(collection, ranked)


def run_fts5(collection: Collection, work: Path) -> tuple[Runs, float]:
    """SQLite FTS5 with the Porter tokenizer and bm25()."""
    work.mkdir(parents=True)
    connection = sqlite3.connect(work / "fts5.sqlite3")
    connection.execute(
        "CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, title, body, tokenize='porter unicode61')"
    )
    connection.executemany(
        "INSERT INTO docs VALUES (?, ?, ?)", [(d, t, b) for d, (t, b) in collection.corpus.items()]
    )
    connection.commit()

    def ranked(text: str) -> list[str]:
        words = " OR ".join(f'"{word}"' for word in WORD.findall(text))
        if not words:
            return []
        rows = connection.execute(
            "SELECT id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?", (words, DEPTH)
        )
        return [row[0] for row in rows]

    try:
        return _timed(collection, ranked)
    finally:
        connection.close()


def run_bm25s(collection: Collection, work: Path) -> tuple[Runs, float]:
    """bm25s as its README configures it: one field of title and text, English stop words, Snowball stems.

    bm25s fills its top k with documents that match no query word (score 0,
    in corpus order) when fewer match; those are not hits, so they are cut,
    as every other engine here returns only documents that match.
    """
    import bm25s  # the bench extra; imported here so the harness runs without it
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    options = {"stopwords": "en", "stemmer": stemmer, "show_progress": False}
    ids = list(collection.corpus)
    texts = [f"{title} {text}" for title, text in collection.corpus.values()]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, **options), show_progress=False)
    depth = min(DEPTH, len(ids))

    def ranked(text: str) -> list[str]:
        tokens = bm25s.tokenize([text], return_ids=False, **options)
        if not any(token in retriever.vocab_dict for token in tokens[0]):
            return []
        found, scores = retriever.retrieve(tokens, k=depth, show_progress=False)
        return [ids[int(doc)] for doc, score in zip(found[0], scores[0], strict=True) if score > 0]

    return _timed(collection, ranked)


def _timed(collection: Collection, ranked: Callable[[str], list[str]]) -> tuple[Runs, float]:
    """Every query's ranking, and the mean seconds per query."""
    runs: Runs = {}
    started = time.perf_counter()
    for query, text in collection.queries.items():
        runs[query] = ranked(text)
    return runs, (time.perf_counter() - started) / max(len(collection.queries), 1)


ENGINES: dict[str, Callable[[Collection, Path], tuple[Runs, float]]] = {
    "searchidx": run_searchidx,
    "plain Whoosh": run_plain_whoosh,
    "SQLite FTS5": run_fts5,
}
with contextlib.suppress(ImportError):
    import bm25s  # noqa: F401  # only whether the bench extra is installed

    ENGINES["bm25s"] = run_bm25s
# The judged collections in ../shared/data/relevance, all reported by default.
COLLECTIONS = ["scifact", "cranfield", "lisa", "npl", "adi"]


def report(
    collection: Collection, work: Path, cluster: str | None = None, mode: str = "keyword"
) -> dict[str, dict[str, float]]:
    """Run every engine on the collection and print its table (and searchidx in ``mode``, if not keyword)."""
    engines = dict(ENGINES)
    if mode != "keyword":
        engines[f"searchidx ({mode})"] = lambda c, w: run_searchidx(c, w, mode=mode)
    if cluster is not None:
        url = f"{cluster.rstrip('/')}/relevance-{re.sub(r'[^a-z0-9]', '-', collection.name.lower())}"
        engines = {"searchidx": run_searchidx,
                   "searchidx (OpenSearch)": lambda c, w: run_searchidx(c, w, url), **ENGINES}  # fmt: skip
    scores: dict[str, dict[str, float]] = {}
    for name, engine in engines.items():
        runs, seconds = engine(collection, work / name.replace(" ", "-"))
        scores[name] = {**evaluate(runs, collection.qrels), "ms/query": seconds * 1000}
    print(f"\n{collection.name}: {len(collection.queries)} queries, {len(collection.corpus)} documents")
    print(f"{'engine':<24} {'nDCG@10':>8} {'MAP':>7} {'R@100':>7} {'ms/query':>9}")
    for name, row in scores.items():
        measures = (
            f"{row['ndcg@10']:>8.4f} {row['map']:>7.4f} {row['recall@100']:>7.4f} {row['ms/query']:>9.1f}"
        )
        print(f"{name:<24} {measures}")
    if "searchidx (OpenSearch)" in scores:
        for measure in ("ndcg@10", "map", "recall@100"):
            gap = scores["searchidx (OpenSearch)"][measure] - scores["searchidx"][measure]
            print(f"OpenSearch - Whoosh on {measure:<10} {gap:+.4f}")
    if mode != "keyword":
        for measure in ("ndcg@10", "map", "recall@100"):
            gain = scores[f"searchidx ({mode})"][measure] - scores["searchidx"][measure]
            print(f"{mode} - keyword on {measure:<10} {gain:+.4f}")
    for measure in ("ndcg@10", "map", "recall@100"):
        best = max(scores[name][measure] for name in ENGINES if not name.startswith("searchidx"))
        lead = scores["searchidx"][measure] - best
        print(f"searchidx lead on {measure:<10} {lead:+.4f} over the best reference")
    return scores


def main() -> int:
    """Parse the arguments and report each collection."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--collection", action="append", help=f"one of {', '.join(COLLECTIONS)} or a BEIR-layout folder"
    )
    parser.add_argument("--split", default="test")
    parser.add_argument("--backend", choices=["whoosh", "opensearch"], default="whoosh")
    parser.add_argument("--cluster", help="an OpenSearch cluster's URL (default: start one node)")
    parser.add_argument(
        "--mode", choices=["keyword", "hybrid", "semantic"], default="keyword",
        help="also rank with searchidx's vectors (the semantic extra) in this mode",
    )  # fmt: skip
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        cluster = None
        if args.backend == "opensearch":
            cluster = args.cluster or stack.enter_context(_one_node()).url
        return _report_all(args, cluster)


@contextlib.contextmanager
def _one_node() -> Iterator[Any]:
    sys.path.insert(0, str(ROOT / "cluster"))
    from nodes import Cluster

    with Cluster(1) as cluster:
        yield cluster


def _report_all(args: argparse.Namespace, cluster: str | None) -> int:
    names = args.collection or COLLECTIONS
    tables = []
    for name in names:
        folder = Path(name) if Path(name).is_dir() else RELEVANCE / name
        if not (folder / "corpus.jsonl").exists():
            print(f"no collection at {folder}", file=sys.stderr)
            return 2
        split = args.split if (folder / "qrels" / f"{args.split}.tsv").exists() else "test"
        with tempfile.TemporaryDirectory(prefix="searchidx-relevance-") as work:
            tables.append(report(load_collection(folder, split), Path(work), cluster, args.mode))
    if len(tables) > 1:
        _report_means(tables)
    return 0


def _report_means(tables: list[dict[str, dict[str, float]]]) -> None:
    """Each engine's mean nDCG@10 and R@100 over the collections (each collection counts once)."""
    print(f"\nmean over {len(tables)} collections")
    print(f"{'engine':<24} {'nDCG@10':>8} {'R@100':>7}")
    for name in tables[0]:
        ndcg = sum(table[name]["ndcg@10"] for table in tables) / len(tables)
        recall = sum(table[name]["recall@100"] for table in tables) / len(tables)
        print(f"{name:<24} {ndcg:>8.4f} {recall:>7.4f}")


if __name__ == "__main__":
    sys.exit(main())
