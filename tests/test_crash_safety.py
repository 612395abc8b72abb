"""kill -9 at any moment of an ingest loses nothing committed; running the ingest again completes it."""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from searchidx import Index
from searchidx.engines.factory import check
from tests.conftest import REPO, stored_documents, write_synthetic_corpus

ARTICLES = 2_400  # enough for two worker processes (from 2,000 files)
KILLS = 20


def ingest_process(folder: Path, index: Path, *extra: str, verbose: bool) -> subprocess.Popen[str]:
    """``searchidx ingest`` in a child process; with ``verbose`` its stderr names each document handed over."""
    command = [sys.executable, "-m", "searchidx", "ingest", str(folder), "--index", str(index), *extra]
    if verbose:
        return subprocess.Popen([*command, "--verbose"], cwd=REPO, stderr=subprocess.PIPE, text=True)
    return subprocess.Popen(command, cwd=REPO, stderr=subprocess.DEVNULL)


def kill_during(process: subprocess.Popen[str], *, after_documents: int | None, delay: float) -> str:
    """kill -9 ``process`` ``delay`` seconds after start, or after it has handed over that many documents."""
    if after_documents is not None:
        assert process.stderr is not None
        seen = 0
        while seen < after_documents and process.stderr.readline():
            seen += 1
    time.sleep(delay)
    phase = "running" if process.poll() is None else "finished"
    process.send_signal(signal.SIGKILL)
    process.communicate()
    return phase


def processes_using(index: Path, *, within: float = 300.0) -> list[str]:
    """The command lines of other processes with a file of the index open, once those ending have ended.

    The system kills a dead ingest's worker processes for it, but not instantly: each process found is
    waited for until it exits (an event: its pidfd becomes readable), ``within`` seconds at most (a
    bound for a process that does not end, never the pace of the test).
    """
    for pid in _processes_using(index):
        _wait_for_exit(pid, within)
    return list(_processes_using(index).values())


def _wait_for_exit(pid: int, within: float) -> None:
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:  # gone already
        return
    try:
        select.select([pidfd], [], [], within)
    finally:
        os.close(pidfd)


def _processes_using(index: Path) -> dict[int, str]:
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            targets = [os.readlink(fd) for fd in (proc / "fd").iterdir()]
            if any(target.startswith(f"{index}/") for target in targets):
                found[int(proc.name)] = (proc / "cmdline").read_text().replace("\0", " ")
        except OSError:  # it ended meanwhile
            continue
    return found


def answers(index: Path) -> int:
    """The number of documents of the committed state, after a query against it succeeded."""
    with Index(index) as ix:
        ix.search("harbour storm", limit=10)
        return ix.stats().documents


@pytest.mark.slow
def test_kill_9_at_random_moments_loses_nothing_and_a_rerun_completes(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    write_synthetic_corpus(folder, ARTICLES)
    clean = tmp_path / "clean"
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "searchidx", "ingest", str(folder), "--index", str(clean), "--quiet"],
                   cwd=REPO, check=True)  # fmt: skip
    took = time.monotonic() - started  # kill moments are drawn within it, whatever the machine's speed
    expected = stored_documents(clean)
    assert len(expected) == ARTICLES

    rng = random.Random(20)
    index = tmp_path / "index"
    phases = []
    for attempt in range(KILLS):
        rebuild = attempt % 2 == 1  # odd attempts: --full over the complete index of the attempt before
        extra = ("--full",) if rebuild else ()
        if not rebuild:
            subprocess.run(["rm", "-rf", str(index)], check=True)
        before = answers(index) if rebuild else 0
        # Half the kills land at a random time, half after every document was handed over (in the commit).
        in_commit = attempt % 4 >= 2
        process = ingest_process(folder, index, *extra, verbose=in_commit)
        phases.append(kill_during(process, after_documents=ARTICLES if in_commit else None,
                                  delay=rng.uniform(0, took / 20 if in_commit else took)))  # fmt: skip

        assert processes_using(index) == [], "a worker process outlived the killed ingest"
        if index.exists() and (index / "searchidx-manifest.sqlite3").exists():
            committed = answers(index)  # opens and answers: the last committed state
            assert committed == before if rebuild else committed in (0, ARTICLES)
        rerun = subprocess.run(
            [sys.executable, "-m", "searchidx", "ingest", str(folder), "--index", str(index), *extra, "--wait", "5"],
            cwd=REPO, capture_output=True, text=True,
        )  # fmt: skip
        assert rerun.returncode == 0, rerun.stderr
        assert "waiting" not in rerun.stderr  # the killed ingest's lock went with it
        assert stored_documents(index) == expected
        assert check(index).healthy
        leftovers = [p.name for p in index.iterdir() if ".tmp" in p.name or ".toc." in p.name]
        assert leftovers == []
    print(f"kill -9 at {KILLS} moments: {phases.count('running')} during the ingest, "
          f"{phases.count('finished')} after it had finished")  # fmt: skip
    assert phases.count("running") >= KILLS * 3 // 4
