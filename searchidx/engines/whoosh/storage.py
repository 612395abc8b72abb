"""A Whoosh index in a folder: opening or creating it, and telling a damaged one from a bug.

Its fields are :mod:`searchidx.query.fields`; each index carries their version
and is refused by a searchidx that reads another.
"""

from __future__ import annotations

import pickle
import struct
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.filetables import FileFormatError

from searchidx.engines.whoosh.files import install as read_segments_in_place
from searchidx.errors import (
    IncompatibleIndexError,
    IndexDamagedError,
    IndexNotFoundError,
    IndexWriteError,
)
from searchidx.query.fields import SCHEMA_VERSION, VERSION_ATTRIBUTE, build_schema

read_segments_in_place()

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


def open_index(path: Path) -> Any:
    """Open the index at ``path`` for reading; :class:`IndexNotFoundError` if there is none.

    :class:`IncompatibleIndexError` when another version of searchidx wrote
    it, :class:`IndexDamagedError` when its files cannot be read.
    """
    if not path.is_dir():
        raise IndexNotFoundError(path)
    try:
        ix = read_index_files(path, lambda: _open_existing(path))
    except (ImportError, AttributeError) as error:  # a schema naming classes this version no longer has
        raise IncompatibleIndexError(path) from error
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
