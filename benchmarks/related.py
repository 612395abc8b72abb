"""What related articles cost a query: ``Index.search`` with and without them, side by side in one run.

On the speed harness's 1x Reuters folder (``benchmarks/speed.py``'s cache) and
on the demo corpus (331 articles, where few words match a page), runs the
committed ``benchmarks/queries.txt`` through ``Index.search`` (top 10, default
snippets) with ``related=True`` (the default) and ``related=False``,
each query both ways (which goes first alternating) after a warm-up pass, and prints how many
queries get related articles, p50 and p95 of each, and the median extra time
of the queries that get them.

    python benchmarks/related.py [--cache DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from speed import QUERIES, write_corpus

from searchidx import Index, ingest

ROOT = Path(__file__).resolve().parents[1]


def measure(index: Path, queries: list[str]) -> None:
    """Print the figures for one index."""
    with Index(index) as ix:
        for query in queries:  # warm-up: both paths, every query
            ix.search(query)
            ix.search(query, related=False)
        runs = [both(ix, query, first=number % 2 == 0) for number, query in enumerate(queries)]
    followed = [with_them - without for (with_them, had), (without, _) in runs if had]
    print(f"  {len(queries)} queries, {len(followed)} followed by related articles")
    medians = {}
    for label, times in (
        ("related=False", [b for _, (b, _) in runs]),
        ("related=True (default)", [a for (a, _), _ in runs]),
    ):
        ordered = sorted(times)
        medians[label] = statistics.median(ordered)
        p95 = ordered[int(len(ordered) * 0.95) - 1]
        print(f"  {label:<24} p50 {medians[label]:6.2f} ms   p95 {p95:6.2f} ms")
    line = f"  p50 ratio {medians['related=True (default)'] / medians['related=False']:.3f}"
    if followed:
        extra = statistics.median(followed)
        line += f"; the queries followed by related articles take {extra:.2f} ms more (median)"
    print(line)


def both(ix: Index, query: str, *, first: bool) -> tuple[tuple[float, bool], tuple[float, bool]]:
    """(with related articles, without), the one measured first alternating from query to query."""
    if first:
        with_them = timed(ix, query, related=True)
        return with_them, timed(ix, query, related=False)
    without = timed(ix, query, related=False)
    return timed(ix, query, related=True), without


def timed(ix: Index, query: str, *, related: bool) -> tuple[float, bool]:
    """Milliseconds of one search, and whether related articles followed its matches."""
    started = time.perf_counter()
    results = ix.search(query, related=related)
    return (time.perf_counter() - started) * 1000, bool(results.related)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "searchidx-speed-corpus")
    args = parser.parse_args()
    queries = QUERIES.read_text(encoding="utf-8").splitlines()
    folder = args.cache / "x1"
    write_corpus(folder, 1, None)
    with tempfile.TemporaryDirectory() as work:
        for label, source in (
            ("Reuters-21578, 1x (speed.py's folder)", folder),
            ("the demo corpus", ROOT / "corpus"),
        ):
            index = Path(work) / label.split()[0]
            ingest(source, index=index)
            print(label)
            measure(index, queries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
