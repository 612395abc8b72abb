"""Web archives: WARC and ARC files (and their ``.gz`` forms) and WACZ packages, read record by record.

Each HTML response with status 200 is a capture of a page: its URL is the
record's ``WARC-Target-URI`` and its crawl time ``WARC-Date`` (never passed off
as the publication date, which the page itself gives). Every other record is
passed over and counted by kind: requests, revisits, metadata, warcinfo,
responses that are not HTML or not 200. A record that cannot be read is
reported with its offset in the file, and reading resumes at the next
compressed member when there is one.

Records are streamed: a file of any size is read in constant memory, one
record at a time (warcio, which reads WARC and ARC alike; see
``docs/performance.md`` for why not FastWARC).
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

ARCHIVE_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz", ".wacz")
HTML_TYPES = ("text/html", "application/xhtml+xml")
GZIP_MAGIC = b"\x1f\x8b\x08"
# A page larger than this is not an article (a data dump, a video page's inline data): passed over.
MAX_PAGE_BYTES = 20 * 1024 * 1024
RESYNC_CHUNK = 1 << 20


@dataclass(frozen=True)
class Capture:
    """An HTML page as a crawler captured it: where it was, when, its bytes, and where the record is."""

    url: str
    crawled: datetime | None
    html: bytes
    offset: str  # "offset N", or "MEMBER offset N" inside a WACZ


@dataclass(frozen=True)
class PassedOver:
    """A record that holds no article, by kind: ``request``, ``revisit``, ``not HTML``, ``status 404``..."""

    kind: str


@dataclass(frozen=True)
class Unreadable:
    """A record that could not be read, where it is, and why."""

    offset: str
    reason: str


Item = Capture | PassedOver | Unreadable


def is_archive(path: os.PathLike[str] | str) -> bool:
    """Whether ``path`` names a web archive searchidx reads (by its name, ``.warc.gz`` included)."""
    return os.path.basename(path).lower().endswith(ARCHIVE_SUFFIXES)


def read_archive(path: Path, *, headers_only: bool = False) -> Iterator[Item]:
    """Every record of the archive at ``path``, as a capture, a record passed over, or an unreadable one.

    ``headers_only``: captures without their pages' bytes (a quicker pass over the URLs and times).
    """
    if path.name.lower().endswith(".wacz"):
        yield from _wacz_records(path, headers_only)
        return
    with path.open("rb") as stream:
        yield from _records(stream, "", headers_only, path.stat().st_size)


def _wacz_records(path: Path, headers_only: bool) -> Iterator[Item]:
    """The records of each WARC inside a WACZ package (a zip with ``archive/*.warc[.gz]``)."""
    try:
        package = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        yield Unreadable("the package", f"not a WACZ (zip) file: {error}")
        return
    with package:
        names = package.namelist()
        members = sorted(name for name in names if name.startswith("archive/") and ".warc" in name.lower())
        if not members:
            yield Unreadable("the package", "no archive/*.warc file inside")
        for member in members:
            with package.open(member) as stream:
                yield from _records(stream, f"{member} ", headers_only, package.getinfo(member).file_size)


def _records(stream: IO[bytes], where: str, headers_only: bool, size: int) -> Iterator[Item]:
    """The records of one WARC or ARC stream of ``size`` bytes; after a damaged record, the next
    readable member on."""
    from warcio.archiveiterator import ArchiveIterator  # only archives pay for the import
    from warcio.exceptions import ArchiveLoadFailed

    while True:
        records = ArchiveIterator(stream, arc2warc=True)
        _strict(records.reader)
        try:
            for record in records:
                offset = records.offset  # where this record starts (get_record_offset would read it)
                yield _item(record, f"{where}offset {offset}", headers_only)
            if records.offset < size:  # warcio stops at a member cut short, silently
                yield Unreadable(f"{where}offset {records.offset}", "the file ends inside this record")
                return
            if _member_unfinished(records.reader):
                # Damaged bytes that inflate without an error can run on through the members after
                # them to the end of the file: those are read again from the next member on.
                raise OSError("damaged compressed data: the last member never ends")
            return
        except (ArchiveLoadFailed, OSError, EOFError, ValueError) as error:
            offset = records.offset  # where the record that failed starts
            yield Unreadable(f"{where}offset {offset}", _damage(error, ArchiveLoadFailed))
            resume = _next_member(stream, offset + 1)
            if resume is None:
                return
            stream.seek(resume)


def _item(record: Any, offset: str, headers_only: bool) -> Item:
    """What one record is: a capture of an HTML page, or a record passed over by kind."""
    kind = record.rec_type
    if kind != "response":
        return PassedOver(kind)
    headers = record.http_headers
    if headers is None:
        return PassedOver("response without HTTP headers")
    status = headers.get_statuscode()
    if status != "200":
        return PassedOver(f"status {status}")
    content_type = (headers.get_header("Content-Type") or "").split(";")[0].strip().lower()
    if content_type not in HTML_TYPES:
        return PassedOver("not HTML")
    url = record.rec_headers.get_header("WARC-Target-URI") or ""
    crawled = _crawl_time(record.rec_headers.get_header("WARC-Date"))
    if headers_only:
        return Capture(url.strip("<> "), crawled, b"", offset)
    html = record.content_stream().read(MAX_PAGE_BYTES + 1)
    if len(html) > MAX_PAGE_BYTES:
        return PassedOver("page over 20 MB")
    if getattr(record.raw_stream, "limit", 0) > 0:  # fewer bytes than the record says it holds
        return Unreadable(offset, "the record is cut short (the file ends inside it)")
    return Capture(url.strip("<> "), crawled, html, offset)


def _strict(reader: Any) -> None:
    """Make warcio's reader raise on a damaged compressed member (it writes to stderr and reads on)."""
    from warcio.bufferedreaders import DecompressingBufferedReader

    class StrictReader(DecompressingBufferedReader):  # type: ignore[misc]  # warcio is untyped
        def _decompress(self, data: bytes) -> bytes:
            # warcio reads a first block that does not inflate as uncompressed (a plain WARC); one
            # that opens with gzip's magic number is a damaged member, whose bytes are no record.
            if self.decompressor and data and (self.num_block_read or data.startswith(GZIP_MAGIC)):
                try:
                    return bytes(self.decompressor.decompress(data))
                except zlib.error as error:
                    raise OSError(f"damaged compressed data: {error}") from error
            return bytes(super()._decompress(data))

    reader.__class__ = StrictReader


def _member_unfinished(reader: Any) -> bool:
    """Whether the compressed member read last did not reach its end (its length and checksum)."""
    decompressor = getattr(reader, "decompressor", None)
    return decompressor is not None and not decompressor.eof


def _crawl_time(value: str | None) -> datetime | None:
    """``WARC-Date`` (ISO 8601, UTC) as an aware datetime; None when absent or not a date."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _next_member(stream: IO[bytes], after: int) -> int | None:
    """The offset of the next gzip member's header at or after ``after``; None when there is none."""
    if not stream.seekable():
        return None
    stream.seek(after)
    position = after
    carry = b""
    while chunk := stream.read(RESYNC_CHUNK):
        data = carry + chunk
        found = data.find(GZIP_MAGIC)
        if found >= 0:
            return position - len(carry) + found
        carry = data[-(len(GZIP_MAGIC) - 1) :]
        position += len(chunk)
    return None


def _damage(error: BaseException, not_a_record: type[Exception]) -> str:
    """What is wrong with a record that could not be read, in words."""
    if isinstance(error, not_a_record):
        return "damaged record: no WARC or ARC record starts here"
    if isinstance(error, (OSError, EOFError)):
        return "damaged record: its compressed data is corrupt"
    return f"damaged record: {str(error)[:100]}"
