"""Every command at N times the Reuters corpus, each copy a distinct article, against the bars of issue 35.

    python benchmarks/scale.py --scale 50 [--cache DIR] [--work DIR]
    python benchmarks/speed.py --scale 50          (the same run)
    python benchmarks/scale.py --scale 50 --work DIR --reuse   (searches only, on that run's indexes)

The Nx corpus is the 19,043 Reuters articles (copy 0) and N-1 synthetic
copies of them, each copy a distinct article: every word of four letters or
more is replaced by its neighbour in a permutation of the corpus's words of
about the same frequency (a permutation per copy, so term statistics keep
their shape while texts and headlines differ), the date moves 211 days per
copy (copy 49 runs in 2015), and the URL is the copy's own. No two copies
are versions of one story, and none is a duplicate.

In one run, side by side: the peers' 1x ingest (tantivy and SQLite FTS5, a
subprocess each), searchidx's 1x ingest, three pairs of tantivy's and
searchidx's 1x ingests one right after the other (the ratio is the pairs'
median: the machine's speed drifts within a run), then at Nx: the ingest end to end
(peak RSS of the process tree), an unchanged re-ingest, the 300 queries of
``benchmarks/queries.txt`` with snippets on the 1x and Nx indexes in turn
(p50, p95), a fresh CLI query (cold, median of 5), ``searchidx serve``
answering the 300 queries over HTTP (its peak RSS), the search page and the
chart for a word most articles hold, then each command as a user runs it (a
fresh process each, median of 3 where it is quick): ``query --facets``,
``query --sort date``, ``trend`` (with its top words), ``similar``,
``stats``, ``check`` and ``query --csv --all`` for a common word; and the
semantic extra's rate on 1,000 articles with the Nx projection. Prints the
table of the bars.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed import (
    QUERIES,
    REUTERS,
    ROOT,
    TREND_WORD,
    available,
    folder_size,
    measure,
    run_measured,
    searchidx_queries,
    segment_count,
    side_by_side_latencies,
    write_corpus,
)

COMMON_WORD = TREND_WORD  # held by most articles
BARS = {  # figure: (bar, "at most" or "at least")
    "ingest, end to end (min)": 15.0,
    "ingest peak RSS (GB)": 2.0,
    "server peak RSS after the 300 queries (GB)": 2.0,
    "query p50 with snippets / 1x p50": 3.0,
    "query p95 / p50": 2.5,
    "search page, a word in most articles, first ask (s)": 1.0,
    "trend of that word, warm (ms)": 500.0,
    "cold CLI query (s)": 1.5,
    "unchanged re-ingest (min)": 2.0,
    "check (min)": 10.0,
    "1x ingest / tantivy 1x ingest": 8.0,
}


# ------------------------------------------------------------ measurements


def searchidx_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "searchidx", *args]


def ingest(folder: Path, index: Path) -> dict[str, float]:
    """``searchidx ingest`` in a subprocess: seconds and peak RSS of its tree (and the anonymous part)."""
    measured = measure(searchidx_cli("ingest", str(folder), "--index", str(index), "--quiet"))
    first, *children = measured.parts or [0]
    return {"seconds": measured.seconds, "rss": measured.peak, "anonymous": measured.anonymous,
            "ingest process": first, "children": sum(children), "processes": 1 + len(children)}  # fmt: skip


def timed_runs(command: list[str], runs: int) -> float:
    """Median seconds of ``runs`` fresh processes running ``command`` (output discarded), after an
    untimed first run when there are several (it compiles the modules: a user's install caches them,
    and this machine's shell sets ``PYTHONDONTWRITEBYTECODE``, left out here)."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    times = []
    for run in range(runs + 1 if runs > 1 else runs):
        started = time.perf_counter()
        subprocess.run(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, cwd=ROOT, env=env
        )
        if runs == 1 or run:
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def warm_median(request: Callable[[], object], runs: int = 5) -> float:
    """Median seconds of ``runs`` calls after one."""
    request()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        request()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=600) as answer:
        body: bytes = answer.read()
        return body


def served(index: Path, queries: list[str]) -> dict[str, float]:
    """``searchidx serve`` answering the 300 queries (one client), then the search page of the common
    word asked for the first time (the server keeps charts: a second ask is served from memory):
    its time, and the server's peak RSS."""
    from serve_load import Server

    server = Server(index, "--rate", "0")
    try:
        peak = 0.0
        for query in queries:
            fetch(f"{server.url}/api/search?q={quote(query)}")
            peak = max(peak, server.rss_mb())
        started = time.perf_counter()
        fetch(f"{server.url}/?q={quote(COMMON_WORD)}")
        page = time.perf_counter() - started
        peak = max(peak, server.rss_mb())
    finally:
        server.stop()
    return {"page": page, "rss": peak * 2**20}


