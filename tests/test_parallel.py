"""An ingest with several worker processes indexes exactly what a one-process ingest does."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from searchidx import Index, ingest
from searchidx.query.analysis import TOKEN

from .conftest import CORPUS, SHARED, need, stored_documents

REUTERS = SHARED / "data" / "news" / "reuters21578.jsonl"


def _queries(index: Path, count: int) -> list[str]:
    """Two to four words of document titles, as people search."""
    with Index(index) as ix:
        titles = sorted(ix.get(hit.id).title for hit in ix.search("*", limit=10_000, snippets=0))
    queries = []
    for number, title in enumerate(titles[:: max(len(titles) // count, 1)][:count]):
        words = [word for word in TOKEN.findall(title) if len(word) > 2]
        queries.append(" ".join(words[: 2 + number % 3]) or title)
    return queries


def _top10(index: Path, queries: list[str]) -> list[list[tuple[float, str]]]:
    """Each query's top 10 as (score, id), ties in id order (document numbers differ between builds)."""
    with Index(index) as ix:
        tops = []
        for query in queries:
            hits = ix.search(query, limit=11, snippets=0, all_versions=True)
            ranked = sorted(((round(hit.score, 6), hit.id) for hit in hits), key=lambda p: (-p[0], p[1]))
            cut = ranked[9][0] if len(ranked) > 10 else None
            tops.append([pair for pair in ranked[:10] if cut is None or pair[0] > cut])
        return tops


def _compare(folder: Path, tmp_path: Path, queries: int) -> None:
    one = ingest(folder, index=tmp_path / "one", workers=1)
    two = ingest(folder, index=tmp_path / "two", workers=2)
    assert (one.added, one.total, len(one.duplicates), len(one.skipped)) == (
        two.added,
        two.total,
        len(two.duplicates),
        len(two.skipped),
    )
    assert len(list((tmp_path / "two").glob("*.seg"))) >= 2  # the workers wrote a segment each
    assert stored_documents(tmp_path / "one") == stored_documents(tmp_path / "two")
    asked = _queries(tmp_path / "one", queries)
    assert len(asked) == queries
    assert _top10(tmp_path / "one", asked) == _top10(tmp_path / "two", asked)


@pytest.mark.slow  # worker processes
def test_two_workers_index_the_demo_corpus_like_one(tmp_path: Path) -> None:
    _compare(CORPUS, tmp_path, queries=50)


@pytest.mark.slow
def test_two_workers_index_3000_reuters_articles_like_one(tmp_path: Path) -> None:
    lines = need(REUTERS).read_text(encoding="utf-8").splitlines()[:3000]
    folder = tmp_path / "reuters"
    folder.mkdir()
    for number, line in enumerate(lines):
        record = json.loads(line)
        (folder / f"{number}.md").write_text(f"# {record['title']}\n\n{record['body']}\n", encoding="utf-8")
    _compare(folder, tmp_path, queries=50)


@pytest.mark.slow
def test_a_script_that_ingests_with_workers_needs_no_main_guard(tmp_path: Path) -> None:
    """The workers are started clean, without the program's main module: a script's ingest at its top
    level runs once, not again in each worker."""
    import subprocess
    import sys

    script = tmp_path / "ingest_it.py"
    script.write_text(
        "from searchidx import ingest\n"
        f"report = ingest({str(CORPUS)!r}, index={str(tmp_path / 'index')!r}, workers=2)\n"
        "print('added', report.added)\n",
        encoding="utf-8",
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"added {len(stored_documents(tmp_path / 'index'))}"]


def test_a_ctrl_c_typed_while_a_worker_starts_reaches_the_ingest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parent blocks Ctrl-C while it forks a worker and takes it after: ignoring it there lost it."""
    import signal

    from searchidx.engines.whoosh import writing
    from searchidx.engines.whoosh.storage import open_or_create_index

    real_start = writing._WorkerTask.start
    received: list[int] = []

    def start_as_ctrl_c_arrives(task: writing._WorkerTask) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # typed just as the worker is forked
        real_start(task)

    monkeypatch.setattr(writing._WorkerTask, "start", start_as_ctrl_c_arrives)
    # The signal is recorded rather than raised: a KeyboardInterrupt raised inside a finalizer that
    # the garbage collector happens to run is lost, which is not what this test is about.
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    (tmp_path / "index").mkdir()
    writer = writing.open_writer(open_or_create_index(tmp_path / "index"), procs=2)
    try:
        writer._new_task()
        assert received == [signal.SIGINT]  # taken by the parent once the worker was forked
        assert all(task.is_alive() for task in writer.tasks)  # the worker itself ignored it
    finally:
        signal.signal(signal.SIGINT, previous)
        writer.cancel()
