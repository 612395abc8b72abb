"""What names an index: a folder (``index/`` by default, or ``$SEARCHIDX_INDEX``) or a cluster's URL."""

from __future__ import annotations

import os
from pathlib import Path

from searchidx.errors import UnusableIndexPathError

CLUSTER_SCHEMES = ("http://", "https://")
DEFAULT_INDEX = "index"
INDEX_ENV = "SEARCHIDX_INDEX"


def index_path(index: str | os.PathLike[str] | None = None) -> Path:
    """The index location: ``index`` if given, else ``$SEARCHIDX_INDEX``, else ``index/``."""
    path = Path(os.environ.get(INDEX_ENV) or DEFAULT_INDEX) if index is None else Path(index)
    if "\0" in str(path):
        raise UnusableIndexPathError(path)
    return path


def is_cluster(location: str | os.PathLike[str] | None) -> bool:
    """Whether an index location names an OpenSearch index (a URL) rather than a folder."""
    return isinstance(location, str) and location.strip().lower().startswith(CLUSTER_SCHEMES)


def index_location(index: str | os.PathLike[str] | None) -> str | os.PathLike[str] | None:
    """``index`` if given, else ``$SEARCHIDX_INDEX`` when it names a cluster, else ``None`` (a folder)."""
    if index is None and is_cluster(os.environ.get(INDEX_ENV)):
        return os.environ[INDEX_ENV].strip()
    return index
