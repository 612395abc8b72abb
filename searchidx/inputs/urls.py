"""The canonical form of an article URL, used to recognise the same article twice, and document ids.

The stored URL stays what the article gave; only identity uses this form:
lower-case scheme and host, no default port, no fragment, no tracking
parameters (``utm_*``, ``fbclid``, ``gclid``...), no trailing ``index.html``,
and ``/`` for an empty path.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
TRACKING = re.compile(r"^(?:utm_.*|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|_ga)$", re.IGNORECASE)
INDEX_PAGE = re.compile(r"/index\.html?$", re.IGNORECASE)


def canonical_url(url: str) -> str | None:
    """The canonical form of an ``http(s)`` URL, or ``None`` when ``url`` is not one.

    >>> canonical_url("HTTPS://WWW.Example.com:443/news/index.html?utm_source=x&id=7#top")
    'https://www.example.com/news/?id=7'
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
    path = INDEX_PAGE.sub("/", parts.path) or "/"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = urlencode([(key, value) for key, value in pairs if not TRACKING.match(key)])
    return urlunsplit((scheme, netloc, path, query, ""))


def source_of(url: str) -> str:
    """The site an article comes from: its URL's host without ``www.`` (``""`` if none).

    >>> source_of("https://www.themoscowtimes.com/2015/03/20/a")
    'themoscowtimes.com'
    """
    canonical = canonical_url(url) if url else None
    if canonical is None:
        return ""
    host = urlsplit(canonical).hostname or ""
    return host.removeprefix("www.")


def document_id(identity: str) -> str:
    """The ``id`` field of the document with this identity (16 hex digits)."""
    return hashlib.sha1(identity.encode("utf-8")).hexdigest()[:16]
