"""A watch's news as an Atom 1.0 feed (RFC 4287), for feed readers: ``serve``'s ``/watch/NAME.atom``.

One entry per article: its title, a link to the stored copy on the server (``alternate``) and to the
original (``related``), its date (``published``, and ``updated``; an undated article takes the time
its watch was made), and its snippet as the summary. An entry's id is the article's, so a reader that
sees an article again (its text changed) shows it as updated, not as another one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from searchidx.results import Hit, WatchNews

ATOM = "http://www.w3.org/2005/Atom"


def atom_feed(news: WatchNews, *, site: str, feed_url: str, search_url: str) -> str:
    """The feed of ``news``: ``site`` is the server's address (``http://host:port``), ``feed_url`` the
    feed's own and ``search_url`` the watch's search on the server."""
    made = _moment(news.watch.made) or datetime(1970, 1, 1, tzinfo=UTC)
    entries = [_entry(hit, site, made) for hit in news.hits]
    updated = max([made, *(hit.date for hit in news.hits if hit.date is not None)])
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="{ATOM}">\n'
        f"<id>{escape(feed_url)}</id>\n"
        f"<title>{escape(f'searchidx watch {news.watch.name}: {news.watch.query}')}</title>\n"
        f"<subtitle>{escape(_subtitle(news))}</subtitle>\n"
        f"<updated>{_stamp(updated)}</updated>\n"
        "<author><name>searchidx</name></author>\n"
        "<generator>searchidx</generator>\n"
        f'<link rel="self" type="application/atom+xml" href={quoteattr(feed_url)}/>\n'
        f'<link rel="alternate" type="text/html" href={quoteattr(search_url)}/>\n'
        + "".join(entries)
        + "</feed>\n"
    )


def _entry(hit: Hit, site: str, made: datetime) -> str:
    copy = f"{site}/doc/{hit.id}"
    original = f'<link rel="related" type="text/html" href={quoteattr(hit.url)}/>\n' if hit.url else ""
    when = _stamp(hit.date or made)
    published = f"<published>{when}</published>\n" if hit.date else ""
    return (
        "<entry>\n"
        f"<id>urn:searchidx:article:{escape(hit.id)}</id>\n"
        f"<title>{escape(_clean(hit.title) or hit.id)}</title>\n"
        f'<link rel="alternate" type="text/html" href={quoteattr(copy)}/>\n'
        f"{original}"
        f"<updated>{when}</updated>\n"
        f"{published}"
        f"<summary>{escape(_clean(hit.snippet))}</summary>\n"
        "</entry>\n"
    )


def _subtitle(news: WatchNews) -> str:
    options = ", ".join(f"{key} {value}" for key, value in news.watch.options)
    return f"New articles matching {news.watch.query!r}" + (f" ({options})" if options else "")


def _stamp(moment: datetime) -> str:
    """An RFC 3339 time in UTC, as Atom wants it."""
    when = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _moment(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _clean(text: str) -> str:
    """Text without the characters XML 1.0 cannot hold (control characters other than tab and newlines)."""
    return "".join(char for char in text if char in "\t\n\r" or ord(char) >= 0x20)
