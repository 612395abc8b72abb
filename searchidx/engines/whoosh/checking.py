"""Checking a Whoosh index: read every part of it and compare it with the ingest records.

An ingest killed at any moment leaves the last committed state, which this
reports as healthy; what it finds otherwise (a segment file deleted or cut
short by a disk or a person, records that disagree with the index) is put in
plain words with what to do.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from whoosh.filedb.filetables import FileFormatError
from whoosh.reading import SegmentReader, TermNotFound

from searchidx.engines.whoosh.facets import valid_dates
from searchidx.engines.whoosh.storage import open_index, read_index_files
from searchidx.errors import IndexDamagedError
from searchidx.inputs.manifest import MANIFEST_NAME, Manifest, compare_records
from searchidx.results import REBUILD, RERUN, CheckReport


def check_folder(path: Path) -> CheckReport:
    """Open every segment of the index in ``path``, read every stored document and term, compare with
    the records (see :func:`searchidx.engines.factory.check`)."""
    started = time.perf_counter()
    problems: list[str] = []
    try:
        ix = open_index(path)
        segments = read_index_files(path, ix._segments)
    except IndexDamagedError as error:
        return CheckReport(path, 0, 0, 0, (f"The index cannot be opened: {error.reason}.",), REBUILD, 0.0)
    ids: dict[str, int] = {}
    for segment in segments:
        problem = _read_segment(path, ix, segment, ids)
        if problem:
            problems.append(problem)
    advice = REBUILD if problems else ""
    recorded = _records(path)
    if not problems and recorded is not None:
        record_problems = compare_records(ids, recorded)
        problems += record_problems
        advice = RERUN if record_problems else ""
    repeated = sum(1 for count in ids.values() if count > 1)
    if repeated:
        problems.append(f"{repeated} document ids occur more than once in the index.")
        advice = REBUILD
    documents = sum(ids.values())
    return CheckReport(path, len(segments), documents, len(recorded or {}), tuple(problems), advice,
                       time.perf_counter() - started)  # fmt: skip


def _read_segment(path: Path, ix: Any, segment: Any, ids: dict[str, int]) -> str:
    """Read all of one segment (documents, postings, columns), counting its live documents' ids.

    The problem found, or ``""``.
    """
    name = segment.segment_id()

    def read_all() -> None:
        reader = SegmentReader(ix.storage, ix.schema, segment)
        try:
            id_column = reader.column_reader("id") if reader.has_column("id") else None
            for docnum in range(segment.doc_count_all()):
                if not reader.is_deleted(docnum):
                    doc_id = reader.stored_fields(docnum)["id"]
                    ids[doc_id] = ids.get(doc_id, 0) + 1
                    if id_column is not None and id_column[docnum] != doc_id:  # what hybrid searches read
                        raise FileFormatError(f"document {docnum}'s id column disagrees with its stored id")
            for fieldname in reader.indexed_field_names():
                for text in reader.lexicon(fieldname):
                    _read_postings(reader, fieldname, text)
            _read_columns(reader)
        finally:
            reader.close()

    try:
        read_index_files(path, read_all)
    except IndexDamagedError as error:
        return f"Segment {name} cannot be read: {error.reason}."
    except KeyError:
        return f"Segment {name} holds a document without an id."
    return ""


def _read_columns(reader: SegmentReader) -> None:
    """Read the columns that stats, facets, trends and sorting read, decoded as they decode them."""
    import numpy as np

    list(reader.column_reader("source"))  # text: each value's bytes decoded
    valid_dates(np.fromiter(reader.column_reader("date", translate=False), dtype=np.uint64))


def _records(path: Path) -> dict[str, str] | None:
    if not (path / MANIFEST_NAME).exists():
        return None
    manifest = Manifest(path, read_only=True)  # an ingest may be writing it
    try:
        return manifest.indexed_locations()
    finally:
        manifest.close()


def _read_postings(reader: SegmentReader, fieldname: str, text: bytes) -> None:
    try:
        reader.postings(fieldname, text).all_ids()
    except TermNotFound as error:  # the segment's word list names a word its term index does not hold
        raise FileFormatError(
            f"the term index has no entry for the listed word {fieldname}:{text!r}"
        ) from error
