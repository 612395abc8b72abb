"""The Whoosh schema of a searchidx index, and opening or creating one.

Title and body are analysed the same way (see :mod:`searchidx.query.analysis`) so a
word means the same in both; title matches weigh more than body matches.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import struct
import time
import zlib
from array import array
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from whoosh import index as whoosh_index
from whoosh.fields import DATETIME, ID, TEXT, FieldType, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.filetables import FileFormatError
from whoosh.formats import Existence, Positions
from whoosh.system import _INT_SIZE, pack_uint

from searchidx.engines.whoosh.files import install as read_segments_in_place
from searchidx.errors import (
    IncompatibleIndexError,
    IndexDamagedError,
    IndexNotFoundError,
    IndexWriteError,
    UnusableIndexPathError,
)
from searchidx.query.analysis import NewsAnalyzer, surface_words, text_analyzer, url_analyzer
from searchidx.query.ranking import HEADLINE_WEIGHT

read_segments_in_place()

# Bumped whenever the fields or their analysis change; kept in the pickled schema
# (and the manifest), and checked whenever an index is opened.
SCHEMA_VERSION = 7
VERSION_ATTRIBUTE = "searchidx_schema_version"
DEFAULT_INDEX = "index"
INDEX_ENV = "SEARCHIDX_INDEX"
# What decoding a truncated or corrupt index file raises inside Whoosh (struct, pickle, zlib and
# mmap errors, a header it does not know; file-system errors other than a missing file or a permission).
DAMAGE = (EOFError, pickle.UnpicklingError, struct.error, zlib.error, OSError, FileFormatError)
# Raised by damaged files too, but also by plain bugs: damage only when the code that reads and
# decodes index files raised it (Whoosh raises a bare Exception for a corrupt block of postings;
# UnicodeDecodeError and UnicodeEncodeError are ValueErrors: a column's bytes decoded as text).
AMBIGUOUS = (IndexError, ValueError, KeyError, TypeError, OverflowError)
# That code, by module: Whoosh's file readers and decoders, and searchidx's reader of mapped segment files.
FILE_READING_CODE = ("whoosh.filedb", "whoosh.codec", "whoosh.columns", "searchidx.engines.whoosh.files")
# Any of Whoosh's modules decodes bytes only when they come from the index's files.
DECODING_CODE = ("whoosh",)
READ_ATTEMPTS = 3
T = TypeVar("T")


def index_path(index: str | os.PathLike[str] | None = None) -> Path:
    """The index location: ``index`` if given, else ``$SEARCHIDX_INDEX``, else ``index/``."""
    path = Path(os.environ.get(INDEX_ENV) or DEFAULT_INDEX) if index is None else Path(index)
    if "\0" in str(path):
        raise UnusableIndexPathError(path)
    return path


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


class SpellingWords(FieldType):  # type: ignore[misc]  # Whoosh is untyped
    """The article's words as written (folded, lower case, not stemmed), for the speller only.

    Never searched: the edit distance of a misspelt word must be measured
    against the words the archive really contains ("abramovich"), not their
    stems ("abramovich" and "abramov..."). Each posting's weight is 1 plus
    the share of the word's occurrences written capitalized, so a term's total
    weight tells the speller how much of a name the word is (see
    :func:`searchidx.query.analysis.surface_words`).
    """

    def __init__(self) -> None:
        self.format = Existence(field_boost=1.0)
        self.analyzer = url_analyzer()  # unused by indexing; Whoosh's field protocol wants one
        self.scorable = False
        self.stored = False
        self.unique = False
        self.vector = None

    def index(self, value: tuple[str, str], **kwargs: Any) -> list[tuple[bytes, int, float, bytes]]:
        """Whoosh's field protocol: ``(word, 1, 1 + capitalized share, b"")`` per distinct word."""
        headline, text = value
        return [
            (word.encode("utf-8"), 1, 1.0 + share, b"")
            for word, share in surface_words(headline, text).items()
        ]


