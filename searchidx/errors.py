"""The one exception hierarchy of searchidx.

Every error a user can cause is a :class:`SearchidxError` whose message is one
clear sentence: what happened and what to do. The CLI prints that message and
exits with :attr:`SearchidxError.exit_code`; it never shows a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

# C0/C1 controls (ESC starts terminal escape sequences) and bidi overrides.
UNSAFE_FOR_TERMINAL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class SearchidxError(Exception):
    """Base class of every error searchidx reports to its users."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class IndexPathError(SearchidxError):
    """An error about the index at :attr:`path`; each subclass's ``message`` says what to do."""

    message_template = "{path}"

    def __init__(self, path: Path, **details: str) -> None:
        super().__init__(self.message_template.format(path=path, **details))
        self.path = path


class IndexNotFoundError(IndexPathError):
    """There is no index at the given path."""

    message_template = (
        "No index at {path}. Run `searchidx ingest DIR` first "
        "(or point --index / SEARCHIDX_INDEX at an existing index)."
    )


# What is wrong with a path that holds a NUL character (os.stat raises ValueError on one).
NUL_IN_PATH = "contains a NUL character, which no file system allows"


class UnusableIndexPathError(IndexPathError):
    """The index path holds a character no file system allows in a name."""

    message_template = f"The index path {{shown}} {NUL_IN_PATH}. Choose another path."

    def __init__(self, path: Path) -> None:
        super().__init__(path, shown=repr(str(path)))


class IncompatibleIndexError(IndexPathError):
    """The index was written by a version of searchidx this one cannot read."""

    message_template = (
        "The index at {path} was built by another version of searchidx and cannot be read. "
        "Rebuild it with `searchidx ingest --full DIR`."
    )


class IndexReasonError(IndexPathError):
    """An index error whose message gives a :attr:`reason` found at run time."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(path, reason=reason)
        self.reason = reason


class IndexDamagedError(IndexReasonError):
    """Files of the index are missing or unreadable."""

    message_template = (
        "The index at {path} is damaged ({reason}). "
        "Rebuild it with `searchidx ingest --full DIR` from the folders it was built from."
    )


class IndexLockedError(IndexPathError):
    """Another process is writing to the index."""

    message_template = (
        "Another ingest{holder} is still writing to the index at {path} after {waited} s. "
        "Wait for it to finish, or give it longer with --wait SECONDS."
    )


class IndexWriteError(IndexReasonError):
    """The index cannot be created or written (permissions, full disk...)."""

    message_template = (
        "Cannot write the index at {path}: {reason}. "
        "Check that the directory is writable and the disk has free space."
    )


class CorpusError(SearchidxError):
    """A directory given to ``ingest`` is missing or unusable."""


class NothingToIndexError(CorpusError):
    """The folders given to ``ingest`` hold no supported file (exit 1: nothing indexable found)."""

    exit_code = 1


class QueryError(SearchidxError):
    """The query cannot be searched (empty, or no searchable words)."""


class SearchTimeoutError(SearchidxError):
    """A search ran past the deadline it was given (``Index.search(..., deadline=...)``) and was stopped.

    Not the user's syntax but its cost: the server answers HTTP 504; the CLI
    exits 2, as for a query error.
    """

    def __init__(self, budget: float) -> None:
        super().__init__(
            f"The search took longer than its {budget:g}-second budget and was stopped. Narrow it: "
            "fewer or rarer words, shorter phrases, fewer wildcards, a date range or a source."
        )
        self.budget = budget


class DocumentNotFoundError(SearchidxError):
    """No document in the index matches the id, URL or path given."""


class WatchNotFoundError(SearchidxError):
    """No saved search of the index has the name given."""


class ServeError(SearchidxError):
    """``searchidx serve`` cannot listen on the address asked for."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(f"Cannot listen on {address}: {reason}. Choose another port with --port.")


class ServeSettingsError(SearchidxError):
    """``searchidx serve`` will not start as asked: public without a secret, an unusable secret..."""


class RequestRefusedError(SearchidxError):
    """A request the server will not answer now (HTTP 401, 429, 503, 504); ``retry_after`` in seconds."""

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotAuthorizedError(RequestRefusedError):
    """The request does not carry the server's secret (HTTP 401)."""


class RateLimitedError(RequestRefusedError):
    """The client sent more requests per second than the server allows (HTTP 429)."""


class ServerBusyError(RequestRefusedError):
    """As many costly requests as the server allows at once are running (HTTP 503)."""


class TimeBudgetError(RequestRefusedError):
    """The request took longer than the server's time budget (HTTP 504)."""


class DocumentError(SearchidxError):
    """One file cannot be turned into a document; ingest reports it and goes on."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class ClusterError(SearchidxError):
    """An OpenSearch cluster cannot do what was asked: unreachable, login refused, red, no such index...

    The message names the cluster by its address without credentials, which
    searchidx never prints.
    """


class ClusterExtraMissingError(ClusterError):
    """An index URL was given but the optional OpenSearch client is not installed."""

    def __init__(self) -> None:
        super().__init__(
            "An index URL needs the OpenSearch client, which is not installed. "
            "Install it with `pip install 'searchidx[opensearch]'`, or give an index folder instead."
        )


class SemanticUnavailableError(SearchidxError):
    """Searching by meaning was asked for, but the semantic extra is missing or its model file is wrong."""


class NoVectorsError(QueryError):
    """A search by meaning on an index that was built without vectors."""


# How every sentence of searchidx writes a count and a name it did not choose.


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """'1 document', '2 documents' (for nouns that take an s; else ``nouns`` is the plural: 'stories')."""
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"


def terminal_safe(text: str) -> str:
    """``text`` without control characters, so a document cannot drive the terminal."""
    return UNSAFE_FOR_TERMINAL.sub("", text)
