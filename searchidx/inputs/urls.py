"""The canonical form of an article URL, used to recognise the same article twice, and document ids.

The stored URL stays what the article gave; only identity uses this form:
lower-case scheme and host, no default port, no fragment, no tracking
parameters (``utm_*``, ``fbclid``, ``gclid``...), no trailing ``index.html``,
and ``/`` for an empty path.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
TRACKING = re.compile(r"^(?:utm_.*|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|_ga)$", re.IGNORECASE)
INDEX_PAGE = re.compile(r"/index\.html?$", re.IGNORECASE)
# The AMP copy of a page: an `amp` path segment, `.amp` before the extension, or a query that asks
# for it (`?amp`, `?amp=1`, `?outputType=amp`).
AMP_SEGMENT = re.compile(r"/amp(?=/|$)", re.IGNORECASE)
AMP_EXTENSION = re.compile(r"\.amp(?=\.html?$)|\.amp$", re.IGNORECASE)
AMP_QUERY = {("amp", ""), ("amp", "1"), ("amp", "true"), ("outputtype", "amp")}


def canonical_url(url: str) -> str | None:
    """The canonical form of an ``http(s)`` URL, or ``None`` when ``url`` is not one.

    >>> canonical_url("HTTPS://WWW.Example.com:443/news/index.html?utm_source=x&id=7#top")
    'https://www.example.com/news/?id=7'
    >>> canonical_url("https://www.example.com/news/story-1/amp?outputType=amp")
    'https://www.example.com/news/story-1'
    >>> canonical_url("mailto:desk@example.com") is None
    True
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in DEFAULT_PORTS or not host:
        return None
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = INDEX_PAGE.sub("/", AMP_EXTENSION.sub("", AMP_SEGMENT.sub("", parts.path))) or "/"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(key, value) for key, value in pairs
            if not TRACKING.match(key) and (key.lower(), value.lower()) not in AMP_QUERY]  # fmt: skip
    query = urlencode(kept)
    return urlunsplit((scheme, netloc, path, query, ""))


def source_of(url: str) -> str:
    """The site an article comes from: its URL's registered domain (``""`` if it has no URL).

    >>> source_of("https://news.bbc.co.uk/2/hi/world/a.stm")
    'bbc.co.uk'
    """
    return canonical_site(canonical_url(url) if url else None)


def canonical_site(canonical: str | None) -> str:
    """:func:`source_of` a URL already made canonical (``""`` for ``None``)."""
    return site_of(urlsplit(canonical).hostname or "") if canonical else ""


@functools.lru_cache(maxsize=4096)  # an archive's articles come from a few sites
def site_of(name: str) -> str:
    """The registered domain of a host, a URL or a domain as a user types it (public suffix list).

    ``news.bbc.co.uk`` and ``bbc.co.uk`` are ``bbc.co.uk``; ``bbc.co.uk.evil.com`` is ``evil.com``;
    an address or a name with no public suffix is itself.

    >>> site_of("https://www.themoscowtimes.com/2015/03/20/a"), site_of("WWW.BBC.CO.UK")
    ('themoscowtimes.com', 'bbc.co.uk')
    """
    text = name.strip().lower()
    host = (urlsplit(text).hostname or "") if "://" in text else text.split("/", 1)[0].rsplit("@", 1)[-1]
    host = host.strip(".").split(":", 1)[0] if not host.startswith("[") else host
    if not host:
        return ""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return host
    except ValueError:
        pass
    return _suffixes().privatesuffix(host) or host.removeprefix("www.")


@functools.cache
def _suffixes() -> Any:
    """The public suffix list bundled with the publicsuffixlist package (nothing is fetched)."""
    from publicsuffixlist import PublicSuffixList  # about 90 ms to load: only sites pay for it

    return PublicSuffixList()


def document_id(identity: str) -> str:
    """The ``id`` field of the document with this identity (16 hex digits)."""
    return hashlib.sha1(identity.encode("utf-8")).hexdigest()[:16]
