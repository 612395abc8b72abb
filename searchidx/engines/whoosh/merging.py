"""Merging a Whoosh index's segments: which ones (a tiered policy), and how (term by term, streamed).

Each ingest batch commits a segment per writer process, and a search visits
every segment: at a million articles that is a hundred or more. Whoosh's own
policy merges only segments far smaller than the rest (a Fibonacci rule that
left 21 segments unmerged at 190,000 articles), and merges by feeding every
posting through its buffer, holding the merged segment's postings in memory.

:func:`tiered_merge` (the policy, run at each commit) groups segments in
tiers of :data:`MERGE_FACTOR` times more documents each and merges a tier
once it holds :data:`MERGE_FACTOR` segments, never into a segment of more
than :data:`MAX_MERGED_DOCUMENTS` (as Lucene's tiered policy caps its
segments): the number of segments grows with the logarithm of the archive,
and no merge rewrites the whole of it. During an ingest the merges run beside it
(:class:`BackgroundMerges`): a commit that chooses one starts it in a child
process and returns; a later commit puts the merged segment in place of its
sources, and the ingest waits only for the last one. :func:`merge_segments` writes the new
segment as a stream: the documents' stored fields and columns through
Whoosh's per-document writer, then each field's terms in order across the
merged segments, one term's postings in memory at a time. Readers keep
reading the segments they opened (their files are mapped; a file deleted
after the commit stays readable), and a search that opens the index after
the commit finds the merged segment.
"""

from __future__ import annotations

import heapq
import io
import itertools
import os
import pickle
import shutil
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import STORED_COLUMN, WHOOSH3_HEADER_MAGIC, W3Codec, W3Segment
from whoosh.columns import TranslatingColumnReader, VarBytesColumn
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, FileIndex, clean_files
from whoosh.reading import SegmentReader
from whoosh.system import pack_ushort
from whoosh.util.numeric import byte_to_length
from whoosh.writing import SegmentWriter

from searchidx.engines.whoosh.files import drop_mapped_pages
from searchidx.engines.whoosh.postings import (
    BLOCK_SIZE,
    TERM_INFO,
    BulkPostings,
    TermTable,
    TermWriter,
    count_info,
    length_bytes,
    write_in_bulk,
)
from searchidx.engines.whoosh.processes import child_context, settle_child, start_child

# Segments of one tier hold up to this many times the documents of the tier below; a tier this
# many segments long is merged into one.
MERGE_FACTOR = 10
# Segments below this many documents are all of the lowest tier.
TIER_FLOOR = 10_000
# No merge makes a segment larger than this (the segments above it are left as they are).
MAX_MERGED_DOCUMENTS = 500_000
# The length each of Whoosh's one-byte length codes stands for.
_BYTE_LENGTHS = np.array([byte_to_length(code) for code in range(256)], dtype=np.int64)
# A merge lets the kernel take back the sources' pages it read after this many terms (and each field).
PAGES_DROPPED_EVERY = 50_000
# What a background merge sends in place of its segment when it fails.
MERGE_FAILED = "failed"


def tier(documents: int) -> int:
    """The tier of a segment of ``documents`` live documents."""
    level, ceiling = 0, TIER_FLOOR
    while documents >= ceiling:
        level, ceiling = level + 1, ceiling * MERGE_FACTOR
    return level


def segments_to_merge(segments: list[Any]) -> list[Any]:
    """The segments one merge should join: in the lowest tier holding :data:`MERGE_FACTOR` of them, its
    smallest ones, as many as make no more than :data:`MAX_MERGED_DOCUMENTS` (at least two); else none."""
    tiers: dict[int, list[Any]] = {}
    for segment in segments:
        tiers.setdefault(tier(segment.doc_count()), []).append(segment)
    for level in sorted(tiers):
        if len(tiers[level]) < MERGE_FACTOR:
            continue
        chosen = sorted(tiers[level], key=lambda segment: segment.doc_count())[:MERGE_FACTOR]
        while sum(segment.doc_count() for segment in chosen) > MAX_MERGED_DOCUMENTS:
            chosen.pop()  # fewer, as Lucene's tiered policy merges fewer when its cap would be passed
        if len(chosen) >= 2:
            return chosen
    return []


