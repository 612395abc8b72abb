"""The engine factory: the engine an index location names, for searching, ingesting and checking.

A ``http(s)://host:port/name`` URL names an index on an OpenSearch cluster (the
``searchidx[opensearch]`` extra, imported only then); anything else a Whoosh
index in a folder. Above both engines, so that neither imports the other and
the rest of searchidx imports neither.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from searchidx.engines.locations import index_location, index_path, is_cluster
from searchidx.engines.protocol import Backend, Store, WatchStore
from searchidx.results import CheckReport


def open_backend(location: str | os.PathLike[str] | None) -> Backend:
    """The backend of an index location: a URL is an OpenSearch index, anything else a Whoosh folder."""
    location = index_location(location)
    if location is not None and is_cluster(location):
        from searchidx.engines.opensearch.backend import OpenSearchBackend  # the optional extra

        return OpenSearchBackend(str(location))
    from searchidx.engines.whoosh.backend import WhooshBackend

    return WhooshBackend(location)


def open_watches(location: str | os.PathLike[str] | None) -> WatchStore:
    """Where the index at ``location`` keeps its saved searches: beside it in its folder, or on its
    cluster (the index must exist: :func:`open_backend` says so first)."""
    location = index_location(location)
    if location is not None and is_cluster(location):
        from searchidx.engines.opensearch.backend import connect, parse_address
        from searchidx.engines.opensearch.watches import ClusterWatches

        address = parse_address(str(location))
        return ClusterWatches(connect(address), address)
    from searchidx.engines.whoosh.watches import FolderWatches

    return FolderWatches(index_path(location))


@contextmanager
def open_store(
    location: Path | str,
    *,
    full: bool,
    workers: int | None,
    shards: int | None,
    replicas: int | None,
    wait: float,
    on_wait: Callable[[int | None], None],
    files: int = 0,
) -> Iterator[Store]:
    """The index at ``location`` (a folder, or a cluster's URL) opened for one ingest, and locked for it.

    Created if missing; made anew when ``full``. ``workers`` are a folder's writing processes,
    ``shards`` and ``replicas`` a new cluster index's layout; ``files`` the number of files the
    ingest found (a new folder index to fill with several processes starts them sooner). Waits
    ``wait`` seconds for another ingest's lock, calling ``on_wait`` with its process id (when known)
    once.
    """
    if isinstance(location, str) and is_cluster(location):
        from searchidx.engines.opensearch.writing import cluster_store

        with cluster_store(location, full=full, shards=shards, replicas=replicas, wait=wait,
                           on_wait=on_wait) as store:  # fmt: skip
            yield store
        return
    from searchidx.engines.whoosh.writing import folder_store

    with folder_store(Path(location), full=full, workers=workers, wait=wait, on_wait=on_wait,
                      files=files) as store:  # fmt: skip
        yield store


def check(index: str | os.PathLike[str] | None = None) -> CheckReport:
    """Read every part of the index and compare it with the ingest records.

    Raises :class:`IndexNotFoundError` when there is no index and
    :class:`IncompatibleIndexError` for another version's index; damage is
    reported, not raised.

    Example: ``check("index/").healthy`` is ``True`` after a clean ingest.
    """
    location = index_location(index)
    if location is not None and is_cluster(location):
        from searchidx.engines.opensearch.writing import check_cluster

        return check_cluster(str(location))
    from searchidx.engines.whoosh.checking import check_folder

    return check_folder(index_path(location))
