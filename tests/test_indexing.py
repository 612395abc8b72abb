from __future__ import annotations

from pathlib import Path

import pytest

from searchidx import IngestReport, ingest, search
from searchidx.errors import CorpusError
from tests.conftest import write_article


def make_folder(root: Path) -> Path:
    folder = root / "articles"
    write_article(folder, "a.txt", "Bridge opens", "The new bridge opened on Monday.", date="2019-11-19")
    write_article(folder, "sub/b.txt", "Harbour closes", "The old harbour closed for repairs.")
    (folder / "c.html").write_text(
        "<html><head><title>Tram line</title></head><body><p>A tram line will link the two banks "
        "of the river from next year, the city said.</p></body></html>",
        encoding="utf-8",
    )
    return folder


def test_every_file_is_accounted_for(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    (folder / "broken.txt").write_bytes(b"\x00\x01\x02binary")
    (folder / "empty.html").write_text("<html><body></body></html>", encoding="utf-8")
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4")
    (folder / ".hidden.txt").write_text("# Secret\n\nNot indexed.", encoding="utf-8")
    (folder / ".git").mkdir()
    (folder / ".git" / "x.txt").write_text("# Git\n\nNot indexed.", encoding="utf-8")

    report = ingest(folder, index=tmp_path / "index")

    assert report.indexed == 3
    assert sorted((s.path.name, s.reason) for s in report.skipped) == [
        ("broken.txt", "binary file (not text)"),
        ("empty.html", "no article text found"),
    ]
    assert report.ignored == 1
    assert report.files == 6
    assert report.total == 3
    assert report.index == tmp_path / "index"


def test_ingesting_again_replaces_documents_instead_of_doubling_them(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    index = tmp_path / "index"
    ingest(folder, index=index)
    write_article(folder, "a.txt", "Bridge opens late", "The new bridge opened on Tuesday.")
    report = ingest(folder, index=index)
    assert report.indexed == 3
    assert report.total == 3
    hits = search("bridge", index=index)
    assert [hit.title for hit in hits] == ["Bridge opens late"]


def test_several_folders_feed_one_index(tmp_path: Path) -> None:
    first = make_folder(tmp_path)
    second = tmp_path / "more"
    write_article(second, "d.txt", "Ferry returns", "The ferry returns to service.")
    report = ingest([first, second], index=tmp_path / "index")
    assert report.indexed == 4
    assert ingest(second, index=tmp_path / "index").total == 4


def test_the_index_inside_the_ingested_folder_is_not_ingested(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    ingest(folder, index=folder / "index")
    report = ingest(folder, index=folder / "index")
    assert (report.indexed, report.ignored, report.total) == (3, 0, 3)


def test_the_default_index_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEARCHIDX_INDEX", str(tmp_path / "from-env"))
    report = ingest(make_folder(tmp_path))
    assert report.index == tmp_path / "from-env"
    assert len(search("bridge")) == 1


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"The folder .*nowhere does not exist"):
        ingest(tmp_path / "nowhere", index=tmp_path / "index")
    assert not (tmp_path / "index").exists()


def test_a_file_instead_of_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    path = write_article(tmp_path, "a.txt", "T", "Body.")
    with pytest.raises(CorpusError, match="is not a folder"):
        ingest(path, index=tmp_path / "index")


def test_a_folder_without_supported_files_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "pdfs"
    folder.mkdir()
    (folder / "a.pdf").write_bytes(b"%PDF")
    with pytest.raises(CorpusError, match=r"No supported files .* \(1 other files ignored\)"):
        ingest(folder, index=tmp_path / "index")


def test_the_demo_corpus_ingests_completely(corpus_index: tuple[Path, IngestReport]) -> None:
    _, report = corpus_index
    assert report.skipped == ()
    assert report.indexed == report.total >= 1 + 300 + 10
    assert report.ignored == 1  # corpus/README.md