def small_segments_left(segments: list[Any]) -> list[Any]:
    """What the last commit of an ingest merges after the tiered policy: the segments of the lowest
    tier, when there are two or more and a larger segment too (every segment costs each search about
    0.3 ms, measured at 190,000 articles; a small index keeps its few small segments)."""
    small = [segment for segment in segments if tier(segment.doc_count()) == 0]
    return small if 2 <= len(small) < len(segments) else []


def tiered_merge(writer: Any, segments: list[Any]) -> list[Any]:
    """Whoosh's merge-policy protocol: the segments to keep after merging what :func:`segments_to_merge`
    chooses (repeatedly, until it chooses nothing) into new ones; empty segments are dropped."""
    kept = [segment for segment in segments if segment.doc_count() > 0]
    while chosen := segments_to_merge(kept):
        merged = merge_segments(writer.storage, writer.schema, writer.indexname, chosen)
        kept = [segment for segment in kept if segment not in chosen] + [merged]
    return kept


class BackgroundMerges:
    """The tiered policy for the commits of one ingest, its merges run in a child process beside it.

    Called as Whoosh's merge policy at a commit, it starts the merge
    :func:`segments_to_merge` chooses, if none is running, and keeps every
    segment; the commit after the merge ends puts the merged segment in place
    of its sources, unless documents of these were deleted meanwhile (the
    merged segment is dropped, and the sources chosen again). One merge runs
    at a time. :meth:`finishing` is the policy of the ingest's last commit: it
    waits for the running merge, then merges what is left in this process.
    Files of the segment being merged are kept by every commit meanwhile
    (:class:`KeepsMergesFiles`).
    """

    def __init__(self) -> None:
        self._running: _Merge | None = None

    @property
    def running(self) -> bool:
        """Whether a merge is under way."""
        return self._running is not None

    def __call__(self, writer: Any, segments: list[Any]) -> list[Any]:
        """Whoosh's merge-policy protocol: the segments to commit (a finished merge taken in place of its
        sources); a merge started if one is due and none is running."""
        kept = [segment for segment in segments if segment.doc_count() > 0]
        if self._running is not None and self._running.ended():
            kept = self._take(kept)
        if self._running is None and (chosen := segments_to_merge(kept)):
            self._running = _Merge.start(writer, chosen)
        writer.unfinished_segments = tuple(self.unfinished())
        return kept

    def finishing(self, writer: Any, segments: list[Any]) -> list[Any]:
        """The policy of the last commit: the running merge waited for and taken, the rest merged here
        (the tiered merges, then :func:`small_segments_left`)."""
        kept = [segment for segment in segments if segment.doc_count() > 0]
        if self._running is not None:
            kept = self._take(kept)
        writer.unfinished_segments = ()
        kept = tiered_merge(writer, kept)
        if small := small_segments_left(kept):
            merged = merge_segments(writer.storage, writer.schema, writer.indexname, small)
            kept = [segment for segment in kept if segment not in small] + [merged]
        return kept

    def finish_due(self, segments: list[Any]) -> bool:
        """Whether the last commit has anything to do: a merge to wait for, or segments to merge."""
        live = [segment for segment in segments if segment.doc_count() > 0]
        return self.running or bool(segments_to_merge(live) or small_segments_left(live))

    def unfinished(self) -> list[Any]:
        """The segment a running merge is writing (none, or one)."""
        return [self._running.segment] if self._running is not None else []

    def stop(self) -> None:
        """Stop the running merge at once; its files are removed by the next commit."""
        if self._running is not None:
            self._running.process.terminate()
            self._running.process.join()
            shutil.rmtree(self._running.temporary, ignore_errors=True)
            self._running = None

    def _take(self, kept: list[Any]) -> list[Any]:
        """``kept`` with the running merge's sources replaced by its segment (waited for), if no document
        of these was deleted since it started."""
        merge, self._running = self._running, None
        assert merge is not None
        merged = merge.result()
        current = {segment.segment_id(): segment.deleted_count() for segment in kept}
        if any(current.get(name) != deleted for name, deleted in merge.sources):
            return kept
        names = {name for name, _ in merge.sources}
        return [segment for segment in kept if segment.segment_id() not in names] + [merged]


