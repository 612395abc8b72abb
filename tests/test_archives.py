"""Web archives as inputs: WARC, ARC and WACZ files written here with warcio from real pages, then ingested."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from searchidx import Index, ingest
from searchidx.inputs.archives import Capture, Unreadable, read_archive
from searchidx.inputs.documents import archive_documents, load_documents
from tests.conftest import REPO, SHARED_HTML, need

SIMPLE_PAGE = (
    "<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
    "<p>{text} Officials said the work would take the rest of the year, and residents were told "
    "to expect changes to their routes in the meantime.</p></article></body></html>"
)


def page(title: str, text: str) -> bytes:
    return SIMPLE_PAGE.format(title=title, text=text).encode("utf-8")


class Archive:
    """A WARC file being written: each method adds one record of a kind."""

    def __init__(self, stream: io.BufferedIOBase, *, compressed: bool = True) -> None:
        self.writer = WARCWriter(stream, gzip=compressed)

    def response(self, url: str, body: bytes, *, status: str = "200 OK", content_type: str = "text/html",
                 crawled: str = "2024-03-01T10:00:00Z", record_id: str | None = None) -> None:  # fmt: skip
        headers = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
        warc_headers = {"WARC-Date": crawled} | ({"WARC-Record-ID": record_id} if record_id else {})
        record = self.writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers,
                                                warc_headers_dict=warc_headers)  # fmt: skip
        self.write(record)

    def record(self, url: str, kind: str, body: bytes = b"") -> None:
        headers = None
        if kind == "request":
            headers = StatusAndHeaders(f"GET {url} HTTP/1.1", [("Host", "example.com")], is_http_request=True)
        self.write(self.writer.create_warc_record(url, kind, payload=io.BytesIO(body), http_headers=headers))

    def write(self, record: object) -> None:
        """Write the record, then close the temporary file warcio keeps its payload in."""
        self.writer.write_record(record)
        record.raw_stream.close()  # type: ignore[attr-defined]


def write_warc(path: Path, fill: object, *, compressed: bool = True) -> Path:
    with path.open("wb") as stream:
        fill(Archive(stream, compressed=compressed))  # type: ignore[operator]
    return path


def shared_pages(count: int) -> list[Path]:
    return sorted(need(SHARED_HTML / "html").glob("*.html.gz"))[:count]


@pytest.mark.parametrize("compressed", [True, False])
def test_pages_in_a_warc_give_the_articles_the_same_pages_give_as_files(
    tmp_path: Path, compressed: bool
) -> None:
    pages = shared_pages(12)
    files = tmp_path / "files"
    files.mkdir()
    for number, source in enumerate(pages):
        (files / f"{number}.html").write_bytes(gzip.decompress(source.read_bytes()))

    def fill(archive: Archive) -> None:
        for number, source in enumerate(pages):
            archive.response(f"https://news.example.com/{number}", gzip.decompress(source.read_bytes()))

    warc = write_warc(
        tmp_path / ("pages.warc.gz" if compressed else "pages.warc"), fill, compressed=compressed
    )
    from_files = {}
    for number in range(len(pages)):
        documents = load_documents(files / f"{number}.html")
        from_files[number] = documents[0]
    from_archive = [item for item in archive_documents(warc) if hasattr(item, "body")]
    assert len(from_archive) == len(pages)
    for document in from_archive:
        number = int(document.url.rsplit("/", 1)[1])
        assert (document.title, document.body, document.date) == (
            from_files[number].title,
            from_files[number].body,
            from_files[number].date,  # type: ignore[union-attr]
        )
        assert document.crawled == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
        assert document.record.startswith("offset ")


def every_kind(archive: Archive) -> None:
    archive.record("urn:uuid:info", "warcinfo", b"software: test\r\n")
    archive.record("https://example.com/a", "request")
    archive.response(
        "https://example.com/a", page("Harbour closed for repairs", "The old harbour will close.")
    )
    archive.response(
        "https://example.com/missing", page("Not found", "Nothing here."), status="404 Not Found"
    )
    archive.response(
        "https://example.com/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(64), content_type="image/png"
    )
    archive.record("https://example.com/a", "metadata", b"outlinks: none\r\n")
    archive.record("https://example.com/b", "resource", b"plain text resource")
    archive.response("https://example.com/b?utm_source=feed", page("Ferry returns", "An early version."),
                     crawled="2024-03-01T09:00:00Z")  # fmt: skip
    archive.response("https://example.com/b", page("Ferry returns", "The ferry is back in service."),
                     crawled="2024-03-02T09:00:00Z")  # fmt: skip


def test_every_record_kind_is_counted_and_the_latest_capture_of_a_url_wins(tmp_path: Path) -> None:
    folder = tmp_path / "crawl"
    folder.mkdir()
    write_warc(folder / "crawl.warc.gz", every_kind)
    report = ingest(folder, index=tmp_path / "index")
    assert (report.added, report.skipped, report.duplicates) == (2, (), ())
    assert dict(report.passed_records) == {
        "warcinfo": 1, "request": 1, "status 404": 1, "not HTML": 1, "metadata": 1, "resource": 1,
        "older capture of the same URL": 1,
    }  # fmt: skip
    with Index(tmp_path / "index") as ix:
        [ferry] = ix.search("ferry")
        assert "back in service" in ferry.snippet
        assert ferry.url == "https://example.com/b"
        assert ferry.date is None  # the crawl time is never the publication date
        assert ferry.crawled == datetime(2024, 3, 2, 9, 0, tzinfo=UTC)
        assert ix.get(ferry.id).crawled == ferry.crawled
    shown = subprocess.run([sys.executable, "-m", "searchidx", "query", "ferry", "--index", str(tmp_path / "index")],
                           cwd=REPO, capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "no date, crawled 2024-03-02 · example.com · https://example.com/b" in shown


def capture(text: str, crawled: str) -> object:
    def fill(archive: Archive) -> None:
        archive.response("https://example.com/ferry", page("Ferry returns", text), crawled=crawled)

    return fill


@pytest.mark.parametrize("later_first", [False, True])
def test_the_latest_capture_of_a_url_wins_across_archive_files(tmp_path: Path, later_first: bool) -> None:
    """Whichever file is read first; the earlier capture is reported as its duplicate, and comes back
    when the later one's file is gone."""
    folder, index = tmp_path / "crawls", tmp_path / "index"
    folder.mkdir()
    early, late = ("b", "a") if later_first else ("a", "b")
    write_warc(folder / f"{early}.warc.gz", capture("An early version.", "2024-03-01T09:00:00Z"))
    write_warc(folder / f"{late}.warc.gz", capture("The ferry is back in service.", "2024-03-02T09:00:00Z"))
    report = ingest(folder, index=index)
    assert (report.added, report.total, len(report.duplicates)) == (1, 1, 1)
    assert report.duplicates[0].location.startswith(str(folder / f"{early}.warc.gz"))
    assert report.added + report.updated + report.unchanged + len(report.duplicates) == report.records == 2
    with Index(index) as ix:
        assert "back in service" in ix.search("ferry").hits[0].snippet
    again = ingest(folder, index=index)
    assert (again.unchanged, len(again.duplicates), again.total) == (1, 1, 1)
    (folder / f"{late}.warc.gz").unlink()
    gone = ingest(folder, index=index)
    assert (gone.updated, gone.removed, gone.total) == (1, 0, 1)  # the earlier capture takes its place
    with Index(index) as ix:
        assert "early version" in ix.search("ferry").hits[0].snippet


