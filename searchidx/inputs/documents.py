"""Files in, normalised :class:`Document` objects out.

Supported formats (chosen by the file's extension):

* ``.txt``: the seed format: ``# Title``, a date line, body paragraphs separated
  by blank lines, then ``Original url:`` with the URL (``<...>`` or bare, on the
  same line or the next).
* ``.md`` / ``.markdown``: front matter (``title``, ``date``, ``url``) if present,
  else the first ``#`` heading; the Markdown markup is removed from the body.
* ``.html`` / ``.htm``: a saved web page; see :mod:`searchidx.inputs.html`.
* ``.jsonl`` / ``.ndjson``: one article per line (``title``; ``date``,
  ``published`` or ``published_at``; ``body``, ``text`` or ``content``;
  ``url`` or ``link``).
* ``.rss``, ``.atom``, and ``.xml`` files that are feeds: each item an
  article (see :mod:`searchidx.inputs.feeds`).
* ``.warc``, ``.arc`` (and ``.gz``), ``.wacz``: web archives; each HTML page
  captured with status 200 is an article read as a saved page is (see
  :mod:`searchidx.inputs.archives`), streamed record by record.

Bytes are decoded by their byte-order mark, then their declared charset (HTML),
then as UTF-8, then as Windows-1252, so legacy files come out right.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from searchidx.errors import DocumentError
from searchidx.inputs.archives import Capture, PassedOver, Unreadable, is_archive, read_archive
from searchidx.inputs.feeds import FEED_SUFFIXES, NotAFeedError, read_feed
from searchidx.inputs.formats import (
    RawArticle,
    RawRecord,
    read_json_lines,
    read_markdown_article,
    read_text_article,
)
from searchidx.inputs.urls import canonical_site, canonical_url, document_id

MAX_FILE_BYTES = 200 * 1024 * 1024
# Text beyond this many characters of one article is not indexed (and the ingest says so): it keeps
# an ingest's memory bounded (a 50 MB text would take about 800 MB to index). The figure is
# Elasticsearch's highlighting limit, index.highlight.max_analyzed_offset; news articles are
# rarely longer than 50,000 characters.
MAX_BODY_CHARS = 1_000_000
# Terminal escape sequences (CSI such as ESC[2J, and OSC titles), dropped whole.
ESCAPE_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")
# Control and invisible format characters, and the bidirectional overrides and isolates, which can
# make text display other than it reads; tab, newline and carriage return are whitespace and handled
# by the whitespace folding instead.
INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b\u202a-\u202e\u2060\u2066-\u2069\ufeff]"
)
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class Document:
    """A normalised article: what the index stores for one file or one record.

    ``body`` holds the paragraphs separated by one blank line; ``date`` is a
    timezone-aware UTC datetime or ``None`` when the article gives none;
    ``url`` is ``""`` when the article gives none; ``record`` locates the
    article inside a file that holds several (a JSON Lines record's ``id``,
    or ``line N``), and is ``""`` otherwise. ``truncated_from`` is the body's
    length in characters when only its first :data:`MAX_BODY_CHARS` were kept.
    """

    path: Path
    title: str
    body: str
    date: datetime | None
    url: str
    record: str = ""
    truncated_from: int = 0
    crawled: datetime | None = None  # when a crawler captured the page (web archives); never the date
    # The file's path resolved (links followed), when the caller knows it: saves resolving it again.
    resolved: str = ""

    @cached_property
    def canonical(self) -> str | None:
        """The URL in its canonical form (:func:`~searchidx.inputs.urls.canonical_url`), if it has one."""
        return canonical_url(self.url) if self.url else None

    @cached_property
    def identity(self) -> str:
        """What makes two documents the same article: the canonical URL, else the file (and record)."""
        if self.canonical:
            return self.canonical
        source = self.resolved or path_text(self.path.resolve())
        return f"{source}#{self.record}" if self.record else source

    @cached_property
    def id(self) -> str:
        """A stable identifier derived from :attr:`identity` (16 hex digits)."""
        return document_id(self.identity)

    @property
    def characters(self) -> int:
        """The length of the headline and the text together: what indexing the article costs."""
        return len(self.title) + len(self.body)

    @cached_property
    def content_key(self) -> str:
        """Equal for two documents with the same title and body, case and spacing aside."""
        return document_id(" ".join(f"{self.title}\n{self.body}".casefold().split()))

    @cached_property
    def source(self) -> str:
        """The site the article comes from (its URL's host without ``www.``), or ``""``."""
        return canonical_site(self.canonical)

    @cached_property
    def location(self) -> str:
        """Where the document comes from: the path, and the record for multi-record files."""
        return f"{path_text(self.path)}:{self.record}" if self.record else path_text(self.path)


@dataclass(frozen=True)
class BadRecord:
    """A record of a multi-record file that could not be made into a document."""

    path: Path
    record: str
    reason: str

    @cached_property
    def location(self) -> str:
        """The file and the record (``path:line 12``)."""
        return f"{path_text(self.path)}:{self.record}"


def path_text(path: os.PathLike[str] | str) -> str:
    r"""``path`` as valid text: bytes of a file name that are not UTF-8 become ``\xff`` escapes.

    >>> path_text(os.fsdecode(b"/news/caf\xe9.txt"))
    '/news/caf\\xe9.txt'
    """
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def load_documents(path: Path, data: bytes | None = None) -> list[Document | BadRecord]:
    """Read one supported file (or its already-read ``data``) into its documents.

    Raises :class:`DocumentError` with the reason when the file as a whole
    cannot be used (unreadable, binary, undecodable, no article text). A bad
    record of a JSON Lines file is returned as a :class:`BadRecord` and the
    other records are still read.
    """
    if is_archive(path):
        return [item for item in archive_documents(path) if not isinstance(item, PassedOver)]
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(path, f"unsupported file type {path.suffix or '(none)'!r}")
    text = decode(path, read_bytes(path) if data is None else data)
    if suffix in JSON_LINES_SUFFIXES:
        return _records(path, read_json_lines(text), "line")
    if suffix in FEED_SUFFIXES:
        try:
            return _records(path, read_feed(text), "item")
        except NotAFeedError as error:
            raise DocumentError(path, str(error)) from error
    document = _document(path, SINGLE_READERS[suffix](text))
    # A page with a title and no text is page furniture (a redirect, a script); a text file may
    # be a headline alone.
    if not document.body and (suffix in HTML_SUFFIXES or not document.title):
        raise DocumentError(path, "no article text found")
    return [document]


def is_supported(path: os.PathLike[str] | str) -> bool:
    """Whether ``path`` has the extension of a format searchidx reads."""
    name = os.path.basename(path)
    dot = name.rfind(".")
    suffix = name[dot:] if 0 < dot < len(name) - 1 else ""  # as Path.suffix
    return suffix.lower() in SUPPORTED_SUFFIXES or is_archive(name)


def archive_documents(path: Path) -> Iterator[Document | BadRecord | PassedOver]:
    """The articles of a web archive, one capture at a time (constant memory whatever its size).

    The same URL captured more than once in the file is one article: its latest capture (by
    ``WARC-Date``, then by place in the file); the older ones are passed over. A page that gives
    no article text is passed over too; a damaged record is a :class:`BadRecord` at its offset.
    """
    latest = _latest_captures(path)
    for item in read_archive(path):
        if isinstance(item, PassedOver):
            yield item
        elif isinstance(item, Unreadable):
            yield BadRecord(path, item.offset, item.reason)
        elif latest.get(canonical_url(item.url) or item.url) != item.offset:
            yield PassedOver("older capture of the same URL")
        else:
            yield _captured_document(path, item)


def _latest_captures(path: Path) -> dict[str, str]:
    """Each captured URL's latest capture in the archive, by its offset: one pass over the headers."""
    latest: dict[str, tuple[datetime, str]] = {}
    oldest = datetime.min.replace(tzinfo=UTC)
    for item in read_archive(path, headers_only=True):
        if isinstance(item, Capture):
            key = canonical_url(item.url) or item.url
            crawled = item.crawled or oldest
            if key not in latest or crawled >= latest[key][0]:
                latest[key] = (crawled, item.offset)
    return {key: offset for key, (_, offset) in latest.items()}


def _captured_document(path: Path, capture: Capture) -> Document | BadRecord | PassedOver:
    """A captured page as an article: the page's own fields, the archive's URL and crawl time."""
    try:
        page = _page(decode(path, capture.html, html=True))
    except DocumentError as error:
        return BadRecord(path, capture.offset, error.reason)
    document = _document(path, RawArticle(page.title, page.date, capture.url, page.body), capture.offset)
    if not document.body:
        return PassedOver("page without article text")
    return replace(document, crawled=capture.crawled)


# Why a file that is not a regular one is not read.
NOT_REGULAR = "not a regular file (a pipe, socket or device)"
# The largest file :func:`will_read` asks the kernel to read ahead whole.
READ_AHEAD_BYTES = 4 * 2**20


def will_read(path: os.PathLike[str] | str, size: int) -> None:
    """Ask the kernel to start reading a regular file of ``size`` bytes that is read soon, and return at
    once: the disk works while the files before it are parsed (a cold ingest waited on each file in
    turn). Nothing where the system has no such call, or the file cannot be opened (reading it will
    say why), or is large (an archive is streamed: its start is enough)."""
    if not hasattr(os, "posix_fadvise") or size > READ_AHEAD_BYTES:
        return
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return
    try:
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_WILLNEED)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def is_regular(status: os.stat_result) -> bool:
    """Whether the file is a regular one: a pipe, socket or device is never read (:data:`NOT_REGULAR`)."""
    return stat.S_ISREG(status.st_mode)


