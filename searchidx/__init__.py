"""searchidx: local, embedded full-text search for news archives.

>>> from searchidx import ingest, search
>>> ingest("corpus/", index="index/")  # doctest: +SKIP
>>> search("Putin parade", index="index/", limit=5)[0].title  # doctest: +SKIP

The names are imported on first use, so ``searchidx query`` does not pay for
the document readers (beautifulsoup4, lxml) that only ``ingest`` needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from searchidx.errors import SearchidxError
    from searchidx.indexing import ingest
    from searchidx.reports import Duplicate, IngestObserver, IngestReport, Skipped
    from searchidx.searching import Article, Hit, Index, Results, Stats, search

__version__ = "0.1.0"
__all__ = [
    "Article",
    "Duplicate",
    "Hit",
    "Index",
    "IngestObserver",
    "IngestReport",
    "Results",
    "SearchidxError",
    "Skipped",
    "Stats",
    "__version__",
    "ingest",
    "search",
]
_HOMES = {
    "SearchidxError": "searchidx.errors",
    "ingest": "searchidx.indexing",
    "Duplicate": "searchidx.reports",
    "IngestObserver": "searchidx.reports",
    "IngestReport": "searchidx.reports",
    "Skipped": "searchidx.reports",
    "Article": "searchidx.searching",
    "Hit": "searchidx.searching",
    "Index": "searchidx.searching",
    "Results": "searchidx.searching",
    "Stats": "searchidx.searching",
    "search": "searchidx.searching",
}


def __getattr__(name: str) -> Any:
    """Import an exported name from its module on first use."""
    if name not in _HOMES:
        raise AttributeError(f"module 'searchidx' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value
