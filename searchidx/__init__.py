"""searchidx: local, embedded full-text search for news archives.

>>> from searchidx import ingest, search
>>> ingest("corpus/", index="index/")  # doctest: +SKIP
>>> search("Putin parade", index="index/", limit=5)[0].title  # doctest: +SKIP

The names are imported on first use, so ``searchidx query`` does not pay for
the document readers (beautifulsoup4, lxml) that only ``ingest`` needs.
"""

from __future__ import annotations

import functools
import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from searchidx.engines.factory import check
    from searchidx.engines.locations import is_cluster
    from searchidx.errors import (
        ClusterError,
        ClusterExtraMissingError,
        CorpusError,
        DocumentError,
        DocumentNotFoundError,
        IncompatibleIndexError,
        IndexDamagedError,
        IndexLockedError,
        IndexNotFoundError,
        IndexPathError,
        IndexReasonError,
        IndexWriteError,
        NotAuthorizedError,
        NothingToIndexError,
        NoVectorsError,
        QueryError,
        RateLimitedError,
        RequestRefusedError,
        SearchidxError,
        SearchTimeoutError,
        SemanticUnavailableError,
        ServeError,
        ServerBusyError,
        ServeSettingsError,
        TimeBudgetError,
        UnusableIndexPathError,
        WatchNotFoundError,
    )
    from searchidx.ingesting.ingest import ingest
    from searchidx.ingesting.reports import Duplicate, IngestObserver, IngestReport, Skipped, Truncated
    from searchidx.results import (
        Article,
        CheckReport,
        Hit,
        Results,
        Series,
        Stats,
        TopWord,
        Trend,
        Version,
        Watch,
        WatchCounts,
        WatchNews,
    )
    from searchidx.searching.index import Index, search, trend

__version__ = "0.1.0"
__all__ = [
    "Article",
    "CheckReport",
    "ClusterError",
    "ClusterExtraMissingError",
    "CorpusError",
    "DocumentError",
    "DocumentNotFoundError",
    "Duplicate",
    "Hit",
    "IncompatibleIndexError",
    "Index",
    "IndexDamagedError",
    "IndexLockedError",
    "IndexNotFoundError",
    "IndexPathError",
    "IndexReasonError",
    "IndexWriteError",
    "IngestObserver",
    "IngestReport",
    "NoVectorsError",
    "NotAuthorizedError",
    "NothingToIndexError",
    "QueryError",
    "RateLimitedError",
    "RequestRefusedError",
    "Results",
    "SearchTimeoutError",
    "SearchidxError",
    "SemanticUnavailableError",
    "Series",
    "ServeError",
    "ServeSettingsError",
    "ServerBusyError",
    "Skipped",
    "Stats",
    "TimeBudgetError",
    "TopWord",
    "Trend",
    "Truncated",
    "UnusableIndexPathError",
    "Version",
    "Watch",
    "WatchCounts",
    "WatchNews",
    "WatchNotFoundError",
    "__version__",
    "check",
    "ingest",
    "is_cluster",
    "search",
    "trend",
]
_HOMES = {
    "NotAuthorizedError": "searchidx.errors",
    "RateLimitedError": "searchidx.errors",
    "RequestRefusedError": "searchidx.errors",
    "ServeSettingsError": "searchidx.errors",
    "ServerBusyError": "searchidx.errors",
    "TimeBudgetError": "searchidx.errors",
    "ClusterError": "searchidx.errors",
    "ClusterExtraMissingError": "searchidx.errors",
    "CorpusError": "searchidx.errors",
    "DocumentError": "searchidx.errors",
    "DocumentNotFoundError": "searchidx.errors",
    "IncompatibleIndexError": "searchidx.errors",
    "IndexDamagedError": "searchidx.errors",
    "IndexLockedError": "searchidx.errors",
    "IndexNotFoundError": "searchidx.errors",
    "IndexPathError": "searchidx.errors",
    "IndexReasonError": "searchidx.errors",
    "IndexWriteError": "searchidx.errors",
    "NothingToIndexError": "searchidx.errors",
    "NoVectorsError": "searchidx.errors",
    "QueryError": "searchidx.errors",
    "SearchidxError": "searchidx.errors",
    "SearchTimeoutError": "searchidx.errors",
    "SemanticUnavailableError": "searchidx.errors",
    "ServeError": "searchidx.errors",
    "UnusableIndexPathError": "searchidx.errors",
    "WatchNotFoundError": "searchidx.errors",
    "ingest": "searchidx.ingesting.ingest",
    "Duplicate": "searchidx.ingesting.reports",
    "IngestObserver": "searchidx.ingesting.reports",
    "IngestReport": "searchidx.ingesting.reports",
    "Skipped": "searchidx.ingesting.reports",
    "Truncated": "searchidx.ingesting.reports",
    "Article": "searchidx.results",
    "Hit": "searchidx.results",
    "Index": "searchidx.searching.index",
    "Results": "searchidx.results",
    "Stats": "searchidx.results",
    "search": "searchidx.searching.index",
    "trend": "searchidx.searching.index",
    "Series": "searchidx.results",
    "TopWord": "searchidx.results",
    "Trend": "searchidx.results",
    "Version": "searchidx.results",
    "Watch": "searchidx.results",
    "WatchCounts": "searchidx.results",
    "WatchNews": "searchidx.results",
    "CheckReport": "searchidx.results",
    "check": "searchidx.engines.factory",
    "is_cluster": "searchidx.engines.locations",
}


def _stand_in(name: str, **attributes: Any) -> types.ModuleType:
    """A module that offers ``attributes`` and hands any other name on to the real module."""
    module = types.ModuleType(name)
    module.__dict__.update(attributes)

    def real_attribute(attribute: str) -> Any:
        if attribute.startswith("__"):  # the import system asks for __path__ and the like
            raise AttributeError(attribute)
        if sys.modules.get(name) is module:
            del sys.modules[name]
        return getattr(importlib.import_module(name), attribute)

    module.__getattr__ = real_attribute  # type: ignore[method-assign]
    return module


def _urlretrieve(*args: Any, **kwargs: Any) -> Any:
    from urllib.request import urlretrieve

    return urlretrieve(*args, **kwargs)


def _import_whoosh_lean() -> None:
    """Import Whoosh's core without the two modules it imports but searchidx never uses.

    ``whoosh.compat`` imports ``urllib.request`` (for a download helper) and
    ``whoosh.reading`` the ``cached_property`` package, which imports asyncio:
    together about 90 ms of every ``searchidx query``'s start-up. Stand-ins
    serve those two imports (``functools.cached_property`` behaves the same on
    Whoosh's one use) and are removed again, so later imports get the real modules.
    """
    if "whoosh.reading" in sys.modules:
        return
    stand_ins = {
        "urllib.request": _stand_in("urllib.request", urlretrieve=_urlretrieve),
        "cached_property": _stand_in("cached_property", cached_property=functools.cached_property),
    }
    installed = [name for name in stand_ins if name not in sys.modules]
    sys.modules.update({name: stand_ins[name] for name in installed})
    try:
        importlib.import_module("whoosh.reading")
    finally:
        for name in installed:
            if sys.modules.get(name) is stand_ins[name]:
                del sys.modules[name]


_import_whoosh_lean()


def __getattr__(name: str) -> Any:
    """Import an exported name from its module on first use."""
    if name not in _HOMES:
        raise AttributeError(f"module 'searchidx' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value
