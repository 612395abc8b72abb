"""The Whoosh schema of a searchidx index, and opening or creating one.

Title and body are analysed the same way (words, lower case, accents folded,
English stop words dropped, Porter stems) so a word means the same in both;
title matches weigh more than body matches.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.analysis import (
    CharsetFilter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.fields import DATETIME, ID, TEXT, Schema
from whoosh.support.charset import accent_map

from searchidx.errors import IndexNotFoundError, IndexWriteError

TITLE_BOOST = 2.0
DEFAULT_INDEX = "index"
INDEX_ENV = "SEARCHIDX_INDEX"


def index_path(index: str | os.PathLike[str] | None = None) -> Path:
    """The index location: ``index`` if given, else ``$SEARCHIDX_INDEX``, else ``index/``."""
    if index is not None:
        return Path(index)
    return Path(os.environ.get(INDEX_ENV) or DEFAULT_INDEX)


def text_analyzer() -> Any:
    """The analyzer of the title and body fields (also used to mark snippets)."""
    return RegexTokenizer() | LowercaseFilter() | CharsetFilter(accent_map) | StopFilter() | StemFilter()


def url_analyzer() -> Any:
    """URLs are searchable by their parts (``url:moscowtimes``), unstemmed."""
    return RegexTokenizer() | LowercaseFilter()


def build_schema() -> Schema:
    """The fields every searchidx document has."""
    analyzer = text_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=analyzer, stored=True, field_boost=TITLE_BOOST),
        body=TEXT(analyzer=analyzer, stored=True),
        date=DATETIME(stored=True, sortable=True),
        url=TEXT(analyzer=url_analyzer(), stored=True),
        path=ID(stored=True),
    )


def open_index(path: Path) -> Any:
    """Open the index at ``path`` for reading; :class:`IndexNotFoundError` if there is none."""
    if not path.is_dir() or not whoosh_index.exists_in(str(path)):
        raise IndexNotFoundError(path)
    return whoosh_index.open_dir(str(path))


def open_or_create_index(path: Path) -> Any:
    """Open the index at ``path`` for writing, creating the directory and index if needed."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        if whoosh_index.exists_in(str(path)):
            return whoosh_index.open_dir(str(path))
        return whoosh_index.create_in(str(path), build_schema())
    except OSError as error:
        raise IndexWriteError(path, error.strerror or str(error)) from error
