"""The Whoosh schema of a searchidx index, and opening or creating one.

Title and body are analysed the same way (see :mod:`searchidx.analysis`) so a
word means the same in both; title matches weigh more than body matches.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.fields import DATETIME, ID, TEXT, Schema

from searchidx.analysis import text_analyzer, url_analyzer
from searchidx.errors import IncompatibleIndexError, IndexNotFoundError, IndexWriteError

# Bumped whenever the fields or their analysis change; recorded in the manifest.
SCHEMA_VERSION = 4
DEFAULT_INDEX = "index"
INDEX_ENV = "SEARCHIDX_INDEX"


def index_path(index: str | os.PathLike[str] | None = None) -> Path:
    """The index location: ``index`` if given, else ``$SEARCHIDX_INDEX``, else ``index/``."""
    if index is not None:
        return Path(index)
    return Path(os.environ.get(INDEX_ENV) or DEFAULT_INDEX)


def build_schema() -> Schema:
    """The fields every searchidx document has."""
    analyzer = text_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=analyzer, stored=True),
        body=TEXT(analyzer=analyzer, stored=True),
        date=DATETIME(stored=True, sortable=True),
        url=TEXT(analyzer=url_analyzer(), stored=True),
        source=ID(stored=True, sortable=True),
        path=ID(stored=True),
    )


def document_id(identity: str) -> str:
    """The ``id`` field of the document with this identity (16 hex digits)."""
    return hashlib.sha1(identity.encode("utf-8")).hexdigest()[:16]


def open_index(path: Path) -> Any:
    """Open the index at ``path`` for reading; :class:`IndexNotFoundError` if there is none."""
    try:
        if not path.is_dir() or not whoosh_index.exists_in(str(path)):
            raise IndexNotFoundError(path)
        ix = whoosh_index.open_dir(str(path))
        ix.schema  # noqa: B018  # unpickled lazily: fail here, not in the middle of a search
        return ix
    except (AttributeError, ImportError) as error:
        # Whoosh keeps the schema pickled in the index; an older searchidx's
        # schema names classes this version no longer has.
        raise IncompatibleIndexError(path) from error


def open_or_create_index(path: Path) -> Any:
    """Open the index at ``path`` for writing, creating the directory and index if needed."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        if whoosh_index.exists_in(str(path)):
            return whoosh_index.open_dir(str(path))
        return whoosh_index.create_in(str(path), build_schema())
    except OSError as error:
        raise IndexWriteError(path, error.strerror or str(error)) from error
