"""A segment's postings written in bulk: buffered as flat arrays, sorted at once, written as Whoosh's files.

Whoosh buffers each posting as a tuple, sorts them, and writes them one call
at a time (a buffer ``add``, a writer ``add_posting``, two ``tell`` system
calls and a zlib stream per term): most of an ingest's time. Here a
document's postings are appended to a field's arrays in a few C-level
calls (each term by a number, given as it first comes); when the segment
is written, each field's terms are sorted once, its postings ordered with
one ``numpy.lexsort``, and each term's blocks written straight from the
sorted arrays.

The files are Whoosh's own (its ``W3`` codec): the same term table, block
headers, pickled ``(ids, weights, values)`` tuples and term infos, which
Whoosh and :mod:`searchidx.engines.whoosh.topk` read unchanged. Three things
differ, all within the format: blocks and inlined postings are pickled
with protocol 5 (Whoosh's protocol 2 pickles each value, a bytes object, as
a call of ``_codecs.encode``: 8 times slower to write and 7 times to read,
and 60% larger), a block is compressed only when it is large enough for
zlib to pay (Whoosh compressed every block, a zlib stream of about 40
microseconds for each one-posting block), and a field marked
``counts_only`` (the speller's words) keeps one inlined posting per term
with the term's document count and total weight, which is all its reader
asks for, instead of one posting per document.
"""

from __future__ import annotations

import functools
import itertools
import operator
import struct
import zlib
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from hashlib import md5
from pickle import dumps
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, W3TermInfo, _lenfield
from whoosh.columns import FixedBytesColumn
from whoosh.filedb.filetables import md5_hash
from whoosh.system import pack_int, pack_long, pack_ushort

from searchidx.query.fields import ArticleText, SpellerNumbers, SpellingWords, WordNumbers

# Whoosh's largest block of postings.
BLOCK_LIMIT = 128
# The pickle protocol of postings, blocked or inlined (Whoosh's reader takes any; see the module's text).
PICKLE_PROTOCOL = 5
# Whoosh's zlib level for a block, and the smallest pickled block worth compressing.
COMPRESSION = 3
COMPRESS_FROM = 512
# An inlined posting list of a counts-only field: no values.
NO_VALUES: tuple[bytes, ...] = ()
TERM_INFO: struct.Struct = W3TermInfo._struct
BLOCK_SIZE = struct.Struct("!i")
TERM_LENGTHS = struct.Struct("!ii")  # a term table entry's key and value sizes
POINTER_SIZE = struct.calcsize("!Iq")  # a hash table's slot: a hash and an entry's position
# Whoosh's estimate of a buffered posting's memory (``PostingPool``), kept so the buffer fills as it did.
BYTES_PER_POSTING = 150


