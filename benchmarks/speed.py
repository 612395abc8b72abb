"""Speed at archive scale: searchidx beside plain Whoosh, SQLite FTS5, tantivy and sqlite-utils, in one run.

Writes the Reuters-21578 corpus (``../shared/data/news/reuters21578.jsonl``) once
as one seed-format file per article (cached in a temp folder), then measures
end to end, each engine on the same files:

- ingest: ``searchidx ingest DIR`` in a subprocess (wall time, documents per
  second, peak RSS of the whole process tree, index size), then a re-ingest of
  the unchanged folder; a plain-Whoosh script (a simple reader of the format,
  one writer, ``StemmingAnalyzer``) in a subprocess measured the same way;
  SQLite FTS5 (stdlib) and tantivy-py (``pip install -e '.[bench]'``) in a
  subprocess each, when available;
- query latency in-process over the committed ``benchmarks/queries.txt``
  (300 queries of 2-4 title words): ``Index.search()`` with default snippets
  and without, against plain Whoosh with and without highlights, FTS5 and
  tantivy; median, p95 and max after a warm-up pass;
- cold CLI: median of 10 fresh ``searchidx query Q --limit 10`` processes,
  beside a plain-Whoosh script doing the same and ``sqlite-utils search``;
- snippet time per hit for articles of 1,000 to 100,000 chars;
- scale: 1x, 2x, 5x and 10x the corpus (copies with new ids and URLs, labelled
  synthetic): ingest time, index size, peak RSS, segments, query p50/p95 and
  their ratios to 1x, against the bars of issue 15;
- the pruned top 10 (``searchidx/engines/whoosh/topk.py``) against Whoosh scoring every
  match, for every query, on a one-segment 1x index and the multi-segment
  1x, 5x and 10x ones.

    python benchmarks/speed.py [--quick] [--docs N] [--cache DIR]
    python benchmarks/speed.py --backend opensearch [--docs N] [--cache DIR]

``--backend opensearch`` measures searchidx on an OpenSearch cluster
instead, beside searchidx on Whoosh in the same run: one node (1 shard) and
three nodes (3 shards x 1 replica) started from ``cluster/`` on this machine,
each at 1x and 5x the corpus: ``searchidx ingest DIR --index URL`` end to end
and query p50/p95 with snippets through ``Index.search``.

``--quick`` measures 1x with 100 queries (under 3 minutes); ``--docs N`` uses
the first N articles only (CI runs ``--quick --docs 2000``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from make_corpus import reuters_article  # noqa: E402

REUTERS = ROOT.parent / "shared" / "data" / "news" / "reuters21578.jsonl"
QUERIES = Path(__file__).with_name("queries.txt")
WORD = re.compile(r"[A-Za-z]{3,}")
# The synthetic copies (see write_corpus): the marker's version, the words replaced, the dates moved.
CORPUS_VERSION = "distinct-2"
REPLACED_WORD = re.compile(r"[A-Za-z]{4,}")
NEIGHBOURS = 16  # a word is replaced by one of this many words of about its frequency
DAYS_PER_COPY = 211
# Words too common in Reuters headlines to make a query of.
SMALL_WORDS = frozenset([
    "the", "and", "for", "with", "from", "says", "said", "say", "will", "its", "has", "have", "not", "but",
    "are", "was", "were", "into", "over", "after", "year", "years", "pct", "mln", "dlrs", "billion", "new",
    "sees", "sets", "unit",
])  # fmt: skip


# ---------------------------------------------------------------- the corpus


def read_records() -> list[dict[str, str]]:
    """The Reuters records, as the JSON lines hold them."""
    return [json.loads(line) for line in REUTERS.read_text(encoding="utf-8").splitlines()]


def copy_vocabularies(records: list[dict[str, str]], copies: int) -> list[dict[str, str]]:
    """For each copy, a map from each word (lower case) to the word replacing it."""
    counts = Counter(word.lower() for record in records for text in (record["title"], record["body"])
                     for word in REPLACED_WORD.findall(text))  # fmt: skip
    ranked = [word for word, _ in counts.most_common()]
    maps: list[dict[str, str]] = [{}]
    for copy in range(1, copies):
        shuffled = random.Random(copy)  # a permutation of each group of its own: 16! of them
        mapping: dict[str, str] = {}
        for start in range(0, len(ranked), NEIGHBOURS):
            group = ranked[start : start + NEIGHBOURS]
            replacing = group[:]
            shuffled.shuffle(replacing)
            mapping.update(zip(group, replacing, strict=True))
        maps.append(mapping)
    return maps


def _replaced(text: str, mapping: dict[str, str]) -> str:
    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        new = mapping.get(word.lower(), word)
        return new.upper() if word.isupper() else new.capitalize() if word[0].isupper() else new

    return REPLACED_WORD.sub(swap, text)


def synthetic_record(record: dict[str, str], copy: int, mapping: dict[str, str]) -> dict[str, str]:
    """Copy ``copy`` of a Reuters record: its words replaced, its date moved, under an id of its own."""
    changed = dict(record)
    changed["title"] = _replaced(record["title"], mapping)
    changed["body"] = _replaced(record["body"], mapping)
    if record.get("dateline"):
        changed["dateline"] = _replaced(record["dateline"], mapping)
    if record.get("date"):
        moved = datetime.fromisoformat(record["date"]) + timedelta(days=DAYS_PER_COPY * copy)
        changed["date"] = moved.isoformat()
    return changed


def write_corpus(folder: Path, copies: int, limit: int | None) -> int:
    """One seed-format file per article (the first ``limit``), ``copies`` times: copy 0 the real
    articles, copies 1 onwards distinct synthetic ones; reused when present. The number of files."""
    marker = folder / ".complete"
    records = [json.loads(line) for line in REUTERS.read_text(encoding="utf-8").splitlines()[:limit]]
    if marker.exists() and marker.read_text() == f"{CORPUS_VERSION} {len(records)}x{copies}":
        return len(records) * copies
    shutil.rmtree(folder, ignore_errors=True)
    maps = copy_vocabularies(records, copies)
    for copy in range(copies):
        part = folder / f"copy{copy}"
        part.mkdir(parents=True)
        for record in records:
            text = reuters_article(synthetic_record(record, copy, maps[copy]) if copy else record)
            if copy:
                text += f"\nOriginal url:\n\n<https://synthetic.example/{copy}/{record['id']}>\n"
            (part / f"{record['id']}.txt").write_text(text, encoding="utf-8")
        print(f"  wrote copy {copy + 1} of {copies}", end="\r", flush=True)
    marker.write_text(f"{CORPUS_VERSION} {len(records)}x{copies}")
    return len(records) * copies


def read_article(path: Path) -> tuple[str, str]:
    """Title and body of a seed-format file, read as simply as a plain-Whoosh user would."""
    lines = path.read_text(encoding="utf-8").splitlines()
    title = lines[0].removeprefix("# ").strip() if lines else ""
    body = "\n".join(line for line in lines[1:] if not line.startswith(("Original url:", "<http")))
    return title, body


def write_queries(limit: int = 300) -> None:
    """The committed query list: 2-4 content words from every 60th Reuters title."""
    queries: list[str] = []
    for number, line in enumerate(REUTERS.read_text(encoding="utf-8").splitlines()[::60]):
        words = [w.lower() for w in WORD.findall(json.loads(line)["title"]) if w.lower() not in SMALL_WORDS]
        if len(words) >= 2:
            queries.append(" ".join(dict.fromkeys(words[: 2 + number % 3])))
    QUERIES.write_text("\n".join(queries[:limit]) + "\n", encoding="utf-8")


# ------------------------------------------------------------- measurements


class TreeRss:
    """Peak resident memory of a process and all its children, sampled from /proc.

    Each process counts its proportional share of the pages it shares (PSS): worker processes
    forked from a large ingest process share most of its pages, which their RSS would count again.
    ``anonymous`` is the part of the peak that is not file pages mapped (the index's segments read
    through mmap are file pages, which the kernel can drop).
    """

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.anonymous, self._done = pid, 0, 0, threading.Event()
        self.parts: list[int] = []  # at the peak: the first process's PSS, then each child's
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        return self.peak

    def _sample(self) -> None:
        while not self._done.wait(0.2):  # reading a large process's PSS walks its pages: not too often
            sizes = [_pss(pid) for pid in _tree(self.pid)]
            total = sum(size for size, _ in sizes)
            if total > self.peak:
                self.peak, self.anonymous = total, sum(anonymous for _, anonymous in sizes)
                self.parts = [size for size, _ in sizes]


def _tree(pid: int) -> list[int]:
    pids, pending = [], [pid]
    while pending:
        current = pending.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):  # the process ended meanwhile
                pending += [int(child) for child in task.read_text().split()]
    return pids


def _pss(pid: int) -> tuple[int, int]:
    """The process's proportional set size and the anonymous part of it, in bytes (its RSS, and 0,
    where the kernel gives no PSS; 0 and 0 once it has ended)."""
    with contextlib.suppress(OSError, KeyError, ValueError):
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]  # after the header
        sizes = dict(line.split()[:2] for line in rollup)
        return int(sizes["Pss:"]) * 1024, int(sizes.get("Pss_Anon:", 0)) * 1024
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024, 0
    return 0, 0


def run_measured(command: Sequence[str]) -> tuple[float, int, str]:
    """Wall seconds, peak tree RSS (bytes) and stdout of one subprocess."""
    measured = measure(command)
    return measured.seconds, measured.peak, measured.out


@dataclass
class Measured:
    """One subprocess's wall seconds, its tree's peak PSS, the anonymous part of it and each process's
    part (the first one's, then its children's), its stdout."""

    seconds: float
    peak: int
    anonymous: int
    parts: list[int]
    out: str


def measure(command: Sequence[str]) -> Measured:
    """Run ``command`` as a user's Python runs it (bytecode cached: some sandboxes set
    PYTHONDONTWRITEBYTECODE), sampling its process tree's memory."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    sampler = TreeRss(process.pid)
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    sampler.stop()
    if process.returncode:
        raise RuntimeError(f"{' '.join(command)} failed: {err.strip()}")
    return Measured(seconds, sampler.peak, sampler.anonymous, sampler.parts, out)


def folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def latencies(run: Callable[[str], object], queries: list[str]) -> dict[str, float]:
    """Median, p95 and max milliseconds per query, after one warm-up pass."""
    for query in queries:
        run(query)
    times = []
    for query in queries:
        started = time.perf_counter()
        run(query)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50": statistics.median(times), "p95": times[int(len(times) * 0.95) - 1], "max": times[-1]}


# ------------------------------------------------------- the engines' ingests


def plain_whoosh_ingest(folder: Path, index: Path) -> None:
    """The reference: one writer, StemmingAnalyzer on title and body, nothing else."""
    from whoosh import index as whoosh_index
    from whoosh.analysis import StemmingAnalyzer
    from whoosh.fields import ID, TEXT, Schema

    analyzer = StemmingAnalyzer()
    schema = Schema(
        path=ID(stored=True),
        title=TEXT(analyzer=analyzer, stored=True),
        body=TEXT(analyzer=analyzer, stored=True),
    )
    index.mkdir(parents=True)
    writer = whoosh_index.create_in(str(index), schema).writer()
    for path in sorted(folder.rglob("*.txt")):
        title, body = read_article(path)
        writer.add_document(path=str(path), title=title, body=body)
    writer.commit()


def fts5_ingest(folder: Path, index: Path) -> None:
    """SQLite FTS5 (stdlib), Porter stemming; the tables as ``sqlite-utils enable-fts`` makes them."""
    index.mkdir(parents=True)
    connection = sqlite3.connect(index / "fts5.db")
    connection.execute("CREATE TABLE docs (path TEXT, title TEXT, body TEXT)")
    connection.executemany(
        "INSERT INTO docs VALUES (?, ?, ?)",
        ((str(path), *read_article(path)) for path in sorted(folder.rglob("*.txt"))),
    )
    connection.execute(
        "CREATE VIRTUAL TABLE docs_fts USING fts5(title, body, content=[docs], tokenize='porter')"
    )
    connection.execute("INSERT INTO docs_fts (rowid, title, body) SELECT rowid, title, body FROM docs")
    connection.commit()
    connection.close()


