"""``searchidx serve`` shared with a newsroom: every protection tested on a real server process and real sockets.

Each server is ``python -m searchidx serve --port 0`` in a child process; a
test waits for its "serving ... at URL" line, never for a time, and stops it
by its process id.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest
from falcon import testing

from searchidx import Index, IngestReport, ingest
from searchidx.errors import ServerBusyError
from searchidx.outputs.web.app import create_app
from searchidx.outputs.web.serving import SESSION_COOKIE, Kept, Limits, SummarisedLog, session_value
from tests.conftest import CORPUS, REPO, SHARED, need, write_article
from tests.servers import Answer, Server, serving, without_token

TOKEN = "newsroom-secret-0123456789abcdef"
REUTERS = SHARED / "data" / "news" / "reuters21578.jsonl"
REUTERS_ARTICLES = 3000
# Costly by its syntax (fuzzy words): 20 words with two edits each, about 0.3 s alone on 3,000 articles.
FUZZY_WORDS = ("gold", "bank", "rate", "said", "trade", "year", "also", "will", "last", "week", "oil", "prices",
               "sale", "loss", "debt", "fund", "plan", "cuts", "firm", "help")  # fmt: skip
FUZZY = " ".join(f"{word}~2" for word in FUZZY_WORDS)
CHEAP_WITHIN = 1.0  # seconds: a cheap search is answered within this, whatever else is going on


@pytest.fixture(scope="module")
def reuters_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 Reuters articles as one JSON Lines file, ingested once for the module."""
    lines = need(REUTERS).read_text(encoding="utf-8").splitlines()[:REUTERS_ARTICLES]
    root = tmp_path_factory.mktemp("reuters")
    (root / "news").mkdir()
    (root / "news" / "reuters.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    ingest(root / "news", index=root / "index")
    return root / "index"


@pytest.fixture(scope="module")
def open_server(corpus_index: tuple[Path, IngestReport]) -> Iterator[Server]:
    """The demo corpus served without a secret or a rate limit, with the access log."""
    with serving(corpus_index[0], "--rate", "0", "--access-log") as server:
        yield server


@pytest.fixture(scope="module")
def locked_server(corpus_index: tuple[Path, IngestReport]) -> Iterator[Server]:
    """The demo corpus served with a secret from the environment."""
    with serving(corpus_index[0], "--rate", "0", env=without_token(SEARCHIDX_TOKEN=TOKEN)) as server:
        yield server


def first_id(server: Server, query: str = "oil") -> str:
    hits = server.request(f"/api/search?q={query}", headers=bearer()).json()["hits"]
    return str(hits[0]["id"])  # type: ignore[index]


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def timed(server: Server, path: str) -> tuple[float, Answer]:
    started = time.perf_counter()
    answer = server.request(path)
    return time.perf_counter() - started, answer


# Connections


def test_500_slow_connections_leave_a_search_answered_within_a_second(reuters_index: Path) -> None:
    with serving(reuters_index, "--rate", "0") as server:
        slow = []
        try:
            for _ in range(500):  # each sends part of its request line and headers, then nothing
                connection = socket.create_connection((server.host, server.port), timeout=10)
                connection.sendall(b"GET /api/search?q=gold HTTP/1.1\r\nHost: newsroom\r\n")
                slow.append(connection)
            took, answer = timed(server, "/api/search?q=gold")
            assert answer.status == 200
            assert answer.json()["total"] > 0
            assert took < CHEAP_WITHIN
        finally:
            for connection in slow:
                connection.close()


def test_a_huge_content_length_is_refused_and_closed_at_once(open_server: Server) -> None:
    with socket.create_connection((open_server.host, open_server.port), timeout=10) as connection:
        started = time.perf_counter()
        connection.sendall(b"POST /api/search HTTP/1.1\r\nHost: newsroom\r\nContent-Length: 100000000\r\n"
                           b"Content-Type: text/plain\r\n\r\n" + b"x" * 1024)  # fmt: skip
        received = b""
        while chunk := connection.recv(65536):  # until the server closes the connection
            received += chunk
        took = time.perf_counter() - started
    assert received.startswith(b"HTTP/1.1 413 ")
    assert took < CHEAP_WITHIN


# Time budget and costly requests


def test_cheap_searches_are_answered_while_eight_clients_send_costly_ones(reuters_index: Path) -> None:
    with serving(reuters_index, "--rate", "0", "--threads", "8", "--timeout", "2") as server:
        stop = threading.Event()
        answered = threading.Barrier(9)  # the 8 costly clients have each had an answer, and this test waits
        statuses: list[int] = []
        refusals: list[Answer] = []

        def costly_client() -> None:
            first = True
            while not stop.is_set():
                answer = server.request(f"/api/search?q={quote(FUZZY)}")
                statuses.append(answer.status)
                if answer.status == 503:
                    refusals.append(answer)
                if first:
                    first = False
                    answered.wait(timeout=60)

        with ThreadPoolExecutor(max_workers=8) as pool:
            clients = [pool.submit(costly_client) for _ in range(8)]
            try:
                answered.wait(timeout=60)
                cheap = [timed(server, "/api/search?q=gold") for _ in range(10)]
            finally:
                stop.set()
            for client in clients:
                client.result()
    assert all(answer.status == 200 for _, answer in cheap)
    assert max(took for took, _ in cheap) < CHEAP_WITHIN, [round(took, 3) for took, _ in cheap]
    assert set(statuses) <= {200, 503, 504}
    assert refusals, "8 costly clients at once never met the limit of 4"
    refusal = refusals[0]
    assert int(refusal.headers["retry-after"]) >= 1
    assert refusal.json()["error"]["message"] == (  # type: ignore[index]
        "The server is already running the 4 costly requests it allows at once (wildcards, fuzzy words, "
        "many words, charts, trends, exports). Try again in a moment."
    )


def test_a_costly_query_is_answered_within_its_budget_with_a_clear_status(reuters_index: Path) -> None:
    with serving(reuters_index, "--rate", "0", "--timeout", "0.02") as server:
        took, answer = timed(server, f"/api/search?q={quote(FUZZY)}")
        page_took, page = timed(server, f"/?q={quote(FUZZY)}")
    assert answer.status == 504
    assert "budget" in answer.json()["error"]["message"]  # type: ignore[index]
    assert took < 0.02 + CHEAP_WITHIN
    assert page.status == 504
    assert "budget" in page.text
    assert page_took < 0.02 + CHEAP_WITHIN


def test_the_page_keeps_its_chart_per_index_generation(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    write_article(folder, "a.txt", "Volcano erupts", "Ash over the valley.", date="2020-01-10")
    ingest(folder, index=tmp_path / "index")
    client = testing.TestClient(create_app(tmp_path / "index"))
    assert "volcano: 1 dated" in client.simulate_get("/chart.svg", params={"q": "volcano"}).text
    assert "volcano: 1 dated" in client.simulate_get("/chart", params={"q": "volcano"}).text  # kept
    write_article(folder, "b.txt", "Volcano again", "More ash.", date="2020-02-11")
    ingest(folder, index=tmp_path / "index")
    assert (
        "volcano: 2 dated" in client.simulate_get("/chart.svg", params={"q": "volcano"}).text
    )  # a new generation


def test_a_chart_that_cannot_be_drawn_now_says_so_and_the_page_is_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "articles"
    write_article(folder, "a.txt", "Volcano erupts", "Ash over the valley.", date="2020-01-10")
    ingest(folder, index=tmp_path / "index")

    def busy(*args: object, **kwargs: object) -> None:
        raise ServerBusyError("every costly slot is taken", retry_after=2)

    monkeypatch.setattr(Index, "trend", busy)
    client = testing.TestClient(create_app(tmp_path / "index"))
    assert client.simulate_get("/", params={"q": "volcano"}).status_code == 200  # the page needs no chart
    image = client.simulate_get("/chart.svg", params={"q": "volcano"})
    assert image.status_code == 503
    assert image.headers["retry-after"] == "2"
    assert image.headers["content-type"] == "image/svg+xml"
    assert "The chart over time is left out: the server is busy. Reload the page in a moment." in image.text
    page = client.simulate_get("/chart", params={"q": "volcano"})
    assert page.status_code == 503
    assert "the server is busy" in page.text
    assert '<form class="search"' in page.text  # the page, with its search box


def test_requests_for_a_chart_being_drawn_wait_for_it_instead_of_drawing_it_again() -> None:
    kept = Kept(
        Limits(threads=4, expensive=1, timeout=60)
    )  # one costly slot: a second drawing would be refused
    drawing, finish = threading.Event(), threading.Event()
    drawn: list[str] = []

    def draw() -> str:
        drawn.append("chart")
        drawing.set()
        finish.wait(timeout=60)
        return "chart"

    with ThreadPoolExecutor(max_workers=4) as pool:
        first = pool.submit(kept.get, "oil", draw)
        assert drawing.wait(timeout=60)
        others = [pool.submit(kept.get, "oil", draw) for _ in range(3)]
        finish.set()
        assert [first.result(), *(other.result() for other in others)] == ["chart"] * 4
    assert drawn == ["chart"]
    assert kept.get("oil", draw) == "chart"  # kept
    assert drawn == ["chart"]


# Access control


ROUTES = ["/", "/?q=oil", "/chart?q=oil", "/chart.svg?q=oil", "/doc/{id}", "/export.csv?q=oil", "/api/search?q=oil", "/api/trend?q=oil",
          "/api/doc/{id}", "/api/similar/{id}", "/api/stats"]  # fmt: skip


def test_every_route_but_health_needs_the_secret(locked_server: Server) -> None:
    doc_id = first_id(locked_server)
    for route in ROUTES:
        path = route.format(id=doc_id)
        refused = locked_server.request(path)
        assert refused.status == 401, path
        assert refused.headers["www-authenticate"] == 'Bearer realm="searchidx"'
        if path.startswith("/api/"):
            assert refused.json()["error"]["status"] == 401  # type: ignore[index]
        else:
            assert '<form class="login" action="/login" method="post">' in refused.text
        assert locked_server.request(path, headers=bearer("x" * len(TOKEN))).status == 401, path
        assert locked_server.request(path, headers=bearer()).status == 200, path
    health = locked_server.request("/health")
    assert (health.status, health.text) == (200, "ok\n")
    assert TOKEN not in "".join(locked_server.lines)


def test_a_browser_logs_in_once_with_a_form_and_keeps_a_cookie(locked_server: Server) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    wrong = locked_server.request("/login", "POST", form, b"token=not-the-secret&next=%2F%3Fq%3Doil")
    assert wrong.status == 401
    assert "That is not the archive" in wrong.text
    right = locked_server.request("/login", "POST", form, f"token={TOKEN}&next=%2F%3Fq%3Doil".encode())
    assert right.status == 303
    assert right.headers["location"] == "/?q=oil"
    cookie = right.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}={session_value(TOKEN)};")
    assert TOKEN not in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain HTTP here: a browser would drop a Secure cookie
    with_cookie = {"Cookie": cookie.split(";")[0]}
    assert locked_server.request("/?q=oil", headers=with_cookie).status == 200
    assert locked_server.request("/api/stats", headers=with_cookie).status == 200
    elsewhere = locked_server.request("/login", "POST", form, f"token={TOKEN}&next=//evil.example/".encode())
    assert elsewhere.headers["location"] == "/"


def test_the_secret_can_come_from_a_file(corpus_index: tuple[Path, IngestReport], tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text(TOKEN + "\n")
    with serving(corpus_index[0], "--token-file", str(secret)) as server:
        assert server.request("/api/stats").status == 401
        assert server.request("/api/stats", headers=bearer()).status == 200
        assert "the secret required" in server.lines[0]


def run_serve(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "searchidx", "serve", "--port", "0", *args],
                          cwd=REPO, capture_output=True, text=True, env=env, timeout=60)  # fmt: skip


def test_listening_beyond_this_machine_without_a_secret_is_refused(
    corpus_index: tuple[Path, IngestReport],
) -> None:
    done = run_serve("--index", str(corpus_index[0]), "--host", "0.0.0.0", env=without_token())
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("searchidx: Listening on 0.0.0.0 would share the archive with anyone")
    assert "SEARCHIDX_TOKEN" in done.stderr
    assert "--public" in done.stderr
    weak = run_serve("--index", str(corpus_index[0]), env=without_token(SEARCHIDX_TOKEN="short"))
    assert weak.returncode == 2
    assert "use 16 or more" in weak.stderr
    assert "short" not in weak.stderr.replace("secret is 5", "")


def test_a_client_over_the_rate_gets_429_with_retry_after(corpus_index: tuple[Path, IngestReport]) -> None:
    with serving(corpus_index[0], "--rate", "0.5", "--burst", "3") as server:
        statuses = [server.request("/api/search?q=oil").status for _ in range(3)]
        over = server.request("/api/search?q=oil")
        page = server.request("/?q=oil")
    assert statuses == [200, 200, 200]
    assert over.status == 429
    assert int(over.headers["retry-after"]) >= 1
    assert "Too many requests from your address" in over.json()["error"]["message"]  # type: ignore[index]
    assert page.status == 429
    assert "text/html" in page.headers["content-type"]


# Stats during an ingest

PAUSING_INGEST = """
import gc
import sys
from pathlib import Path
from searchidx import ingest
from searchidx.inputs.manifest import Manifest
from searchidx.ingesting.reports import IngestObserver

class PauseAfterTheFirstNewFile(IngestObserver):
    paused = False

    def file_done(self, path: Path) -> None:
        # The new file's records are written to the manifest, not committed: its write lock is held.
        if path.name.startswith("new") and not self.paused:
            self.paused = True
            # What a large ingest does: its uncommitted changes outgrow SQLite's page cache and spill to
            # the database file (with a rollback journal, an exclusive lock until the commit: 23 s seen).
            writing = next(kept for kept in gc.get_objects() if isinstance(kept, Manifest))._connection
            writing.execute("PRAGMA cache_size=1")
            writing.executemany("INSERT INTO meta VALUES (?, ?)", [(f"spill{n}", "x" * 1000) for n in range(200)])
            print("paused", flush=True)
            sys.stdin.readline()
            writing.execute("DELETE FROM meta WHERE key LIKE 'spill%'")

ingest(Path(sys.argv[1]), index=Path(sys.argv[2]), observer=PauseAfterTheFirstNewFile())
"""


def test_stats_answer_while_an_ingest_holds_the_write_lock(tmp_path: Path) -> None:
    folder, index = tmp_path / "articles", tmp_path / "index"
    for number in range(3):
        write_article(folder, f"old{number}.txt", f"Harbour news {number}", "The harbour reopened.")
    ingest(folder, index=index)
    for number in range(3):
        write_article(folder, f"new{number}.txt", f"Volcano news {number}", "Ash over the valley.")
    with serving(index, "--rate", "0") as server:
        with subprocess.Popen([sys.executable, "-c", PAUSING_INGEST, str(folder), str(index)], cwd=REPO,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as writer:  # fmt: skip
            assert writer.stdout is not None
            assert writer.stdin is not None
            try:
                assert writer.stdout.readline() == "paused\n"
                answers = [server.request("/api/stats") for _ in range(5)]
                cli = subprocess.run([sys.executable, "-m", "searchidx", "stats", "--index", str(index)],
                                     cwd=REPO, capture_output=True, text=True, timeout=60)  # fmt: skip
                check = subprocess.run([sys.executable, "-m", "searchidx", "check", "--index", str(index)],
                                       cwd=REPO, capture_output=True, text=True, timeout=60)  # fmt: skip
            finally:
                writer.stdin.write("go on\n")
                writer.stdin.close()
                assert writer.wait(timeout=120) == 0
        after = server.request("/api/stats").json()
    assert [answer.status for answer in answers] == [200] * 5
    assert answers[0].json()["documents"] == 3
    assert answers[0].json()["last_ingest"]
    assert cli.returncode == 0, cli.stderr
    assert "documents       3" in cli.stdout
    assert check.returncode == 0, check.stdout + check.stderr
    assert after["documents"] == 6


# HEAD, repeated parameters, logs


def test_head_works_wherever_get_does(open_server: Server) -> None:
    doc_id = first_id(open_server)
    for route in [*ROUTES, "/health", "/login", "/static/searchidx.css"]:
        path = route.format(id=doc_id)
        get, head = open_server.request(path), open_server.request(path, "HEAD")
        assert (head.status, head.body) == (get.status, b""), path
        assert head.headers["content-type"] == get.headers["content-type"], path


def test_a_repeated_parameter_is_refused_except_where_several_are_the_feature(open_server: Server) -> None:
    for path in ["/api/search?q=oil&q=gas", "/export.csv?q=oil&q=gas", "/?q=oil&q=gas",
                 "/api/search?q=oil&limit=5&limit=6", "/api/trend?q=oil&by=month&by=year"]:  # fmt: skip
        answer = open_server.request(path)
        assert answer.status == 400, path
        assert "parameter once" in answer.text, path
    trend = open_server.request("/api/trend?q=oil&q=gas")
    assert trend.status == 200
    assert [series["query"] for series in trend.json()["series"]] == ["oil", "gas"]  # type: ignore[union-attr]
    assert open_server.request("/?q=oil&vs=gas&vs=coffee").status == 200


def test_the_access_log_has_one_line_per_request(open_server: Server) -> None:
    open_server.request("/api/search?q=access+log+probe")
    open_server.request("/health")  # the log is written before the answer is sent: this one flushes the first
    assert any(re.fullmatch(r'127\.0\.0\.1 "GET /api/search\?q=access\+log\+probe" 200 \d+ ms\n', line)
               for line in open_server.lines)  # fmt: skip


def test_the_queue_warning_is_summarised_under_load(corpus_index: tuple[Path, IngestReport]) -> None:
    with serving(corpus_index[0], "--rate", "0", "--threads", "1") as server:
        with ThreadPoolExecutor(max_workers=30) as pool:
            statuses = list(pool.map(lambda _: server.request("/api/search?q=oil").status, range(120)))
        server.request("/health")
    assert statuses == [200] * 120
    warnings = [line for line in server.lines if "Task queue depth" in line]
    assert 1 <= len(warnings) <= 3, warnings  # one per 10 s at most, not one per queued request


def test_summarised_log_lets_one_record_through_per_period() -> None:
    now = [0.0]
    summary = SummarisedLog(every=10.0, clock=lambda: now[0])

    def record() -> logging.LogRecord:
        return logging.LogRecord("waitress.queue", logging.WARNING, __file__, 1, "Task queue depth is %d", (3,),
                                 None)  # fmt: skip

    first = record()
    assert summary.filter(first)
    assert first.getMessage() == "Task queue depth is 3"
    now[0] = 5.0
    assert not summary.filter(record())
    assert not summary.filter(record())
    now[0] = 10.0
    third = record()
    assert summary.filter(third)
    assert third.getMessage() == "Task queue depth is 3 (2 more such warnings in 10 s)"


# What the API reveals


def test_no_server_path_in_what_remote_clients_see(
    open_server: Server, corpus_index: tuple[Path, IngestReport]
) -> None:
    index = corpus_index[0]
    hidden = [str(CORPUS), str(index), str(REPO)]
    search = open_server.request("/api/search?q=oil&limit=20")
    hits = search.json()["hits"]
    doc_id = hits[0]["id"]  # type: ignore[index]
    export = open_server.request("/export.csv?q=oil")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    answers = [search, export, open_server.request(f"/api/doc/{doc_id}"), open_server.request(f"/doc/{doc_id}"),
               open_server.request(f"/api/similar/{doc_id}"), open_server.request("/api/stats"),
               open_server.request("/api/doc/abcdef0123456789"), open_server.request("/doc/abcdef0123456789")]  # fmt: skip
    for answer in answers:
        for folder in hidden:
            assert folder not in answer.text
    assert all(not hit["path"].startswith("/") for hit in hits)  # type: ignore[union-attr]
    assert rows
    assert all(row["path"] and not row["path"].startswith("/") for row in rows)
    assert answers[5].json()["index"] == index.name
    assert answers[6].status == 404
    assert f"in the index at {index.name}" in answers[6].text
    shown = open_server.request(f"/api/doc/{doc_id}").json()["path"]
    cli = subprocess.run([sys.executable, "-m", "searchidx", "show", str(doc_id), "--json", "--index", str(index)],
                         cwd=REPO, capture_output=True, text=True, timeout=60)  # fmt: skip
    full = json.loads(cli.stdout)["path"]
    assert full.startswith(str(CORPUS))  # the CLI on the server's own machine keeps the full path
    assert full.endswith(str(shown))
    assert full == str(CORPUS / str(shown)) or Path(full).name == shown


def test_the_export_streams_every_hit(open_server: Server) -> None:
    export = open_server.request("/export.csv?q=oil")
    total = open_server.request("/api/search?q=oil").json()["total"]
    assert export.status == 200
    assert export.headers.get("transfer-encoding") == "chunked"  # sent as it is read, not built first
    assert "content-length" not in export.headers
    assert len(list(csv.reader(io.StringIO(export.text)))) - 1 == total