def build_schema() -> Schema:
    """The fields every searchidx document has, marked with :data:`SCHEMA_VERSION`."""
    analyzer = text_analyzer()
    schema = Schema(
        # A column too: a hybrid search reads its candidates' ids without their stored text.
        id=ID(stored=True, unique=True, sortable=True),
        title=ArticleText(analyzer=analyzer, stored=True),
        body=ArticleText(analyzer=analyzer, stored=True),
        date=DATETIME(stored=True, sortable=True),
        # url:example.com means the parts in that order, not any of them (example.org).
        url=TEXT(analyzer=url_analyzer(), stored=True, multitoken_query="phrase"),
        source=ID(stored=True, sortable=True),
        path=ID(stored=True),
        # The article's own id inside a file of several (a JSON Lines record's "id"), or "".
        record=ID(stored=True),
        spelling=SpellingWords(),
    )
    setattr(schema, VERSION_ATTRIBUTE, SCHEMA_VERSION)  # pickled with the schema into the index
    return schema


def document_id(identity: str) -> str:
    """The ``id`` field of the document with this identity (16 hex digits)."""
    return hashlib.sha1(identity.encode("utf-8")).hexdigest()[:16]


def open_index(path: Path) -> Any:
    """Open the index at ``path`` for reading; :class:`IndexNotFoundError` if there is none.

    :class:`IncompatibleIndexError` when another version of searchidx wrote
    it, :class:`IndexDamagedError` when its files cannot be read.
    """
    if not path.is_dir():
        raise IndexNotFoundError(path)
    ix = read_index_files(path, lambda: _open_existing(path))
    if not _compatible(ix):
        raise IncompatibleIndexError(path)
    return ix


def _open_existing(path: Path) -> Any:
    if not whoosh_index.exists_in(str(path)):
        raise IndexNotFoundError(path)
    return whoosh_index.open_dir(str(path))


def read_index_files(path: Path, read: Callable[[], T]) -> T:
    """``read()``, which reads files of the index at ``path``; failures become :class:`IndexDamagedError`.

    A file that is gone is looked for again, twice: an ingest that commits
    deletes the segments it merged, and a reader that read the table of
    contents just before finds the new one on its next try.
    """
    for attempt in range(READ_ATTEMPTS):
        try:
            return read()
        except FileNotFoundError as error:
            if attempt == READ_ATTEMPTS - 1:
                raise IndexDamagedError(path, f"the file {Path(error.filename).name} is missing") from error
            time.sleep(0.05 * (attempt + 1))
        except PermissionError as error:
            raise IndexDamagedError(path, f"no permission to read {error.filename}") from error
        except Exception as error:
            if not _is_damage(error):
                raise  # a bug, not damage: the caller reports it as an internal error
            detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            raise IndexDamagedError(path, f"a file is truncated or corrupt: {detail}") from error
    raise AssertionError("unreachable")


def _is_damage(error: Exception) -> bool:
    """Whether ``error`` says an index file could not be decoded, rather than that some code is wrong."""
    if isinstance(error, DAMAGE):
        return True
    if not isinstance(error, AMBIGUOUS) and type(error) is not Exception:
        return False
    module = _raising_module(error)
    readers = DECODING_CODE if isinstance(error, UnicodeDecodeError) else FILE_READING_CODE
    return any(module == name or module.startswith(f"{name}.") for name in readers)


def _raising_module(error: BaseException) -> str:
    """The module of Whoosh or searchidx whose code raised ``error`` (the standard library's, such as
    the codecs', and other libraries' frames passed over), or ``""``."""
    module = ""
    trace = error.__traceback__
    while trace is not None:
        name = str(trace.tb_frame.f_globals.get("__name__", ""))
        if name.split(".")[0] in ("whoosh", "searchidx"):
            module = name
        trace = trace.tb_next
    return module


def index_storage(path: Path) -> Any:
    """The folder of the index at ``path`` as Whoosh storage, created if needed."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        return FileStorage(str(path))
    except OSError as error:
        raise IndexWriteError(path, error.strerror or str(error)) from error


def open_or_create_index(path: Path, *, rebuild: bool = False) -> Any:
    """Open the index at ``path`` for writing, creating it if there is none.

    An index of another schema version, or a damaged one, raises
    :class:`IncompatibleIndexError` or :class:`IndexDamagedError`, or is
    replaced by an empty one when ``rebuild`` is asked for. The caller holds
    the write lock.
    """
    try:
        ix = open_index(path)
        read_index_files(path, lambda: ix.reader().close())  # every segment's files are there
        return ix
    except IndexNotFoundError:
        pass
    except (IncompatibleIndexError, IndexDamagedError):
        if not rebuild:
            raise
    try:
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
