"""What an ingest reports, and the hooks it calls as it goes.

Kept apart from :mod:`searchidx.ingesting.ingest` so that code which only shows
reports (the CLI, a query) does not import the document readers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from searchidx.errors import plural, terminal_safe

# Folder documents named in an ingest summary at most; more are counted.
NAMED_FOLDER_DOCUMENTS = 3


@dataclass(frozen=True)
class Skipped:
    """A file or record that was not indexed, and why."""

    location: str
    reason: str


@dataclass(frozen=True)
class Duplicate:
    """A document that repeats one in the index (``of`` is where the kept one comes from)."""

    location: str
    of: str


@dataclass(frozen=True)
class Truncated:
    """A document indexed in part: only its first ``kept`` of ``characters`` characters."""

    location: str
    characters: int
    kept: int


@dataclass(frozen=True)
class IngestReport:
    """What one ``ingest()`` did.

    ``added + updated + unchanged + len(duplicates) + len(skipped)`` is every
    record found in the supported files (a whole file counts once when it
    cannot be read); ``removed`` documents belonged to files that are gone or
    changed; ``total`` is the number of documents in the index afterwards.
    ``truncated`` lists the added or updated documents too long to index whole.
    ``ignored`` counts the other files under the folders (hidden, ignored or of
    another type), ``ignored_folders`` the folders not looked into (hidden or
    ignored); ``folder_documents`` are the locations of the files passed over
    as a folder's own documents (README.txt, LICENSE.md...), not counted in
    ``files`` or ``ignored``.
    """

    index: Path | str  # a folder, or a cluster's index as searchidx shows it
    files: int
    ignored: int
    added: int
    updated: int
    unchanged: int
    removed: int
    duplicates: tuple[Duplicate, ...]
    skipped: tuple[Skipped, ...]
    undated: int
    total: int
    seconds: float
    truncated: tuple[Truncated, ...] = ()
    ignored_folders: int = 0
    embedded: int = 0  # articles given a new vector (an index with vectors: ``ingest --semantic``)
    folder_documents: tuple[str, ...] = ()
    # Web archive records that hold no article, by kind ("request", "not HTML", "status 404"...), most first.
    passed_records: tuple[tuple[str, int], ...] = ()
    stories: int | None = None  # the distinct stories the index's documents are versions of afterwards
    watches: int = 0  # the saved searches the index keeps (searchidx.searching.watches)

    @property
    def records(self) -> int:
        """Every record found, whatever became of it."""
        return self.added + self.updated + self.unchanged + len(self.duplicates) + len(self.skipped)

    @property
    def indexed(self) -> int:
        """Documents written to the index by this run (added or updated)."""
        return self.added + self.updated

    @property
    def passed_over(self) -> str:
        """What the ingest passed over, in words: '1 folder document (README.TXT) and 2 other files'."""
        return passed_over_text(self.folder_documents, self.ignored, self.ignored_folders)


class IngestObserver:
    """Hooks for progress and per-document actions; the default does nothing."""

    def waiting(self, holder: int | None) -> None:
        """Another ingest (process ``holder``, if known) holds the index's write lock; this one waits."""

    def started(self, files: int) -> None:
        """``files`` supported files were found and will be checked."""

    def file_done(self, path: Path) -> None:
        """One file was checked (and read, if new or changed)."""

    def action(self, kind: str, location: str, detail: str = "") -> None:
        """``kind``: added, updated, removed, duplicate, skipped, truncated or ignored (a folder document)."""

    def embedding(self, done: int, total: int) -> None:
        """``done`` of the ``total`` articles that need a vector have one (after the index's commit)."""


def passed_over_text(folder_documents: tuple[str, ...], ignored: int, ignored_folders: int) -> str:
    """What an ingest passed over: '1 folder document (README.TXT), 2 other files and 1 folder', or ''."""
    passed_over = []
    if folder_documents:
        names = [terminal_safe(os.path.basename(location)) for location in folder_documents]
        more = ", ..." if len(names) > NAMED_FOLDER_DOCUMENTS else ""
        passed_over.append(f"{plural(len(names), 'folder document')} "
                           f"({', '.join(names[:NAMED_FOLDER_DOCUMENTS])}{more})")  # fmt: skip
    passed_over += [plural(ignored, "other file")] if ignored else []
    passed_over += [plural(ignored_folders, "folder")] if ignored_folders else []
    if len(passed_over) < 2:
        return "".join(passed_over)
    return f"{', '.join(passed_over[:-1])} and {passed_over[-1]}"
