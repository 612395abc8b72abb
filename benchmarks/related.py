"""What related articles are worth and cost: their precision on judged collections, and their time.

Precision (``--only precision``): on each judged collection of
``../shared/data/relevance`` (ingested as ``benchmarks/relevance.py`` does),
every query with 10 hits is made into nine thin pages: its first n hits
(n = 1 to 9) taken as all its matches, the related articles fill ranks n+1 to
10, chosen as ``Index.search`` chooses them (``searchidx.searching.related``: the Bo1
words of those n hits, the articles holding 2 of them, the n left out, in the
order of the words' query, each with its likeness to the n hits). Prints the
share of the related articles shown that are judged relevant for each
likeness threshold, beside the share of the query's own hits at ranks n+1 to
10 (the matches at the same depth, which the related articles stand in for),
per collection and over all of them, then per n at ``MIN_LIKENESS``, and the
lowest threshold (in steps of 0.025) at which the related articles are judged
relevant at least as often as those matches for every n: the rule that chose
``MIN_LIKENESS``. (A real thin page's related articles hold none of the
query's words; here they may, but neither the words searched nor the
likeness count them.)

Speed (``--only speed``): on the speed harness's 1x Reuters folder
(``benchmarks/speed.py``'s cache) and on the demo corpus (331 articles, where
few words match a page), runs the committed ``benchmarks/queries.txt`` through
``Index.search`` (top 10, default snippets) with ``related=True`` (the
default) and ``related=False``, each query both ways (which goes first
alternating) after a warm-up pass, and prints how many queries get related
articles, p50 and p95 of each, and the median extra time of the queries that
get them.

    python benchmarks/related.py [--only precision|speed] [--collection NAME ...] [--cache DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from relevance import COLLECTIONS, RELEVANCE, Collection, ingest_collection, load_collection
from speed import QUERIES, write_corpus
from whoosh import query as wq

from searchidx import Index, ingest
from searchidx.engines.protocol import Filters
from searchidx.query.parsing import parse_query
from searchidx.searching.related import (
    MIN_LIKENESS,
    OVERFETCH,
    feedback_terms,
    likeness,
    related_query,
    searched_stems,
    shares_enough,
)

ROOT = Path(__file__).resolve().parents[1]
PAGE = 10
THRESHOLDS = (0.0, 0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
STEP = 0.025


@dataclass(frozen=True)
class ThinPage:
    """One query's first ``matches`` hits taken as all its matches: whether each of its own hits after
    them is judged relevant, and the related candidates that hold enough of the words, in order, as
    (likeness, judged relevant)."""

    matches: int
    deeper: list[bool]
    candidates: list[tuple[float, bool]]

    def related(self, threshold: float) -> list[bool]:
        """Whether each related article shown at ``threshold`` is judged relevant."""
        return [relevant for alike, relevant in self.candidates if alike >= threshold][: PAGE - self.matches]


def thin_pages(collection: Collection, work: Path) -> list[ThinPage]:
    """Every thin page of every query of ``collection`` with a full page of hits."""
    index, ids = ingest_collection(collection, work)
    pages = []
    with Index(index) as ix:
        # Index.search's own parts (searchidx.searching.index.Index._with_related), on pretended matches.
        analyzer, backend = ix._analyzer, ix._backend
        frequencies, documents = backend.lexicon().stem_frequencies, backend.document_count()
        for query, text in collection.queries.items():
            results = ix.search(text, limit=PAGE, snippets=0, related=False)
            if len(results.hits) < PAGE or results.approximate:
                continue
            searched = searched_stems(
                parse_query(results.suggestion if results.corrected and results.suggestion else text,
                            backend.schema).query
            )  # fmt: skip
            gains = collection.qrels.get(query, {})
            judged = [gains.get(ids[hit.id], 0) > 0 for hit in results.hits]
            texts = [
                f"{article.title}\n{article.body}" for article in (ix.get(hit.id) for hit in results.hits)
            ]
            for matches in range(1, PAGE):
                terms = feedback_terms(texts[:matches], analyzer, frequencies, documents, searched)
                if not terms:
                    continue
                matched = wq.Or([wq.Term("id", hit.id) for hit in results.hits[:matches]])
                rows = backend.run(
                    related_query(terms, matched), (PAGE - matches) * OVERFETCH, Filters(), "relevance", 0
                ).rows
                sharing = [row for row in rows if shares_enough(_text(row.fields), analyzer, terms)]
                alike = likeness(
                    texts[:matches],
                    [_text(row.fields) for row in sharing],
                    analyzer,
                    frequencies,
                    documents,
                    searched,
                )
                candidates = [
                    (score, gains.get(ids[row.fields["id"]], 0) > 0)
                    for row, score in zip(sharing, alike, strict=True)
                ]
                pages.append(ThinPage(matches, judged[matches:], candidates))
    return pages


def _text(fields: dict[str, str]) -> str:
    return f"{fields.get('title', '')}\n{fields.get('body', '')}"


def precision(pages: list[ThinPage], threshold: float | None) -> tuple[int, int]:
    """(judged relevant, shown) of the related articles at ``threshold``; of the matches at the same
    depth when ``threshold`` is None."""
    shown = [page.deeper if threshold is None else page.related(threshold) for page in pages]
    return sum(sum(flags) for flags in shown), sum(len(flags) for flags in shown)


def cell(relevant: int, shown: int) -> str:
    """``precision (relevant/shown)``, or a dash when nothing is shown."""
    return f"{relevant / shown:.3f} ({relevant}/{shown})" if shown else "-"


def report_precision(names: list[str]) -> None:
    """Print the precision tables over ``names`` (collections of ``../shared/data/relevance``)."""
    pages: dict[str, list[ThinPage]] = {}
    for name in names:
        folder = Path(name) if Path(name).is_dir() else RELEVANCE / name
        with tempfile.TemporaryDirectory(prefix="searchidx-related-") as work:
            pages[folder.name] = thin_pages(load_collection(folder, "test"), Path(work))
    every = [page for found in pages.values() for page in found]
    print("Related articles judged relevant (share of those shown), a query's first n hits (n = 1-9)")
    print("taken as all its matches; 'matches': the query's own hits at the ranks the related articles fill")
    columns = [*pages, "all"]
    print(f"  {'likeness >=':<12}" + "".join(f"{column:>22}" for column in columns))
    for threshold in (None, *THRESHOLDS):
        label = "matches" if threshold is None else f"{threshold:.3f}"
        cells = [cell(*precision(found, threshold)) for found in (*pages.values(), every)]
        print(f"  {label:<12}" + "".join(f"{text:>22}" for text in cells))
    print(f"At MIN_LIKENESS = {MIN_LIKENESS}, by the number of matches n:")
    for matches in range(1, PAGE):
        some = [page for page in every if page.matches == matches]
        related, same_depth = precision(some, MIN_LIKENESS), precision(some, None)
        print(f"  n = {matches}: related {cell(*related):>20}   matches {cell(*same_depth):>22}")
    related, same_depth = precision(every, MIN_LIKENESS), precision(every, None)
    print(f"  all:   related {cell(*related):>20}   matches {cell(*same_depth):>22}")
    showing, unfiltered = (
        sum(bool(page.related(threshold)) for page in every) for threshold in (MIN_LIKENESS, 0)
    )
    print(f"  {showing} of {len(every)} thin pages show related articles ({unfiltered} with no threshold)")
    lowest = _lowest_passing(every)
    print(f"Lowest threshold (steps of {STEP}) at which the related articles are judged relevant at least")
    print(f"as often as the matches at the same depth, for every n: {'none' if lowest is None else lowest}")


def _lowest_passing(pages: list[ThinPage]) -> float | None:
    """The lowest threshold on the grid at which, for every n, the related articles' precision is at
    least that of the matches at the same depth (and some are shown)."""
    for step in range(int(1 / STEP) + 1):
        threshold = round(step * STEP, 3)
        passing = True
        for matches in range(1, PAGE):
            some = [page for page in pages if page.matches == matches]
            (related, shown), (relevant, depth) = precision(some, threshold), precision(some, None)
            if not shown or related * depth < relevant * shown:
                passing = False
                break
        if passing:
            return threshold
    return None


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
    parser.add_argument("--only", choices=["precision", "speed"], help="one half of the benchmark")
    parser.add_argument(
        "--collection", action="append", help=f"precision on: one of {', '.join(COLLECTIONS)}, or a folder"
    )
    args = parser.parse_args()
    if args.only != "speed":
        report_precision(args.collection or COLLECTIONS)
    if args.only == "precision":
        return 0
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
