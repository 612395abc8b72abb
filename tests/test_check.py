"""``searchidx check`` and what every command says about a damaged index: real files, really damaged."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from searchidx import IngestReport
from searchidx.checking import REBUILD, RERUN, check
from searchidx.manifest import MANIFEST_NAME
from tests.conftest import CORPUS, REPO

DAMAGED = "is damaged ("
REBUILD_SENTENCE = "Rebuild it with `searchidx ingest --full DIR` from the folders it was built from."


def searchidx(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "searchidx", *map(str, args)],
                          cwd=REPO, capture_output=True, text=True)  # fmt: skip


@pytest.fixture
def index(tmp_path: Path, corpus_index: tuple[Path, IngestReport]) -> Path:
    """A copy of the demo corpus's index, free to damage."""
    copy = tmp_path / "index"
    shutil.copytree(corpus_index[0], copy)
    return copy


def segment_file(index: Path) -> Path:
    (segment,) = index.glob("*.seg")
    return segment


def test_a_healthy_index_is_reported_healthy(index: Path) -> None:
    done = searchidx("check", "--index", index)
    assert done.returncode == 0
    assert done.stdout.startswith(f"{index}: healthy. 331 documents in 1 segment read in full;")
    report = json.loads(searchidx("check", "--index", index, "--json").stdout)
    assert (report["healthy"], report["documents"], report["recorded"], report["problems"]) == (
        True,
        331,
        331,
        [],
    )


def damage_by_deleting(index: Path) -> str:
    segment = segment_file(index)
    segment.unlink()
    return f"the file {segment.name} is missing"