def trend_seconds(index: Path) -> float:
    """The chart of the common word with its top words and sources, computed anew each time by a warm
    index (median of 5 after one)."""
    from searchidx import Index

    with Index(index) as opened:
        return warm_median(lambda: opened.trend(COMMON_WORD))


def some_article(index: Path) -> str:
    from searchidx import Index

    with Index(index) as opened:
        return str(opened.search("oil prices", limit=1).hits[0].id)


def semantic_rate(folder: Path, work: Path) -> float | None:
    """Articles a second the semantic extra's ingest takes on 1,000 articles, or None without it."""
    try:
        import searchidx.meaning.model  # noqa: F401
    except ImportError:
        return None
    sample, index = work / "semantic-sample", work / "semantic-index"
    for left in (sample, index):  # an earlier run's (--reuse)
        shutil.rmtree(left, ignore_errors=True)
    sample.mkdir()
    for path in sorted(folder.glob("*.txt"))[:1000]:
        shutil.copy(path, sample / path.name)
    started = time.perf_counter()
    done = subprocess.run(searchidx_cli("ingest", str(sample), "--index", str(index),
                                        "--semantic", "--quiet"), capture_output=True, text=True)  # fmt: skip
    if done.returncode:
        print(f"  (the semantic ingest failed: {done.stderr.strip()[:200]})")
        return None
    return 1000 / (time.perf_counter() - started)


def peers(folder: Path, work: Path) -> dict[str, float]:
    """Seconds of each peer's 1x ingest, in a subprocess each."""
    engines = [engine for engine in ("tantivy", "fts5") if available(engine)]
    return {engine: peer_ingest(engine, folder, work / engine) for engine in engines}


def peer_ingest(engine: str, folder: Path, target: Path) -> float:
    """Seconds of ``engine``'s ingest of ``folder`` into ``target``, in a subprocess."""
    speed = str(ROOT / "benchmarks" / "speed.py")
    return run_measured([sys.executable, speed, "--ingest-with", engine, str(folder), str(target)])[0]


