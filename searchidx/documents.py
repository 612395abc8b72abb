"""One file in, one normalised :class:`Document` out.

Supported formats (chosen by the file's extension):

* ``.txt``: the seed format: ``# Title``, a date line, body paragraphs separated
  by blank lines, then ``Original url:`` with the URL (``<...>`` or bare, on the
  same line or the next).
* ``.html`` / ``.htm``: a saved web page; see :mod:`searchidx.htmlpages`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bs4 import UnicodeDammit

from searchidx.dates import parse_date
from searchidx.errors import DocumentError
from searchidx.htmlpages import extract_page

MAX_FILE_BYTES = 50 * 1024 * 1024
URL_LABEL = re.compile(r"^\s*original\s+url\s*:\s*(?P<rest>.*)$", re.IGNORECASE)
# Terminal escape sequences (CSI such as ESC[2J, and OSC titles), dropped whole.
ESCAPE_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")
# Control and invisible format characters; tab, newline and carriage return are
# whitespace and handled by the whitespace folding instead.
INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b\u2060\ufeff]")
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Document:
    """A normalised article: what the index stores for one file.

    ``body`` holds the paragraphs separated by one blank line; ``date`` is a
    timezone-aware UTC datetime or ``None`` when the article gives none;
    ``url`` is ``""`` when the article gives none.
    """

    path: Path
    title: str
    body: str
    date: datetime | None
    url: str

    @property
    def id(self) -> str:
        """A stable identifier: derived from the file's absolute path."""
        return document_id(self.path)


def document_id(path: Path) -> str:
    """The id of the document read from ``path`` (16 hex digits)."""
    return hashlib.sha1(str(path.resolve()).encode("utf-8")).hexdigest()[:16]


def load_document(path: Path) -> Document:
    """Read one supported file and return its normalised document.

    Raises :class:`DocumentError` (with the reason) when the file cannot be
    read, is not text, or holds no article text.
    """
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise DocumentError(path, f"unsupported file type {path.suffix or '(none)'!r}")
    text = decode(path, read_bytes(path))
    title, date, url, body = reader(text)
    document = Document(
        path=path,
        title=normalize_line(title),
        body=normalize_paragraphs(body),
        date=date,
        url=clean_url(url),
    )
    if not document.body and not document.title:
        raise DocumentError(path, "no article text found")
    return document


def is_supported(path: Path) -> bool:
    """Whether ``path`` has the extension of a format searchidx reads."""
    return path.suffix.lower() in READERS


def read_bytes(path: Path) -> bytes:
    """The file's bytes, or a :class:`DocumentError` saying why they cannot be read."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DocumentError(path, f"file is too large ({size // 1_000_000} MB; the limit is 50 MB)")
        return path.read_bytes()
    except OSError as error:
        raise DocumentError(path, f"cannot read the file ({error.strerror or error})") from error


def decode(path: Path, data: bytes) -> str:
    """Decode bytes whose encoding is unknown (UTF-8 first, then Windows-1252)."""
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DocumentError(path, "binary file (not text)")
    dammit = UnicodeDammit(data, ["utf-8", "windows-1252"], is_html=path.suffix.lower() in HTML_SUFFIXES)
    if dammit.unicode_markup is None:
        raise DocumentError(path, "cannot decode the file as text")
    return dammit.unicode_markup


def read_text_article(text: str) -> tuple[str, datetime | None, str, str]:
    """Split a seed-format article into (title, date, url, body)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines, url = _take_url(lines)
    content = lines
    while content and not content[0].strip():
        content.pop(0)
    title = ""
    if content:
        title = re.sub(r"^#+\s*", "", content.pop(0).strip())
    date = None
    first = next((i for i, line in enumerate(content) if line.strip()), None)
    if first is not None:
        date = parse_date(content[first])
        if date is not None:
            del content[first]
    return title, date, url, "\n".join(content)


def _take_url(lines: list[str]) -> tuple[list[str], str]:
    """Remove the ``Original url:`` label and its URL; return the rest and the URL."""
    for index, line in enumerate(lines):
        match = URL_LABEL.match(line)
        if not match:
            continue
        url = match["rest"].strip()
        end = index + 1
        if not url:
            following = next((i for i in range(index + 1, len(lines)) if lines[i].strip()), None)
            if following is not None and _looks_like_url(lines[following]):
                url = lines[following].strip()
                end = following + 1
        return lines[:index] + lines[end:], url
    return lines, ""


def _looks_like_url(line: str) -> bool:
    candidate = line.strip().strip("<>").strip()
    return bool(re.match(r"^[a-z][a-z0-9+.-]*://\S+$", candidate, re.IGNORECASE))


def read_html_article(text: str) -> tuple[str, datetime | None, str, str]:
    """Extract (title, date, url, body) from a web page."""
    page = extract_page(text)
    return page.title, page.date, page.url, page.body


def normalize_line(text: str) -> str:
    """NFC, no escape sequences or control characters, whitespace folded to single spaces."""
    text = INVISIBLE.sub("", ESCAPE_SEQUENCE.sub("", unicodedata.normalize("NFC", text)))
    return " ".join(text.split())


def normalize_paragraphs(text: str) -> str:
    """Like :func:`normalize_line` per paragraph; paragraphs joined by a blank line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = (normalize_line(part) for part in PARAGRAPH_BREAK.split(text))
    return "\n\n".join(part for part in paragraphs if part)


def clean_url(url: str) -> str:
    """The URL without angle brackets, quotes or surrounding whitespace."""
    return normalize_line(url).strip("<>\"' ").strip()


HTML_SUFFIXES = {".html", ".htm"}
READERS: dict[str, Callable[[str], tuple[str, datetime | None, str, str]]] = {
    ".txt": read_text_article,
    ".html": read_html_article,
    ".htm": read_html_article,
}
