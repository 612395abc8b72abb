"""``ingest()``: every supported file under one or more folders into the index.

Each file becomes one document, keyed by its id (see
:func:`searchidx.documents.document_id`), so ingesting the same folder again
replaces its documents instead of doubling them. A file that cannot be read or
parsed is reported with its reason and the rest is indexed; files of other
types are counted as ignored. Hidden files and folders (names starting with a
dot) are not looked at, as with ripgrep.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

from whoosh.index import LockError

from searchidx.documents import Document, is_supported, load_document
from searchidx.errors import CorpusError, DocumentError, IndexLockedError, IndexWriteError
from searchidx.schema import index_path, open_or_create_index

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why."""

    path: Path
    reason: str


@dataclass(frozen=True)
class IngestReport:
    """What one ``ingest()`` did; ``indexed + len(skipped) + ignored`` files were looked at."""

    index: Path
    indexed: int
    skipped: tuple[Skipped, ...]
    ignored: int
    total: int
    seconds: float

    @property
    def files(self) -> int:
        """Every file found under the folders (hidden ones aside)."""
        return self.indexed + len(self.skipped) + self.ignored


def ingest(directories: PathLike | Iterable[PathLike], *, index: PathLike | None = None) -> IngestReport:
    """Index every supported file under ``directories`` into the index at ``index``.

    ``index`` defaults to ``$SEARCHIDX_INDEX`` or ``index/``; it is created if
    missing. Raises :class:`CorpusError` when a folder is missing or none holds a
    supported file, :class:`IndexLockedError` when another ingest is writing.

    Example: ``ingest("corpus/", index="index/").indexed`` is 331 for the demo corpus.
    """
    started = time.perf_counter()
    folders = _as_folders(directories)
    target = index_path(index)
    candidates, ignored = _find_files(folders, exclude=target)
    if not candidates:
        names = ", ".join(str(folder) for folder in folders)
        raise CorpusError(
            f"No supported files (.txt, .html, .htm) in {names} ({ignored} other files ignored). "
            "Point ingest at the folder that holds your articles."
        )
    indexed, skipped = _write(target, candidates)
    total = _document_count(target)
    return IngestReport(
        index=target,
        indexed=indexed,
        skipped=tuple(skipped),
        ignored=ignored,
        total=total,
        seconds=time.perf_counter() - started,
    )


def _as_folders(directories: PathLike | Iterable[PathLike]) -> list[Path]:
    if isinstance(directories, (str, os.PathLike)):
        directories = [directories]
    folders = [Path(directory) for directory in directories]
    if not folders:
        raise CorpusError("No folder to ingest. Give one or more folders of articles.")
    for folder in folders:
        if not folder.exists():
            raise CorpusError(f"The folder {folder} does not exist. Check the path and run ingest again.")
        if not folder.is_dir():
            raise CorpusError(f"{folder} is not a folder. Give the folder that holds your articles.")
    return folders


def _find_files(folders: list[Path], *, exclude: Path) -> tuple[list[Path], int]:
    """Supported files in sorted order (no duplicates), and the count of other files."""
    excluded = exclude.resolve()
    seen: set[Path] = set()
    supported: list[Path] = []
    ignored = 0
    for folder in folders:
        for path in _walk(folder, excluded):
            resolved = path.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            if is_supported(path):
                supported.append(path)
            else:
                ignored += 1
    return supported, ignored


def _walk(folder: Path, excluded: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        base = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (base / d).resolve() != excluded)
        for name in sorted(files):
            if not name.startswith("."):
                yield base / name


def _write(target: Path, candidates: list[Path]) -> tuple[int, list[Skipped]]:
    ix = open_or_create_index(target)
    replace = ix.doc_count_all() > 0
    try:
        writer = ix.writer()
    except LockError as error:
        raise IndexLockedError(target) from error
    indexed = 0
    skipped: list[Skipped] = []
    try:
        for path in candidates:
            try:
                document = load_document(path)
            except DocumentError as error:
                skipped.append(Skipped(path, error.reason))
                continue
            except Exception as error:  # a parser bug must not stop the other files
                skipped.append(Skipped(path, f"could not parse the file ({type(error).__name__}: {error})"))
                continue
            fields = _fields(document)
            if replace:
                writer.update_document(**fields)
            else:
                writer.add_document(**fields)
            indexed += 1
        if indexed:
            writer.commit()
        else:
            writer.cancel()
    except OSError as error:
        writer.cancel()
        raise IndexWriteError(target, error.strerror or str(error)) from error
    except BaseException:
        writer.cancel()
        raise
    return indexed, skipped


def _fields(document: Document) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": document.id,
        "title": document.title,
        "body": document.body,
        "url": document.url,
        "path": str(document.path.resolve()),
    }
    if document.date is not None:
        # Whoosh stores naive datetimes; searchidx's are UTC.
        fields["date"] = document.date.astimezone(UTC).replace(tzinfo=None)
    return fields


def _document_count(target: Path) -> int:
    ix = open_or_create_index(target)
    try:
        return int(ix.doc_count())
    finally:
        ix.close()
