from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from searchidx import Index, IngestReport, ingest, search
from searchidx.engines.whoosh.storage import open_index
from searchidx.errors import CorpusError
from searchidx.inputs.documents import Document
from searchidx.inputs.finding import find_files
from searchidx.query.fields import build_schema
from tests.conftest import CORPUS, SHARED, need, write_article


def counts(report: IngestReport) -> dict[str, int]:
    return {
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "removed": report.removed,
        "duplicates": len(report.duplicates),
        "skipped": len(report.skipped),
        "total": report.total,
    }


def corpus_documents() -> list[Document]:
    """Every document of the demo corpus, as ingest reads them."""
    from searchidx.ingesting.ingest import _load

    paths = map(Path, find_files([CORPUS]).supported)
    return [item for path in paths for item in _load(path, path.read_bytes()) if isinstance(item, Document)]


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


def test_every_file_and_record_is_accounted_for(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    (folder / "broken.txt").write_bytes(b"\x00\x01\x02binary")
    (folder / "empty.html").write_text("<html><body></body></html>", encoding="utf-8")
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4")
    (folder / "feed.jsonl").write_text(
        json.dumps({"title": "Ferry returns", "body": "The ferry is back."}) + "\n"
        "{not json\n"
        + json.dumps({"id": "x", "summary": "no title or body"})
        + "\n"
        + json.dumps({"headline": "Port reopens", "text": "Ships dock again.", "published": "2020-01-02"})
        + "\n",
        encoding="utf-8",
    )
    (folder / ".hidden.txt").write_text("# Secret\n\nNot indexed.", encoding="utf-8")
    (folder / ".git").mkdir()
    (folder / ".git" / "x.txt").write_text("# Git\n\nNot indexed.", encoding="utf-8")

    report = ingest(folder, index=tmp_path / "index")

    assert counts(report) == {"added": 5, "updated": 0, "unchanged": 0, "removed": 0, "duplicates": 0,
                              "skipped": 4, "total": 5}  # fmt: skip
    feed = folder / "feed.jsonl"
    assert sorted((s.location, s.reason) for s in report.skipped) == sorted([
        (str(folder / "broken.txt"), "binary file (not text)"),
        (str(folder / "empty.html"), "no article text found"),
        (f"{feed}:line 2", "invalid JSON (Expecting property name enclosed in double quotes, column 2)"),
        (f"{feed}:line 3", "no title or body (expected fields: title, body/text/content)"),
    ])  # fmt: skip
    # The hidden file is counted among the ignored files, the hidden folder apart (it is not looked into).
    assert (report.files, report.ignored, report.ignored_folders, report.records) == (6, 2, 1, 9)
    assert report.undated == 3
    assert {hit.title for hit in search("ferry OR port", index=tmp_path / "index")} == {
        "Ferry returns",
        "Port reopens",
    }


def test_reingest_counts_are_exact(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    index = tmp_path / "index"
    assert counts(ingest(folder, index=index))["added"] == 3

    assert counts(ingest(folder, index=index)) == {"added": 0, "updated": 0, "unchanged": 3, "removed": 0,
                                                   "duplicates": 0, "skipped": 0, "total": 3}  # fmt: skip

    write_article(folder, "a.txt", "Bridge opens late", "The new bridge opened on Tuesday.")
    (folder / "sub" / "b.txt").unlink()
    write_article(folder, "d.txt", "Ferry returns", "The ferry is back in service.")
    (folder / "c.html").touch()  # a new modification time alone changes nothing
    report = ingest(folder, index=index)
    assert counts(report) == {"added": 1, "updated": 1, "unchanged": 1, "removed": 1, "duplicates": 0,
                              "skipped": 0, "total": 3}  # fmt: skip
    assert [hit.title for hit in search("bridge", index=index)] == ["Bridge opens late"]
    assert len(search("harbour", index=index)) == 0


def test_duplicates_by_url_and_by_content_keep_the_first_in_path_order(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    write_article(folder, "1.txt", "Bridge opens", "First report.", url="https://news.example/bridge")
    write_article(
        folder, "2.txt", "Bridge opens!", "Second report.", url="https://NEWS.example/bridge?utm_source=x"
    )
    write_article(folder, "3.txt", "Harbour closes", "The harbour closed.")
    write_article(folder, "4.txt", "HARBOUR CLOSES", "The  harbour\nclosed.")
    report = ingest(folder, index=tmp_path / "index")
    assert (report.added, report.total) == (2, 2)
    assert sorted((d.location, d.of) for d in report.duplicates) == [
        (str(folder / "2.txt"), str(folder / "1.txt")),
        (str(folder / "4.txt"), str(folder / "3.txt")),
    ]
    assert [hit.snippet for hit in search("bridge", index=tmp_path / "index")] == ["First report."]


def test_a_copy_of_the_folder_under_another_name_never_doubles_results(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    index = tmp_path / "index"
    ingest(folder, index=index)
    copy = shutil.copytree(folder, tmp_path / "copy")
    report = ingest(copy, index=index)
    assert counts(report) == {"added": 0, "updated": 0, "unchanged": 0, "removed": 0, "duplicates": 3,
                              "skipped": 0, "total": 3}  # fmt: skip
    assert ingest(copy, index=index).total == 3


def test_when_the_kept_document_goes_its_duplicate_takes_its_place(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    write_article(folder, "1.txt", "Harbour closes", "The harbour closed.")
    write_article(folder, "2.txt", "Harbour closes", "The harbour closed.")
    index = tmp_path / "index"
    assert len(ingest(folder, index=index).duplicates) == 1
    (folder / "1.txt").unlink()
    report = ingest(folder, index=index)
    assert counts(report) == {"added": 1, "updated": 0, "unchanged": 0, "removed": 1, "duplicates": 0,
                              "skipped": 0, "total": 1}  # fmt: skip
    assert search("harbour", index=index)[0].path == str((folder / "2.txt").resolve())


def test_several_folders_feed_one_index_and_never_remove_each_other(tmp_path: Path) -> None:
    first = make_folder(tmp_path)
    second = tmp_path / "more"
    write_article(second, "d.txt", "Ferry returns", "The ferry returns to service.")
    index = tmp_path / "index"
    assert ingest([first, second], index=index).added == 4
    (second / "d.txt").unlink()
    write_article(second, "e.txt", "Port reopens", "Ships dock again.")
    report = ingest(second, index=index)
    assert (report.added, report.removed, report.unchanged, report.total) == (1, 1, 0, 4)


def test_full_rebuilds_from_the_given_folders_only(tmp_path: Path) -> None:
    first = make_folder(tmp_path)
    second = tmp_path / "more"
    write_article(second, "d.txt", "Ferry returns", "The ferry returns to service.")
    index = tmp_path / "index"
    ingest([first, second], index=index)
    report = ingest(second, index=index, full=True)
    assert counts(report) == {"added": 1, "updated": 0, "unchanged": 0, "removed": 0, "duplicates": 0,
                              "skipped": 0, "total": 1}  # fmt: skip
    assert ingest(second, index=index).unchanged == 1


def test_the_index_inside_the_ingested_folder_is_not_ingested(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    ingest(folder, index=folder / "index")
    report = ingest(folder, index=folder / "index")
    assert (report.unchanged, report.ignored, report.total) == (3, 0, 3)


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


def test_a_file_instead_of_a_folder_is_ingested_alone(tmp_path: Path) -> None:
    path = write_article(tmp_path, "a.txt", "T", "Body.")
    write_article(tmp_path, "b.txt", "U", "Another body.")
    report = ingest(path, index=tmp_path / "index")
    assert (report.added, report.files, report.ignored, report.total) == (1, 1, 0, 1)
    with pytest.raises(CorpusError, match=r"The file .*nowhere\.jsonl does not exist"):
        ingest(tmp_path / "nowhere.jsonl", index=tmp_path / "index")


def test_a_folder_without_supported_files_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "pdfs"
    folder.mkdir()
    (folder / "a.pdf").write_bytes(b"%PDF")
    with pytest.raises(CorpusError, match=r"No supported files .* \(1 other file ignored\)"):
        ingest(folder, index=tmp_path / "index")


def test_the_demo_corpus_ingests_completely(corpus_index: tuple[Path, IngestReport]) -> None:
    _, report = corpus_index
    assert report.skipped == ()
    assert report.duplicates == ()
    assert report.added == report.total >= 1 + 300 + 10


@pytest.mark.slow  # 19,043 Reuters articles
def test_every_reuters_record_is_indexed_or_a_duplicate(tmp_path: Path) -> None:
    source = need(SHARED / "data" / "news" / "reuters21578.jsonl")
    folder = tmp_path / "reuters"
    folder.mkdir()
    (folder / source.name).symlink_to(source)
    report = ingest(folder, index=tmp_path / "index")
    assert report.records == 19_043
    assert report.added + len(report.duplicates) == 19_043
    assert report.skipped == ()
    assert report.total == report.added
    assert 230 <= len(report.duplicates) <= 282


def test_an_index_of_another_schema_version_is_refused_until_rebuilt(tmp_path: Path) -> None:
    from whoosh import index as whoosh_index

    from searchidx.errors import IncompatibleIndexError
    from searchidx.query.fields import VERSION_ATTRIBUTE, build_schema

    folder = make_folder(tmp_path)
    old_schema = build_schema()
    setattr(old_schema, VERSION_ATTRIBUTE, 1)  # as an older searchidx would have written it
    index = tmp_path / "index"
    index.mkdir()
    writer = whoosh_index.create_in(str(index), old_schema).writer()
    writer.add_document(id="old", title="Old", body="old text")
    writer.commit()
    with pytest.raises(IncompatibleIndexError, match="ingest --full"):
        search("bridge", index=index)
    with pytest.raises(IncompatibleIndexError):
        ingest(folder, index=index)
    report = ingest(folder, index=index, full=True)
    assert (report.added, report.total) == (3, 3)
    assert [hit.title for hit in search("bridge", index=index)] == ["Bridge opens"]


def test_a_second_ingest_waits_for_the_lock_then_says_who_holds_it(tmp_path: Path) -> None:
    from searchidx.engines.whoosh.storage import index_storage
    from searchidx.engines.whoosh.writing import write_lock
    from searchidx.errors import IndexLockedError

    folder = make_folder(tmp_path)
    index = tmp_path / "index"
    ingest(folder, index=index)
    with write_lock(index_storage(index), index), pytest.raises(IndexLockedError) as raised:
        ingest(folder, index=index, wait=0.3)
    assert str(raised.value) == (
        f"Another ingest (PID {os.getpid()}) is still writing to the index at {index} after 0.3 s. "
        "Wait for it to finish, or give it longer with --wait SECONDS."
    )
    assert ingest(folder, index=index, wait=0).unchanged == 3  # the lock is free again


def test_unchanged_files_are_recognised_by_size_and_time_without_reading(tmp_path: Path) -> None:
    import os

    folder = make_folder(tmp_path)
    an_hour_ago = 1_700_000_000
    for path in folder.rglob("*.*"):
        os.utime(path, (an_hour_ago, an_hour_ago))
    index = tmp_path / "index"
    ingest(folder, index=index)
    bridge = folder / "a.txt"
    text = bridge.read_text(encoding="utf-8")
    # Same size, same modification time, other words: taken as unchanged, not read.
    bridge.write_text(text.replace("Monday", "Friday"), encoding="utf-8")
    os.utime(bridge, (an_hour_ago, an_hour_ago))
    assert counts(ingest(folder, index=index))["unchanged"] == 3
    # A new modification time makes it read again, whatever its size.
    os.utime(bridge, (an_hour_ago + 60, an_hour_ago + 60))
    report = ingest(folder, index=index)
    assert (report.updated, report.unchanged) == (1, 2)
    assert [hit.title for hit in search("friday", index=index)] == ["Bridge opens"]
    # A file written just now is hashed each time until its time can be trusted.
    bridge.write_text(text, encoding="utf-8")
    assert ingest(folder, index=index).updated == 1
    assert ingest(folder, index=index).unchanged == 3


@pytest.mark.slow  # thousands of articles
@pytest.mark.parametrize("workers", [1, 2])
def test_a_large_ingest_commits_in_batches_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, corpus_index: tuple[Path, IngestReport], workers: int
) -> None:
    from searchidx.ingesting import ingest as indexing

    monkeypatch.setattr(indexing, "BATCH_DOCUMENTS", 60)
    _, whole = corpus_index
    index = tmp_path / "index"
    for full in (False, True):  # a rebuild clears the old segments once, not each batch's
        report = ingest(CORPUS, index=index, full=full, workers=workers)
        assert (report.added, report.total, len(report.duplicates)) == (
            whole.added,
            whole.total,
            len(whole.duplicates),
        )
    assert len(list(index.glob("*.seg"))) >= whole.added // 60  # one commit (or two segments) per batch
    assert ingest(CORPUS, index=index).unchanged == whole.added


def test_a_batch_also_ends_when_its_text_fills_the_writers_buffers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, corpus_index: tuple[Path, IngestReport]
) -> None:
    from searchidx.engines.whoosh import writing as writers

    monkeypatch.setattr(writers.FastSegmentWriter, "batch_characters", 50_000)
    _, whole = corpus_index
    index = tmp_path / "index"
    report = ingest(CORPUS, index=index, workers=2)
    assert (report.added, report.total) == (whole.added, whole.total)
    characters = sum(document.characters for document in corpus_documents())
    # two workers: a batch holds 100,000 characters (and the article that crossed the line), a commit each
    assert open_index(index).latest_generation() + 1 >= characters // 110_000 >= 3


def test_the_text_budget_keeps_the_posting_buffer_in_memory(tmp_path: Path) -> None:
    """Whoosh's buffer counts less than POOL_BYTES_PER_CHARACTER per character, so a batch never spills."""
    from searchidx.engines.whoosh.storage import open_or_create_index
    from searchidx.engines.whoosh.writing import POOL_BYTES_PER_CHARACTER, FastSegmentWriter
    from searchidx.ingesting.ingest import _fields

    (tmp_path / "index").mkdir()
    writer = FastSegmentWriter(open_or_create_index(tmp_path / "index"), limitmb=10_000)
    characters = 0
    for document in corpus_documents():
        writer.add_document(**_fields(document, str(document.path), document.id))
        characters += document.characters
    counted = writer.pool.currentsize
    writer.cancel()
    assert characters > 100_000
    assert 0.6 * POOL_BYTES_PER_CHARACTER * characters < counted < POOL_BYTES_PER_CHARACTER * characters


def test_one_worker_may_take_a_whole_batch_without_its_buffer_spilling(tmp_path: Path) -> None:
    """Workers take jobs as they free up, so one of them can get more than its share of a batch."""
    from searchidx.engines.whoosh.storage import open_or_create_index
    from searchidx.engines.whoosh.writing import POOL_BYTES_PER_CHARACTER, open_writer

    (tmp_path / "index").mkdir()
    writer = open_writer(open_or_create_index(tmp_path / "index"), procs=2)
    try:
        worker_buffer = writer.subargs["limitmb"] * 2**20
        assert worker_buffer >= writer.batch_characters * POOL_BYTES_PER_CHARACTER
    finally:
        writer.cancel()


def _postings(index: Path, fields: set[str]) -> list[tuple[str, bytes, list[tuple[int, float, bytes]]]]:
    """Every term of ``fields`` in the index's one segment with its postings: (document, weight, positions)."""
    ix = open_index(index)
    with ix.reader() as reader:
        found = []
        for fieldname, term in reader.all_terms():
            if fieldname not in fields:
                continue
            matcher = reader.postings(fieldname, term)
            postings = []
            while matcher.is_active():
                # A term in one document is inlined in the term table, whose reader gives "" for "no value".
                postings.append((matcher.id(), matcher.weight(), matcher.value() or None))
                matcher.next()
            found.append((fieldname, term, postings))
        return found


def _counts(index: Path) -> dict[tuple[str, bytes], tuple[int, float]]:
    """Each term's document count and total weight over the index (what ranking and the speller read)."""
    ix = open_index(index)
    with ix.reader() as reader:
        return {
            (field, term): (reader.doc_frequency(field, term), round(reader.frequency(field, term), 2))
            for field, term in reader.all_terms()
            if field not in ("path", "id")  # the merged index's files sit in other folders
        }


@pytest.mark.slow  # thousands of postings, twice
def test_the_bulk_writer_writes_the_postings_and_counts_whoosh_writes(tmp_path: Path) -> None:
    from whoosh.writing import SegmentWriter

    from searchidx.engines.whoosh.storage import open_or_create_index
    from searchidx.engines.whoosh.writing import FastSegmentWriter
    from searchidx.ingesting.ingest import _fields

    documents = corpus_documents()
    for name, writer_class in (("whoosh", SegmentWriter), ("searchidx", FastSegmentWriter)):
        (tmp_path / name).mkdir()
        writer = writer_class(open_or_create_index(tmp_path / name))
        for document in documents:
            writer.add_document(**_fields(document, str(document.path), document.id))
        writer.commit()
    searched = set(build_schema().names()) - {"spelling"}
    expected = _postings(tmp_path / "whoosh", searched)
    assert len(expected) > 5_000
    assert _postings(tmp_path / "searchidx", searched) == expected
    # The speller's words keep one posting each, and the counts Whoosh's per-document postings add up to.
    assert _counts(tmp_path / "searchidx") == _counts(tmp_path / "whoosh")
    with open_index(tmp_path / "searchidx").reader() as reader:  # the term table's hashes, written in bulk
        terms = list(reader.all_terms())
        assert all(term in reader for term in terms)
        assert not any((field, text + b"\x00") in reader for field, text in terms)


def test_a_batch_of_texts_gets_the_postings_whoosh_gives_each_text_alone(tmp_path: Path) -> None:
    from whoosh.writing import SegmentWriter

    from searchidx.engines.whoosh.storage import open_or_create_index
    from searchidx.engines.whoosh.writing import FastSegmentWriter

    long_text = " ".join(f"word{n % 50} parade" for n in range(3000))  # positions past the encoded table's
    texts = [
        ("Putin's parade", "Putin's parade: U.S. troops, 3.5% growth and the G-7 (IL-6) in 2015."),
        ("Café RÉSUMÉ", "Café RÉSUMÉ naïve Straße İstanbul — “quoted” words"),
        ("东京 news", "东京 日本語のテキスト 한국어 mixed 中文text and the parade"),
        ("Parade parade PARADE", "The parade, the parade and the parade again."),
        ("", "What did the minister say? a I x"),
        ("Only a title", ""),
        ("Long", long_text),
    ]
    documents = [
        {"id": f"d{n}", "title": headline, "body": (headline, text), "spelling": (headline, text)}
        for n, (headline, text) in enumerate(texts)
    ]
    documents.append({"id": "no-text", "title": None, "body": None})
    for name, writer_class in (("whoosh", SegmentWriter), ("searchidx", FastSegmentWriter)):
        (tmp_path / name).mkdir()
        writer = writer_class(open_or_create_index(tmp_path / name))
        if name == "whoosh":
            for fields in documents:
                writer.add_document(**{key: value for key, value in fields.items() if value is not None})
        else:
            writer.add_documents(documents)  # one batch
        writer.commit()
    searched = {"title", "body", "id"}
    assert _postings(tmp_path / "searchidx", searched) == _postings(tmp_path / "whoosh", searched)
    assert _counts(tmp_path / "searchidx") == _counts(tmp_path / "whoosh")

    def lengths(name: str) -> list[list[int]]:  # each document's length in each field, which ranking reads
        with open_index(tmp_path / name).reader() as reader:
            return [
                [reader.doc_field_length(n, field) for n in range(len(documents))]
                for field in sorted(searched)
            ]

    assert lengths("searchidx") == lengths("whoosh")


def test_the_merge_policy_merges_fewer_segments_rather_than_pass_its_cap() -> None:
    from searchidx.engines.whoosh.merging import MAX_MERGED_DOCUMENTS, MERGE_FACTOR, segments_to_merge

    class Sized:  # the one thing the policy asks of a segment
        def __init__(self, documents: int) -> None:
            self.documents = documents

        def doc_count(self) -> int:
            return self.documents

    small = [Sized(9_000 + n) for n in range(MERGE_FACTOR)]
    assert segments_to_merge(small[:-1]) == []  # a tier waits for MERGE_FACTOR segments
    assert segments_to_merge(small) == small
    large = [
        Sized(MAX_MERGED_DOCUMENTS // 5 - 100 * n) for n in range(1, MERGE_FACTOR + 1)
    ]  # a fifth of the cap
    chosen = segments_to_merge(large)
    assert [segment.doc_count() for segment in chosen] == sorted(s.doc_count() for s in large)[:5]
    assert segments_to_merge([Sized(MAX_MERGED_DOCUMENTS - 1) for _ in range(MERGE_FACTOR)]) == []


def test_an_ingest_folds_the_small_segments_it_leaves_beside_a_larger_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from searchidx.engines.whoosh import merging

    monkeypatch.setattr(merging, "TIER_FLOOR", 100)  # the corpus's 331 articles make a "large" segment
    files = sorted(map(Path, find_files([CORPUS]).supported))
    parts = {"large": files[:-20], "first": files[-20:-10], "second": files[-10:]}
    for name, paths in parts.items():
        (tmp_path / name).mkdir()
        for path in paths:
            shutil.copy(path, tmp_path / name / path.name)
    index = tmp_path / "index"
    ingest(tmp_path / "large", index=index, workers=1)
    ingest(tmp_path / "first", index=index, workers=1)
    assert len(open_index(index)._segments()) == 2  # one small segment is left as it is
    ingest(tmp_path / "second", index=index, workers=1)
    sizes = sorted(segment.doc_count() for segment in open_index(index)._segments())
    assert len(sizes) == 2, sizes
    assert sizes[0] < 100 <= sizes[1]  # the two small ones, merged
    assert sum(sizes) == search("*", index=index).total


@pytest.mark.slow
def test_a_tiered_merge_keeps_every_live_document_posting_and_count(tmp_path: Path) -> None:
    from searchidx.engines.factory import check
    from searchidx.engines.whoosh.merging import MERGE_FACTOR

    files = list(map(Path, find_files([CORPUS]).supported))
    parts = [tmp_path / "parts" / f"part{number}" for number in range(MERGE_FACTOR + 2)]
    for number, path in enumerate(files):
        parts[number % len(parts)].mkdir(parents=True, exist_ok=True)
        shutil.copy(path, parts[number % len(parts)] / f"{number}-{path.name}")
    merged = tmp_path / "merged"
    for part in parts[: MERGE_FACTOR - 1]:
        ingest(part, index=merged, workers=1)
    for gone in sorted(parts[0].iterdir())[:2]:  # deleted from the first segment, which is merged next
        gone.unlink()
    ingest(parts[0], index=merged, workers=1)
    ingest(parts[MERGE_FACTOR - 1], index=merged, workers=1)
    with Index(merged) as reading:  # opened before the merge: its searcher holds the ten segments
        before = reading.search("harbour", limit=5)
        for part in parts[MERGE_FACTOR:]:
            ingest(part, index=merged, workers=1)  # the first of these merges the first ten segments
        after = reading.search("harbour", limit=5)  # the merged segment, and the segments after it
    assert before.total > 0
    assert after.total >= before.total
    sizes = [segment.doc_count_all() for segment in open_index(merged)._segments()]
    assert len(sizes) == 3, sizes
    assert not open_index(merged).reader().has_deletions()
    assert check(merged).healthy

    everything = tmp_path / "everything"
    for part in parts:
        shutil.copytree(part, everything, dirs_exist_ok=True)
    single = tmp_path / "single"
    ingest(everything, index=single, workers=1)
    assert _counts(merged) == _counts(single)
    for query in ("harbour storm", "putin parade", "oil prices", '"central bank"', "abramovich"):
        found, expected = search(query, index=merged, limit=20), search(query, index=single, limit=20)
        assert found.total == expected.total
        assert [hit.title for hit in found.hits] == [hit.title for hit in expected.hits]


@pytest.mark.parametrize("case", ["taken", "dropped", "stopped"])
def test_a_background_merge_is_taken_by_a_later_commit_unless_its_sources_lost_documents(
    tmp_path: Path, case: str
) -> None:
    from searchidx.engines.whoosh.merging import MERGE_FACTOR, BackgroundMerges
    from searchidx.engines.whoosh.storage import open_or_create_index
    from searchidx.engines.whoosh.writing import open_writer
    from searchidx.ingesting.ingest import _fields

    documents = corpus_documents()[: MERGE_FACTOR * 3]
    ix = open_or_create_index(tmp_path)
    for start in range(0, len(documents), 3):  # ten segments of three documents, none merged
        writer = open_writer(ix)
        for document in documents[start : start + 3]:
            writer.add_document(**_fields(document, str(document.path), document.id))
        writer.commit(mergetype=lambda writer, segments: segments)
    before = _documents(tmp_path)
    merges = BackgroundMerges()
    open_writer(ix).commit(mergetype=merges)  # starts merging the ten, and returns
    assert merges.running
    assert len(open_index(tmp_path)._segments()) == MERGE_FACTOR
    (merging,) = (segment.segment_id() for segment in merges.unfinished())
    deleted = documents[0].id
    if case == "dropped":  # a document of a segment being merged is deleted: the merge must not bring it back
        writer = open_writer(ix)
        writer.delete_by_term("id", deleted)
        writer.commit(mergetype=merges)
    if case == "stopped":  # an ingest that failed: the merge is stopped, its files removed by the next commit
        merges.stop()
        open_writer(ix).commit(mergetype=lambda writer, segments: segments)
    else:
        open_writer(ix).commit(mergetype=merges.finishing)
    assert not merges.running
    segments = open_index(tmp_path)._segments()
    names = os.listdir(tmp_path)
    if case == "taken":
        assert [segment.segment_id() for segment in segments] == [merging]
    else:  # merged again in the ingest process, or not at all
        assert len(segments) == (1 if case == "dropped" else MERGE_FACTOR)
        assert not any(name.startswith(merging) for name in names)
    assert not any(name.endswith(".tmp") for name in names)
    after = _documents(tmp_path)
    if case == "dropped":
        del before[deleted]
    assert after == before  # stored fields, lengths and column values copied as they were
    assert len(after) == len(documents) - (case == "dropped")


def _documents(index: Path) -> dict[str, tuple[dict[str, object], tuple[int, ...], tuple[object, ...]]]:
    """Each live document's stored fields, field lengths and column values, by id."""
    with open_index(index).searcher() as searcher:
        reader = searcher.reader()
        scored = [name for name in reader.schema.names() if reader.schema[name].scorable]
        columns = [name for name in ("id", "date", "source", "story") if reader.has_column(name)]
        readers = {name: reader.column_reader(name) for name in columns}
        found = {}
        for docnum, fields in reader.iter_docs():
            lengths = tuple(reader.doc_field_length(docnum, name) or 0 for name in scored)
            found[fields["id"]] = (fields, lengths, tuple(readers[name][docnum] for name in columns))
        return found


def test_ingest_records_killed_before_their_tables_were_written_read_as_empty(tmp_path: Path) -> None:
    import sqlite3

    from searchidx import Index
    from searchidx.inputs.manifest import MANIFEST_NAME

    write_article(tmp_path / "articles", "a.txt", "Harbour reopens", "The harbour reopened.")
    index = tmp_path / "index"
    ingest(tmp_path / "articles", index=index)
    (index / MANIFEST_NAME).unlink()
    sqlite3.connect(index / MANIFEST_NAME).close()  # the empty database a first ingest killed early leaves
    with Index(index) as ix:
        stats = ix.stats()
    assert (stats.documents, stats.last_ingest) == (1, None)


def test_ingest_records_a_killed_writer_left_in_its_log_are_read(tmp_path: Path) -> None:
    import subprocess
    import sys

    from searchidx.inputs.manifest import Manifest

    killed = (
        "import os, sys\nfrom pathlib import Path\nfrom searchidx.inputs.manifest import Manifest\n"
        "manifest = Manifest(Path(sys.argv[1]))\nmanifest.set_meta('last_ingest', 'then')\n"
        "manifest.commit()\nos.kill(os.getpid(), 9)\n"
    )
    subprocess.run([sys.executable, "-c", killed, str(tmp_path)], check=False)
    assert (tmp_path / "searchidx-manifest.sqlite3-wal").exists()  # committed in the log, never checkpointed
    manifest = Manifest(tmp_path, read_only=True)
    try:
        assert manifest.meta() == {"last_ingest": "then"}
    finally:
        manifest.close()
