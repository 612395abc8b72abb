"""Counts of documents by year, month and source, read from the index's columns."""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from whoosh.columns import NumericColumn, VarBytesColumn
from whoosh.filedb.filetables import FileFormatError
from whoosh.util.times import datetime_to_long, long_to_datetime

from searchidx.results import NO_DATE, NO_SOURCE

# What a DATETIME column holds for a document without a date.
MISSING_DATE = 2**64 - 1
# The last moment a date column can hold (31 December 9999); a larger number is no date.
LATEST_DATE = datetime_to_long(datetime.max)
# A date column holds microseconds since the first day of year 1.
MICROSECONDS_PER_DAY = 86_400_000_000
# Per open reader, its columns as arrays; gone with the reader.
_COLUMNS: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
# The masks of ingests' windows kept per reader: a server's feeds each ask for their own window (a byte a
# document each), the watches' news after an ingest for one.
WINDOWS_KEPT = 4


def date_of(raw: int) -> datetime | None:
    """The (naive UTC) datetime of a raw date column value, or None when missing."""
    return None if raw == MISSING_DATE else long_to_datetime(raw)


def newest_first_key(raw: int) -> int:
    """A sort key putting the newest dates first and documents without a date last."""
    return raw if raw == MISSING_DATE else MISSING_DATE - 1 - raw


