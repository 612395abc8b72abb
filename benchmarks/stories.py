"""Stories: how well syndicated versions are grouped, and what finding and grouping them costs.

In one run:

- the labelled check (``benchmarks/syndication.py``): versions of ``--stories`` real Reuters articles
  among Reuters' templated and same-topic reports, ingested in file-name order (each article's versions
  before it) and in the reverse order; pairwise recall and precision of the stories found;
- the ingest of the Reuters-21578 corpus (19,043 files) with stories found, and without (the story
  finder replaced by one that gives each article its own story, in the same child process kind),
  alternated ``--rounds`` times: seconds each and the ratio of the medians;
- the 300 queries of ``benchmarks/queries.txt`` on that index, without stories (neither counted nor
  grouped, as before them), with every version listed (``all_versions``, stories counted) and grouped
  by story (the default), alternated: median and 95th percentile milliseconds, and the ratios.

    python benchmarks/stories.py [--stories 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "scripts"))

from make_corpus import reuters_article  # noqa: E402
from syndication import REUTERS, labelled_set, pairwise, reuters_records  # noqa: E402

QUERIES = ROOT / "benchmarks" / "queries.txt"
# A child process that ingests, with story finding on or off, and prints its seconds.
INGEST = """
import sys, time
from searchidx.ingesting import ingest as module
if sys.argv[3] == "off":
    class Alone:
        def __init__(self, known): pass
        def story_of(self, doc_id, article): return doc_id
    module.StoryFinder = Alone
started = time.perf_counter()
module.ingest(sys.argv[1], index=sys.argv[2], full=True)
print(time.perf_counter() - started)
"""


def labelled_check(stories: int, folder: Path) -> None:
    """Recall and precision of the stories found in the labelled set, read in two orders."""
    from searchidx.ingesting.stories import StoryFinder, sketch

    articles = labelled_set(reuters_records(), stories)
    labels = {article.name: article.label for article in articles}
    sketches = {a.name: sketch(a.title, "\n\n".join(a.paragraphs), a.date) for a in articles}
    negatives = sum(1 for a in articles if not a.name.endswith(("-v1.txt", "-v2.txt"))) - stories
    print(f"labelled check: {len(articles):,} articles, {stories:,} stories with 2 versions each, "
          f"{negatives:,} negatives")  # fmt: skip
    for order, names in (("file names", sorted(labels)), ("reversed", sorted(labels, reverse=True))):
        finder = StoryFinder(lambda: [])
        found = {name: finder.story_of(name, sketches[name]) for name in names}
        recall, precision, truth, predicted = pairwise(labels, found)
        print(f"  {order:<10}  recall {recall:.4f}  precision {precision:.4f}  "
              f"({truth:,} labelled pairs, {predicted:,} grouped)")  # fmt: skip
    # The same through a real ingest, as the test does.
    from searchidx import Index, ingest

    for article in articles:
        (folder / "labelled" / article.name).parent.mkdir(parents=True, exist_ok=True)
        (folder / "labelled" / article.name).write_text(article.text(), encoding="utf-8")
    ingest(folder / "labelled", index=folder / "labelled-index")
    with Index(folder / "labelled-index") as ix:
        hits = ix.search("*", all_versions=True, limit=len(articles), snippets=0)
    recall, precision, _, _ = pairwise(labels, {Path(hit.path).name: hit.story for hit in hits})
    print(f"  {'ingest':<10}  recall {recall:.4f}  precision {precision:.4f}")


def ingest_costs(folder: Path, rounds: int) -> Path:
    """Seconds to ingest the Reuters corpus with and without stories, alternated; the index kept."""
    corpus = folder / "reuters"
    corpus.mkdir()
    for record in reuters_records():
        (corpus / f"{record['id']}.txt").write_text(reuters_article(record), encoding="utf-8")
    seconds: dict[str, list[float]] = {"on": [], "off": []}
    for _ in range(rounds):
        for finding in ("off", "on"):
            index = folder / f"index-{finding}"
            done = subprocess.run([sys.executable, "-c", INGEST, str(corpus), str(index), finding],
                                  capture_output=True, text=True, check=True)  # fmt: skip
            seconds[finding].append(float(done.stdout.split()[-1]))
    on, off = statistics.median(seconds["on"]), statistics.median(seconds["off"])
    print(f"ingest of 19,043 Reuters files: with stories {on:.1f} s, without {off:.1f} s "
          f"(medians of {rounds}): {on / off:.3f}x")  # fmt: skip
    return folder / "index-on"


def query_costs(index: Path) -> None:
    """Milliseconds per query: without stories (neither counted nor grouped: as before them), with every
    version listed and the stories counted, and grouped by story (the default); alternated per query."""
    from searchidx import Index

    queries = [line for line in QUERIES.read_text(encoding="utf-8").splitlines() if line.strip()]
    kinds = ("without stories", "every version", "grouped by story")
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    with Index(index) as ix, Index(index) as plain:
        plain._stories = lambda searched, filters, rows: (None, {})  # type: ignore[method-assign]
        for query in queries[:20]:  # warm the caches
            ix.search(query)
            plain.search(query)
        for query in queries:
            for kind in kinds:
                started = time.perf_counter()
                if kind == "without stories":
                    plain.search(query, all_versions=True)
                else:
                    ix.search(query, all_versions=kind == "every version")
                times[kind].append((time.perf_counter() - started) * 1000)
        everything = ix.search("*", limit=1)
    print(f"queries ({len(queries)}), on the Reuters index ({everything.total:,} articles, "
          f"{everything.stories:,} stories):")  # fmt: skip
    base = statistics.median(times["without stories"])
    for kind in kinds:
        found = sorted(times[kind])
        p50, p95 = statistics.median(found), found[int(len(found) * 0.95)]
        print(f"  {kind:<17} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  ({p50 / base:.3f}x)")


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    if not REUTERS.exists():
        sys.exit(f"{REUTERS} is missing: this benchmark needs ../shared beside the repo")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        labelled_check(options.stories, folder)
        index = ingest_costs(folder, options.rounds)
        query_costs(index)


if __name__ == "__main__":
    main()
