"""What ``ingest`` takes in: folders and files, a folder's own documents, and how its summary reads."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from searchidx import ingest, search
from searchidx.outputs.cli import cli
from tests.conftest import write_article

# How the BBC News archive describes itself (its README.TXT), in the seed's text format's shape.
BBC_README = (
    "Consists of 2225 documents from the BBC news website corresponding to stories in five topical areas\n"
    "from 2004-2005.\n\nClass Labels: 5 (business, entertainment, politics, sport, tech)\n"
)


def run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(arg) for arg in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def summary(added: object, updated: object, unchanged: object, removed: object, records: str) -> str:
    return (f"{added} added, {updated} updated, {unchanged} unchanged, {removed} removed, 0 duplicates, "
            f"0 skipped ({records})")  # fmt: skip


def bbc_folder(root: Path) -> Path:
    """Two articles, the archive's README.TXT, a nested readme.md and licences with and without a type."""
    folder = root / "bbc"
    write_article(folder, "business/001.txt", "Ad sales boost Time Warner profit", "Quarterly profits rose.")
    write_article(folder, "sport/001.txt", "Claxton hunting first major medal", "She won the 60m hurdles.")
    (folder / "README.TXT").write_text(BBC_README, encoding="utf-8")
    (folder / "sport" / "readme.md").write_text("# About this folder\n\nSport stories.\n", encoding="utf-8")
    (folder / "COPYING.html").write_text(
        "<html><head><title>Copying</title></head><body><p>All rights in the articles of this data set are "
        "reserved by the BBC; they may be used for research only.</p></body></html>",
        encoding="utf-8",
    )
    (folder / "LICENSE").write_text("Free for research.\n", encoding="utf-8")  # no type: another file
    return folder


def test_a_folders_own_documents_are_ignored_counted_and_can_be_included(tmp_path: Path) -> None:
    folder = bbc_folder(tmp_path)
    index = tmp_path / "index"
    report = ingest(folder, index=index)
    assert (report.added, report.total, report.files, report.ignored) == (2, 2, 2, 1)
    assert sorted(report.folder_documents) == sorted(
        str(folder / name) for name in ("COPYING.html", "README.TXT", "sport/readme.md")
    )
    assert len(search("consists documents", index=index)) == 0

    included = ingest(folder, index=index, include_folder_docs=True)
    assert (included.added, included.unchanged, included.total, included.folder_documents) == (3, 2, 5, ())
    assert [hit.path for hit in search("consists", index=index)] == [str((folder / "README.TXT").resolve())]

    # Without the flag again the records stay true: what an older ingest indexed is removed.
    again = ingest(folder, index=index)
    assert (again.added, again.unchanged, again.removed, again.total) == (0, 2, 3, 2)
    assert len(again.folder_documents) == 3
    assert len(search("consists", index=index)) == 0
    assert ingest(folder, index=index).removed == 0