class KeepsMergesFiles:
    """A writer whose commits keep the files of the segment a background merge is writing (Whoosh
    deletes every file of a segment that is not in the new table of contents)."""

    unfinished_segments: tuple[Any, ...] = ()

    def _commit_toc(self, segments: list[Any]) -> None:
        writer: Any = self  # a SegmentWriter
        TOC(writer.schema, segments, writer.generation).write(writer.storage, writer.indexname)
        kept = [*segments, *self.unfinished_segments]
        clean_files(writer.storage, writer.indexname, writer.generation, kept)


@dataclass
class _Merge:
    """A merge running in a child process: the process, where it says how it ended, the segments it
    merges (each one's name and deleted documents when it started), the segment it writes and its
    temporary folder."""

    process: Any
    receiver: Connection
    sources: list[tuple[str, int]]
    segment: Any
    temporary: str

    @classmethod
    def start(cls, writer: Any, segments: list[Any]) -> _Merge:
        """Start merging ``segments`` of ``writer``'s index into a new segment."""
        segment = W3Segment(writer.codec, writer.indexname)  # named here: its files are kept meanwhile
        temporary = f"merging-{segment.segid}.tmp"  # not a segment file's name
        context = child_context()
        receiver, sender = context.Pipe(duplex=False)
        arguments = (writer.storage, writer.schema, writer.indexname, segments, segment, temporary, sender)
        process = context.Process(target=_merge_in_child, args=arguments, daemon=True)  # type: ignore[attr-defined]
        start_child(process)
        sender.close()
        sources = [(source.segment_id(), source.deleted_count()) for source in segments]
        return cls(process, receiver, sources, segment, os.path.join(writer.storage.folder, temporary))

    def ended(self) -> bool:
        """Whether the merge has ended (its result can be taken without waiting)."""
        return self.receiver.poll() or not self.process.is_alive()

    def result(self) -> Any:
        """The merged segment, waited for; :class:`MergeError` when the merge failed."""
        try:
            kind, value = self.receiver.recv()
        except EOFError:  # killed (out of memory?) before it could say anything
            kind, value = MERGE_FAILED, None
        finally:
            self.receiver.close()
            self.process.join()
        if kind == MERGE_FAILED:
            raise MergeError(value or f"the background merge stopped with exit code {self.process.exitcode}")
        return value


class MergeError(OSError):
    """A background merge failed (a full disk), or its process died."""


def _merge_in_child(
    storage: Any,
    schema: Any,
    indexname: str,
    segments: list[Any],
    segment: Any,
    temporary: str,
    sender: Connection,
) -> None:
    settle_child()
    own = _OwnTemporaryFolder(storage.folder, temporary)
    try:
        sender.send(("merged", merge_segments(own, schema, indexname, segments, into=segment)))
    except Exception as error:  # told to the ingest process, which reports it; no traceback here
        sender.send((MERGE_FAILED, getattr(error, "strerror", None) or f"{type(error).__name__}: {error}"))
    finally:
        own.temp_storage().destroy()


class _OwnTemporaryFolder(FileStorage):  # type: ignore[misc]  # Whoosh is untyped
    """An index folder whose temporary folder is this merge's own: the writers of the ingest remove
    the one they share when they commit (a killed merge's is removed by the next ingest)."""

    def __init__(self, folder: str, temporary: str) -> None:
        super().__init__(folder)
        self._temporary = temporary

    def temp_storage(self, name: str | None = None) -> Any:
        return super().temp_storage(self._temporary)


class _IntoSegment(W3Codec):  # type: ignore[misc]  # Whoosh is untyped
    """Whoosh's codec, its new segment the one given (named before the merge starts)."""

    def __init__(self, segment: Any) -> None:
        super().__init__()
        self._segment = segment

    def new_segment(self, storage: Any, indexname: str) -> Any:
        return self._segment