def test_a_later_capture_in_a_new_file_replaces_the_one_indexed(tmp_path: Path) -> None:
    folder, index = tmp_path / "crawls", tmp_path / "index"
    folder.mkdir()
    write_warc(folder / "b.warc.gz", capture("An early version.", "2024-03-01T09:00:00Z"))
    ingest(folder, index=index)
    write_warc(folder / "a.warc.gz", capture("The ferry is back in service.", "2024-03-02T09:00:00Z"))
    report = ingest(folder, index=index)
    assert (report.updated, report.unchanged, len(report.duplicates), report.total) == (1, 0, 1, 1)
    with Index(index) as ix:
        [ferry] = ix.search("ferry")
        assert "back in service" in ferry.snippet


@pytest.mark.parametrize("damage_at", [12, 40, 100, 200, 300])
def test_wherever_a_member_is_damaged_its_record_alone_is_lost(tmp_path: Path, damage_at: int) -> None:
    """Zeroed bytes can inflate without an error (read as a plain record, or running on through the
    members after them): the damaged member is reported, the two others read. With these bytes, zeros
    at 40 made the third record vanish (warcio read the damaged member as an uncompressed one)."""

    def three(archive: Archive) -> None:  # the same bytes every time: the damage falls where it is said
        for number, title in enumerate(["Harbour closed", "Ferry returns", "Bridge reopens"]):
            archive.response(f"https://example.com/{number}", page(title, f"Story number {number}."),
                             record_id=f"<urn:uuid:00000000-0000-4000-8000-000000087{number:03d}>")  # fmt: skip

    data = bytearray(write_warc(tmp_path / "whole.warc.gz", three).read_bytes())
    second = data.find(b"\x1f\x8b\x08", 1)
    assert second + damage_at + 40 < data.find(b"\x1f\x8b\x08", second + 1)  # the second member alone
    data[second + damage_at : second + damage_at + 40] = b"\x00" * 40
    (tmp_path / "damaged.warc.gz").write_bytes(bytes(data))
    items = list(read_archive(tmp_path / "damaged.warc.gz"))
    assert [item.url for item in items if isinstance(item, Capture)] == [
        "https://example.com/0", "https://example.com/2",
    ]  # fmt: skip
    assert [item.offset for item in items if isinstance(item, Unreadable)] == [f"offset {second}"]