def count_facets(reader: Any, docnums: Iterable[int], names: Iterable[str]) -> dict[str, dict[str, int]]:
    """For each facet name, ``{value: documents}``: dates newest first, sources most common first.

    Documents without a date or source are counted under ``(no date)`` /
    ``(no source)``, so each facet's counts add up to the number of documents.
    The columns are read once per reader, whole, and counted with numpy.
    """
    import numpy as np  # facets are counted for queries, which import it anyway

    wanted = list(dict.fromkeys(names))
    listed = docnums if isinstance(docnums, list | np.ndarray) else list(docnums)
    documents = np.asarray(listed, dtype=np.int64)
    if not len(documents):  # also an index with no documents yet, whose reader has no columns
        return {name: {} for name in wanted}
    counted: dict[str, Counter[str]] = {}
    if "year" in wanted or "month" in wanted:
        raw = date_values(reader)[documents]
        dated = raw[raw != MISSING_DATE]
        days = (dated // MICROSECONDS_PER_DAY).astype("timedelta64[D]") + np.datetime64("0001-01-01", "D")
        for name, unit in (("year", "Y"), ("month", "M")):
            if name in wanted:
                periods, counts = np.unique(days.astype(f"datetime64[{unit}]"), return_counts=True)
                labels = [str(period) for period in periods]  # 1987, 1987-03
                counted[name] = Counter(dict(zip(labels, counts.tolist(), strict=True)))
                if len(dated) < len(raw):
                    counted[name][NO_DATE] = len(raw) - len(dated)
    if "source" in wanted:
        sources = source_values(reader)[documents].tolist()
        counted["source"] = Counter(source or NO_SOURCE for source in sources)
    return {name: _ordered(name, counted[name]) for name in wanted}


def date_values(reader: Any) -> Any:
    """Every document's raw date column value (:data:`MISSING_DATE` for none), read once per reader."""
    cached = _COLUMNS.setdefault(reader, {})
    if "date" not in cached:
        cached["date"] = valid_dates(_numbers(reader, "date"))
    return cached["date"]


def story_values(reader: Any) -> Any:
    """Every document's story, as the number its 16 hex digits make, read once per reader."""
    cached = _COLUMNS.setdefault(reader, {})
    if "story" not in cached:
        cached["story"] = _numbers(reader, "story")
    return cached["story"]


def ingest_values(reader: Any) -> Any:
    """Every document's ``ingested`` column: the ingest that brought its text, read once per reader."""
    cached = _COLUMNS.setdefault(reader, {})
    if "ingested" not in cached:
        cached["ingested"] = _numbers(reader, "ingested")
    return cached["ingested"]


def brought_by(reader: Any, after: int, through: int) -> Any:
    """Which documents (a mask over the reader's) are live and had their text brought by the ingests
    numbered after ``after`` up to ``through``: found once per reader (a hundred watches after an
    ingest ask for the same ones)."""
    import numpy as np

    cached = _COLUMNS.setdefault(reader, {})
    key = f"brought {after} {through}"
    if key not in cached:
        windows = [name for name in cached if name.startswith("brought ")]
        for name in windows[: max(0, len(windows) - WINDOWS_KEPT + 1)]:  # the oldest first
            del cached[name]
        values = ingest_values(reader)
        mask = np.zeros(len(values), dtype=bool)
        mask[live_documents(reader)] = True
        cached[key] = mask & (values > after) & (values <= through)
    return cached[key]


def live_documents(reader: Any) -> Any:
    """The global numbers of the reader's documents that are not deleted, ascending, as an array."""
    import numpy as np

    parts = [np.zeros(0, dtype=np.int64)]
    for leaf, offset in reader.leaf_readers():
        if not leaf.doc_count_all():
            continue
        live = np.ones(leaf.doc_count_all(), dtype=bool)
        live[list(leaf.deleted_docs_set)] = False
        parts.append(np.flatnonzero(live) + offset)
    return np.concatenate(parts)


def story_groups(reader: Any) -> dict[int, Any]:
    """The live documents (their numbers, ascending) of each story that has more than one, by the
    story's number: read once per reader."""
    import numpy as np

    cached = _COLUMNS.setdefault(reader, {})
    if "story groups" not in cached:
        live = live_documents(reader)
        codes = story_values(reader)[live]
        order = np.argsort(codes, kind="stable")
        ordered = codes[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        ends = np.r_[starts[1:], len(ordered)]
        cached["story groups"] = {
            int(ordered[start]): live[order[start:end]]
            for start, end in zip(starts, ends, strict=True)
            if end - start > 1
        }
    groups: dict[int, Any] = cached["story groups"]
    return groups


def _numbers(reader: Any, name: str) -> Any:
    """A 64-bit numeric column of every document, as an array.

    Each segment is read apart: Whoosh's multi-segment column reader leaves
    out a segment with no file for the column (no document in it has a
    value), so every later document would point into the wrong segment.
    """
    import numpy as np

    parts = [np.zeros(0, dtype=np.uint64)]
    for leaf, _ in reader.leaf_readers():
        count = leaf.doc_count_all()
        if not count:  # also the reader of an index with no segment, which has no columns
            continue
        column = leaf.column_reader(name, translate=False)
        if isinstance(column, NumericColumn.Reader) and column._fixedlen == 8:  # its bytes, in one read
            stored = np.frombuffer(column._dbfile.get(column._basepos, column._count * 8), dtype=">u8")
            values = np.full(count, column._default, dtype=np.uint64)
            values[: len(stored)] = stored[:count]
        else:  # a segment without the column: Whoosh gives its default for each document
            values = np.fromiter((int(value) for value in column), dtype=np.uint64, count=count)
        parts.append(values)
    return np.concatenate(parts)


def valid_dates(values: Any) -> Any:
    """``values``, a date column's, if each is a date or :data:`MISSING_DATE`: another number is damage.

    Raises :class:`~whoosh.filedb.filetables.FileFormatError` (a damaged
    index to the commands) rather than a date out of range later.
    """
    if bool(((values > LATEST_DATE) & (values != MISSING_DATE)).any()):
        raise FileFormatError("the date column holds a number that is no date")
    return values


def source_values(reader: Any) -> Any:
    """Every document's source (``""`` for none), as an array, read once per reader."""
    import numpy as np

    cached = _COLUMNS.setdefault(reader, {})
    if "source" not in cached:
        values: list[str] = []
        for leaf, _ in reader.leaf_readers():
            if not leaf.doc_count_all():
                continue
            values.extend(_texts(leaf.column_reader("source")))
        cached["source"] = np.array(values, dtype=object)
    return cached["source"]


def _texts(column: Any) -> Iterable[str]:
    """A text column's values (``""`` for none): its bytes read in one piece and cut by the lengths
    column where Whoosh wrote one (a variable-length column), each distinct value decoded once."""
    raw = getattr(column, "_reader", None)
    if not isinstance(raw, VarBytesColumn.Reader):
        return [value or "" for value in column]
    lengths = list(raw._lengths)
    data = raw._dbfile.get(raw._basepos, sum(lengths))
    decoded: dict[bytes, str] = {}
    values = []
    start = 0
    for length in lengths:
        piece = data[start : start + length]
        start += length
        text = decoded.get(piece)
        if text is None:
            text = decoded[piece] = column._translate(piece) or ""
        values.append(text)
    return values


def _ordered(name: str, counts: Counter[str]) -> dict[str, int]:
    if name == "source":
        keys = sorted(counts, key=lambda key: (key == NO_SOURCE, -counts[key], key))
    else:
        keys = sorted((key for key in counts if key != NO_DATE), reverse=True)
        keys += [NO_DATE] if NO_DATE in counts else []
    return {key: counts[key] for key in keys}