class PositionedFile:
    """A file being written that counts its own position: ``tell`` without a system call."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._position: int = raw.tell()

    def write(self, data: Any) -> int:
        """Write ``data`` (bytes or a buffer) at the end."""
        size = len(data) if type(data) is bytes else memoryview(data).nbytes
        self._raw.write(data)
        self._position += size
        return size

    def tell(self) -> int:
        """The position of the next write."""
        return self._position

    def __getattr__(self, name: str) -> Any:  # close, flush, fileno: the file's own
        return getattr(self._raw, name)


class TermTable:
    """A segment's term table (Whoosh's ordered hash file of term and info) written in bulk: the terms
    added, in order, are written a few thousand at a time, each piece in one write.

    Whoosh's writer takes a term at a time: three writes, an MD5 hash and two appends, in Python.
    The file is the same.
    """

    # Terms held before they are written.
    HELD = 4096

    def __init__(self, table: Any) -> None:
        self._table = table
        self._keys: list[bytes] = []
        self._infos: list[bytes] = []

    def add(self, key: bytes, info: bytes) -> None:
        """Add the next term (each one greater than the one before) and its info."""
        self._keys.append(key)
        self._infos.append(info)
        if len(self._keys) >= self.HELD:
            self.flush()

    def flush(self) -> None:
        """Write the terms held."""
        if self._keys:
            write_terms(self._table, self._keys, self._infos)
            self._keys, self._infos = [], []


def write_terms(table: Any, keys: list[bytes], infos: list[bytes]) -> None:
    """Add ``keys`` (in increasing order, after the table's last) and their ``infos`` to Whoosh's
    ``OrderedHashWriter`` ``table``, as its ``add`` would one at a time."""
    if keys[0] <= table.lastkey or any(map(operator.ge, keys, keys[1:])):
        raise ValueError(f"Keys must increase: {table.lastkey!r}..{keys[0]!r}")
    dbfile = table.dbfile
    key_sizes = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))
    info_sizes = np.fromiter(map(len, infos), dtype=np.int64, count=len(infos))
    sizes = TERM_LENGTHS.size + key_sizes + info_sizes
    starts = (np.cumsum(sizes) - sizes + dbfile.tell()).tolist()
    lengths = map(TERM_LENGTHS.pack, key_sizes.tolist(), info_sizes.tolist())
    dbfile.write(b"".join(itertools.chain.from_iterable(zip(lengths, keys, infos, strict=True))))
    positions = table.index.array
    try:
        positions.extend(array(positions.typecode, starts))
    except OverflowError:  # Whoosh's array of positions takes a wider type as the file grows
        table.index._retype(starts[-1])
        table.index.array.extend(starts)
    buckets = table.buckets
    for value, start in zip(_hashes(table.hashfn, keys), starts, strict=True):
        buckets[value & 255].append((value, start))
    table.lastkey = keys[-1]


def write_hash_tables(table: Any) -> None:
    """Write the 256 hash tables of Whoosh's ``HashWriter`` ``table`` (what its ``_write_hashes`` does, an
    entry at a time in Python) with numpy: each entry in its bucket's table of twice as many slots,
    at the first slot free from its hash's (linear probing, which the reader follows)."""
    sizes = np.array([len(entries) for entries in table.buckets], dtype=np.int64)
    slots = 2 * sizes
    starts = np.cumsum(slots) - slots  # each bucket's first slot in the file's run of tables
    entries = np.array([entry for bucket in table.buckets for entry in bucket], dtype=np.int64).reshape(-1, 2)
    hashes, positions = entries[:, 0], entries[:, 1]
    bucket = np.repeat(np.arange(len(sizes)), sizes)
    slot = _probed_slots(starts[bucket], slots[bucket], hashes >> 8, int(slots.sum()))
    pointers = np.zeros(int(slots.sum()), dtype=[("hash", ">u4"), ("position", ">i8")])  # (0, 0): empty
    pointers["hash"][slot], pointers["position"][slot] = hashes, positions
    dbfile = table.dbfile
    base = dbfile.tell()
    table.directory.extend(zip((base + POINTER_SIZE * starts).tolist(), slots.tolist(), strict=True))
    dbfile.write(pointers.tobytes())


def _probed_slots(first: np.ndarray, span: np.ndarray, home: np.ndarray, total: int) -> np.ndarray:
    """Each entry's slot among ``total``: in its table (``span`` slots from ``first``), the first one
    free from ``home`` on, wrapping around. Entries are placed in rounds: each steps past the slots
    taken, and of those wanting one slot the first takes it; each slot an entry passed was taken
    when it passed, so a reader probing from its home slot reaches it."""
    place = home % np.maximum(span, 1)
    taken = np.zeros(total, dtype=bool)
    slot = np.zeros(len(home), dtype=np.int64)
    pending = np.arange(len(home))
    while len(pending):
        while (busy := taken[first[pending] + place[pending]]).any():
            moved = pending[busy]
            place[moved] = (place[moved] + 1) % span[moved]
        claimed, winner = np.unique(first[pending] + place[pending], return_index=True)
        taken[claimed] = True
        slot[pending[winner]] = claimed
        left = np.ones(len(pending), dtype=bool)
        left[winner] = False
        pending = pending[left]
    return slot


