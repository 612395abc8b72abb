"""Readers of the text formats: the seed's ``.txt`` layout, Markdown, and JSON Lines.

Each reader turns decoded text into :class:`RawArticle` values (fields not yet
normalised); :mod:`searchidx.inputs.documents` picks the reader by file extension.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from searchidx.inputs.dates import parse_date

URL_LABEL = re.compile(r"^\s*original\s+url\s*:\s*(?P<rest>.*)$", re.IGNORECASE)
WEB_URL = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$", re.IGNORECASE)
FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\n(?P<block>.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
FRONT_MATTER_LINE = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)\s*:\s*(?P<value>.*?)\s*$")
SETEXT_TITLE = re.compile(r"^=+\s*$")

JSON_TITLE = ("title", "headline")
JSON_DATE = ("date", "published", "published_at", "datePublished", "pubDate")
JSON_BODY = ("body", "text", "content", "articleBody")
JSON_URL = ("url", "link")
FRONT_MATTER_DATE = ("date", "published", "published_at", "pubdate")
FRONT_MATTER_URL = ("url", "link", "canonical_url", "canonical")

# Markdown syntax that is not text: images, link targets, emphasis markers,
# heading and quote markers, fences, inline HTML tags.
MARKDOWN_RULES = [
    # Each list item is a paragraph of its own: a blank line before its marker, so that the
    # items do not run together when the lines of a paragraph are joined.
    (re.compile(r"^([ \t]{0,3}(?:[-*+]|\d{1,9}[.)])[ \t]+\S)", re.MULTILINE), "\n\\1"),
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), ""),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"^[ \t]*\[[^\]]+\]:[ \t]*\S+.*$", re.MULTILINE), ""),
    (re.compile(r"^[ \t]{0,3}(?:#{1,6}[ \t]+|>[ \t]?|[-*+][ \t]+(?=\S))", re.MULTILINE), ""),
    (re.compile(r"^[ \t]*(?:```|~~~).*$", re.MULTILINE), ""),
    (re.compile(r"(?<!\w)(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1(?!\w)"), r"\2"),
    (re.compile(r"</?[A-Za-z][^>\n]*>"), ""),
]


@dataclass(frozen=True)
class RawArticle:
    """The fields one article gives, before normalisation; ``""``/``None`` when absent."""

    title: str
    date: datetime | None
    url: str
    body: str


@dataclass(frozen=True)
class RawRecord:
    """One line of a JSON Lines file: its key, and its article or what is wrong with it."""

    line: int
    key: str
    article: RawArticle | None
    problem: str = ""


def read_text_article(text: str) -> RawArticle:
    """The seed layout: ``# Title``, a date line, paragraphs, ``Original url:`` and the URL.

    Without the ``#`` the first non-empty line is the title; a missing date or
    URL leaves that field empty.
    """
    lines, url = _take_url(_lines(text))
    while lines and not lines[0].strip():
        lines.pop(0)
    title = re.sub(r"^#+\s*", "", lines.pop(0).strip()) if lines else ""
    date, lines = _take_date_line(lines)
    return RawArticle(title=title, date=date, url=url, body="\n".join(lines))


def read_markdown_article(text: str) -> RawArticle:
    """A Markdown article: front matter (``title``, ``date``, ``url``) if any, else the first heading."""
    fields, text = _front_matter(text)
    lines, url = _take_url(_lines(text))
    title = fields.get("title", "")
    position = 0
    if not title:
        title, lines, position = _take_heading(lines)
    date = _first_date(fields, FRONT_MATTER_DATE)
    if date is None:
        date, rest = _take_date_line(lines[position:])
        lines = lines[:position] + rest
    url = _first_text(fields, FRONT_MATTER_URL) or url
    return RawArticle(title=title, date=date, url=url, body=markdown_to_text("\n".join(lines)))


def read_json_lines(text: str) -> Iterator[RawRecord]:
    """One :class:`RawRecord` per non-empty line; a bad line says what is wrong with it."""
    for number, line in enumerate(_lines(text), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            problem = f"invalid JSON ({error.msg}, column {error.colno})"
            yield RawRecord(number, f"line {number}", None, problem)
            continue
        if not isinstance(data, dict):
            yield RawRecord(number, f"line {number}", None, "not a JSON object")
            continue
        yield _json_record(number, data)


def markdown_to_text(markdown: str) -> str:
    """Markdown with its markup removed and its paragraphs kept."""
    for pattern, replacement in MARKDOWN_RULES:
        markdown = pattern.sub(replacement, markdown)
    return markdown


def _json_record(number: int, data: dict[str, object]) -> RawRecord:
    record_id = data.get("id", data.get("_id"))
    key = str(record_id) if isinstance(record_id, (str, int)) and str(record_id).strip() else f"line {number}"
    article = RawArticle(
        title=_first_text(data, JSON_TITLE),
        date=_first_date(data, JSON_DATE),
        url=_first_text(data, JSON_URL),
        body=_first_text(data, JSON_BODY),
    )
    if not article.title.strip() and not article.body.strip():
        return RawRecord(number, key, None, "no title or body (expected fields: title, body/text/content)")
    return RawRecord(number, key, article)


def _first_text(data: dict[str, object] | dict[str, str], names: tuple[str, ...]) -> str:
    for name in names:
        value = data.get(name)
        if isinstance(value, str) and value.strip():
            return value
    return ""


def _first_date(data: dict[str, object] | dict[str, str], names: tuple[str, ...]) -> datetime | None:
    for name in names:
        value = data.get(name)
        if isinstance(value, str):
            return parse_date(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return _from_epoch(value)
    return None


def _from_epoch(seconds: float) -> datetime | None:
    if seconds > 10**11:  # milliseconds
        seconds /= 1000
    try:
        return parse_date(datetime.fromtimestamp(seconds, UTC).isoformat())
    except (OverflowError, OSError, ValueError):
        return None


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


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
            if following is not None and WEB_URL.match(lines[following].strip().strip("<>").strip()):
                url = lines[following].strip()
                end = following + 1
        return lines[:index] + lines[end:], url
    return lines, ""


def _take_date_line(lines: list[str]) -> tuple[datetime | None, list[str]]:
    """The date on the first non-empty line, which is then no longer body text."""
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return None, lines
    date = parse_date(lines[first])
    if date is None:
        return None, lines
    return date, lines[:first] + lines[first + 1 :]


def _take_heading(lines: list[str]) -> tuple[str, list[str], int]:
    """The first level-1 heading (``# Title`` or ``Title`` over ``===``), the lines
    without it, and where it stood."""
    for index, line in enumerate(lines):
        if line.startswith("# "):
            return line[2:].strip().rstrip("#").strip(), lines[:index] + lines[index + 1 :], index
        if index + 1 < len(lines) and line.strip() and SETEXT_TITLE.match(lines[index + 1]):
            return line.strip(), lines[:index] + lines[index + 2 :], index
    return "", lines, 0


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    match = FRONT_MATTER.match(text)
    if not match:
        return {}, text
    fields: dict[str, str] = {}
    for line in match["block"].splitlines():
        pair = FRONT_MATTER_LINE.match(line)
        if pair:
            fields[pair["key"].lower()] = pair["value"].strip().strip("\"'")
    return fields, text[match.end() :]