def run(scale: int, cache: Path, work: Path, *, reuse: bool = False) -> None:
    queries = QUERIES.read_text(encoding="utf-8").splitlines()
    print(f"searchidx at {scale}x the Reuters corpus, {time.strftime('%Y-%m-%d %H:%M')}")
    one, many = cache / "distinct-x1", cache / f"distinct-x{scale}"
    documents = write_corpus(one, 1, None), write_corpus(many, scale, None)
    size = folder_size(many) / 2**30
    print(f"corpora: 1x {documents[0]:,} files, {scale}x {documents[1]:,} files ({size:.2f} GB)")
    figures: dict[str, float] = {}
    small, large = work / "x1", work / f"x{scale}"
    peer: dict[str, float] = {}
    first = {"seconds": float("nan")}
    if reuse:
        print(f"the indexes of an earlier run in {work}: searches only ({segment_count(large)} segments)")
    else:
        peer, first = build(figures, one, many, small, large)
    runs = {1: searchidx_queries(small)[0], scale: searchidx_queries(large)[0]}
    times = side_by_side_latencies(runs, queries)
    figures["query p50 with snippets / 1x p50"] = times[scale]["p50"] / times[1]["p50"]
    figures["query p95 / p50"] = times[scale]["p95"] / times[scale]["p50"]
    one_p50, p50, p95 = times[1]["p50"], times[scale]["p50"], times[scale]["p95"]
    print(f"queries with snippets: 1x p50 {one_p50:.1f} ms; {scale}x p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    figures["cold CLI query (s)"] = timed_runs(searchidx_cli("query", "oil prices", "--index", str(large)), 5)
    server = served(large, queries)
    figures["server peak RSS after the 300 queries (GB)"] = server["rss"] / 2**30
    figures["search page, a word in most articles, first ask (s)"] = server["page"]
    figures["trend of that word, warm (ms)"] = trend_seconds(large) * 1000
    article = some_article(large)
    commands = {
        "query --facets year,source": (["query", "oil prices", "--facets", "year,source"], 3),
        "query --sort date": (["query", "oil prices", "--sort", "date"], 3),
        f"trend {COMMON_WORD} (top words)": (["trend", COMMON_WORD], 3),
        "similar": (["similar", article], 3),
        "stats": (["stats"], 3),
        f"query --csv --all {COMMON_WORD}": (["query", COMMON_WORD, "--csv", "--all"], 1),
    }
    print(f"\ncommands at {scale}x (a fresh process each; seconds, median of the runs)")
    for label, (args, count) in commands.items():
        seconds = timed_runs(searchidx_cli(*args, "--index", str(large)), count)
        print(f"  {label:<40} {seconds:8.2f}", flush=True)
    check_seconds, _, said = run_measured(searchidx_cli("check", "--index", str(large)))
    figures["check (min)"] = check_seconds / 60
    print(f"  {'check':<40} {check_seconds:8.2f}  ({said.strip()[:100]})")
    try:
        rate = semantic_rate(one / "copy0", work)
    except (OSError, subprocess.SubprocessError) as error:
        print(f"  (the semantic extra could not be measured: {error})")
        rate = None
    if rate is not None:
        hours = documents[1] / rate / 3600
        print(f"  semantic extra: {rate:.0f} articles/s on 1,000 articles: {hours:.1f} h at {scale}x")
    print(
        f"\nThe bars at {scale}x ({documents[1]:,} articles), beside the peers' 1x ingest: "
        + ", ".join(f"{k} {v:.2f} s" for k, v in peer.items())
        + (f"; searchidx 1x {first['seconds']:.2f} s" if not reuse else "; no ingest measured")
    )
    for label, bar in BARS.items():
        value = figures.get(label)
        if value is None:
            print(f"  not measured  {label}")
            continue
        print(f"  {'met    ' if value <= bar else 'NOT MET'}  {label:<48} {value:9.2f}  (bar <= {bar:g})")


def paired_ratio(one: Path, work: Path, pairs: int = 3) -> float:
    """The median ratio of searchidx's 1x ingest to tantivy's over ``pairs`` pairs run one after the
    other (the machine's speed drifts: a pair shares it), each into a fresh folder."""
    ratios = []
    for _ in range(pairs):
        shutil.rmtree(work / "tantivy-pair", ignore_errors=True)
        peer = peer_ingest("tantivy", one / "copy0", work / "tantivy-pair")
        ours = ingest(one, work / "x1-pair")["seconds"]
        shutil.rmtree(work / "x1-pair", ignore_errors=True)
        ratios.append(ours / peer)
        print(f"  1x pair: tantivy {peer:.2f} s, searchidx {ours:.2f} s: {ours / peer:.2f}", flush=True)
    return statistics.median(ratios)


def build(
    figures: dict[str, float], one: Path, many: Path, small: Path, large: Path
) -> tuple[dict[str, float], dict[str, float]]:
    """The peers' 1x ingest, then searchidx's at 1x and Nx and an unchanged re-ingest, into ``figures``."""
    peer = peers(one / "copy0", small.parent)
    first = ingest(one, small)
    print(
        f"1x: searchidx {first['seconds']:.1f} s, " + ", ".join(f"{k} {v:.2f} s" for k, v in peer.items()),
        flush=True,
    )
    if "tantivy" in peer:
        figures["1x ingest / tantivy 1x ingest"] = paired_ratio(one, small.parent)
    built = ingest(many, large)
    figures["ingest, end to end (min)"] = built["seconds"] / 60
    figures["ingest peak RSS (GB)"] = built["rss"] / 2**30
    print(f"{many.name}: ingest {built['seconds']:.0f} s, peak RSS {built['rss'] / 2**30:.2f} GB "
          f"(anonymous {built['anonymous'] / 2**30:.2f} GB, the rest file pages mapped; the ingest process "
          f"{built['ingest process'] / 2**30:.2f} GB, {built['processes'] - 1:.0f} children "
          f"{built['children'] / 2**30:.2f} GB), "
          f"{segment_count(large)} segments, {folder_size(large) / 2**30:.2f} GB", flush=True)  # fmt: skip
    again = ingest(many, large)
    figures["unchanged re-ingest (min)"] = again["seconds"] / 60
    return peer, first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=50, help="the multiple of the Reuters corpus")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "searchidx-speed-corpus")
    parser.add_argument("--work", type=Path, help="where the indexes go (default: a temporary folder)")
    parser.add_argument(
        "--reuse", action="store_true", help="search the indexes an earlier run left in --work (no ingest)"
    )
    args = parser.parse_args(argv)
    if not REUTERS.exists():
        print(f"no benchmark data: {REUTERS} is missing", file=sys.stderr)
        return 2
    if args.reuse:
        if not (args.work and (args.work / f"x{args.scale}").is_dir() and (args.work / "x1").is_dir()):
            print("--reuse needs --work holding the x1 and xN indexes of an earlier run", file=sys.stderr)
            return 2
        run(args.scale, args.cache, args.work, reuse=True)
    elif args.work:
        shutil.rmtree(args.work, ignore_errors=True)
        args.work.mkdir(parents=True)
        run(args.scale, args.cache, args.work)
    else:
        with tempfile.TemporaryDirectory(prefix="searchidx-scale-") as temp:
            run(args.scale, args.cache, Path(temp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