def read_bytes(path: Path) -> bytes:
    """The file's bytes, or a :class:`DocumentError` saying why they cannot be read."""
    try:
        # Not blocking: a named pipe opened to be read would wait for a writer forever.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as error:
        reason = NOT_REGULAR if error.errno == errno.ENXIO else _cannot_read(error)  # ENXIO: a socket
        raise DocumentError(path, reason) from error
    try:
        status = os.fstat(descriptor)
        if not is_regular(status):
            raise DocumentError(path, NOT_REGULAR)
        if status.st_size > MAX_FILE_BYTES:
            megabytes = status.st_size // 1_000_000
            raise DocumentError(path, f"file is too large ({megabytes} MB; the limit is 200 MB)")
        return _read_to_end(descriptor, status.st_size)
    except OSError as error:
        raise DocumentError(path, _cannot_read(error)) from error
    finally:
        os.close(descriptor)


def _read_to_end(descriptor: int, size: int) -> bytes:
    """What is left to read of an open file (``size`` bytes when it was opened, more if it grew)."""
    parts = []
    while part := os.read(descriptor, max(size, 1 << 16)):
        parts.append(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _cannot_read(error: OSError) -> str:
    return f"cannot read the file ({error.strerror or error})"


def decode(path: Path, data: bytes, *, html: bool | None = None) -> str:
    """Decode bytes whose encoding is unknown: BOM, declared charset, UTF-8, Windows-1252.

    ``html``: whether the bytes are a page (its declared charset is then read); by default, when
    ``path`` has an HTML extension.
    """
    if b"\x00" in data[:8192] and not data.startswith(UTF16_BOMS):
        text = _utf16_without_bom(data)
        if text is None:
            raise DocumentError(path, "binary file (not text)")
        return text
    is_html = path.suffix.lower() in HTML_SUFFIXES if html is None else html
    if not is_html and not data.startswith(UTF16_BOMS):
        try:  # most files: what UnicodeDammit would find too, without its detection work
            return data.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError:
            pass
    from bs4 import UnicodeDammit  # a file not in UTF-8: most ingests never import bs4 (75 ms)

    dammit = UnicodeDammit(data, user_encodings=["utf-8", "windows-1252"], is_html=is_html)
    if dammit.unicode_markup is None:
        raise DocumentError(path, "cannot decode the file as text")
    return dammit.unicode_markup


def _utf16_without_bom(data: bytes) -> str | None:
    """The text of UTF-16 data that lacks a byte-order mark, told by its zero bytes; else ``None``.

    Text in Latin script has a zero as every other byte, at odd offsets for
    little-endian, at even ones for big-endian; binary data has no such pattern.
    """
    sample = data[: 8192 - 8192 % 2]
    pairs = len(sample) // 2
    if pairs < 2 or len(data) % 2:
        return None
    odd_zeros, even_zeros = sample[1::2].count(0), sample[0::2].count(0)
    if odd_zeros >= 0.9 * pairs and even_zeros <= 0.01 * pairs:
        codec = "utf-16-le"
    elif even_zeros >= 0.9 * pairs and odd_zeros <= 0.01 * pairs:
        codec = "utf-16-be"
    else:
        return None
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def normalize_line(text: str) -> str:
    """NFC, no escape sequences or control characters, whitespace folded to single spaces."""
    text = INVISIBLE.sub("", ESCAPE_SEQUENCE.sub("", unicodedata.normalize("NFC", text)))
    return " ".join(text.split())


def normalize_paragraphs(text: str) -> str:
    """Like :func:`normalize_line` per paragraph; paragraphs joined by a blank line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = (normalize_line(part) for part in PARAGRAPH_BREAK.split(text))
    return "\n\n".join(part for part in paragraphs if part)


def _document(path: Path, article: RawArticle, record: str = "") -> Document:
    body, truncated_from = article.body, 0
    if len(body) > MAX_BODY_CHARS:
        truncated_from = len(body)
        cut = body.rfind(" ", MAX_BODY_CHARS - 1000, MAX_BODY_CHARS)  # at a word break where there is one
        body = body[: cut if cut > 0 else MAX_BODY_CHARS]
    return Document(
        path=path,
        title=normalize_line(article.title[:MAX_BODY_CHARS]),
        body=normalize_paragraphs(body),
        date=article.date,
        url=normalize_line(article.url[:MAX_BODY_CHARS]).strip("<>\"' "),
        record=record,
        truncated_from=truncated_from,
    )


def _records(path: Path, records: Iterable[RawRecord], unit: str) -> list[Document | BadRecord]:
    """The articles of a file of several (``unit``: how one is located, ``line`` or ``item``)."""
    results: list[Document | BadRecord] = []
    for raw in records:
        if raw.article is None:
            results.append(BadRecord(path, f"{unit} {raw.line}", raw.problem))
            continue
        document = _document(path, raw.article, raw.key)
        if document.title or document.body:
            results.append(document)
        else:
            results.append(BadRecord(path, f"{unit} {raw.line}", "no article text"))
    return results


def _page(markup: str) -> RawArticle:
    """A web page's article (:func:`searchidx.inputs.html.extract_page`, imported with bs4 when a
    page is first read)."""
    from searchidx.inputs.html import extract_page

    return extract_page(markup)


HTML_SUFFIXES = {".html", ".htm"}
JSON_LINES_SUFFIXES = {".jsonl", ".ndjson"}
SINGLE_READERS: dict[str, Callable[[str], RawArticle]] = {
    ".txt": read_text_article,
    ".md": read_markdown_article,
    ".markdown": read_markdown_article,
    ".html": _page,
    ".htm": _page,
}
SUPPORTED_SUFFIXES = frozenset(SINGLE_READERS) | JSON_LINES_SUFFIXES | frozenset(FEED_SUFFIXES)
