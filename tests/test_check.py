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
from searchidx.engines.factory import check
from searchidx.inputs.manifest import MANIFEST_NAME
from searchidx.results import REBUILD, RERUN
from tests.conftest import CORPUS, REPO
from tests.servers import serving

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


@pytest.mark.slow  # three damaged indexes rebuilt
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


SEED_URL = (
    "https://www.themoscowtimes.com/2015/03/20/president-putin-to-visit-china-for-world-war-ii-march-a44971"
)


def overwrite_parts(
    index: Path, names: tuple[str, ...], pattern: bytes, *, after: int = 0, size: int | None = None
) -> None:
    """Overwrite the parts of the segment whose names end with one of ``names`` ("" for all), past their
    first ``after`` bytes (``size`` bytes, or to their end), with ``pattern`` repeated: every byte a
    command decodes there is garbage."""
    from whoosh import index as whoosh_index

    ix = whoosh_index.open_dir(str(index))
    (segment,) = ix._segments()
    parts = segment.open_compound_file(ix.storage)
    places = [(entry["offset"] + after, entry["offset"] + (entry["length"] if size is None else after + size))
              for name, entry in parts._dir.items() if name.endswith(names)]  # fmt: skip
    parts.close()
    data = bytearray(segment_file(index).read_bytes())
    for start, end in places:
        if end > start:
            data[start:end] = (pattern * (1 + (end - start) // len(pattern)))[: end - start]
    segment_file(index).write_bytes(bytes(data))


SHOW, STATS, TREND = ["show", SEED_URL], ["stats"], ["trend", "oil"]
QUERY, SIMILAR = ["query", "Putin parade"], ["similar", SEED_URL]
# What each corruption made escape before (exit 70, "unexpected internal error"), and the commands it hits.
CORRUPTIONS = {
    # UnicodeEncodeError: a column's struct code decoded from garbage bytes
    "stored-fields-and-sources": ((".col",), b"\xff", 0, [QUERY, SHOW, SIMILAR, STATS, TREND]),
    # ValueError: negative seek position, in searchidx's reader of the mapped segment
    "every-part-past-its-header": (("",), bytes(range(256)), 16, [QUERY, SHOW, SIMILAR, STATS, TREND]),
    # OverflowError and ValueError: numbers in the date column that are no date
    "dates": (("date.col",), bytes(range(256)), 0, [STATS, TREND]),
    # UnicodeDecodeError: the source column's text
    "sources": (("source.col",), bytes(range(255, -1, -1)), 64, [STATS, TREND]),
}  # fmt: skip


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_every_command_reports_garbage_in_a_segment_as_damage(index: Path, corruption: str) -> None:
    names, pattern, after, commands = CORRUPTIONS[corruption]
    overwrite_parts(index, names, pattern, after=after)
    for command in commands:
        done = searchidx(*command, "--index", index)
        assert (done.returncode, done.stdout) == (2, ""), (command, done.stderr)
        assert done.stderr.count("\n") == 1, done.stderr  # one sentence, no traceback
        assert DAMAGED in done.stderr
        assert done.stderr.rstrip().endswith(REBUILD_SENTENCE)
    checked = check(index)
    assert not checked.healthy
    assert checked.advice == REBUILD


def test_the_web_api_reports_garbage_in_a_segment_as_damage(index: Path) -> None:
    from falcon import testing

    from searchidx.outputs.web.app import create_app

    overwrite_parts(index, (".col",), b"\xff")
    client = testing.TestClient(create_app(index))
    for path in ("/api/search?q=oil", "/api/stats", "/api/trend?q=oil"):
        answer = client.simulate_get(path)
        assert answer.status_code == 500, path
        assert DAMAGED in answer.json["error"]["message"], path


@pytest.mark.parametrize(
    ("after", "size"),
    [
        (0, None),  # the column's struct code at its end: was a UnicodeEncodeError out of check()
        (100, 100),  # some ids' bytes: was a UnicodeDecodeError out of check()
    ],
)
def test_garbage_in_the_id_column_is_found_by_check(index: Path, after: int, size: int | None) -> None:
    overwrite_parts(index, ("id.col",), b"\xff", after=after, size=size)
    report = check(index)
    assert report.problems[0].startswith(f"Segment {segment_file(index).stem} cannot be read:")
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
    from searchidx.engines.whoosh.storage import read_index_files
    from searchidx.errors import IndexDamagedError

    def computes_wrongly() -> None:
        [].pop()  # an IndexError raised by code, not by reading a file

    with pytest.raises(IndexError):
        read_index_files(tmp_path, computes_wrongly)
    with pytest.raises(IndexDamagedError):
        read_index_files(tmp_path, lambda: open(tmp_path / "gone.seg", "rb"))  # noqa: SIM115


def test_the_server_logs_every_500_with_its_traceback(index: Path) -> None:
    with serving(index) as server:
        damage_by_truncating(index)
        answer = server.request("/api/search?q=oil")
        assert answer.status == 500
        assert DAMAGED in answer.json()["error"]["message"]  # type: ignore[index]
        server.stop(interrupt=True)
    assert "searchidx serve: GET /api/search?q=oil failed with 500:" in server.log
    assert "Traceback (most recent call last):" in server.log
    assert "IndexDamagedError" in server.log
