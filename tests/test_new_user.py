"""A new user's first session, played end to end through the real command and a real server.

The archive is the kind nobody here designed for: a few thousand articles,
the title on the first line and the text after it, with no dates and no URLs
(written by the test from the Reuters records). It is ingested by worker
processes, which write several segments; then come the commands a new user
tries in the first minutes: stats, year facets, date filters, the web page and
its "(no date)" facet, misspelt names, paging past the end, Ctrl-C on a real
terminal, and a second ingest.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from searchidx.engines.factory import check
from searchidx.engines.whoosh.storage import open_index
from searchidx.query.analysis import text_analyzer
from tests.conftest import REPO, SHARED, need
from tests.servers import serving

REUTERS = SHARED / "data" / "news" / "reuters21578.jsonl"
ARTICLES = 2400
pytestmark = pytest.mark.slow


def searchidx(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "searchidx", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=600, check=False)  # fmt: skip


def documents(index: Path) -> int:
    """How many documents ``searchidx stats`` says the index holds (the archive has a few duplicates)."""
    return int(json.loads(searchidx("stats", "--json", "--index", index).stdout)["documents"])


def write_archive(folder: Path, articles: int) -> None:
    """Undated, URL-less articles: the title on the first line, then the text."""
    folder.mkdir(parents=True)
    with need(REUTERS).open(encoding="utf-8") as lines:
        for number, line in zip(range(articles), lines, strict=False):
            record = json.loads(line)
            text = f"{record['title'].title()}\n\n{record['body'].strip()}\n"
            (folder / f"{number:05d}.txt").write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the folder of articles, its index), ingested with the README's command."""
    work = tmp_path_factory.mktemp("new-user")
    folder, index = work / "archive", work / "index"
    write_archive(folder, ARTICLES)
    done = searchidx("ingest", folder, "--index", index)
    assert done.returncode == 0, done.stderr
    return folder, index


def test_the_archive_is_ingested_in_several_segments_without_dates(archive: tuple[Path, Path]) -> None:
    _, index = archive
    segments = open_index(index)._segments()
    assert len(segments) > 1  # what exposed the false "damaged" before
    assert check(index).healthy


def test_stats_facets_and_sorting_work_where_no_document_has_a_date(archive: tuple[Path, Path]) -> None:
    _, index = archive
    stats = searchidx("stats", "--index", index)
    assert stats.returncode == 0, stats.stderr
    assert "dates           no dates" in stats.stdout
    assert "per year        (no date) (" in stats.stdout
    summary = json.loads(searchidx("stats", "--index", index, "--json").stdout)
    assert sum(summary["per_year"].values()) == summary["documents"]
    faceted = searchidx("query", "oil", "--facets", "year,month,source", "--index", index)
    assert faceted.returncode == 0, faceted.stderr
    total = int(searchidx("query", "oil", "--count", "--index", index).stdout)
    assert f"year: (no date) ({total})" in faceted.stdout
    assert f"source: (no source) ({total})" in faceted.stdout
    for order in ("date", "-date"):
        assert searchidx("query", "oil", "--sort", order, "--index", index).returncode == 0
    undated = searchidx("query", "oil", "--undated", "--count", "--index", index)
    assert int(undated.stdout) == total


def test_a_date_filter_says_how_many_undated_matches_it_left_out(archive: tuple[Path, Path]) -> None:
    _, index = archive
    total = int(searchidx("query", "oil", "--count", "--index", index).stdout)
    filtered = searchidx("query", "oil", "--since", "1987", "--index", index)
    assert filtered.returncode == 1
    assert filtered.stderr.splitlines() == [f"{total:,} matching articles without a date left out by --since/--until",
                                            "no matches"]  # fmt: skip
    document = json.loads(searchidx("query", "oil", "--until", "2020", "--json", "--index", index).stdout)
    assert (document["total"], document["undated_left_out"]) == (0, total)


def test_the_page_and_api_answer_and_the_no_date_facet_is_a_filter(archive: tuple[Path, Path]) -> None:
    _, index = archive
    with serving(index) as server:
        address = server.url
        status, page = fetch(f"{address}?q=oil")
        assert status == 200
        link = re.search(r'<a href="([^"]*undated=1[^"]*)">\(no date\) \((\d[\d,]*)\)</a>', page)
        assert link, "the (no date) facet is a link"
        status, filtered = fetch(address.rstrip("/") + link.group(1).replace("&amp;", "&"))
        assert status == 200
        # the facet counts articles; the page says them, and the stories when some are versions of one
        assert re.search(rf"of {link.group(2)}( articles, [\d,]+ stor(y|ies))? in", filtered)
        status, stats = fetch(f"{address}api/stats")
        assert (status, json.loads(stats)["documents"]) == (200, documents(index))
        status, answer = fetch(f"{address}api/search?q=oil&facets=year,source&undated=1")
        assert status == 200
        assert json.loads(answer)["facets"]["year"] == {"(no date)": json.loads(answer)["total"]}
        status, _ = fetch(f"{address}api/search?q=oil&undated=maybe")
        assert status == 400
    assert "failed with 500" not in server.log