def _hashes(hashfn: Callable[[bytes], int], keys: list[bytes]) -> Iterable[int]:
    """``hashfn`` of each key; Whoosh's MD5 hash (its default) without a Python call per key."""
    if hashfn is not md5_hash:
        return map(hashfn, keys)
    digests = (md5(key, usedforsecurity=False).digest() for key in keys)
    return (int.from_bytes(digest[-4:]) for digest in digests)


def write_in_bulk(fieldwriter: Any) -> None:
    """Have Whoosh's field writer (about to write a segment's terms and postings) count its files'
    positions itself and write its term table's hash tables with :func:`write_hash_tables`."""
    count_positions(fieldwriter._postfile)
    table = fieldwriter._tindex
    count_positions(table.dbfile)
    table._write_hashes = functools.partial(write_hash_tables, table)


def count_positions(structfile: Any) -> None:
    """Have a Whoosh ``StructFile`` open for writing track its position itself."""
    structfile.file = PositionedFile(structfile.file)


class _FieldPostings:
    """One field's buffered postings, in the order they came: a term, document, weight and value each."""

    __slots__ = ("counts", "docnums", "numbering", "numbers", "speller_words", "values", "weights", "words")

    def __init__(self) -> None:
        # Each distinct term (text from analysed documents, bytes from a merge's segments) numbered as
        # it first comes, and each posting's term by its number: 4 bytes here where its term costs 40.
        self.numbering: defaultdict[str | bytes, int] = defaultdict(itertools.count().__next__)
        # A text field's words, each with its term's number.
        self.words: WordNumbers | None = None
        # A speller field's words, each with its number (-1: not offered).
        self.speller_words: SpellerNumbers | None = None
        self.numbers = array("I")
        self.docnums = array("I")
        self.weights = array("d")
        self.values: list[bytes] = []
        # A counts-only field's terms merged from other segments: [documents, total weight].
        self.counts: dict[bytes, list[float]] = {}