def tantivy_ingest(folder: Path, index: Path) -> None:
    """tantivy-py with its English stemming tokenizer."""
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("path", stored=True)
    builder.add_text_field("title", stored=True, tokenizer_name="en_stem")
    builder.add_text_field("body", stored=True, tokenizer_name="en_stem")
    index.mkdir(parents=True)
    writer = tantivy.Index(builder.build(), path=str(index)).writer()
    for path in sorted(folder.rglob("*.txt")):
        title, body = read_article(path)
        writer.add_document(tantivy.Document(path=str(path), title=title, body=body))
    writer.commit()
    writer.wait_merging_threads()


INGESTS: dict[str, Callable[[Path, Path], None]] = {
    "plain-whoosh": plain_whoosh_ingest,
    "fts5": fts5_ingest,
    "tantivy": tantivy_ingest,
}


def available(engine: str) -> bool:
    module = {"tantivy": "tantivy"}.get(engine)
    if module is None:
        return True
    try:
        __import__(module)
    except ImportError:
        return False
    return True


# ------------------------------------------------------- the engines' queries


def searchidx_queries(index: Path | str) -> tuple[Callable[[str], object], Callable[[str], object]]:
    from searchidx import Index

    ix = Index(index)
    return (lambda q: ix.search(q, limit=10)), (lambda q: ix.search(q, limit=10, snippets=0))


