"""searchidx: local, embedded full-text search for news archives.

>>> from searchidx import ingest, search
>>> ingest("corpus/", index="index/")  # doctest: +SKIP
>>> search("Putin parade", index="index/", limit=5)[0].title  # doctest: +SKIP
"""

from searchidx.errors import SearchidxError
from searchidx.indexing import Duplicate, IngestObserver, IngestReport, Skipped, ingest
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
