"""The costliest queries a user can type, on the Reuters index: time and peak memory of each, in one run.

Writes the Reuters-21578 corpus (``../shared/data/news/reuters21578.jsonl``,
19,043 articles) as one seed-format file per article and ingests it once
(cached in a temp folder, or ``--index`` names an existing index), then runs
each query below through ``Index.search`` (top 10, default snippets, as the
CLI and the API search) in a fresh process of its own, and prints its wall
time, the process's resident memory before the query (index open, one cheap
query run) and at its peak, the total and the notes the search gave:

- ``*`` (every article), ``*`` newest first, ``title:*``;
- ``a*`` (a one-letter prefix), ``*tion`` (a leading wildcard);
- 50 words ``word~2`` (349 characters: 50 four-letter words of the
  headlines, two edits each);
- a 500-word phrase (the first 500 words of the bodies, quoted), the same
  words unquoted, and ``"said said ... said"`` (500 times: every article
  holding the word checked at every position);
- ``gold`` for scale.

With ``--deadline S`` each search is also given a budget of S seconds
(``Index.search(..., deadline=S)``) and the table says which ones ran out.
A query still running after ``--timeout`` seconds (default 180) is stopped.

    python benchmarks/costly_queries.py [--index DIR] [--cache DIR] [--deadline 2] [--timeout 180]
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed import REUTERS, read_records, write_corpus  # noqa: E402

WORD = re.compile(r"[A-Za-z]+")
FUZZY_WORDS = 50
PHRASE_WORDS = 500


def fuzzy_query() -> str:
    """50 four-letter headline words, each with two edits allowed: 349 characters."""
    counts = Counter(
        word.lower() for record in read_records() for word in WORD.findall(record["title"]) if len(word) == 4
    )
    words = [word for word, _ in counts.most_common(FUZZY_WORDS)]
    return " ".join(f"{word}~2" for word in words)


def phrase_query() -> str:
    """The first 500 words of the articles' bodies, as one quoted phrase."""
    words: list[str] = []
    for record in read_records():
        words += WORD.findall(record["body"])
        if len(words) >= PHRASE_WORDS:
            break
    return '"' + " ".join(words[:PHRASE_WORDS]) + '"'


def queries() -> list[tuple[str, str, str]]:
    """(label, query, sort) of each measured search."""
    return [
        ("gold", "gold", "relevance"),
        ("*", "*", "relevance"),
        ("* newest first", "*", "-date"),
        ("title:*", "title:*", "relevance"),
        ("a*", "a*", "relevance"),
        ("*tion", "*tion", "relevance"),
        ("50 x word~2", fuzzy_query(), "relevance"),
        ("500-word phrase", phrase_query(), "relevance"),
        ('500 x "said" phrase', '"' + " ".join(["said"] * PHRASE_WORDS) + '"', "relevance"),
        ("500 words", " ".join(phrase_query().strip('"').split()), "relevance"),
    ]


def status_mb(field: str) -> float:
    """A memory figure of this process from ``/proc/self/status`` (``VmRSS``, ``VmHWM``), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak() -> None:
    """Make the peak resident memory (``VmHWM``) start again from the memory in use now (Linux 4.0+)."""
    Path("/proc/self/clear_refs").write_text("5")


def one(index: str, query: str, sort: str, deadline: float | None) -> None:
    """Run one search in this process and print what it cost, as JSON (the child's side)."""
    from searchidx import Index
    from searchidx.errors import SearchidxError

    with Index(index) as ix:
        ix.search("oil prices")  # the index read once, as a server's first search would
        before = status_mb("VmRSS")
        reset_peak()
        options: dict[str, object] = {"sort": sort}
        started = time.perf_counter()
        if deadline is not None:
            options["deadline"] = time.monotonic() + deadline
        outcome: dict[str, object]
        try:
            results = ix.search(query, **options)  # type: ignore[arg-type]
            outcome = {"total": results.total, "exact": results.total_is_exact, "notes": list(results.notes)}
        except SearchidxError as error:
            outcome = {"error": f"{type(error).__name__}: {error.message}"}
        seconds = time.perf_counter() - started
        peak = status_mb("VmHWM")
    print(json.dumps({"seconds": seconds, "rss_before": before, "rss_peak": peak, **outcome}))


def measure(index: str, label: str, query: str, sort: str, deadline: float | None, timeout: float) -> str:
    """One table row: the search run in a child process."""
    command = [sys.executable, __file__, f"--one={query}", f"--sort={sort}", "--index", index]
    if deadline is not None:
        command += ["--deadline", str(deadline)]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return f"| {label} | stopped after {timeout:.0f} s | | | |"
    if done.returncode:
        failure = done.stderr.strip()[-300:]
        return f"| {label} | failed ({time.perf_counter() - started:.1f} s): {failure} | | | |"
    found = json.loads(done.stdout.strip().splitlines()[-1])
    said = found.get("error") or f"{found['total']:,}{'' if found['exact'] else ' (estimate)'}"
    notes = " ".join(found.get("notes", []))
    return (
        f"| {label} | {found['seconds']:.3f} | {found['rss_before']:.0f} | {found['rss_peak']:.0f} "
        f"| {said} | {notes} |"
    )


def reuters_index(cache: Path) -> Path:
    """The Reuters index, built once in ``cache`` (one file per article, then ``searchidx ingest``)."""
    index = cache / "index"
    marker = index / ".complete"
    if marker.exists():
        return index
    documents = write_corpus(cache / "x1", 1, None)
    print(f"ingesting {documents:,} articles into {index} ...", file=sys.stderr)
    command = [sys.executable, "-m", "searchidx", "ingest", str(cache / "x1"), "--index", str(index), "-q"]
    subprocess.run(command, check=True)
    marker.write_text("done")
    return index


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--index", help="an existing index of the Reuters articles")
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "searchidx-costly-queries"
    )
    parser.add_argument("--deadline", type=float, help="give every search this many seconds")
    parser.add_argument("--timeout", type=float, default=180.0, help="stop a search after this many seconds")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--sort", default="relevance", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        one(args.index, args.one, args.sort, args.deadline)
        return
    if not REUTERS.exists():
        sys.exit(f"{REUTERS} is missing: the benchmark needs the Reuters corpus.")
    index = args.index or str(reuters_index(args.cache))
    from searchidx import Index

    if args.deadline is not None and "deadline" not in inspect.signature(Index.search).parameters:
        sys.exit("This version of searchidx has no deadline for a search.")
    with Index(index) as ix:
        count = ix.document_count()
    budget = f", a {args.deadline:g} s deadline" if args.deadline is not None else ""
    print(f"Costly queries on {index} ({count:,} articles{budget}), each in a fresh process; RSS in MB\n")
    print("| query | seconds | RSS before | peak RSS | total | notes |")
    print("|---|---|---|---|---|---|")
    for label, query, sort in queries():
        print(measure(index, label, query, sort, args.deadline, args.timeout), flush=True)


if __name__ == "__main__":
    main()