def plain_whoosh_queries(index: Path) -> tuple[Callable[[str], object], Callable[[str], object]]:
    from whoosh import index as whoosh_index
    from whoosh.highlight import ContextFragmenter, HtmlFormatter
    from whoosh.qparser import MultifieldParser, OrGroup

    ix = whoosh_index.open_dir(str(index))
    searcher = ix.searcher()
    parser = MultifieldParser(["title", "body"], ix.schema, group=OrGroup)

    def with_highlights(query: str) -> object:
        results = searcher.search(parser.parse(query), limit=10)
        results.fragmenter, results.formatter = ContextFragmenter(), HtmlFormatter()
        return [hit.highlights("body") for hit in results]

    def plain(query: str) -> object:
        return [hit["path"] for hit in searcher.search(parser.parse(query), limit=10)]

    return with_highlights, plain


def fts5_queries(index: Path) -> tuple[Callable[[str], object], Callable[[str], object]]:
    connection = sqlite3.connect(index / "fts5.db")

    def match(query: str) -> str:
        return " OR ".join(f'"{word}"' for word in WORD.findall(query)) or '""'

    def with_snippets(query: str) -> object:
        sql = (
            "SELECT docs.path, snippet(docs_fts, 1, '<b>', '</b>', '...', 20) FROM docs_fts "
            "JOIN docs ON docs.rowid = docs_fts.rowid WHERE docs_fts MATCH ? ORDER BY rank LIMIT 10"
        )
        return connection.execute(sql, (match(query),)).fetchall()

    def plain(query: str) -> object:
        sql = (
            "SELECT docs.path FROM docs_fts JOIN docs ON docs.rowid = docs_fts.rowid "
            "WHERE docs_fts MATCH ? ORDER BY rank LIMIT 10"
        )
        return connection.execute(sql, (match(query),)).fetchall()

    return with_snippets, plain


def tantivy_queries(index: Path) -> tuple[Callable[[str], object], Callable[[str], object]]:
    import tantivy

    ix = tantivy.Index.open(str(index))
    ix.reload()
    searcher = ix.searcher()

    def parse(query: str) -> object:
        return ix.parse_query(" ".join(WORD.findall(query)) or "nothing", ["title", "body"])

    def with_snippets(query: str) -> object:
        parsed = parse(query)
        generator = tantivy.SnippetGenerator.create(searcher, parsed, ix.schema, "body")
        hits = searcher.search(parsed, 10).hits
        return [generator.snippet_from_doc(searcher.doc(address)).to_html() for _, address in hits]

    def plain(query: str) -> object:
        return [searcher.doc(address)["path"] for _, address in searcher.search(parse(query), 10).hits]

    return with_snippets, plain


QUERY_RUNNERS = {
    "searchidx": searchidx_queries,
    "plain-whoosh": plain_whoosh_queries,
    "fts5": fts5_queries,
    "tantivy": tantivy_queries,
}

COLD_PLAIN_WHOOSH = """
import sys
from whoosh import index
from whoosh.qparser import MultifieldParser, OrGroup
from whoosh.highlight import ContextFragmenter
ix = index.open_dir(sys.argv[1])
with ix.searcher() as searcher:
    parser = MultifieldParser(["title", "body"], ix.schema, group=OrGroup)
    results = searcher.search(parser.parse(sys.argv[2]), limit=10)
    results.fragmenter = ContextFragmenter()
    for hit in results:
        print(hit["title"]); print(hit.highlights("body"))
"""