def merge_segments(storage: Any, schema: Any, indexname: str, segments: list[Any], into: Any = None) -> Any:
    """Write the live documents of ``segments`` into one new segment (``into``, if given) of the index
    ``indexname`` in ``storage``; return it."""
    codec = _IntoSegment(into) if into is not None else None
    merger = SegmentWriter(FileIndex(storage, schema, indexname), _lk=False, codec=codec)
    write_in_bulk(merger.fieldwriter)
    readers = [SegmentReader(storage, schema, segment) for segment in segments]
    try:
        sources = []
        for reader in readers:
            start = merger.docnum
            docmap = _copy_documents(merger, reader)
            sources.append(_Source(reader, _renumbering(reader, start, docmap)))
            drop_mapped_pages()
        merger._added = True
        merger.perdocwriter.close()
        _merge_postings(merger.fieldwriter, schema, sources, merger.docnum)
        merger.fieldwriter.close()
        merger.pool.cleanup()
        merger._assemble_segment()
        segment = merger.get_segment()
    finally:
        for reader in readers:
            reader.close()
    # The merger's temporary files are in its storage's temporary folder, which its caller removes.
    return segment


def _copy_documents(merger: Any, reader: Any) -> dict[int, int] | None:
    """Whoosh's ``write_per_doc`` for a merge: ``reader``'s live documents appended to ``merger``'s
    per-document files; their new numbers when some were deleted (else ``None``).

    Each document's stored fields are copied as they are stored, compressed (Whoosh read them back,
    unpickled, pickled and compressed them again), and its lengths come from the lengths columns
    read whole (Whoosh looked for a field's column file, for every document and field without one).
    """
    schema, writer = merger.schema, merger.perdocwriter
    documents = reader.doc_count_all()
    scored = [name for name in schema.names() if schema[name].scorable]
    lengths = {name: _BYTE_LENGTHS[length_bytes(reader, name, documents)].tolist() for name in scored}
    columns = {
        name: _raw_column(reader.column_reader(name, schema[name].column_type))
        for name in schema.names()
        if schema[name].column_type and reader.has_column(name)
    }
    stored = reader._perdoc._cached_reader("_stored", STORED_COLUMN)._child  # the compressed bytes
    stored_writer = writer._get_column("_stored")._child
    docmap: dict[int, int] | None = {} if reader.has_deletions() else None
    for docnum in range(documents):
        if docmap is not None:
            if reader.is_deleted(docnum):
                continue
            docmap[docnum] = merger.docnum
        writer.start_doc(merger.docnum)
        for name in scored:
            writer.add_field(name, schema[name], None, lengths[name][docnum])
        for name, column in columns.items():
            writer.add_column_value(name, schema[name].column_type, column[docnum])
        compressed = VarBytesColumn.Reader.__getitem__(stored, docnum)
        if compressed:
            VarBytesColumn.Writer.add(stored_writer, merger.docnum, compressed)
        writer.finish_doc()
        merger.docnum += 1
    return docmap


def _raw_column(column: Any) -> Any:
    """A column's reader without the translation of its values (they are copied as they are)."""
    return column.raw_column() if isinstance(column, TranslatingColumnReader) else column


class _Source:
    """One merged segment: its reader, each old document's new number (-1: deleted), its length bytes."""

    def __init__(self, reader: Any, renumbered: np.ndarray) -> None:
        self.reader = reader
        self.renumbered = renumbered
        self.deletions = bool(reader.has_deletions())
        self.postfile = reader._terms._postfile
        self._lengths: dict[str, np.ndarray] = {}

    def lengths(self, fieldname: str) -> np.ndarray:
        """Each old document's length byte in ``fieldname``."""
        if fieldname not in self._lengths:
            self._lengths[fieldname] = length_bytes(self.reader, fieldname, self.reader.doc_count_all())
        return self._lengths[fieldname]

    def numbered_terms(self, fieldname: str, number: int) -> Iterator[tuple[bytes, int, Any]]:
        """The field's terms in order, each with this source's ``number`` and the term's info."""
        for term, info in self.terms(fieldname):
            yield term, number, info

    def terms(self, fieldname: str) -> Iterator[tuple[bytes, Any]]:
        """The field's terms in order, with their infos."""
        terms = self.reader._terms
        if fieldname not in terms.indexed_field_names():
            return
        for (name, term), info in terms.items_from(fieldname, b""):
            if name != fieldname:
                return
            yield term, info


