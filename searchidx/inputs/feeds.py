"""RSS and Atom feeds saved from news sites: each item an article.

An item's title, its link as the URL, its published (else updated) date, and
its text: the full content when the feed carries it (``content:encoded``,
Atom ``content``), else the summary, read as the article text of a page is.
Items are told apart by their ``id`` (``guid``), else their link, so a feed
saved again is re-read incrementally like a JSON Lines file. A feed that is
malformed part-way keeps the items read before the fault, and says so.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from searchidx.inputs.formats import RawArticle, RawRecord

FEED_SUFFIXES = (".rss", ".atom", ".xml")
# What starts a feed: an <rss>, Atom <feed> or RSS 1.0 <rdf:RDF> element near the top of the file.
FEED_ROOT = re.compile(r"<(?:rss|feed|rdf:RDF)[\s>]", re.IGNORECASE)


class NotAFeedError(ValueError):
    """The file is XML (or something else), but not an RSS or Atom feed."""


def is_feed_text(text: str) -> bool:
    """Whether ``text`` starts as an RSS or Atom feed does (its root element, in its first 4 KB)."""
    return FEED_ROOT.search(text[:4096]) is not None


def read_feed(text: str) -> Iterator[RawRecord]:
    """The feed's items as records (``line`` is the item's number), and one more, without an article,
    saying where the feed is malformed when it is.

    Raises :class:`NotAFeedError` when the text is no feed at all.
    """
    import feedparser  # only feeds pay for the import

    if not is_feed_text(text):
        raise NotAFeedError("not an RSS or Atom feed (no <rss>, <feed> or <rdf:RDF> element at the top)")
    parsed = feedparser.parse(text, sanitize_html=False, resolve_relative_uris=False)
    for number, entry in enumerate(parsed.entries, start=1):
        yield _record(number, entry)
    if parsed.get("bozo") and not _harmless(parsed.get("bozo_exception")):
        problem = f"the feed is malformed ({_first_line(parsed.get('bozo_exception'))})"
        read = len(parsed.entries)
        yield RawRecord(read + 1, "", None, f"{problem}; the {read} items before it were read")


def _record(number: int, entry: Any) -> RawRecord:
    """One item as an article: its title, link, date and text."""
    key = str(entry.get("id") or entry.get("link") or f"item {number}")
    content = entry.get("content") or []
    markup = str(content[0].get("value", "")) if content else str(entry.get("summary", ""))
    title = str(entry.get("title", ""))
    from searchidx.inputs.html import fragment_text  # bs4, imported when a feed is first read

    article = RawArticle(title=title, date=_date(entry), url=str(entry.get("link", "")),
                         body=fragment_text(markup, title) if markup else "")  # fmt: skip
    return RawRecord(number, key, article)


def _date(entry: Any) -> datetime | None:
    """The item's published date, else its updated one (feedparser gives them as UTC struct_time)."""
    moment = entry.get("published_parsed") or entry.get("updated_parsed")
    if not moment:
        return None
    return datetime.fromtimestamp(calendar.timegm(moment), tz=UTC)


def _harmless(error: object) -> bool:
    """A declared encoding that differs from the real one is no fault: feedparser reads on correctly."""
    return type(error).__name__ in {"CharacterEncodingOverride", "NonXMLContentType"}


def _first_line(error: object) -> str:
    text = str(error).strip().splitlines()
    return text[0][:120] if text else type(error).__name__
