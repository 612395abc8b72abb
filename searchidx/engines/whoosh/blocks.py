"""A word's posting blocks in a Whoosh segment, read with numpy, and those read last kept.

Decoding postings is Python work, a zlib inflate and a pickle for every 128
postings: a search for common words at a million articles spends most of
its time there. The words read most recently are kept, per segment, with
what was decoded of them (every block, or the blocks read one by one), up
to :data:`KEPT_BYTES` in all, the least recently used dropped first; and
Whoosh's information on them (:data:`KEPT_INFOS` words). A segment's
postings never change once it is written (its deletions are applied after
reading), so what is kept holds until the segment is merged away; a new
searcher reads the same table.
"""

from __future__ import annotations

import io
import pickle
import struct
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
from whoosh.filedb.filetables import FileFormatError
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length

from searchidx.query.deadlines import check

# What the kept tables may hold in all (a server's share of memory; the figures in docs/performance.md).
KEPT_BYTES = 512 * 2**20
# And the information on this many words (a few hundred bytes each), found or not.
KEPT_INFOS = 100_000
BLOCK_LENGTH = struct.Struct("!i")
# A block's values tuple opens with a mark and the global ``_codecs.encode``.
VALUES_START = b"(c_codecs\nencode\n"
PAIR_AND_STOP = b"\x86."  # TUPLE2, STOP
PROTOCOL_2 = b"\x80\x02"
PICKLE_BYTES_PER_POSTING = 16  # an id delta (at most 5 bytes) and a weight (9), with room to spare
NO_SCORES = np.zeros(0, dtype=np.float64)
NO_IDS = np.zeros(0, dtype=np.int64)
# The deadline is checked every this many posting blocks decoded.
CLOCK_BLOCKS = 32


def term_info(reader: Any, fieldname: str, text: bytes) -> Any:
    """Whoosh's information on the word ``text`` in ``fieldname`` of the segment ``reader`` reads
    (``None`` when the segment does not have it), kept."""
    key = (reader.segment().segment_id(), fieldname, text)
    with _INFOS_LOCK:
        if key in _INFOS:
            _INFOS.move_to_end(key)
            return _INFOS[key]
    try:
        info = reader._terms.term_info(fieldname, text)
    except TermNotFound:
        info = None
    with _INFOS_LOCK:
        _INFOS[key] = info
        if len(_INFOS) > KEPT_INFOS:
            _INFOS.popitem(last=False)
    return info


def block_table(reader: Any, terminfo: Any, fieldname: str, text: bytes) -> BlockTable:
    """The block table of the word ``text`` in ``fieldname`` of the segment ``reader`` reads, kept."""
    key = (reader.segment().segment_id(), fieldname, text)
    return _KEPT.get(key, lambda: BlockTable(reader._terms._postfile, terminfo, key))


def forget_kept() -> None:
    """Drop every kept table (for measuring reads from the files)."""
    _KEPT.clear()
    with _INFOS_LOCK:
        _INFOS.clear()