def _renumbering(reader: Any, start: int, docmap: dict[int, int] | None) -> np.ndarray:
    """Each of ``reader``'s documents' number in the merged segment (-1 for a deleted one)."""
    renumbered = np.arange(start, start + reader.doc_count_all(), dtype=np.int64)
    if docmap is not None:
        renumbered[:] = -1
        renumbered[list(docmap)] = list(docmap.values())
    return renumbered


def _merge_postings(fieldwriter: Any, schema: Any, sources: list[_Source], documents: int) -> None:
    """Each field's terms across ``sources`` in order, each term's postings renumbered and concatenated."""
    names = sorted({name for source in sources for name in source.reader._terms.indexed_field_names()})
    for fieldname in names:
        if fieldname not in schema:
            continue
        field = schema[fieldname]
        fieldwriter.start_field(fieldname, field)
        prefix = pack_ushort(fieldwriter._fieldid)
        table = TermTable(fieldwriter._tindex)
        if getattr(field, "counts_only", False):
            for term, info in _merged_counts(fieldname, field, sources):
                table.add(prefix + term, info)
        else:
            writer = TermWriter(fieldwriter._postfile, field.format.fixed_value_size())
            merged = _merged_terms(fieldname, field, sources, writer.keeps_values)
            for number, (term, postings) in enumerate(merged, 1):
                table.add(prefix + term, writer.write(*postings))
                if number % PAGES_DROPPED_EVERY == 0:
                    drop_mapped_pages()
        table.flush()
        fieldwriter.finish_field()
        drop_mapped_pages()


def _merged_terms(
    fieldname: str, field: Any, sources: list[_Source], keeps_values: bool
) -> Iterator[tuple[bytes, tuple[list[int], list[float], list[bytes] | None, list[int] | None]]]:
    """Each term of the field in order with its postings in the merged segment (documents, weights,
    values, length bytes); a term whose documents were all deleted is left out."""
    value_size = field.format.fixed_value_size()
    scored = bool(field.scorable)
    streams = [source.numbered_terms(fieldname, number) for number, source in enumerate(sources)]
    for term, group in itertools.groupby(
        heapq.merge(*streams, key=lambda item: item[0]), key=lambda item: item[0]
    ):
        docs: list[int] = []
        weights: list[float] = []
        values: list[bytes] | None = [] if keeps_values else None
        lengths: list[int] | None = [] if scored else None
        for _, number, info in group:
            source = sources[number]
            old, term_weights, term_values = decoded_postings(source.postfile, info, value_size)
            old_ids = np.array(old, dtype=np.int64)
            new_ids = source.renumbered[old_ids]
            if source.deletions:
                kept = new_ids >= 0
                old_ids, new_ids = old_ids[kept], new_ids[kept]
                keep = kept.tolist()
                term_weights = list(itertools.compress(term_weights, keep))
                if term_values:
                    term_values = list(itertools.compress(term_values, keep))
            docs += new_ids.tolist()
            weights += term_weights
            if values is not None:
                values += term_values
            if lengths is not None:
                lengths += source.lengths(fieldname)[old_ids].tolist()
        if docs:
            yield term, (docs, weights, values, lengths)


