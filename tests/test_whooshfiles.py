"""A segment's files are read where they are mapped, and read as Whoosh's copy read them."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from searchidx import Index, IngestReport
from searchidx.whooshfiles import MappedFile


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