def cold_cli(commands: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Median wall milliseconds of fresh processes, the engines interleaved run by run.

    Python runs as on a user's machine: bytecode is written on the first (untimed)
    run and reused, even where PYTHONDONTWRITEBYTECODE is set for this shell.
    """
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    for command in commands.values():
        subprocess.run(command, check=True, capture_output=True, env=env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env=env)
            times[name].append((time.perf_counter() - started) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


# ------------------------------------------------------------------ the run


def measure_ingests(folder: Path, work: Path, documents: int) -> dict[str, dict[str, float]]:
    rows: dict[str, dict[str, float]] = {}
    index = work / "searchidx"
    seconds, peak, _ = run_measured(
        [sys.executable, "-m", "searchidx", "ingest", str(folder), "--index", str(index), "--quiet"]
    )
    rows["searchidx"] = {"seconds": seconds, "rss": peak, "size": folder_size(index)}
    again, again_peak, _ = run_measured(
        [sys.executable, "-m", "searchidx", "ingest", str(folder), "--index", str(index), "--quiet"]
    )
    rows["searchidx re-ingest"] = {"seconds": again, "rss": again_peak, "size": folder_size(index)}
    for engine in ("plain-whoosh", "fts5", "tantivy"):
        if not available(engine):
            print(f"({engine} is not installed: pip install -e '.[bench]')")
            continue
        target = work / engine
        command = [sys.executable, __file__, "--ingest-with", engine, str(folder), str(target)]
        seconds, peak, _ = run_measured(command)
        rows[engine] = {"seconds": seconds, "rss": peak, "size": folder_size(target)}
    for row in rows.values():
        row["docs/s"] = documents / row["seconds"]
    return rows


def measure_queries(work: Path, rows: dict[str, dict[str, float]], queries: list[str]) -> None:
    for engine, row in rows.items():
        if engine in QUERY_RUNNERS:
            with_snippets, plain = QUERY_RUNNERS[engine](work / engine)
            row.update({f"{k} snip": v for k, v in latencies(with_snippets, queries).items()})
            row.update(latencies(plain, queries))


def print_table(rows: dict[str, dict[str, float]], documents: int) -> None:
    print(f"\nIngest end to end from {documents:,} files, and query latency (ms, top 10)")
    header = f"{'engine':<20} {'ingest s':>8} {'docs/s':>8} {'peak RSS':>9} {'size':>8} "
    print(header + f"{'p50':>6} {'p95':>6} {'max':>6} {'p50 snip':>8} {'p95 snip':>8} {'max snip':>8}")
    for engine, row in rows.items():
        line = f"{engine:<20} {row['seconds']:>8.2f} {row['docs/s']:>8.0f} {row['rss'] / 2**20:>7.0f}MB "
        line += f"{row['size'] / 2**20:>6.1f}MB "
        for key in ("p50", "p95", "max", "p50 snip", "p95 snip", "max snip"):
            line += (
                f"{row[key]:>{8 if 'snip' in key else 6}.1f} "
                if key in row
                else f"{'-':>{8 if 'snip' in key else 6}} "
            )
        print(line.rstrip())


def report_bars(rows: dict[str, dict[str, float]], cold: dict[str, float]) -> None:
    ours, plain = rows["searchidx"], rows["plain-whoosh"]
    bars = [
        ("ingest: plain Whoosh time / searchidx time >= 3", plain["seconds"] / ours["seconds"], 3.0, True),
        (
            "re-ingest unchanged / first ingest <= 0.10",
            rows["searchidx re-ingest"]["seconds"] / ours["seconds"],
            0.10,
            False,
        ),
        (
            "query p50 with snippets / plain Whoosh p50 without <= 1",
            ours["p50 snip"] / plain["p50"],
            1.0,
            False,
        ),
        (
            "query p50 with snippets / plain Whoosh p50 with highlights <= 1",
            ours["p50 snip"] / plain["p50 snip"],
            1.0,
            False,
        ),
        ("query p95 / p50 with snippets <= 2", ours["p95 snip"] / ours["p50 snip"], 2.0, False),
    ]
    if "sqlite-utils" in cold:
        bars.append(
            (
                "cold CLI: searchidx / sqlite-utils <= 0.9",
                cold["searchidx"] / cold["sqlite-utils"],
                0.9,
                False,
            )
        )
    print("\nThe bars of issues 6 and 15 at 1x (ratios from this run)")
    for label, value, limit, at_least in bars:
        met = value >= limit if at_least else value <= limit
        print(f"  {'met    ' if met else 'NOT MET'}  {label:<58} {value:6.2f}")


def measure_cold(work: Path, queries: list[str], runs: int) -> dict[str, float]:
    query = queries[0]
    commands = {
        "searchidx": [
            sys.executable,
            "-m",
            "searchidx",
            "query",
            query,
            "--index",
            str(work / "searchidx"),
            "--limit",
            "10",
        ],
        "plain Whoosh": [sys.executable, "-c", COLD_PLAIN_WHOOSH, str(work / "plain-whoosh"), query],
    }
    sqlite_utils = Path(sys.executable).with_name("sqlite-utils")
    if sqlite_utils.exists() and (work / "fts5").exists():
        commands["sqlite-utils"] = [
            str(sqlite_utils),
            "search",
            str(work / "fts5" / "fts5.db"),
            "docs",
            query,
            "--limit",
            "10",
        ]
    cold = cold_cli(commands, runs)
    print(f"\nCold CLI, one query with snippets, median of {runs} fresh processes: "
          + ", ".join(f"{name} {ms:.0f} ms" for name, ms in cold.items()))  # fmt: skip
    return cold


SCALES = (1, 2, 5, 10)


def measure_scale(
    cache: Path, work: Path, limit: int | None, queries: list[str]
) -> dict[int, dict[str, float]]:
    """Ingest and query latency with snippets at 1x, 2x, 5x and 10x the corpus; each index kept for checks.

    The machine's speed drifts over the minutes a run takes, so every ratio is measured side by
    side: the 1x corpus is ingested first and again last (its time is the mean of the two), and
    the queries go round the four indexes in turn, one query on each before the next query.
    """
    print("\nScale (copies 2 and up are synthetic, distinct articles: see write_corpus)")
    built: dict[int, dict[str, float]] = {}
    indexes: dict[int, Path] = {}
    for copies in (*SCALES, SCALES[0]):
        folder = cache / f"x{copies}"
        documents = write_corpus(folder, copies, limit)
        index = work / f"scale{copies}"
        if index.exists():
            shutil.rmtree(index)
        seconds, peak, _ = run_measured(
            [sys.executable, "-m", "searchidx", "ingest", str(folder), "--index", str(index), "--quiet"]
        )
        print(f"  ingested {copies}x ({documents:,} documents) in {seconds:.2f} s", flush=True)
        if copies in built:
            built[copies]["seconds"] = (built[copies]["seconds"] + seconds) / 2
            built[copies]["rss"] = max(built[copies]["rss"], peak)
            continue
        built[copies] = {"seconds": seconds, "rss": peak, "input": folder_size(folder) / 2**20,
                         "documents": documents}  # fmt: skip
        indexes[copies] = index
    runs = {copies: searchidx_queries(index)[0] for copies, index in indexes.items()}
    for copies, times in side_by_side_latencies(runs, queries).items():
        built[copies].update(times)
    print_scale_table(built, indexes)
    return built


def side_by_side_latencies(
    runs: dict[int, Callable[[str], object]], queries: list[str]
) -> dict[int, dict[str, float]]:
    """Median and p95 milliseconds per query on each engine, each query run on every one in turn."""
    for query in queries:
        for run in runs.values():
            run(query)
    times: dict[int, list[float]] = {key: [] for key in runs}
    for query in queries:
        for key, run in runs.items():
            started = time.perf_counter()
            run(query)
            times[key].append((time.perf_counter() - started) * 1000)
    return {
        key: {"p50": statistics.median(values), "p95": sorted(values)[int(len(values) * 0.95) - 1]}
        for key, values in times.items()
    }


def print_scale_table(built: dict[int, dict[str, float]], indexes: dict[int, Path]) -> None:
    columns = (
        "input",
        "ingest s",
        "x 1x",
        "per MB",
        "peak RSS",
        "size",
        "segments",
        "p50 snip",
        "p95 snip",
        "p50 x 1x",
        "p95/p50",
    )
    print(f"{'corpus':<8} {'documents':>10} " + " ".join(f"{name:>9}" for name in columns))
    first = built[SCALES[0]]
    for copies, row in built.items():
        seconds, read = row["seconds"], row["input"]
        per_mb = row["per_mb"] = (seconds / read) / (first["seconds"] / first["input"])
        size, rss = folder_size(indexes[copies]) / 2**20, row["rss"] / 2**20
        print(f"{copies}x{'':<6} {int(row['documents']):>10,} {read:>7.1f}MB {seconds:>9.2f} "
              f"{seconds / first['seconds']:>9.2f} {per_mb:>9.2f} "
              f"{rss:>7.0f}MB {size:>7.1f}MB {segment_count(indexes[copies]):>9} {row['p50']:>9.1f} "
              f"{row['p95']:>9.1f} {row['p50'] / first['p50']:>9.2f} {row['p95'] / row['p50']:>9.2f}",
              flush=True)  # fmt: skip


def segment_count(index: Path) -> int:
    from searchidx.engines.whoosh.storage import open_index

    return len(open_index(index).reader().leaf_readers())


def report_scale_bars(scale: dict[int, dict[str, float]]) -> None:
    """The bars of issue 15 at scale, from this run."""
    one, five, ten = scale[1], scale[5], scale[10]
    bars = [
        ("5x query p50 with snippets / 1x p50 <= 2", five["p50"] / one["p50"], 2.0),
        ("5x query p95 / 5x p50 <= 2.5", five["p95"] / five["p50"], 2.5),
        ("10x query p50 with snippets / 1x p50 <= 3", ten["p50"] / one["p50"], 3.0),
        ("10x ingest time / 1x ingest time <= 11", ten["seconds"] / one["seconds"], 11.0),
        ("10x ingest peak RSS (GB) < 2", ten["rss"] / 2**30, 2.0),
    ]
    print("\nThe bars of issue 15 at scale (ratios from this run)")
    for label, value, limit in bars:
        print(f"  {'met    ' if value <= limit else 'NOT MET'}  {label:<58} {value:6.2f}")
    grown = ten["input"] / one["input"]
    print(
        f"  (the copies carry a URL and a line more than the originals: 10x is {grown:.2f}x the 1x input, "
        f"and 10x ingest time per input MB is {ten['per_mb']:.2f}x the 1x time per MB)"
    )


def check_pruning(indexes: dict[str, Path], queries: list[str]) -> None:
    """For every query, the pruned top 10 against Whoosh scoring every match (ids, order and scores)."""
    from whoosh.collectors import TopCollector

    from searchidx.engines.whoosh.storage import open_index
    from searchidx.engines.whoosh.topk import top_documents
    from searchidx.query.parsing import parse_query, preloaded
    from searchidx.query.ranking import weighting

    print(
        "\nPruned top 10 against Whoosh scoring every match (usequality=False, replace=0), ids, order, scores"
    )
    for label, index in indexes.items():
        ix = open_index(index)
        with ix.searcher(weighting=weighting()) as searcher:
            equal = estimated = 0
            pruned_ms = exhaustive_ms = 0.0
            for text in queries:
                query = parse_query(text, ix.schema).query
                started = time.perf_counter()
                collector = TopCollector(10, usequality=False, replace=0)
                searcher.search_with_collector(preloaded(query), collector)
                expected = [(hit.docnum, hit.score) for hit in collector.results()]
                exhaustive_ms += (time.perf_counter() - started) * 1000
                started = time.perf_counter()
                got = top_documents(searcher, query, 10)
                pruned_ms += (time.perf_counter() - started) * 1000
                equal += list(zip(got.docnums, got.scores, strict=True)) == expected
                estimated += not got.exact
            print(f"  {label:<34} {segment_count(index):>3} segments: {equal}/{len(queries)} equal; "
                  f"totals estimated for {estimated}; mean ms: Whoosh exhaustive "
                  f"{exhaustive_ms / len(queries):.1f}, pruned {pruned_ms / len(queries):.1f}")  # fmt: skip


def measure_snippet_lengths() -> None:
    """Snippet time per hit against article length: one matching sentence among others that do not match."""
    from searchidx.query.analysis import text_analyzer
    from searchidx.searching.snippets import make_snippet

    analyzer = text_analyzer()
    words = frozenset({"parad", "putin"})
    filler = [
        record["body"] for record in read_records() if not re.search(r"(?i)parad|putin", record["body"])
    ]
    pool = " ".join(filler)
    print("\nSnippet time per hit by article length (one sentence matches; ms, median of 50)")
    for size in (1_000, 10_000, 100_000):
        text = pool[: size // 2] + " Putin watched the parade in Moscow. " + pool[size // 2 : size]
        times = []
        for _ in range(50):
            started = time.perf_counter()
            make_snippet(text, words, analyzer)
            times.append((time.perf_counter() - started) * 1000)
        print(f"  {size:>8,} chars: {statistics.median(times):6.3f} ms")


# A word most Reuters articles hold, so the chart counts most of the archive.
TREND_WORD = "said"
TREND_REQUESTS = [  # (label, path, parameters): the chart's server side, on the 1x index
    ("chart numbers, 1 query (/api/trend)", "/api/trend", {"q": TREND_WORD, "words": "0", "sources": "0"}),
    (
        "chart numbers, 2 queries compared",
        "/api/trend",
        {"q": [TREND_WORD, "oil"], "words": "0", "sources": "0"},
    ),
    ("chart with top words and sources", "/api/trend", {"q": TREND_WORD}),
    ("search page: hits, facets", "/", {"q": TREND_WORD}),
    ("chart image: chart, top words (kept)", "/chart.svg", {"q": TREND_WORD}),
]
TREND_BAR_MS = 150.0


def measure_trend(index: Path, runs: int = 20) -> None:
    """Server time of the chart for a word most articles hold (median of ``runs`` requests each)."""
    from falcon import testing

    from searchidx import Index
    from searchidx.outputs.web.app import create_app

    with Index(index) as ix:
        shown = (
            f"'{TREND_WORD}': {ix.search(TREND_WORD, exact_total=True).total:,} of {ix.document_count():,}"
        )
    client = testing.TestClient(create_app(index))
    print(f"\nAttention over time in the server ({shown} articles; ms, median of {runs})")
    medians = {}
    for label, path, params in TREND_REQUESTS:
        client.simulate_get(path, params=params)  # warm: the first request opens the searcher
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            answer = client.simulate_get(path, params=params)
            times.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, answer.text
        medians[label] = statistics.median(times)
        print(f"  {label:<42} {medians[label]:7.1f}")
    chart = medians[TREND_REQUESTS[0][0]]
    verdict = "met    " if chart < TREND_BAR_MS else "NOT MET"
    print(f"  {verdict}  chart p50, a query matching most articles, < {TREND_BAR_MS:.0f} ms {chart:9.1f}")


LAYOUTS = [  # (label, nodes, shards, replicas); 0 nodes: Whoosh
    ("Whoosh", 0, 0, 0),
    ("OpenSearch, 1 node, 1 shard", 1, 1, 0),
    ("OpenSearch, 3 nodes, 3 shards x 1 replica", 3, 3, 1),
]


def measure_backends(cache: Path, work: Path, limit: int | None, queries: list[str]) -> None:
    """Whoosh and OpenSearch (1 and 3 nodes) side by side at 1x and 5x: ingest and query latency."""
    sys.path.insert(0, str(ROOT / "cluster"))
    from nodes import Cluster

    print("\nBackends side by side (all on this machine; copies 2 and up are synthetic)")
    columns = ("ingest s", "docs/s", "p50 snip", "p95 snip", "p50 x 1x")
    print(f"{'backend':<46} {'documents':>10} " + " ".join(f"{name:>9}" for name in columns))
    for label, nodes, shards, replicas in LAYOUTS:
        with contextlib.ExitStack() as stack:
            cluster = stack.enter_context(Cluster(nodes)) if nodes else None
            base = None
            for copies in (1, 5):
                documents = write_corpus(cache / f"x{copies}", copies, limit)
                index = f"{cluster.url}/speed{copies}" if cluster else str(work / f"whoosh{copies}")
                command = [
                    sys.executable,
                    "-m",
                    "searchidx",
                    "ingest",
                    str(cache / f"x{copies}"),
                    "--index",
                    index,
                ]
                if cluster:
                    command += ["--shards", str(shards), "--replicas", str(replicas)]
                seconds, _, _ = run_measured([*command, "--quiet"])
                times = latencies(searchidx_queries(index)[0], queries)
                base = base or times["p50"]
                row = f"{label} {copies}x"
                figures = (seconds, documents / seconds, times["p50"], times["p95"], times["p50"] / base)
                print(
                    f"{row:<46} {documents:>10,} " + " ".join(f"{value:>9.2f}" for value in figures),
                    flush=True,
                )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1x only, 100 queries")
    parser.add_argument("--docs", type=int, help="use the first N articles only")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "searchidx-speed-corpus")
    parser.add_argument("--write-queries", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--backend", choices=["whoosh", "opensearch"], default="whoosh")
    parser.add_argument("--scale", type=int, help="every command at this multiple of the corpus (scale.py)")
    parser.add_argument(
        "--ingest-with", nargs=3, metavar=("ENGINE", "FOLDER", "INDEX"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.ingest_with:
        engine, folder, index = args.ingest_with
        INGESTS[engine](Path(folder), Path(index))
        return 0
    if not REUTERS.exists():
        print(f"no benchmark data: {REUTERS} is missing", file=sys.stderr)
        return 2
    if args.write_queries:
        write_queries()
        return 0
    if args.scale:
        import scale

        return scale.main(["--scale", str(args.scale), "--cache", str(args.cache)])
    queries = QUERIES.read_text(encoding="utf-8").splitlines()[: 100 if args.quick else 300]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"searchidx speed benchmark, {time.strftime('%Y-%m-%d')}, {platform.python_implementation()} "
          f"{platform.python_version()}, {cores} cores, {len(queries)} queries")  # fmt: skip
    if args.backend == "opensearch":
        with tempfile.TemporaryDirectory(prefix="searchidx-speed-") as temp:
            measure_backends(args.cache, Path(temp), args.docs, queries)
        return 0
    folder = args.cache / "x1"
    documents = write_corpus(folder, 1, args.docs)
    with tempfile.TemporaryDirectory(prefix="searchidx-speed-") as temp:
        work = Path(temp)
        rows = measure_ingests(folder, work, documents)
        measure_queries(work, rows, queries)
        print_table(rows, documents)
        cold = measure_cold(work, queries, runs=5 if args.quick else 10)
        report_bars(rows, cold)
        measure_snippet_lengths()
        measure_trend(work / "searchidx")
        if not args.quick:
            scale = measure_scale(args.cache, work, args.docs, queries)
            report_scale_bars(scale)
            one_segment = work / "one-segment"
            one_writer = ["ingest", str(folder), "--index", str(one_segment), "--workers", "1", "--quiet"]
            run_measured([sys.executable, "-m", "searchidx", *one_writer])
            check_pruning(
                {"1x, one writer": one_segment, "1x, two workers": work / "scale1", "5x": work / "scale5",
                 "10x": work / "scale10"},
                queries,
            )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
