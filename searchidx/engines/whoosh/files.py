"""Reading a segment's files where they are mapped, instead of from a copy, and mapping each once.

Whoosh maps each segment's compound file into memory, then opens every file
inside it as ``BytesIO(memoryview)``, which copies the whole file: the first
search of a process copied every segment's terms and postings (at 190,000
articles, 770 MB and 1.2 s before the first hit, and as much memory held for
the life of the process). :class:`MappedFile` reads the mapped bytes in
place; :func:`install` makes Whoosh's compound storage use it.

Each searcher mapped its segments anew, and a page of a file counts in the
process's resident memory once per mapping that has read it: eight threads
searching the Reuters index, a searcher each, held 415 MB of its pages where
one mapping holds 50 (a server's threads: most of its 704 MB). :func:`install`
also has every searcher of the process share one read-only mapping per
segment file (:class:`SharedMap`, unmapped when the last searcher using it
closes or is dropped). A segment file is never written again once committed,
so a file is known by its device, inode, size and modification time.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import threading
import weakref
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import whoosh.filedb.compound
from whoosh.filedb.structfile import BufferFile

LINE_CHUNK = 256


class _MappedStream:
    """A read-only file over a memoryview: what ``BytesIO`` offers the readers, without the copy."""

    def __init__(self, view: memoryview) -> None:
        self._view = view
        self._position = 0

    def read(self, size: int | None = -1) -> bytes:
        start = self._position
        end = len(self._view) if size is None or size < 0 else min(start + size, len(self._view))
        self._position = max(start, end)
        return bytes(self._view[start:end])

    def readline(self, size: int | None = -1) -> bytes:
        limit = len(self._view) if size is None or size < 0 else min(self._position + size, len(self._view))
        start = end = self._position
        while end < limit:
            chunk = bytes(self._view[end : min(end + LINE_CHUNK, limit)])
            newline = chunk.find(b"\n")
            if newline >= 0:
                end += newline + 1
                break
            end += len(chunk)
        self._position = end
        return bytes(self._view[start:end])

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: len(self._view)}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._position = base + offset
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        self._view = memoryview(b"")


class MappedFile(BufferFile):  # type: ignore[misc]  # Whoosh is untyped
    """Whoosh's ``BufferFile`` reading the mapped bytes in place (its ``get`` already did)."""

    def __init__(self, buf: Any, name: str | None = None, onclose: Any = None) -> None:
        self._buf = buf
        self._name = name
        self.file = _MappedStream(memoryview(buf))
        self.onclose = onclose
        self.is_real = False
        self.is_closed = False


class SharedMap(mmap.mmap):
    """A read-only mapping of a segment file that every searcher of the process shares.

    Made by :func:`shared_map`; each storage that was given it closes it
    once, and it is unmapped when the last one has.
    """

    users: int
    key: tuple[int, int, int, int]

    def close(self) -> None:
        """One user fewer; unmapped (and forgotten) when it was the last."""
        with _MAPS_LOCK:
            self.users -= 1
            if self.users > 0:
                return
            if _MAPS.get(self.key) is self:
                del _MAPS[self.key]
        super().close()  # BufferError while views of it remain: Whoosh lets it go with them


# Weakly: a searcher dropped without being closed (its thread ended) lets its mappings go with it.
_MAPS: weakref.WeakValueDictionary[tuple[int, int, int, int], SharedMap] = weakref.WeakValueDictionary()
_MAPS_LOCK = threading.Lock()


def shared_map(fileno: int, length: int = 0, access: int = mmap.ACCESS_READ) -> mmap.mmap:
    """The process's read-only mapping of the whole file open as ``fileno`` (made on first use).

    What Whoosh's compound storage calls in place of ``mmap.mmap``; another
    length or access is mapped on its own, as ``mmap.mmap`` would.
    """
    if length != 0 or access != mmap.ACCESS_READ:
        return mmap.mmap(fileno, length, access=access)
    status = os.fstat(fileno)
    key = (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)
    with _MAPS_LOCK:
        kept = _MAPS.get(key)
        if kept is None or kept.closed:
            kept = _MAPS[key] = SharedMap(fileno, 0, access=mmap.ACCESS_READ)
            kept.key, kept.users = key, 0
        kept.users += 1
        return kept


def drop_mapped_pages() -> None:
    """Let the kernel take back the pages of the segments this process has mapped: they stay in the
    page cache and are read again when used. A merge reads its sources through once, and their
    pages would otherwise all count in its memory (0.8 GB for a merge of 465,000 articles)."""
    with _MAPS_LOCK:
        kept = list(_MAPS.values())
    for mapping in kept:
        with contextlib.suppress(ValueError, OSError):  # closed meanwhile; or no such advice here
            mapping.madvise(mmap.MADV_DONTNEED)


def install() -> None:
    """Have Whoosh open the files in a compound segment as :class:`MappedFile`, each segment mapped once."""
    whoosh.filedb.compound.BufferFile = MappedFile
    whoosh.filedb.compound.mmap = SimpleNamespace(
        mmap=shared_map, error=OSError, ACCESS_READ=mmap.ACCESS_READ
    )
