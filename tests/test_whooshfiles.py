"""A segment's files are read where they are mapped, and read as Whoosh's copy read them."""

from __future__ import annotations

import gc
import io
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from searchidx import Index, IngestReport
from searchidx.engines.whoosh.files import MappedFile


def _segment_bytes(index: Path) -> bytes:
    segments = sorted(index.glob("*.seg"), key=lambda path: path.stat().st_size)
    assert segments, f"no compound segment in {index}"
    return segments[-1].read_bytes()


def test_the_files_a_search_reads_are_mapped_not_copied(corpus_index: tuple[Path, IngestReport]) -> None:
    index, _ = corpus_index
    with Index(index) as ix:
        assert ix.search("Putin parade").total
        searcher = ix._backend._searcher()  # the searcher this thread's searches use
        for reader, _ in searcher.reader().leaf_readers():
            terms_file = reader._terms._dbfile
            assert isinstance(terms_file, MappedFile)
            assert not isinstance(terms_file.file, io.BytesIO)


@pytest.mark.parametrize("size", [0, 1, 5, 300, 4096])
def test_reads_seeks_and_lines_equal_those_of_a_copy(
    corpus_index: tuple[Path, IngestReport], size: int
) -> None:
    data = _segment_bytes(corpus_index[0])
    mine, copy = MappedFile(memoryview(data)[100:]).file, io.BytesIO(data[100:])
    for offset, whence in [(0, os.SEEK_SET), (7, os.SEEK_CUR), (-size - 1, os.SEEK_END), (3, os.SEEK_SET)]:
        assert mine.seek(offset, whence) == copy.seek(offset, whence)
        assert mine.read(size) == copy.read(size)
        assert mine.readline() == copy.readline()
        assert mine.readline(size) == copy.readline(size)
        assert mine.tell() == copy.tell()
    assert list(mine) == list(copy)
    mine.seek(len(data))
    copy.seek(len(data))
    assert mine.read() == copy.read() == b""
    mine.seek(0)
    assert mine.read() == data[100:]


def _mappings(paths: list[str]) -> dict[str, int]:
    """How many times this process maps each of ``paths`` (Linux's /proc/self/maps)."""
    mapped = [line.split(maxsplit=5)[-1].strip() for line in Path("/proc/self/maps").read_text().splitlines()]
    return {path: mapped.count(path) for path in paths}


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux's /proc/self/maps")
def test_searchers_of_several_threads_share_one_mapping_per_segment(
    corpus_index: tuple[Path, IngestReport],
) -> None:
    index, _ = corpus_index
    segments = sorted(str(path.resolve()) for path in index.glob("*.seg"))
    threads = 4
    together = threading.Barrier(threads)
    gc.collect()  # searchers of other tests, dropped
    assert _mappings(segments) == dict.fromkeys(segments, 0)
    with Index(index) as ix:

        def search(_: int) -> set[int]:
            assert ix.search("Putin parade").total
            searcher = ix._backend._searcher()
            together.wait(timeout=60)  # every thread holds its own searcher now
            mapped = _mappings(segments)
            together.wait(timeout=60)
            assert all(count == 1 for count in mapped.values()), mapped
            return {id(storage_map(reader)) for reader, _ in searcher.reader().leaf_readers()}

        with ThreadPoolExecutor(max_workers=threads) as pool:
            maps = list(pool.map(search, range(threads)))
        assert maps[0] == maps[1] == maps[2] == maps[3]  # the same mapping objects in every thread
        assert len(maps[0]) == len(segments)
        ix.search("Putin parade")
        ix.close()  # this thread's searcher: no other holds the segments now
    gc.collect()  # the ended threads' searchers, dropped without being closed
    assert _mappings(segments) == dict.fromkeys(segments, 0)


def storage_map(reader: object) -> object:
    """The mapping a segment reader's files are read from."""
    return reader._terms._dbfile._buf.obj  # type: ignore[attr-defined]  # a view of the mapping