class _Kept:
    """Block tables by segment and word, the least recently used dropped past a budget of bytes."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._tables: OrderedDict[tuple[str, str, bytes], BlockTable] = OrderedDict()
        self._sizes: dict[tuple[str, str, bytes], int] = {}
        self._held = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, bytes], make: Callable[[], BlockTable]) -> BlockTable:
        with self._lock:
            table = self._tables.get(key)
            if table is not None:
                self._tables.move_to_end(key)
                return table
        table = make()
        self.resized(key, table)
        return table

    def resized(self, key: tuple[str, str, bytes], table: BlockTable) -> None:
        """Hold ``table`` (again) at ``key`` at its size now; the least recently used go past the budget."""
        with self._lock:
            self._tables[key] = table
            self._tables.move_to_end(key)
            self._account(key, table.nbytes)

    def _account(self, key: tuple[str, str, bytes], size: int) -> None:
        self._held += size - self._sizes.get(key, 0)
        self._sizes[key] = size
        while self._held > self.budget and len(self._tables) > 1:
            dropped, _ = self._tables.popitem(last=False)
            self._held -= self._sizes.pop(dropped)

    def clear(self) -> None:
        with self._lock:
            self._tables.clear()
            self._sizes.clear()
            self._held = 0


_KEPT = _Kept(KEPT_BYTES)
_INFOS: OrderedDict[tuple[str, str, bytes], Any] = OrderedDict()
_INFOS_LOCK = threading.Lock()


class BlockTable:
    """Where a term's posting blocks are, and each one's last document, largest weight and shortest length.

    Whoosh writes each block as its length, a pickled info tuple and the
    (compressed, pickled) ids, weights and values; the table reads the info
    tuples only, :meth:`decode` the blocks asked for and :meth:`whole` every
    one (kept: the blocks asked for next are then cut from it).
    """

    def __init__(self, postfile: Any, terminfo: Any, key: tuple[str, str, bytes] | None = None) -> None:
        self._key = key  # where it is kept, told when it grows
        self._whole: tuple[np.ndarray, np.ndarray] | None = None
        self._parts: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # blocks decoded one by one
        self._accounted = 0  # of those, how many the kept tables' size counts
        self._inlined = terminfo.inlined_postings() if terminfo.is_inlined() else None
        self._data = b""
        if self._inlined is not None:
            ids, weights, _ = self._inlined
            self.last_ids = np.array([ids[-1]], dtype=np.int64)
            self.max_weights = np.array([max(weights)], dtype=np.float64)
            self.min_lengths = np.array([terminfo.min_length()], dtype=np.float64)
            self._starts = np.array([0, len(ids)], dtype=np.int64)
            return
        offset, length = terminfo.extent()
        if isinstance(length, tuple):  # Whoosh 2.7 reads the length back as a 1-tuple
            (length,) = length
        self._data = postfile.get(offset, length)
        self._spans: list[tuple[int, int, int, int]] = []  # data start, end, postings, compression
        last_ids, max_weights, min_lengths = [], [], []
        stream = io.BytesIO(self._data)
        position = 4  # after the postings' magic number
        while position < length:
            size = BLOCK_LENGTH.unpack_from(self._data, position)[0]
            stream.seek(position + 4)
            count, last_id, max_weight, compression, min_length, _ = unpickled(stream, 6)
            end = position + 4 + abs(size)
            self._spans.append((stream.tell(), end, count, compression))
            last_ids.append(last_id)
            max_weights.append(max_weight)
            min_lengths.append(byte_to_length(min_length))
            if size < 0:  # the last block
                break
            position = end
        self.last_ids = np.array(last_ids, dtype=np.int64)
        self.max_weights = np.array(max_weights, dtype=np.float64)
        self.min_lengths = np.array(min_lengths, dtype=np.float64)
        self._starts = np.cumsum([0] + [span[2] for span in self._spans], dtype=np.int64)

    @property
    def nbytes(self) -> int:
        """About what the table holds in memory: the postings' bytes, or what was decoded of them."""
        parts = [self.last_ids, self.max_weights, self.min_lengths, self._starts, *(self._whole or ())]
        parts += [array for part in list(self._parts.values()) for array in part]
        return int(sum(part.nbytes for part in parts)) + len(self._data) + 64 * len(self.last_ids)

    def whole(self) -> tuple[np.ndarray, np.ndarray]:
        """The ids and weights of every block, decoded once."""
        if self._whole is None:
            self._whole = self.decode(range(len(self.last_ids)))
            self._data = b""  # every block is cut from what was decoded from now on
            self._parts = {}
            if self._key is not None:
                _KEPT.resized(self._key, self)
        return self._whole

    def decode(self, blocks: Any) -> tuple[np.ndarray, np.ndarray]:
        """The ids and weights of the blocks numbered ``blocks`` (ascending), concatenated; each block
        decoded is kept for the next search that reads it."""
        # The bytes first: another thread's whole() drops them only once what it decoded is set.
        data, whole = self._data, self._whole
        if whole is not None:
            kept_ids, kept_weights = whole
            wanted = [slice(self._starts[number], self._starts[number + 1]) for number in blocks]
            if not wanted:
                return NO_IDS, NO_SCORES
            return np.concatenate([kept_ids[part] for part in wanted]), np.concatenate(
                [kept_weights[part] for part in wanted]
            )
        if self._inlined is not None:
            inlined_ids, inlined_weights, _ = self._inlined
            return np.array(inlined_ids, dtype=np.int64), np.array(inlined_weights, dtype=np.float64)
        numbers = list(blocks)
        if len(numbers) == len(self.last_ids):  # every block: in one pass, kept by whole()
            return self._decoded(data, numbers)
        parts = []
        for read, number in enumerate(numbers, start=1):
            part = self._parts.get(number)
            if part is None:
                if read % CLOCK_BLOCKS == 0:
                    check()
                part = self._parts[number] = self._decoded(data, [number])
            parts.append(part)
        if self._key is not None and len(self._parts) > self._accounted:
            self._accounted = len(self._parts)
            _KEPT.resized(self._key, self)
        if not parts:
            return NO_IDS, NO_SCORES
        return np.concatenate([ids for ids, _ in parts]), np.concatenate([weights for _, weights in parts])

    def _decoded(self, data: bytes, numbers: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """The blocks numbered ``numbers`` (ascending) decoded from the term's bytes ``data``."""
        # Each block's ids are deltas from 0: its first delta is made relative
        # to the last id before it, so that one running sum decodes them all.
        deltas: list[int] = []
        weights: list[float] = []
        previous = 0
        for read, number in enumerate(numbers, start=1):
            if read % CLOCK_BLOCKS == 0:
                check()
            start, end, count, compression = self._spans[number]
            block_deltas, block_weights = ids_and_weights(data[start:end], count, compression)
            deltas.append(block_deltas[0] - previous)
            deltas += block_deltas[1:]
            if block_weights is None:
                weights += [1.0] * count
            elif isinstance(block_weights, float):
                weights += [block_weights] * count
            else:
                weights += block_weights
            previous = int(self.last_ids[number])
        if not deltas:
            return NO_IDS, NO_SCORES
        return np.cumsum(np.array(deltas, dtype=np.int64)), np.array(weights, dtype=np.float64)


def ids_and_weights(data: bytes, count: int, compressed: int) -> tuple[Any, Any]:
    """A block's id deltas and weights, without unpickling its values where that is what costs.

    The block is the pickle of ``(ids, weights, values)``. Whoosh pickles
    with protocol 2, which writes each value (bytes) as a call of
    ``_codecs.encode`` (90% of the time to read it): such a pickle is cut
    where the values begin and closed as a pair, and only the start of a
    compressed block is inflated. A block searchidx wrote (protocol 5, see
    :mod:`.postings`) is as quick to read whole. Whatever does not check
    out is read whole.
    """
    inflater = zlib.decompressobj() if compressed else None
    raw = inflater.decompress(data, PICKLE_BYTES_PER_POSTING * count + 64) if inflater else data
    cut = raw.find(VALUES_START) if raw.startswith(PROTOCOL_2) else -1
    if cut > 0:
        try:
            deltas, weights = pickle.loads(raw[:cut] + PAIR_AND_STOP)
        except (pickle.UnpicklingError, ValueError, TypeError, EOFError, IndexError):
            deltas = weights = None
        if isinstance(deltas, tuple) and len(deltas) == count and _weights_fit(weights, count):
            return deltas, weights
        raw = zlib.decompress(data) if compressed else data
    elif inflater is not None:
        raw += inflater.decompress(inflater.unconsumed_tail) + inflater.flush()
    deltas, weights, _ = unpickled(io.BytesIO(raw), 3)
    return deltas, weights


def unpickled(stream: io.BytesIO, size: int) -> tuple[Any, ...]:
    """The tuple of ``size`` items pickled in ``stream`` (a posting block's info or postings).

    Corrupt bytes make ``pickle`` raise one of a dozen kinds of error, or
    give something else: either raises :class:`FileFormatError`, which the
    commands report as a damaged index.
    """
    try:
        decoded = pickle.load(stream)
    except Exception as error:  # whatever the garbage makes pickle raise
        raise FileFormatError(f"a posting block cannot be decoded ({type(error).__name__})") from error
    if not isinstance(decoded, tuple) or len(decoded) != size:
        raise FileFormatError("a posting block holds something else than postings")
    return decoded


def _weights_fit(weights: Any, count: int) -> bool:
    return (
        weights is None
        or isinstance(weights, float)
        or (isinstance(weights, tuple) and len(weights) == count)
    )