def _merged_counts(fieldname: str, field: Any, sources: list[_Source]) -> Iterator[tuple[bytes, bytes]]:
    """A counts-only field's terms with their summed counts, less the deleted documents' words."""
    uncounted: dict[bytes, list[float]] = {}
    for source in sources:
        if source.deletions:
            _uncount_deleted(source.reader, fieldname, field, uncounted)
    streams = [source.terms(fieldname) for source in sources]
    for term, group in itertools.groupby(
        heapq.merge(*streams, key=lambda item: item[0]), key=lambda item: item[0]
    ):
        documents, weight = 0, 0.0
        for _, info in group:
            documents += int(info.doc_frequency())
            weight += float(info.weight())
        less = uncounted.get(term)
        if less is not None:
            documents -= int(less[0])
            weight -= less[1]
        if documents > 0:
            yield term, count_info(documents, weight, 0)


def _uncount_deleted(reader: Any, fieldname: str, field: Any, uncounted: dict[bytes, list[float]]) -> None:
    """Add each deleted document's words (from its stored text) to ``uncounted``: [documents, weight]."""
    for docnum in range(reader.doc_count_all()):
        if reader.is_deleted(docnum):
            stored = reader.stored_fields(docnum)
            weights = field.weights(tuple(stored.get(source, "") for source in field.sources))
            for word, weight in weights.items():
                counted = uncounted.setdefault(word.encode("utf-8"), [0, 0.0])
                counted[0] += 1
                counted[1] += float(np.float32(weight))


def decoded_postings(
    postfile: Any, info: Any, value_size: int | None
) -> tuple[list[int], list[float], list[bytes]]:
    """A term's document numbers, weights and values (none for a field without values), from its blocks."""
    if info.is_inlined():
        inlined_ids, inlined_weights, inlined_values = info.inlined_postings()
        return list(inlined_ids), list(inlined_weights), list(inlined_values) if value_size != 0 else []
    offset, length = info.extent()
    if isinstance(length, tuple):  # Whoosh 2.7 reads the length back as a 1-tuple
        (length,) = length
    data = postfile.get(offset, length)
    stream = io.BytesIO(data)
    ids: list[int] = []
    weights: list[float] = []
    values: list[bytes] = []
    position = len(WHOOSH3_HEADER_MAGIC)
    while position < length:
        (size,) = BLOCK_SIZE.unpack_from(data, position)
        stream.seek(position + BLOCK_SIZE.size)
        count, _, _, compression, _, _ = pickle.load(stream)
        end = position + BLOCK_SIZE.size + abs(size)
        block = data[stream.tell() : end]
        deltas, block_weights, block_values = pickle.loads(zlib.decompress(block) if compression else block)
        ids += itertools.accumulate(deltas)
        if block_weights is None or isinstance(block_weights, float):
            weights += [1.0 if block_weights is None else block_weights] * count
        else:
            weights += block_weights
        if value_size is None or value_size < 0:
            values += block_values
        elif value_size > 0:
            values += [block_values[i : i + value_size] for i in range(0, len(block_values), value_size)]
        if size < 0:  # the last block
            break
        position = end
    return ids, weights, values


def buffer_postings(reader: Any, pool: BulkPostings, startdoc: int, docmap: dict[int, int] | None) -> None:
    """Buffer the postings of ``reader``'s live documents in ``pool``, renumbered from ``startdoc`` or by
    ``docmap`` (Whoosh's own way of merging, ``add_reader``: into the segment being written)."""
    source = _Source(reader, _renumbering(reader, startdoc, docmap))
    for fieldname in sorted(reader._terms.indexed_field_names()):
        if fieldname not in reader.schema:
            continue
        field = reader.schema[fieldname]
        if getattr(field, "counts_only", False):
            for term, info in _merged_counts(fieldname, field, [source]):
                documents, weight = info_counts(info)
                pool.add_counts(fieldname, term, documents, weight)
            continue
        for term, (docs, weights, values, _) in _merged_terms(
            fieldname, field, [source], pool.keeps_values(fieldname)
        ):
            pool.add_term(fieldname, term, np.array(docs, dtype=np.int64), weights, values or [])


def info_counts(info: bytes) -> tuple[int, float]:
    """The document count and total weight a counts-only term's info holds."""
    _, weight, documents, *_ = TERM_INFO.unpack_from(info)
    return int(documents), float(weight)
