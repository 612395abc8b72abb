"""``searchidx serve`` under load, with a real HTTP load generator (``wrk``, from Debian), in one run.

Ingests the Reuters-21578 articles (``../shared/data/news/reuters21578.jsonl``,
one JSON Lines file; cached in a temp folder, or ``--index`` names an index),
starts ``searchidx serve`` on a free port (no rate limit: every client is this
machine), then drives it with ``wrk`` (started and stopped by this script) and
prints:

- API searches/s and latency p50/p99 at 1, 8, 32 and 128 clients over the 300
  queries of ``benchmarks/queries.txt``, with the count of errors;
- the search page's pages/s at 32 clients, against the API's rate at 32 clients:
  over 150 queries never searched, then over 150 queries searched once before, and
  the API over those 150 (the page shows its chart as an image, ``/chart.svg``,
  which a browser asks for next: wrk asks for the page alone);
- the chart images of the 150 queries never charted, each asked for once by 4
  clients (as many as the costly requests allowed at once): each draws its chart and
  top words (then kept per query and index generation);
- a cheap query's p50/p99 while 8 other clients send the costliest queries
  (``a*``, ``s*``, 46 fuzzy words, ``*``): their answers (200, 503 busy, 504 over
  budget) are counted;
- 500 slow connections (a partial request each) and a search's time beside them;
- the server's resident memory after the whole run.

    python benchmarks/serve_load.py [--index DIR] [--cache DIR] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
REUTERS = ROOT.parent / "shared" / "data" / "news" / "reuters21578.jsonl"
QUERIES = Path(__file__).with_name("queries.txt")
LUA = """
local paths = {}
for line in io.lines(os.getenv("WRK_PATHS")) do paths[#paths + 1] = line end
local counter = 0
request = function()
  counter = counter % #paths + 1
  return wrk.format("GET", paths[(counter * 7919) % #paths + 1])
end
"""
FUZZY_WORDS = (
    "gold bank rate said trade year also will last week oil sale loss debt fund plan cuts firm help bond "
    "cash grain rise fall deal bid unit corp says sees net shr qtr cts dlrs mln pct cut stake tax bill vote "
    "lead wage jobs fed"
)
FUZZY = " ".join(f"{word}~2" for word in FUZZY_WORDS.split())  # 46 words, 313 characters
COSTLY = ["a*", "s*", FUZZY, "*", "c* d* e*"]


def reuters_index(cache: Path) -> Path:
    """The Reuters articles ingested once into ``cache``."""
    index = cache / "index"
    if (index / ".complete").exists():
        return index
    shutil.rmtree(cache, ignore_errors=True)
    (cache / "news").mkdir(parents=True)
    shutil.copy(REUTERS, cache / "news" / "reuters.jsonl")
    subprocess.run([sys.executable, "-m", "searchidx", "ingest", str(cache / "news"), "--index", str(index)],
                   check=True, cwd=ROOT)  # fmt: skip
    (index / ".complete").write_text("")
    return index


class Server:
    """``searchidx serve`` in a child process."""

    def __init__(self, index: Path, *args: str) -> None:
        command = [sys.executable, "-m", "searchidx", "serve", "--index", str(index), "--port", "0", *args]
        self.process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
        assert self.process.stderr is not None
        line = self.process.stderr.readline()
        match = re.search(r"at (http://\S+/) ", line)
        if not match:
            raise SystemExit(f"the server did not start: {line}")
        self.url = match.group(1).rstrip("/")
        self.port = int(self.url.rsplit(":", 1)[1])

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]

    def stop(self) -> None:
        self.process.terminate()
        self.process.communicate(timeout=30)


def wrk(url: str, paths: list[str], clients: int, seconds: float, folder: Path) -> dict[str, float]:
    """One ``wrk`` run over ``paths``: requests/s, p50 and p99 (ms), errors (non-2xx and socket errors)."""
    listing = folder / f"paths-{clients}-{len(paths)}.txt"
    listing.write_text("\n".join(paths) + "\n")
    script = folder / "paths.lua"
    script.write_text(LUA)
    done = subprocess.run(
        ["wrk", "-t", str(min(clients, 2)), "-c", str(clients), "-d", f"{seconds:g}s", "--latency",
         "--timeout", "30s", "-s", str(script), url],
        capture_output=True, text=True, check=True, env={"WRK_PATHS": str(listing), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    return parse_wrk(done.stdout)


def parse_wrk(text: str) -> dict[str, float]:
    """Requests/s, p50/p99 in ms, and errors from ``wrk --latency``'s report."""

    def ms(label: str) -> float:
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(int(group) for group in socket_errors.groups()) if socket_errors else 0
    return {"rate": float(rate.group(1)) if rate else 0.0, "p50": ms("50%"), "p99": ms("99%"),
            "errors": errors}  # fmt: skip


def each_once(url: str, paths: list[str], clients: int) -> dict[str, float]:
    """Ask for each of ``paths`` once, from ``clients`` clients: requests/s, p50 and p99 (ms), errors."""
    from concurrent.futures import ThreadPoolExecutor

    def fetch(path: str) -> tuple[float, int]:
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(url + path, timeout=60) as answer:
                answer.read()
                status = answer.status
        except urllib.error.HTTPError as error:
            status = error.code
        return (time.perf_counter() - started) * 1000, status

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        done = list(pool.map(fetch, paths))
    took = time.perf_counter() - started
    times = sorted(ms for ms, _ in done)
    return {"rate": len(paths) / took, "p50": times[len(times) // 2], "p99": times[int(len(times) * 0.99)],
            "errors": sum(status != 200 for _, status in done)}  # fmt: skip


def costly_statuses(url: str, seconds: float) -> dict[int, int]:
    """Send the costly queries from 8 clients for ``seconds``; the count of each status answered."""
    from concurrent.futures import ThreadPoolExecutor

    stop = time.monotonic() + seconds
    counts: dict[int, int] = {}

    def client(number: int) -> None:
        turn = number
        while time.monotonic() < stop:
            query = COSTLY[turn % len(COSTLY)]
            turn += 1
            try:
                with urllib.request.urlopen(f"{url}/api/search?q={quote(query)}", timeout=60) as answer:
                    status = answer.status
            except urllib.error.HTTPError as error:
                status = error.code
            counts[status] = counts.get(status, 0) + 1

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(client, range(8)))
    return counts


def slow_connections(server: Server, count: int = 500) -> float:
    """Open ``count`` connections that send part of a request, then nothing; a search's time beside them."""
    slow = []
    try:
        for _ in range(count):
            connection = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            connection.sendall(b"GET /api/search?q=gold HTTP/1.1\r\nHost: newsroom\r\n")
            slow.append(connection)
        started = time.perf_counter()
        with urllib.request.urlopen(f"{server.url}/api/search?q=gold", timeout=60) as answer:
            answer.read()
        return time.perf_counter() - started
    finally:
        for connection in slow:
            connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, help="an existing index (default: Reuters, ingested once)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "searchidx-serve-load")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each wrk run")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    if args.index is None and not REUTERS.exists():
        print(f"no benchmark data: {REUTERS} is missing", file=sys.stderr)
        return 2
    index = args.index or reuters_index(args.cache)
    queries = QUERIES.read_text(encoding="utf-8").splitlines()
    api = [f"/api/search?q={quote(query)}" for query in queries]
    pages = [f"/?q={quote(query)}" for query in queries]
    charts = [f"/chart.svg?q={quote(query)}" for query in queries]
    folder = Path(tempfile.mkdtemp(prefix="serve-load-"))
    server = Server(index, "--rate", "0")
    results: dict[str, object] = {}
    try:
        for clients in (1, 8, 32, 128):
            results[f"api {clients}"] = wrk(server.url, api, clients, args.seconds, folder)
        half = len(pages) // 2
        results["page 32, new queries"] = wrk(server.url, pages[:half], 32, args.seconds, folder)
        for page in pages[half:]:  # people have searched these since the last ingest
            urllib.request.urlopen(server.url + page, timeout=60).read()
        results["page 32, queries seen"] = wrk(server.url, pages[half:], 32, args.seconds, folder)
        results["api 32, the same queries"] = wrk(server.url, api[half:], 32, args.seconds, folder)
        results["chart images 4, each drawn once"] = each_once(server.url, charts[:half], 4)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1) as pool:
            costly = pool.submit(costly_statuses, server.url, args.seconds + 2)
            results["cheap gold beside 8 costly clients"] = wrk(
                server.url, ["/api/search?q=gold"], 2, args.seconds, folder
            )
            results["costly answers (status: count)"] = costly.result()
        results["search beside 500 slow connections (s)"] = round(slow_connections(server), 3)
        results["server RSS after the run (MB)"] = round(server.rss_mb(), 1)
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    for name, value in results.items():
        if isinstance(value, dict) and "rate" in value:
            rate, p50, p99, errors = value["rate"], value["p50"], value["p99"], int(value["errors"])
            print(f"{name:45} {rate:8.1f}/s  p50 {p50:8.1f} ms  p99 {p99:8.1f} ms  errors {errors}")
        else:
            print(f"{name:45} {json.dumps(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
