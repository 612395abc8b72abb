"""A full disk or a read-only index folder: one clear sentence naming the path, and the old index still answers."""

from __future__ import annotations

import re
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from searchidx import ingest
from searchidx.engines.factory import check
from tests.conftest import CORPUS, REPO, without_root_file_access, write_article, write_synthetic_corpus


def file_size_limit(limit: int) -> Callable[[], None]:
    """In the child: files cannot grow past ``limit`` bytes, as on a disk that is full."""

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limited


def ingest_in_child(
    folder: Path, index: Path, before_exec: Callable[[], None]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "searchidx", "ingest", str(folder), "--index", str(index)],
                          cwd=REPO, capture_output=True, text=True, preexec_fn=before_exec)  # fmt: skip


@pytest.fixture
def small_index(tmp_path: Path) -> Path:
    folder = tmp_path / "first"
    write_article(folder, "a.txt", "Harbour reopens", "The harbour reopened after the storm.")
    index = tmp_path / "index"
    ingest(folder, index=index)
    return index


def assert_previous_index_intact(index: Path) -> None:
    answered = subprocess.run([sys.executable, "-m", "searchidx", "query", "harbour", "--index", str(index)],
                              cwd=REPO, capture_output=True, text=True)  # fmt: skip
    assert answered.returncode == 0
    assert answered.stdout.startswith("1. Harbour reopens")
    assert check(index).healthy


@pytest.mark.slow  # a full disk, twice
@pytest.mark.parametrize("limit", [300_000, 1_000_000])
def test_a_full_disk_is_one_sentence_and_the_previous_index_stays(small_index: Path, limit: int) -> None:
    done = ingest_in_child(CORPUS, small_index, file_size_limit(limit))
    assert done.returncode == 2
    assert done.stderr == (
        f"searchidx: Cannot write the index at {small_index}: File too large. "
        "Check that the directory is writable and the disk has free space.\n"
    )
    assert_previous_index_intact(small_index)
    report = ingest(CORPUS, index=small_index)  # with room again, the next ingest completes and tidies up
    assert report.added == 331
    assert not [path for path in small_index.iterdir() if path.suffix in (".pst", ".trm", ".tmp")]


@pytest.mark.slow
def test_a_full_disk_under_worker_processes_is_one_sentence(tmp_path: Path, small_index: Path) -> None:
    folder = tmp_path / "many"
    write_synthetic_corpus(folder, 2_400)  # enough for worker processes
    done = ingest_in_child(folder, small_index, file_size_limit(500_000))
    assert done.returncode == 2
    # The index's files or the ingest records (SQLite says "disk I/O error") meet the limit first.
    assert re.fullmatch(rf"searchidx: Cannot write the index at {re.escape(str(small_index))}: "
                        r"(File too large|disk I/O error)\. "
                        r"Check that the directory is writable and the disk has free space\.\n", done.stderr)  # fmt: skip
    assert "Traceback" not in done.stderr
    assert_previous_index_intact(small_index)


def test_a_read_only_index_folder_is_one_sentence_and_the_index_still_answers(small_index: Path) -> None:
    ingest(
        small_index.parent / "first", index=small_index
    )  # the ingest records as a second ingest leaves them
    small_index.chmod(0o555)
    try:
        done = ingest_in_child(CORPUS, small_index, without_root_file_access)
        stats = subprocess.run([sys.executable, "-m", "searchidx", "stats", "--index", str(small_index)], cwd=REPO,
                               capture_output=True, text=True, preexec_fn=without_root_file_access)  # fmt: skip
    finally:
        small_index.chmod(0o755)
    assert (stats.returncode, stats.stderr) == (0, "")  # read as it is: nothing can be writing to it
    assert "documents       1\n" in stats.stdout
    assert done.returncode == 2
    assert done.stderr == (
        f"searchidx: Cannot write the index at {small_index}: Permission denied. "
        "Check that the directory is writable and the disk has free space.\n"
    )
    assert_previous_index_intact(small_index)
