"""What a merge costs an ingest, and what readers see meanwhile.

Ingests ten folders of distinct articles one by one (each commit writes one
segment of about 10,000 articles: ten of the lowest tiers), then an
eleventh folder: its commit merges the ten segments into one (see
``searchidx/engines/whoosh/merging.py``). Prints each ingest's time, the
merging one's extra time (beside the mean of the others), the segments
before and after, and the latency of a query asked in a loop by another
process during the merging ingest (its median and worst, and that none
failed).

    python benchmarks/merging.py [--cache DIR] [--articles 10000]

The articles are the distinct synthetic copies of ``benchmarks/speed.py``'s
scale corpus (written if missing).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed import ROOT, write_corpus

QUERY_LOOP = """
import sys, time
from searchidx import Index
index, stop = sys.argv[1], sys.argv[2]
times, failures = [], 0
import os
with Index(index) as opened:
    opened.search("oil prices", limit=10)
    print("ready", flush=True)
    while not os.path.exists(stop):
        started = time.perf_counter()
        try:
            opened.search("oil prices", limit=10)
        except Exception:
            failures += 1
        times.append((time.perf_counter() - started) * 1000)
times.sort()
print(len(times), times[len(times) // 2], times[-1], failures)
"""


def split(corpus: Path, folders: Path, parts: int, articles: int) -> list[Path]:
    """``parts`` folders of ``articles`` links each to the corpus's files."""
    files = sorted(corpus.rglob("*.txt"))[: parts * articles]
    made = []
    for part in range(parts):
        folder = folders / f"part{part}"
        folder.mkdir(parents=True)
        for number, path in enumerate(files[part * articles : (part + 1) * articles]):
            (folder / f"{number}.txt").symlink_to(path)
        made.append(folder)
    return made


def timed_ingest(folder: Path, index: Path) -> float:
    started = time.perf_counter()
    command = ["ingest", str(folder), "--index", str(index), "--quiet", "--workers", "1"]
    subprocess.run([sys.executable, "-m", "searchidx", *command], check=True, cwd=ROOT)
    return time.perf_counter() - started


def segments(index: Path) -> list[int]:
    from searchidx.engines.whoosh.storage import open_index

    return [segment.doc_count_all() for segment in open_index(index)._segments()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "searchidx-speed-corpus")
    parser.add_argument("--articles", type=int, default=10_000, help="articles per segment")
    args = parser.parse_args()
    from searchidx.engines.whoosh.merging import MERGE_FACTOR

    copies = -(-(MERGE_FACTOR + 1) * args.articles // 19_043)
    corpus = args.cache / f"distinct-x{copies}"
    write_corpus(corpus, copies, None)
    with tempfile.TemporaryDirectory(prefix="searchidx-merging-") as temp:
        work = Path(temp)
        parts = split(corpus, work / "parts", MERGE_FACTOR + 1, args.articles)
        index = work / "index"
        plain = [timed_ingest(part, index) for part in parts[:MERGE_FACTOR]]
        before = segments(index)
        stop = work / "stop"
        reader = subprocess.Popen([sys.executable, "-c", QUERY_LOOP, str(index), str(stop)], cwd=ROOT,
                                  stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert reader.stdout is not None
        assert reader.stdout.readline().strip() == "ready"
        merging = timed_ingest(parts[MERGE_FACTOR], index)
        stop.write_text("")
        asked, median, worst, failures = reader.communicate()[0].split()[-4:]
        after = segments(index)
        shutil.rmtree(work / "parts")
    mean = statistics.mean(plain)
    print(f"ingests of {args.articles:,} articles, one writer: {', '.join(f'{s:.1f}' for s in plain)} s "
          f"(mean {mean:.1f} s)")  # fmt: skip
    merged = f"{len(before)} segments ({sum(before):,} documents)"
    print(f"the ingest whose commit merged {merged}: {merging:.1f} s ({merging - mean:.1f} s over the mean)")
    print(f"segments before: {before}; after: {after}")
    print(f"a query in a loop in another process meanwhile: {asked} asked, median {float(median):.1f} ms, "
          f"worst {float(worst):.1f} ms, {failures} failed")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
