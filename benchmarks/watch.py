"""Watches at archive scale: exact over a run of ingest batches, and what 100 of them cost (issue 36).

On the 19,043 Reuters files (``../shared/data/news/reuters21578.jsonl``, written once as seed-format
files, as ``speed.py`` does), with 100 watches: the first 100 queries of ``benchmarks/queries.txt``
(plain words, each matching any of them), every tenth with a filter (a date, or undated).

- **Exactness**: six ingest batches into one index (a first half; new files; changed texts, re-dated
  files with the same texts and removed files; duplicates; an ingest stopped half-way then run again;
  a rebuild with ``--full``). After each, every watch's ``watch news`` is compared with a brute force:
  every match of its query in the whole index, kept when the article's text is new since the batch
  before. Printed: reported, expected, precision, recall and repeats over all watches and batches.
- **Cost**, side by side in one run (three pairs, alternating): ``searchidx ingest`` of all the files
  into an index holding one article, with and without the 100 watches (the ingest then counts their
  news and prints the line); then, after an ingest of 500 new files (a day of wire copy), ``searchidx
  watch news`` for all 100 (a fresh process): with ``--peek`` in each output (median of 3), then as
  it is typed (text, marking them reported).

    python benchmarks/watch.py [--cache DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed import QUERIES, REUTERS, measure, write_corpus

WATCHES = 100
DAY_OF_COPY = 500
# The outputs of `watch news` timed (text is the default).
OUTPUTS = [(), ("--json",), ("--jsonl",), ("--csv",), ("--snippets", "0")]


def watch_specs() -> list[tuple[str, str, dict[str, Any]]]:
    """The 100 watches: name, query, filters (every tenth dated since 1987-03-15, every 25th undated)."""
    queries = QUERIES.read_text(encoding="utf-8").splitlines()[:WATCHES]
    specs = []
    for number, query in enumerate(queries):
        options: dict[str, Any] = {}
        if number % 25 == 24:
            options = {"undated": True}
        elif number % 10 == 9:
            options = {"since": "1987-03-15"}
        specs.append((f"w{number:03d}", query, options))
    return specs


def add_watches(index: Path) -> None:
    from searchidx import Index

    with Index(index) as ix:
        for name, query, options in watch_specs():
            ix.watch(name, query, **options)


def texts(index: Path) -> dict[str, tuple[str, str]]:
    from whoosh import index as whoosh_index

    with whoosh_index.open_dir(str(index)).searcher() as searcher:
        return {fields["id"]: (fields["title"], fields["body"]) for fields in searcher.all_stored_fields()}


def exactness(files: list[Path], work: Path) -> dict[str, int]:
    """Six batches; the counts of reported and expected articles over all watches and batches."""
    import searchidx.ingesting.ingest as ingesting
    from searchidx import Index, IngestObserver, ingest

    archive, index = work / "archive", work / "exact-index"
    shutil.rmtree(archive, ignore_errors=True)
    archive.mkdir(parents=True)
    half = len(files) // 2
    for path in files[:half]:
        shutil.copy(path, archive / path.name)
    ingest(archive, index=index)
    add_watches(index)
    totals = {"reported": 0, "expected": 0, "right": 0, "repeats": 0}
    seen: dict[str, dict[str, tuple[str, str]]] = {}

    def window(before: dict[str, tuple[str, str]]) -> None:
        now = texts(index)
        brought = {doc for doc, text in now.items() if before.get(doc) != text}
        with Index(index) as ix:
            for news in ix.watch_news(snippets=0):
                options = dict(news.watch.options)
                matches = {hit.id for hit in ix.every_hit(
                    news.watch.query, exact=True, snippets=0, since=options.get("since"),
                    undated=options.get("undated") == "true")}  # fmt: skip
                expected, got = matches & brought, [hit.id for hit in news.hits]
                known = seen.setdefault(news.watch.name, {})
                totals["repeats"] += len(got) - len(set(got)) + sum(known.get(doc) == now[doc] for doc in got)
                known.update((doc, now[doc]) for doc in got)
                totals["reported"] += len(set(got))
                totals["expected"] += len(expected)
                totals["right"] += len(expected & set(got))

    class StopHalfWay(IngestObserver):
        def __init__(self, documents: int) -> None:
            self.left = documents

        def action(self, kind: str, location: str, detail: str = "") -> None:
            self.left -= kind == "added"
            if self.left == 0:
                raise KeyboardInterrupt

    steps = [
        ("new files", lambda: [shutil.copy(path, archive / path.name) for path in files[half : half + 4000]]),
        ("changed, re-dated and removed", lambda: _change(archive)),
        ("duplicates", lambda: [shutil.copy(path, archive / f"copy-{path.name}") for path in files[:300]]),
    ]
    for label, step in steps:
        before = texts(index)
        step()
        ingest(archive, index=index)
        window(before)
        print(f"  {label}: done", flush=True)
    before = texts(index)
    for path in files[half + 4000 :]:
        shutil.copy(path, archive / path.name)
    batch = ingesting.BATCH_DOCUMENTS
    ingesting.BATCH_DOCUMENTS = 1000
    try:
        ingest(archive, index=index, observer=StopHalfWay(2500))
    except KeyboardInterrupt:
        pass
    finally:
        ingesting.BATCH_DOCUMENTS = batch
    ingest(archive, index=index)
    window(before)
    print("  stopped half-way, then run again: done", flush=True)
    before = texts(index)
    ingest(archive, index=index, full=True)
    window(before)
    print("  rebuilt (--full): done", flush=True)
    return totals


def _change(archive: Path) -> None:
    """Change the texts of 300 files, re-date 300 more (same texts), remove 300."""
    paths = sorted(archive.glob("*.txt"))
    for path in paths[:300]:
        lines = path.read_text(encoding="utf-8").splitlines()
        lines.insert(min(len(lines), 4), "Oil prices and trade figures were revised, officials said.")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for path in paths[300:600]:
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("1987", "1988", 1), encoding="utf-8")
    for path in paths[600:900]:
        path.unlink()


def cost(files: list[Path], work: Path) -> dict[str, float]:
    """Ingest seconds with and without the watches (3 pairs), and ``watch news`` after a day of copy."""
    cli = [sys.executable, "-m", "searchidx"]
    folder = work / "all"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for path in files[:-DAY_OF_COPY]:
        (folder / path.name).symlink_to(path)
    first = work / "first"
    shutil.rmtree(first, ignore_errors=True)
    first.mkdir()
    (first / files[0].name).symlink_to(files[0])
    times: dict[str, list[float]] = {"without": [], "with": []}
    for _ in range(3):
        for kind in ("without", "with"):
            index = work / f"cost-{kind}"
            shutil.rmtree(index, ignore_errors=True)
            measure([*cli, "ingest", str(first), "--index", str(index), "--quiet"])
            if kind == "with":
                add_watches(index)
            times[kind].append(measure([*cli, "ingest", str(folder), "--index", str(index)]).seconds)
            print(f"  ingest {kind} the watches: {times[kind][-1]:.2f} s", flush=True)
    index = work / "cost-with"
    measure([*cli, "watch", "news", "--index", str(index), "--json"])  # the full ingest's news, reported
    for path in files[-DAY_OF_COPY:]:
        (folder / path.name).symlink_to(path)
    measure([*cli, "ingest", str(folder), "--index", str(index), "--quiet"])
    news = [*cli, "watch", "news", "--index", str(index)]
    shown = json.loads(measure([*news, "--json", "--peek"]).out)["watches"]
    figures = {
        f"peeked {' '.join(flags) or 'text'} (s)": statistics.median(
            measure([*news, "--peek", *flags]).seconds for _ in range(3)
        )
        for flags in OUTPUTS
    }
    return {
        "ingest without (s)": statistics.median(times["without"]),
        "ingest with 100 watches (s)": statistics.median(times["with"]),
        "new articles listed": sum(watch["total"] for watch in shown),
        **figures,
        "watch news, all 100 (s)": measure(news).seconds,  # the command itself: listed, then reported
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "searchidx-speed-corpus")
    args = parser.parse_args(argv)
    if not REUTERS.exists():
        print(f"no benchmark data: {REUTERS} is missing", file=sys.stderr)
        return 2
    one = args.cache / "distinct-x1"
    write_corpus(one, 1, None)
    files = sorted((one / "copy0").glob("*.txt"))
    print(f"watches on the {len(files):,} Reuters files, {time.strftime('%Y-%m-%d %H:%M')}")
    with tempfile.TemporaryDirectory(prefix="searchidx-watch-") as temp:
        work = Path(temp)
        totals = exactness(files, work)
        precision = totals["right"] / totals["reported"] if totals["reported"] else 1.0
        recall = totals["right"] / totals["expected"] if totals["expected"] else 1.0
        print(
            f"exactness over 6 batches x {WATCHES} watches: reported {totals['reported']:,}, expected "
            f"{totals['expected']:,}, precision {precision:.4f}, recall {recall:.4f}, "
            f"repeats {totals['repeats']}"
        )
        figures = cost(files, work)
    overhead = figures["ingest with 100 watches (s)"] / figures["ingest without (s)"] - 1
    print(
        f"ingest of {len(files) - DAY_OF_COPY:,} files: "
        f"{figures['ingest without (s)']:.2f} s without watches, "
        f"{figures['ingest with 100 watches (s)']:.2f} s with {WATCHES} (+{overhead:.1%}; bar +5%)"
    )
    print(
        f"watch news for all {WATCHES} after {DAY_OF_COPY} new files: "
        f"{figures['watch news, all 100 (s)']:.2f} s ({figures['new articles listed']:,.0f} new articles "
        "listed with their snippets, then marked reported; bar 1 s)"
    )
    peeked = [(key.removeprefix("peeked ").removesuffix(" (s)"), value) for key, value in figures.items()
              if key.startswith("peeked ")]  # fmt: skip
    print("  with --peek, median of 3: " + ", ".join(f"{name} {value:.2f} s" for name, value in peeked))
    return 0


if __name__ == "__main__":
    sys.exit(main())