class BulkPostings:
    """A segment's postings, buffered by field as flat arrays (what :class:`SegmentWriter` calls its pool)."""

    def __init__(self, schema: Any) -> None:
        self.fieldnames: set[str] = set()
        self.currentsize = 0
        self._fields: dict[str, _FieldPostings] = {}
        # Fields whose postings carry values (word positions); the others' are all empty.
        self._with_values = {name for name, field in schema.items() if field.format.fixed_value_size() != 0}

    def _field(self, fieldname: str) -> _FieldPostings:
        buffered = self._fields.get(fieldname)
        if buffered is None:
            buffered = self._fields[fieldname] = _FieldPostings()
            self.fieldnames.add(fieldname)
        return buffered

    def add_document(
        self,
        fieldname: str,
        docnum: int,
        terms: Sequence[bytes],
        weights: Sequence[float],
        values: Sequence[bytes],
    ) -> None:
        """Buffer one document's postings in one field: its distinct terms, their weights and values."""
        buffered = self._field(fieldname)
        buffered.numbers.extend(map(buffered.numbering.__getitem__, terms))
        buffered.weights.extend(weights)
        if fieldname in self._with_values:
            buffered.values += values
        buffered.docnums.extend(itertools.repeat(docnum, len(terms)))
        self.currentsize += BYTES_PER_POSTING * len(terms)

    def add_texts(self, fieldname: str, field: ArticleText, first: int, values: Sequence[Any]) -> np.ndarray:
        """Buffer the postings of a batch of documents, numbered from ``first``, in a text field (each
        value a text, a ``(headline, text)`` pair, or ``None``); each document's length in words."""
        buffered = self._field(fieldname)
        if buffered.words is None:
            buffered.words = WordNumbers(field.analyzer, buffered.numbering)
        batch = field.batch_postings(values, buffered.words)
        buffered.numbers.frombytes(batch.terms.astype(np.uint32).tobytes())
        buffered.docnums.frombytes((batch.documents + first).astype(np.uint32).tobytes())
        buffered.weights.frombytes(batch.weights.astype(np.float64).tobytes())
        if fieldname in self._with_values:
            buffered.values += batch.values
        self.currentsize += BYTES_PER_POSTING * len(batch.terms)
        return batch.lengths

    def add_weighted_words(
        self, fieldname: str, field: SpellingWords, first: int, values: Sequence[Any]
    ) -> None:
        """Buffer the postings of a batch of documents, numbered from ``first``, in a field of weighted
        words without values (each value a ``(headline, text)`` pair, or ``None``)."""
        buffered = self._field(fieldname)
        if buffered.speller_words is None:
            buffered.speller_words = SpellerNumbers(buffered.numbering)
        batch = field.batch_postings(values, buffered.speller_words)
        buffered.numbers.frombytes(batch.terms.astype(np.uint32).tobytes())
        buffered.docnums.frombytes((batch.documents + first).astype(np.uint32).tobytes())
        buffered.weights.frombytes(batch.weights.astype(np.float64).tobytes())
        self.currentsize += BYTES_PER_POSTING * len(batch.terms)

    def add(self, item: tuple[str, bytes, int, float, bytes | None]) -> None:
        """Buffer one posting, ``(field, term, document number, weight, value)`` (Whoosh's pool protocol)."""
        fieldname, term, docnum, weight, value = item
        self.add_document(fieldname, docnum, (term,), (weight,), (value or b"",))

    def keeps_values(self, fieldname: str) -> bool:
        """Whether the field's postings carry values."""
        return fieldname in self._with_values

    def add_term(
        self, fieldname: str, term: bytes, docnums: np.ndarray, weights: Any, values: list[bytes]
    ) -> None:
        """Buffer one term's postings in many documents (a merge): documents, weights and values."""
        buffered = self._field(fieldname)
        buffered.numbers.extend(itertools.repeat(buffered.numbering[term], len(docnums)))
        buffered.docnums.frombytes(docnums.astype(np.uint32).tobytes())
        buffered.weights.extend(weights)
        if fieldname in self._with_values:
            buffered.values += values
        self.currentsize += BYTES_PER_POSTING * len(docnums)

    def add_counts(self, fieldname: str, term: bytes, documents: int, weight: float) -> None:
        """Add ``documents`` and ``weight`` to a counts-only field's ``term`` (negative: take them away)."""
        counted = self._field(fieldname).counts.setdefault(term, [0, 0.0])
        counted[0] += documents
        counted[1] += weight

    def field_postings(self) -> Iterable[tuple[str, _FieldPostings]]:
        """Each field's postings, in field name order (the order of Whoosh's term table)."""
        return ((name, self._fields[name]) for name in sorted(self._fields))

    def cleanup(self) -> None:
        """Drop what is buffered."""
        self._fields.clear()
        self.currentsize = 0


class SortedPostings:
    """One field's postings sorted by term, then document: Python lists, and each term's extent."""

    def __init__(self, buffered: _FieldPostings, length_bytes: np.ndarray | None, keeps_values: bool) -> None:
        self.terms, rank = sorted_terms(buffered.numbering)
        keys = rank[np.frombuffer(buffered.numbers, dtype=np.uint32)]
        docs = np.frombuffer(buffered.docnums, dtype=np.uint32).astype(np.int64)
        order = np.argsort((keys << 32) | docs)  # a term has one posting per document: no ties to keep
        ends = np.cumsum(np.bincount(keys, minlength=len(self.terms)))
        self.ends = ends.tolist()
        self.starts = [0, *self.ends[:-1]] if self.ends else []
        self.docs = docs[order].tolist()
        # Whoosh keeps weights as 4-byte floats: rounded so, as its blocks hold them.
        self.weights = np.frombuffer(buffered.weights, dtype=np.float64)[order].astype(np.float32).tolist()
        ordered = order.tolist()
        self.values = list(map(buffered.values.__getitem__, ordered)) if keeps_values else None
        self.lengths = None if length_bytes is None else length_bytes[docs[order]].tolist()


