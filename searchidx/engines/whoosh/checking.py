"""``check()``: read every part of an index and compare it with the ingest records.

An ingest killed at any moment leaves the last committed state, which this
reports as healthy; what it finds otherwise (a segment file deleted or cut
short by a disk or a person, records that disagree with the index) is put in
plain words with what to do.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from whoosh.filedb.filetables import FileFormatError
from whoosh.reading import SegmentReader, TermNotFound

from searchidx.engines.protocol import index_location, is_cluster
from searchidx.engines.whoosh.facets import valid_dates
from searchidx.engines.whoosh.schema import index_path, open_index, read_index_files
from searchidx.errors import IndexDamagedError
from searchidx.inputs.manifest import MANIFEST_NAME, Manifest

REBUILD = "Rebuild it with `searchidx ingest --full DIR` from the folders it was built from."
RERUN = "Run the same `searchidx ingest DIR` again to bring the records and the index together."


@dataclass(frozen=True)
class CheckReport:
    """What :func:`check` found: the counts it read, and each problem in one sentence."""

    path: Path | str  # a folder, or a cluster's index
    segments: int  # on a cluster: the shards
    documents: int
    recorded: int
    problems: tuple[str, ...]
    advice: str
    seconds: float
    part: str = "segment"  # what ``segments`` counts: a cluster's index is read by shard

    @property
    def healthy(self) -> bool:
        """Whether no problem was found."""
        return not self.problems


def check(index: str | os.PathLike[str] | None = None) -> CheckReport:
    """Open every segment of the index, read every stored document and term, compare with the records.

    Raises :class:`IndexNotFoundError` when there is no index and
    :class:`IncompatibleIndexError` for another version's index; damage is
    reported, not raised.

    Example: ``check("index/").healthy`` is ``True`` after a clean ingest.
    """
    started = time.perf_counter()
    location = index_location(index)
    if location is not None and is_cluster(location):
        from searchidx.engines.opensearch.writing import check_cluster

        return check_cluster(str(location), compare=compare_records)
    path = index_path(location)
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


def compare_records(ids: dict[str, int], recorded: dict[str, str]) -> list[str]:
    """What disagrees between the ids in the index (and how often each occurs) and the ingest records."""
    problems = []
    missing = sorted(set(recorded) - set(ids))
    if missing:
        problems.append(f"{len(missing)} documents of the ingest records are not in the index "
                        f"(the first: {recorded[missing[0]]}).")  # fmt: skip
    unrecorded = len(set(ids) - set(recorded))
    if unrecorded:
        problems.append(f"{unrecorded} documents in the index are not in the ingest records "
                        "(an ingest was interrupted after its commit).")  # fmt: skip
    return problems


def _read_postings(reader: SegmentReader, fieldname: str, text: bytes) -> None:
    try:
        reader.postings(fieldname, text).all_ids()
    except TermNotFound as error:  # the segment's word list names a word its term index does not hold
        raise FileFormatError(
            f"the term index has no entry for the listed word {fieldname}:{text!r}"
        ) from error