def damage_by_truncating(index: Path) -> str:
    segment = segment_file(index)
    with segment.open("r+b") as data:
        data.truncate(segment.stat().st_size // 2)
    return "a file is truncated or corrupt"


def damage_table_of_contents(index: Path) -> str:
    (toc,) = index.glob("_MAIN_*.toc")
    with toc.open("r+b") as data:
        data.truncate(100)
    return "a file is truncated or corrupt"


@pytest.mark.parametrize("damage", [damage_by_deleting, damage_by_truncating, damage_table_of_contents])
def test_damage_is_found_reported_in_one_sentence_and_repaired_by_a_full_ingest(index: Path, damage) -> None:  # type: ignore[no-untyped-def]
    found = damage(index)

    checked = searchidx("check", "--index", index)
    assert checked.returncode == 1
    assert found in checked.stdout
    assert checked.stdout.rstrip().endswith(REBUILD_SENTENCE)
    for command in (["query", "Putin parade"], ["stats"], ["ingest", CORPUS]):
        done = searchidx(*command, "--index", index)
        assert done.returncode == 2, command
        assert done.stderr.count("\n") == 1, done.stderr  # one sentence, no traceback
        assert DAMAGED in done.stderr
        assert found in done.stderr
        assert REBUILD_SENTENCE in done.stderr

    assert searchidx("ingest", CORPUS, "--index", index, "--full").returncode == 0
    assert check(index).healthy
    assert "Putin" in searchidx("query", "Putin parade", "--index", index).stdout


def test_corrupt_bytes_inside_a_segment_are_found(index: Path) -> None:
    segment = segment_file(index)
    data = bytearray(segment.read_bytes())
    # Whoosh keeps no checksums: only bytes of a structure that is decoded can be found bad, so
    # every sixteenth of the file is overwritten, wherever its layout put each structure.
    for start in range(1_000, len(data) - 4096, len(data) // 16):
        data[start : start + 4096] = bytes(range(256)) * 16
    segment.write_bytes(bytes(data))
    report = check(index)
    assert not report.healthy
    assert report.problems[0].startswith(f"Segment {segment.stem} cannot be read:")
    assert report.advice == REBUILD


def test_records_that_disagree_with_the_index_are_reported_and_an_ingest_reconciles(index: Path) -> None:
    with sqlite3.connect(index / MANIFEST_NAME) as manifest:
        manifest.execute("DELETE FROM records WHERE rowid IN (SELECT rowid FROM records LIMIT 3)")
        manifest.execute("DELETE FROM files WHERE path NOT IN (SELECT path FROM records)")
    report = check(index)
    assert report.problems == ("3 documents in the index are not in the ingest records "
                               "(an ingest was interrupted after its commit).",)  # fmt: skip
    assert report.advice == RERUN
    assert searchidx("ingest", CORPUS, "--index", index).returncode == 0
    assert check(index).healthy


def test_check_without_an_index_says_how_to_make_one(tmp_path: Path) -> None:
    done = searchidx("check", "--index", tmp_path / "none")
    assert done.returncode == 2
    assert done.stderr.startswith(f"searchidx: No index at {tmp_path / 'none'}.")


def undated_index_in_two_runs(tmp_path: Path) -> Path:
    """Two one-line undated articles, each ingested in its own run: two segments, no date column."""
    folder, index = tmp_path / "notes", tmp_path / "index"
    folder.mkdir()
    (folder / "one.txt").write_text("Oil prices rise\n", encoding="utf-8")
    assert searchidx("ingest", folder, "--index", index).returncode == 0
    (folder / "two.txt").write_text("Gas prices fall\n", encoding="utf-8")
    assert searchidx("ingest", folder, "--index", index).returncode == 0
    return index


def test_an_undated_index_of_several_segments_is_not_damaged(tmp_path: Path) -> None:
    index = undated_index_in_two_runs(tmp_path)
    stats = searchidx("stats", "--index", index)
    assert stats.returncode == 0, stats.stderr
    assert "per year        (no date) (2)" in stats.stdout
    faceted = searchidx("query", "prices", "--facets", "year,month", "--index", index)
    assert faceted.returncode == 0, faceted.stderr
    assert faceted.stdout.splitlines()[-2:] == ["year: (no date) (2)", "month: (no date) (2)"]
    assert check(index).healthy
    from searchidx import Index

    with Index(index) as ix:
        assert ix.stats().per_year == {"(no date)": 2}
        assert ix.search("prices", facets=("year",)).facets == {"year": {"(no date)": 2}}


def test_a_dated_segment_between_undated_ones_keeps_each_date_with_its_document(tmp_path: Path) -> None:
    index = undated_index_in_two_runs(tmp_path)
    folder = tmp_path / "notes"
    (folder / "three.txt").write_text(
        "# Oil deal signed\n\nMarch 20, 2015\n\nOil deal text.\n", encoding="utf-8"
    )
    assert searchidx("ingest", folder, "--index", index).returncode == 0
    (folder / "four.txt").write_text("Oil again\n", encoding="utf-8")
    assert searchidx("ingest", folder, "--index", index).returncode == 0
    faceted = json.loads(searchidx("query", "oil", "--facets", "year", "--json", "--index", index).stdout)
    assert faceted["facets"]["year"] == {"2015": 1, "(no date)": 2}
    assert {hit["title"]: hit["date"] for hit in faceted["hits"]} == {
        "Oil deal signed": "2015-03-20T00:00:00+00:00", "Oil prices rise": None, "Oil again": None,
    }  # fmt: skip
    newest = searchidx("query", "oil", "--sort", "-date", "--urls-only", "--index", index).stdout.splitlines()
    assert Path(newest[0]).name == "three.txt"


def test_an_error_in_computing_is_not_reported_as_damage(tmp_path: Path) -> None:
    from searchidx.errors import IndexDamagedError
    from searchidx.schema import read_index_files

    def computes_wrongly() -> None:
        [].pop()  # an IndexError raised by code, not by reading a file

    with pytest.raises(IndexError):
        read_index_files(tmp_path, computes_wrongly)
    with pytest.raises(IndexDamagedError):
        read_index_files(tmp_path, lambda: open(tmp_path / "gone.seg", "rb"))  # noqa: SIM115


def test_the_server_logs_every_500_with_its_traceback(index: Path) -> None:
    import re
    import signal
    import urllib.error
    import urllib.request

    command = [sys.executable, "-m", "searchidx", "serve", "--index", str(index), "--port", "0"]
    with subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True) as server:
        assert server.stderr is not None
        address = re.search(r"at (http://\S+/)", server.stderr.readline())
        assert address
        damage_by_truncating(index)
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(f"{address.group(1)}api/search?q=oil", timeout=30)
        assert answer.value.code == 500
        assert DAMAGED in json.loads(answer.value.read())["error"]["message"]
        server.send_signal(signal.SIGINT)
        log = server.communicate(timeout=20)[1]
    assert "searchidx serve: GET /api/search?q=oil failed with 500:" in log
    assert "Traceback (most recent call last):" in log
    assert "IndexDamagedError" in log
