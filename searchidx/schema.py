"""The Whoosh schema of a searchidx index, and opening or creating one.

Title and body are analysed the same way (see :mod:`searchidx.analysis`) so a
word means the same in both; title matches weigh more than body matches.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from array import array
from collections import defaultdict
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.fields import DATETIME, ID, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.formats import Positions
from whoosh.system import _INT_SIZE, pack_uint

from searchidx.analysis import NewsAnalyzer, text_analyzer, url_analyzer
from searchidx.errors import IncompatibleIndexError, IndexNotFoundError, IndexWriteError
from searchidx.ranking import HEADLINE_WEIGHT

# Bumped whenever the fields or their analysis change; kept in the pickled schema
# (and the manifest), and checked whenever an index is opened.
SCHEMA_VERSION = 5
VERSION_ATTRIBUTE = "searchidx_schema_version"
DEFAULT_INDEX = "index"
INDEX_ENV = "SEARCHIDX_INDEX"


def index_path(index: str | os.PathLike[str] | None = None) -> Path:
    """The index location: ``index`` if given, else ``$SEARCHIDX_INDEX``, else ``index/``."""
    if index is not None:
        return Path(index)
    return Path(os.environ.get(INDEX_ENV) or DEFAULT_INDEX)


class CompactPositions(Positions):  # type: ignore[misc]  # Whoosh is untyped
    """Word positions stored as an array of 4-byte integers instead of a pickled list.

    Encoding and decoding are one C call each, where Whoosh's format pickles
    and unpickles a list of deltas for every posting.
    """

    def encode(self, poslist: list[int]) -> bytes:
        """The frequency, then the positions (native byte order)."""
        return bytes(pack_uint(len(poslist))) + array("I", poslist).tobytes()

    def decode_positions(self, valuestring: bytes) -> list[int]:
        """The positions :meth:`encode` stored."""
        return array("I", valuestring[_INT_SIZE:]).tolist()


class ArticleText(TEXT):  # type: ignore[misc]  # Whoosh is untyped
    """A text field indexed from :meth:`NewsAnalyzer.terms`, with word positions (for phrases).

    The value is a string, or a ``(headline, text)`` pair: the headline's words
    are indexed first and each weighs ``HEADLINE_WEIGHT`` matches of a word of
    the text, inside the one field (BM25F: a field weight applied before the
    term frequency saturates).
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.format: CompactPositions = CompactPositions(field_boost=options.get("field_boost", 1.0))

    def index(self, value: str | tuple[str, str], **kwargs: Any) -> list[tuple[bytes, int, float, bytes]]:
        """Whoosh's field protocol: ``(term, frequency, weight, encoded positions)`` per distinct term."""
        analyzer: NewsAnalyzer = self.analyzer
        headline, text = value if isinstance(value, tuple) else ("", value)
        headline_terms = analyzer.terms(headline) if headline else []
        positions: dict[str, list[int]] = defaultdict(list)
        for position, term in enumerate(headline_terms + analyzer.terms(text)):
            positions[term].append(position)
        extra: dict[str, float] = defaultdict(float)
        for term in headline_terms:
            extra[term] += HEADLINE_WEIGHT - 1
        encode = self.format.encode
        return [
            (term.encode("utf-8"), len(places), len(places) + extra[term], encode(places))
            for term, places in positions.items()
        ]


def build_schema() -> Schema:
    """The fields every searchidx document has, marked with :data:`SCHEMA_VERSION`."""
    analyzer = text_analyzer()
    schema = Schema(
        id=ID(stored=True, unique=True),
        title=ArticleText(analyzer=analyzer, stored=True),
        body=ArticleText(analyzer=analyzer, stored=True),
        date=DATETIME(stored=True, sortable=True),
        url=TEXT(analyzer=url_analyzer(), stored=True),
        source=ID(stored=True, sortable=True),
        path=ID(stored=True),
    )
    setattr(schema, VERSION_ATTRIBUTE, SCHEMA_VERSION)  # pickled with the schema into the index
    return schema


def document_id(identity: str) -> str:
    """The ``id`` field of the document with this identity (16 hex digits)."""
    return hashlib.sha1(identity.encode("utf-8")).hexdigest()[:16]


def open_index(path: Path) -> Any:
    """Open the index at ``path`` for reading; :class:`IndexNotFoundError` if there is none.

    :class:`IncompatibleIndexError` when another version of searchidx wrote it.
    """
    if not path.is_dir() or not whoosh_index.exists_in(str(path)):
        raise IndexNotFoundError(path)
    ix = whoosh_index.open_dir(str(path))
    if not _compatible(ix):
        raise IncompatibleIndexError(path)
    return ix


def index_storage(path: Path) -> Any:
    """The folder of the index at ``path`` as Whoosh storage, created if needed."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        return FileStorage(str(path))
    except OSError as error:
        raise IndexWriteError(path, error.strerror or str(error)) from error


def open_or_create_index(path: Path, *, rebuild: bool = False) -> Any:
    """Open the index at ``path`` for writing, creating it if there is none.

    An index of another schema version raises :class:`IncompatibleIndexError`,
    or is replaced by an empty one when ``rebuild`` is asked for. The caller
    holds the write lock.
    """
    try:
        if whoosh_index.exists_in(str(path)):
            ix = whoosh_index.open_dir(str(path))
            if _compatible(ix):
                return ix
            if not rebuild:
                raise IncompatibleIndexError(path)
        return whoosh_index.create_in(str(path), build_schema())
    except OSError as error:
        raise IndexWriteError(path, error.strerror or str(error)) from error


def _compatible(ix: Any) -> bool:
    """Whether this version's code can read and extend the index (its schema is unpickled here)."""
    try:
        return getattr(ix.schema, VERSION_ATTRIBUTE, None) == SCHEMA_VERSION
    except (AttributeError, ImportError, pickle.UnpicklingError):
        # Whoosh keeps the schema pickled in the index; an older searchidx's
        # schema may name classes this version no longer has.
        return False