def sorted_terms(numbering: dict[str | bytes, int]) -> tuple[list[bytes], np.ndarray]:
    """A field's distinct terms as bytes, in order, and each term number's place among them (a term
    numbered both as text and as bytes has one place). ``numbering`` numbers its keys in their order."""
    encoded = [term.encode("utf-8") if isinstance(term, str) else term for term in numbering]
    terms = sorted(set(encoded))
    place = dict(zip(terms, itertools.count()))
    return terms, np.fromiter(map(place.__getitem__, encoded), dtype=np.int64, count=len(encoded))


def write_field(
    fieldwriter: Any, fieldname: str, fieldobj: Any, buffered: _FieldPostings, lengths: Any
) -> None:
    """Write one field's terms and posting blocks with Whoosh's field writer (its files, not its calls).

    ``lengths``: each document's length byte in the field (a scorable field), or ``None``.
    """
    fieldwriter.start_field(fieldname, fieldobj)
    prefix = pack_ushort(fieldwriter._fieldid)
    table = TermTable(fieldwriter._tindex)
    if getattr(fieldobj, "counts_only", False):
        for term, info in _count_infos(buffered):
            table.add(prefix + term, info)
    else:
        writer = TermWriter(fieldwriter._postfile, fieldobj.format.fixed_value_size())
        postings = SortedPostings(buffered, lengths, writer.keeps_values)
        docs, weights, values, lengths = postings.docs, postings.weights, postings.values, postings.lengths
        for term, start, end in zip(postings.terms, postings.starts, postings.ends, strict=True):
            table.add(prefix + term, writer.write(
                docs[start:end], weights[start:end],
                None if values is None else values[start:end],
                None if lengths is None else lengths[start:end],
            ))  # fmt: skip
    table.flush()
    fieldwriter.finish_field()