def test_a_damaged_record_is_reported_with_its_offset_and_the_rest_is_read(tmp_path: Path) -> None:
    folder = tmp_path / "crawl"
    folder.mkdir()

    def three(archive: Archive) -> None:
        for number, title in enumerate(["Harbour closed", "Ferry returns", "Bridge reopens"]):
            archive.response(f"https://example.com/{number}", page(title, f"Story number {number}."))

    data = bytearray(write_warc(tmp_path / "whole.warc.gz", three).read_bytes())
    offsets = [int(item.offset.split()[-1]) for item in archive_documents(tmp_path / "whole.warc.gz")
               if hasattr(item, "offset")] or [0]  # fmt: skip
    second = data.find(b"\x1f\x8b\x08", 1)
    data[second + 40 : second + 80] = b"\x00" * 40  # the second member's compressed bytes
    (folder / "damaged.warc.gz").write_bytes(bytes(data))
    report = ingest(folder, index=tmp_path / "index")
    assert report.added == 2
    [skipped] = report.skipped
    assert skipped.location.endswith(f"damaged.warc.gz:offset {second}")
    assert "damaged" in skipped.reason
    assert offsets  # the whole file read as three records
    titles = {hit.title for hit in Index(tmp_path / "index").search("story", limit=10)}
    assert titles == {"Harbour closed", "Bridge reopens"}


def test_a_file_that_ends_inside_a_record_keeps_the_records_before_it(tmp_path: Path) -> None:
    folder = tmp_path / "crawl"
    folder.mkdir()

    def two(archive: Archive) -> None:
        archive.response("https://example.com/1", page("Harbour closed", "First story."))
        archive.response("https://example.com/2", page("Ferry returns", "Second story. " * 200))

    data = write_warc(tmp_path / "whole.warc.gz", two).read_bytes()
    (folder / "cut.warc.gz").write_bytes(data[: len(data) - 300])
    report = ingest(folder, index=tmp_path / "index")
    assert report.added == 1
    [skipped] = report.skipped
    assert skipped.reason in (
        "the file ends inside this record",
        "the record is cut short (the file ends inside it)",
    )
    assert ":offset " in skipped.location


def test_an_arc_file_and_a_wacz_package_are_read_as_warc_is(tmp_path: Path) -> None:
    folder = tmp_path / "crawl"
    folder.mkdir()
    body = page("Harbour closed for repairs", "The old harbour will close.")
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    version = b"1 0 Test\nURL IP-address Archive-date Content-type Archive-length\n"
    header = b"filedesc://test.arc 0.0.0.0 20240301100000 text/plain %d\n" % len(version)
    arc = header + version + b"\n"
    arc += b"https://example.com/arc 93.184.216.34 20240301100000 text/html %d\n" % len(http) + http + b"\n"
    (folder / "old.arc").write_bytes(arc)

    warc = io.BytesIO()
    Archive(warc).response("https://example.com/wacz", page("Ferry returns", "The ferry is back in service."))
    with zipfile.ZipFile(folder / "capture.wacz", "w") as package:
        package.writestr("archive/data.warc.gz", warc.getvalue())
        package.writestr("datapackage.json", json.dumps({"profile": "data-package", "resources": []}))
    report = ingest(folder, index=tmp_path / "index")
    assert (report.added, report.skipped) == (2, ())
    with Index(tmp_path / "index") as ix:
        [harbour] = ix.search("harbour")
        assert (harbour.url, harbour.crawled) == (
            "https://example.com/arc",
            datetime(2024, 3, 1, 10, tzinfo=UTC),
        )
        assert ix.search("ferry")[0].url == "https://example.com/wacz"


def test_a_changed_archive_is_read_again_and_a_removed_one_leaves_the_index(tmp_path: Path) -> None:
    folder = tmp_path / "crawl"
    folder.mkdir()
    warc = folder / "crawl.warc.gz"
    write_warc(warc, every_kind)
    index = tmp_path / "index"
    assert ingest(folder, index=index).added == 2
    again = ingest(folder, index=index)
    assert (again.added, again.unchanged, again.passed_records) == (0, 2, ())

    def more(archive: Archive) -> None:
        every_kind(archive)
        archive.response("https://example.com/c", page("Bridge reopens", "Traffic crosses the bridge again."))

    write_warc(warc, more)
    changed = ingest(folder, index=index)
    assert (changed.added, changed.updated, changed.removed) == (1, 2, 0)
    assert Index(index).search("bridge")[0].url == "https://example.com/c"
    warc.unlink()
    (folder / "other.txt").write_text("# Other\n\nA text file keeps the folder worth ingesting.\n")
    gone = ingest(folder, index=index)
    assert gone.total == 1
