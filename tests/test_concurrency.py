"""Two ingests, queries during an ingest, and one Index shared by threads: real processes and threads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest

from searchidx import Index, ingest
from tests.conftest import CORPUS, REPO, SHARED, need, write_article

# Holds the write lock of the index at argv[1], saying "locked" once it has it, until its stdin has a
# line (or is closed); then says "released". Tests synchronise on these events, never on time.
HOLD_LOCK = """
import sys
from pathlib import Path
from searchidx.engines.whoosh.storage import index_storage
from searchidx.engines.whoosh.writing import write_lock
index = Path(sys.argv[1])
with write_lock(index_storage(index), index):
    print("locked", flush=True)
    sys.stdin.readline()
print("released", flush=True)
"""
# A bound on waiting for a child that is already known to be finishing (it never paces a test).
HANG = 600


@contextmanager
def lock_held(index: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the index's write lock until :func:`release` (or until it is killed)."""
    with subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(index)], cwd=REPO,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as holder:  # fmt: skip
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        try:
            yield holder
        finally:
            holder.kill()


def release(holder: subprocess.Popen[str]) -> None:
    """Tell the process of :func:`lock_held` to let the lock go, and wait until it has."""
    assert holder.stdin is not None
    assert holder.stdout is not None
    holder.stdin.write("\n")
    holder.stdin.flush()
    assert holder.stdout.readline() == "released\n"


def ingest_process(folder: Path, index: Path, *options: str) -> subprocess.Popen[str]:
    """``searchidx ingest`` in a child process, its stderr read by the test as it comes."""
    command = [sys.executable, "-m", "searchidx", "ingest", str(folder), "--index", str(index), *options]
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_until(stream: IO[str], text: str) -> list[str]:
    """The lines of ``stream`` up to the first one holding ``text`` (all of them, if it never comes)."""
    lines = []
    for line in stream:
        lines.append(line)
        if text in line:
            break
    return lines


def searchidx(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "searchidx", *map(str, args)],
                          cwd=REPO, capture_output=True, text=True)  # fmt: skip


@pytest.fixture
def small_index(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "articles"
    write_article(folder, "a.txt", "Harbour reopens", "The harbour reopened.")
    index = tmp_path / "index"
    ingest(folder, index=index)
    return folder, index


def test_an_ingest_waits_for_another_and_names_it(small_index: tuple[Path, Path]) -> None:
    folder, index = small_index
    with lock_held(index) as holder:
        waiter = ingest_process(folder, index, "--wait", str(HANG))
        assert waiter.stderr is not None
        said = read_until(waiter.stderr, "waiting for the index lock")  # however long its start-up takes
        assert said[-1:] == [
            f"waiting for the index lock held by PID {holder.pid} (another ingest is writing)...\n"
        ]
        assert waiter.poll() is None  # it cannot finish while the lock is held
        release(holder)
        out, rest = waiter.communicate(timeout=HANG)
    assert waiter.returncode == 0, rest
    assert "1 unchanged" in out


def test_an_ingest_that_waits_too_long_stops_with_one_sentence(small_index: tuple[Path, Path]) -> None:
    folder, index = small_index
    with lock_held(index) as holder:  # held until the waiter has given up, however long that takes
        done = searchidx("ingest", folder, "--index", index, "--wait", "0.5")
        release(holder)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        f"searchidx: Another ingest (PID {holder.pid}) is still writing to the index at {index} after 0.5 s. "
        "Wait for it to finish, or give it longer with --wait SECONDS."
    )


def test_the_lock_of_a_killed_ingest_is_free_at_once(small_index: tuple[Path, Path]) -> None:
    folder, index = small_index
    with lock_held(index) as holder:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    done = searchidx("ingest", folder, "--index", index, "--wait", "0")
    assert done.returncode == 0, done.stderr
    assert "waiting" not in done.stderr


def test_the_next_ingest_removes_what_a_killed_writer_left(small_index: tuple[Path, Path]) -> None:
    folder, index = small_index
    leftovers = [
        index / "_MAIN_7.toc.1732700000.5",
        index / "MAIN_deadsegment01.pst",
        index / "MAIN.tmp" / "a.run",
    ]
    leftovers[-1].parent.mkdir()
    for path in leftovers:
        path.write_bytes(b"half written")
    report = ingest(folder, index=index)
    assert report.unchanged == 1
    assert [path for path in [*leftovers, index / "MAIN.tmp"] if path.exists()] == []
    with Index(index) as ix:
        assert [hit.title for hit in ix.search("harbour")] == ["Harbour reopens"]


@pytest.mark.slow  # many threads, many queries
def test_one_index_answers_queries_from_many_threads(tmp_path: Path) -> None:
    ingest(CORPUS, index=tmp_path / "index")
    queries = ["Putin parade", "oil prices", "election", "flood", "bank rate", "football", "court ruling"] * 6
    with Index(tmp_path / "index") as ix:
        expected = [[(hit.id, hit.snippet) for hit in ix.search(query)] for query in queries]
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda q: [(hit.id, hit.snippet) for hit in ix.search(q)], queries))
    assert results == expected


# Queries the index at argv[1] (committed before it starts) in a loop until the file argv[2] exists;
# prints answered and failed.
QUERY_LOOP = """
import sys
from pathlib import Path
from searchidx import Index
answered, failed, errors = 0, 0, []
stop = Path(sys.argv[2])
while not stop.exists():
    try:
        with Index(sys.argv[1]) as ix:
            for words in ("oil prices", "wheat exports", "bank rate", "coffee"):
                ix.search(words, limit=10)
                answered += 1
    except Exception as error:
        failed += 1
        errors.append(repr(error))
print(answered, failed, errors[:3])
"""


@pytest.mark.slow
def test_queries_during_an_ingest_of_19k_articles_all_succeed(tmp_path: Path) -> None:
    reuters = need(SHARED / "data" / "news" / "reuters21578.jsonl")
    folder = tmp_path / "reuters"
    folder.mkdir()
    with reuters.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            record = json.loads(line)
            (folder / f"{number // 1000:02d}").mkdir(exist_ok=True)
            write_article(
                folder / f"{number // 1000:02d}", f"{number:05d}.txt", record["title"], record["body"] or "."
            )
    index, stop = tmp_path / "index", tmp_path / "stop"
    ingest(CORPUS, index=index)  # a committed state to query from the start
    loop = subprocess.Popen([sys.executable, "-c", QUERY_LOOP, str(index), str(stop)],
                            cwd=REPO, stdout=subprocess.PIPE, text=True)  # fmt: skip
    done = searchidx("ingest", folder, "--index", index, "--quiet")
    stop.touch()
    out, _ = loop.communicate(timeout=60)
    assert done.returncode == 0, done.stderr
    answered, failed, errors = out.split(" ", 2)
    print(f"queries during the ingest: {answered} answered, {failed} failed")
    assert int(failed) == 0, errors
    assert int(answered) > 100
    assert os.path.exists(index)