@pytest.mark.parametrize(
    "name", ["README.txt", "readme.md", "Readme.MD", "LICENCE.txt", "Changelog.md", "CHANGES.txt",
             "AUTHORS.txt", "NOTICE.md", "CONTRIBUTING.md", "README.en.md"],
)  # fmt: skip
def test_a_folder_document_is_known_by_its_name_in_any_case_and_type(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "articles"
    write_article(folder, "story.txt", "Harbour closes", "The harbour closed.")
    write_article(folder, name, "About", "What this folder holds.")
    report = ingest(folder, index=tmp_path / "index")
    assert (report.added, report.folder_documents) == (1, (str(folder / name),))


def test_articles_whose_names_only_begin_like_a_folder_document_are_read(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    for name in ("readme-app-review.txt", "licensing-row.txt", "news.jsonl.txt", "changes_to_tax.md"):
        write_article(folder, name, f"Story {name}", f"Text of {name}.")
    report = ingest(folder, index=tmp_path / "index")
    assert (report.added, report.folder_documents) == (4, ())


def test_the_summary_names_the_folder_documents_and_verbose_says_how_to_include_them(tmp_path: Path) -> None:
    folder = bbc_folder(tmp_path)
    index = tmp_path / "index"
    code, out, err = run("ingest", folder, "--index", index, "--verbose")
    assert code == 0
    assert out.splitlines()[0] == summary(2, 0, 0, 0, "2 records in 2 files; 3 folder documents "
                                          "(COPYING.html, README.TXT, readme.md) and 1 other file ignored")  # fmt: skip
    assert f"ignored {folder / 'README.TXT'}: a folder document (--include-folder-docs indexes it)" in (
        err.splitlines()
    )
    code, out, _ = run("ingest", folder, "--index", index, "--json")
    document = json.loads(out)
    assert (document["folder_documents"], document["ignored"], document["added"]) == (3, 1, 0)
    assert sorted(document["folder_document_items"]) == sorted(
        str(folder / name) for name in ("COPYING.html", "README.TXT", "sport/readme.md")
    )
    code, out, _ = run("ingest", folder, "--index", index, "--include-folder-docs")
    assert (code, out.splitlines()[0]) == (
        0,
        summary(3, 0, 2, 0, "5 records in 5 files; 1 other file ignored"),
    )


def test_a_folder_of_only_its_own_documents_says_how_to_include_them(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "README.md").write_text("# Read me\n\nAbout the folder.\n", encoding="utf-8")
    code, out, err = run("ingest", folder, "--index", tmp_path / "index")
    assert (code, out) == (1, "")
    assert err == (
        f"searchidx: No articles in {folder}: 1 folder document (README.md) ignored. Point ingest at the "
        "folder that holds your articles, or add --include-folder-docs to index folder documents.\n"
    )


def write_feed(path: Path, titles: list[str]) -> Path:
    lines = [json.dumps({"id": f"r{n}", "title": title, "body": f"All about {title.lower()}."})
             for n, title in enumerate(titles)]  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_ingest_takes_a_json_lines_file_and_keeps_the_same_records(tmp_path: Path) -> None:
    feed = write_feed(tmp_path / "some.jsonl", ["Bridge opens", "Harbour closes"])
    index = tmp_path / "index"
    code, out, err = run("ingest", feed, "--index", index)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == summary(2, 0, 0, 0, "2 records in 1 file")
    code, out, _ = run("ingest", feed, "--index", index)
    assert (code, out.splitlines()[0]) == (0, summary(0, 0, 2, 0, "2 records in 1 file"))
    # A changed file is read again whole (the file is the unit of the records): both records are written.
    write_feed(feed, ["Bridge opens late", "Harbour closes"])
    code, out, _ = run("ingest", feed, "--index", index)
    assert (code, out.splitlines()[0]) == (0, summary(0, 2, 0, 0, "2 records in 1 file"))
    assert [hit.title for hit in search("bridge", index=index)] == ["Bridge opens late"]


def test_files_and_folders_mix_and_removals_stay_with_the_argument_that_gave_them(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    write_article(folder, "a.txt", "Bridge opens", "The new bridge opened.")
    write_article(folder, "b.txt", "Harbour closes", "The harbour closed.")
    feed = write_feed(tmp_path / "feed.jsonl", ["Ferry returns", "Port reopens"])
    single = write_article(tmp_path / "loose", "tram.txt", "Tram line", "A tram line will link the banks.")
    index = tmp_path / "index"
    report = ingest([folder, feed, single], index=index)
    assert (report.added, report.files, report.total) == (5, 4, 5)
    assert ingest([single, feed, folder], index=index).unchanged == 5

    (folder / "b.txt").unlink()
    report = ingest(folder, index=index)  # the folder's file is gone: only its document goes
    assert (report.added, report.unchanged, report.removed, report.total) == (0, 1, 1, 4)
    report = ingest(feed, index=index)  # a file argument reaches no further than that file
    assert (report.unchanged, report.removed, report.total) == (2, 0, 4)
    write_feed(feed, ["Ferry returns"])
    report = ingest(feed, index=index)
    assert (report.updated, report.removed, report.total) == (1, 1, 3)
    assert ingest(single, index=index).unchanged == 1

    # --full rebuilds from the arguments given only, files as folders.
    report = ingest(single, index=index, full=True)
    assert (report.added, report.total) == (1, 1)


def test_a_file_inside_an_ingested_folder_is_its_own_scope(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    first = write_article(folder, "a.txt", "Bridge opens", "The new bridge opened.")
    write_article(folder, "b.txt", "Harbour closes", "The harbour closed.")
    index = tmp_path / "index"
    ingest(folder, index=index)
    write_article(folder, "a.txt", "Bridge opens late", "The new bridge opened on Tuesday.")
    report = ingest(first, index=index)
    assert (report.updated, report.unchanged, report.removed, report.total) == (1, 0, 0, 2)
    assert ingest(folder, index=index).unchanged == 2


def test_a_folder_document_named_on_the_command_line_is_read(tmp_path: Path) -> None:
    folder = bbc_folder(tmp_path)
    index = tmp_path / "index"
    report = ingest([folder, folder / "README.TXT"], index=index)
    assert (report.added, len(report.folder_documents)) == (3, 2)
    assert len(search("consists", index=index)) == 1


def test_a_named_pipe_given_as_a_file_is_skipped_with_the_reason(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.txt"
    os.mkfifo(pipe)  # reading it would wait for a writer forever
    code, out, err = run("ingest", pipe, "--index", tmp_path / "index")
    assert (code, err) == (1, f"skipped {pipe}: not a regular file (a pipe, socket or device)\n")
    assert out.startswith(
        "0 added, 0 updated, 0 unchanged, 0 removed, 0 duplicates, 1 skipped (1 record in 1 file)"
    )


def test_counts_over_999_have_thousands_separators_and_times_no_microseconds(tmp_path: Path) -> None:
    feed = tmp_path / "feeds" / "big.jsonl"
    feed.parent.mkdir()
    records = [{"title": f"Story {n}", "body": f"Text number {n}.", "url": f"https://news.example/{n}",
                **({"date": "2016-03-01"} if n % 2 else {})} for n in range(2_002)]  # fmt: skip
    feed.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    index = tmp_path / "index"
    code, out, _ = run("ingest", feed.parent, "--index", index)
    assert code == 0
    first, second = out.splitlines()
    assert first == summary("2,002", 0, 0, 0, "2,002 records in 1 file")
    assert second.startswith(f"{index} holds 2,002 documents, 1,001 without a date (")

    code, out, _ = run("stats", "--index", index)
    assert code == 0
    lines = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in out.splitlines())
    assert lines["documents"] == "2,002"
    assert lines["per year"] == "2016 (1,001), (no date) (1,001)"
    assert lines["top sources"] == "news.example (2,002)"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", lines["last ingest"]), lines["last ingest"]

    code, out, _ = run("stats", "--index", index, "--json")
    stats = json.loads(out)
    assert stats["documents"] == 2_002
    assert datetime.fromisoformat(stats["last_ingest"]).tzinfo is not None  # JSON keeps the ISO time
    assert stats["last_ingest"].startswith(lines["last ingest"][:16].replace(" ", "T"))