def _count_infos(buffered: _FieldPostings) -> Iterable[tuple[bytes, bytes]]:
    """Each term's info with its document count and total weight, one posting (its first document) inlined."""
    terms, rank = sorted_terms(buffered.numbering)
    keys = rank[np.frombuffer(buffered.numbers, dtype=np.uint32)]
    weights = np.frombuffer(buffered.weights, dtype=np.float64).astype(np.float32).astype(np.float64)
    counts = np.bincount(keys, minlength=len(terms)).tolist()
    totals = np.bincount(keys, weights=weights, minlength=len(terms)).tolist()
    firsts = np.full(len(terms), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(firsts, keys, np.frombuffer(buffered.docnums, dtype=np.uint32))
    table = {term: [count, total, first] for term, count, total, first in
             zip(terms, counts, totals, firsts.tolist(), strict=True)}  # fmt: skip
    for term, (count, total) in buffered.counts.items():
        counted = table.setdefault(term, [0, 0.0, 0])
        counted[0] += count
        counted[1] += total
    for term in sorted(table):
        count, total, first = table[term]
        if count > 0:
            yield term, count_info(int(count), total, int(first))


def count_info(documents: int, weight: float, first: int) -> bytes:
    """The info of a counts-only term: its document count and total weight, one posting inlined."""
    return TERM_INFO.pack(1, weight, documents, 0, 0, weight, first, first) + dumps(
        ((first,), (weight,), NO_VALUES), PICKLE_PROTOCOL
    )


class TermWriter:
    """Writes terms' postings to a segment's postings file as Whoosh's blocks, and makes their infos."""

    def __init__(self, postfile: Any, value_size: int | None) -> None:
        self._postfile = postfile
        self._value_size = value_size
        # Whether the postings carry values: word positions (any size), or bytes of a fixed size.
        self.keeps_values = value_size is None or value_size != 0

    def write(self, docs: list[int], weights: list[float], values: list[bytes] | None,
              lengths: list[int] | None) -> bytes:  # fmt: skip
        """Write one term's postings (in document order); its info, as Whoosh's term table holds it.

        ``weights`` are 4-byte floats' values; ``lengths`` the documents' length bytes, if scored.
        """
        if len(docs) == 1:  # inlined in the term table, as Whoosh's ``inlinelimit`` does
            length = lengths[0] if lengths else 0
            header: bytes = TERM_INFO.pack(1, weights[0], 1, length, length, weights[0], docs[0], docs[0])
            kept = tuple(value for value in values or () if value)
            return header + dumps(((docs[0],), (weights[0],), kept), PICKLE_PROTOCOL)
        postfile = self._postfile
        offset = postfile.tell()
        postfile.write(WHOOSH3_HEADER_MAGIC)
        for start in range(0, len(docs), BLOCK_LIMIT):
            end = min(start + BLOCK_LIMIT, len(docs))
            block_values = None if values is None else values[start:end]
            self._write_block(
                docs, start, end, weights[start:end], block_values, lengths, last=end == len(docs)
            )
        low = min(lengths) if lengths else 0
        high = max(lengths) if lengths else 0
        header = TERM_INFO.pack(0, sum(weights), len(docs), low, high, max(weights), docs[0], docs[-1])
        return header + bytes(pack_long(offset)) + bytes(pack_int(postfile.tell() - offset))

    def _write_block(
        self,
        docs: list[int],
        start: int,
        end: int,
        weights: list[float],
        values: list[bytes] | None,
        lengths: list[int] | None,
        *,
        last: bool,
    ) -> None:
        ids = docs[start:end]
        # Whoosh's ids in a block: the first as it is, each other one less the one before.
        deltas = [ids[0], *map(operator.sub, ids[1:], ids)]
        low, high = min(weights), max(weights)
        packed_weights: Any = (None if low == 1.0 else low) if low == high else tuple(weights)
        data = dumps((tuple(deltas), packed_weights, self._packed_values(values)), PICKLE_PROTOCOL)
        compression = COMPRESSION if len(data) >= COMPRESS_FROM else 0
        if compression:
            data = zlib.compress(data, compression)
        shortest = min(lengths[start:end]) if lengths else 0
        longest = max(lengths[start:end]) if lengths else 0
        # Numbers only: protocol 2 is as fast, and 8 bytes shorter.
        info = dumps((end - start, ids[-1], high, compression, shortest, longest), 2)
        size = len(info) + len(data)
        self._postfile.write(pack_int(-size if last else size) + info + data)

    def _packed_values(self, values: list[bytes] | None) -> Any:
        if values is None:
            return None
        if self._value_size:
            return b"".join(values)
        # Whoosh keeps only the values that are not empty.
        return tuple(values) if all(values) else tuple(value for value in values if value)


def length_bytes(reader: Any, fieldname: str, documents: int) -> np.ndarray:
    """Each of a segment's first ``documents`` documents' length in ``fieldname``, as Whoosh's one-byte
    code (what its blocks and term infos keep), read from its lengths column in one piece.

    ``reader`` is a segment's reader or its per-document reader.
    """
    column = getattr(reader, "_perdoc", reader)._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
    if column is None:
        return np.zeros(documents, dtype=np.int64)
    if isinstance(column, FixedBytesColumn.Reader) and column._fixedlen == 1:
        stored = np.frombuffer(column._dbfile.get(column._basepos, column._count), dtype=np.uint8)
        lengths = np.zeros(documents, dtype=np.int64)  # documents past the column's end have 0
        lengths[: len(stored)] = stored[:documents]
        return lengths
    return np.fromiter((int(value) for value in column), dtype=np.int64, count=documents)