# A typing error in names of the archive; each name is in 5 or more of its articles.
MISSPELT = [
    ("Volker", "volcker"), ("Nakasne", "nakasone"), ("Yeuter", "yeutter"), ("Gorbachov", "gorbachev"),
    ("Balladour", "balladur"), ("Funarro", "funaro"), ("Chrystler", "chrysler"), ("Boieng", "boeing"),
    ("Kuwiat", "kuwait"), ("Reagen", "reagan"), ("Brazl", "brazil"), ("nakasne", "nakasone"),
    ("volker", "volcker"),
]  # fmt: skip


@pytest.mark.parametrize(("typed", "meant"), MISSPELT)
def test_a_misspelt_name_finds_the_articles_that_name_it(
    archive: tuple[Path, Path], typed: str, meant: str
) -> None:
    _, index = archive
    done = searchidx("query", typed, "--json", "-n", "3", "--index", index)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert (document["corrected"], document["suggestion"]) == (True, meant)
    analyzer = text_analyzer()
    (stem,) = analyzer.terms(meant)
    for hit in document["hits"]:
        article = json.loads(searchidx("show", hit["id"], "--json", "--index", index).stdout)
        assert stem in analyzer.terms(article["title"] + "\n" + article["body"])
    shown = searchidx("query", typed, "-n", "1", "--index", index)
    assert f"showing results for: {meant} (to search the words as typed, add --exact)" in shown.stderr


def test_paging_past_the_end_says_how_many_pages_there_are(archive: tuple[Path, Path]) -> None:
    _, index = archive
    total = int(searchidx("query", "oil", "--count", "--index", index).stdout)
    done = searchidx("query", "oil", "--page", "99999", "--index", index)
    assert (done.returncode, done.stdout) == (1, "")
    assert (
        done.stderr == f"page 99,999 is past the last page: {total:,} matches fill {-(-total // 10)} pages\n"
    )


def test_ctrl_c_on_a_terminal_keeps_the_last_commit_and_exits_130(
    archive: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, _ = archive
    index = tmp_path / "index"
    leader, follower = pty.openpty()
    command = [sys.executable, "-m", "searchidx", "ingest", str(folder), "--index", str(index)]
    # Its own session with the terminal as its controlling one: ^C typed there is a real SIGINT.
    with subprocess.Popen(command, cwd=REPO, stdin=follower, stdout=follower, stderr=follower,
                          start_new_session=True, preexec_fn=_take_terminal) as process:  # fmt: skip
        os.close(follower)
        shown = _read_until(leader, b"ingesting", seconds=60)
        os.write(leader, b"\x03")  # Ctrl-C, through the terminal's line discipline
        shown += _read_until(leader, None, seconds=60)
        code = process.wait(timeout=60)
    os.close(leader)
    text = shown.decode("utf-8", "replace")
    assert code == 130, text
    assert "Traceback" not in text
    assert "Aborted!" not in text
    assert re.search(r"searchidx: interrupted: (the index at \S+ keeps its last commit \([\d,]+ documents?\)|"
                     r"nothing was committed to \S+ yet); run the same ingest again to go on from there\.", text)  # fmt: skip
    again = searchidx("ingest", folder, "--index", index)
    assert again.returncode == 0, again.stderr
    assert f"holds {documents(archive[1]):,} documents" in again.stdout


def test_a_second_ingest_changes_nothing(archive: tuple[Path, Path]) -> None:
    folder, index = archive
    again = searchidx("ingest", folder, "--index", index, "--json")
    summary = json.loads(again.stdout)
    assert (summary["added"], summary["updated"], summary["removed"]) == (0, 0, 0)
    assert summary["unchanged"] + summary["duplicates"] + summary["skipped"] == summary["records"] == ARTICLES
    assert summary["total"] == summary["unchanged"] == documents(index)


def _take_terminal() -> None:
    """In the child: make the pty its controlling terminal (stdin is the pty's follower end), with
    Ctrl-C's default action: a test run from a background job inherits SIGINT ignored, and so would
    the ingest (as under nohup), which then ignores the Ctrl-C this test types."""
    import fcntl
    import termios

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _read_until(leader: int, marker: bytes | None, *, seconds: float) -> bytes:
    """What the terminal shows until ``marker`` appears (or, with ``None``, until the child closes it)."""
    shown = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            return shown
        if not chunk:
            return shown
        shown += chunk
        if marker is not None and marker in shown:
            return shown
    if marker is not None:
        raise AssertionError(f"{marker!r} never appeared: {shown!r}")
    return shown


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status, answer.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")
