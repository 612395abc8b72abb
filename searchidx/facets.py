"""Counts of documents by year, month and source, read from the index's columns."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from whoosh.columns import MultiColumnReader
from whoosh.util.times import long_to_datetime

FACETS = ("year", "month", "source")
NO_DATE = "(no date)"
NO_SOURCE = "(no source)"
# What a DATETIME column holds for a document without a date.
MISSING_DATE = 2**64 - 1


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
    """
    wanted = list(dict.fromkeys(names))
    docnums = list(docnums)
    if not docnums:  # also an index with no documents yet, whose reader has no columns
        return {name: {} for name in wanted}
    dates = whole_column(reader, "date", translate=False)
    sources = whole_column(reader, "source")
    keys: dict[str, Callable[[int], str]] = {
        "year": lambda doc: _date_key(dates[doc], "%Y"),
        "month": lambda doc: _date_key(dates[doc], "%Y-%m"),
        "source": lambda doc: sources[doc] or NO_SOURCE,
    }
    return {name: _ordered(name, Counter(keys[name](doc) for doc in docnums)) for name in wanted}


def whole_column(reader: Any, name: str, *, translate: bool = True) -> Any:
    """The column ``name`` of every document of ``reader``, indexed by document number.

    Whoosh's own multi-segment column reader leaves out the segments that
    have no file for the column (a segment in which no document has a date),
    so every later document number points into the wrong segment, or past the
    end. Each segment's reader gives the column's default value for such a
    segment instead.
    """
    leaves = list(reader.leaf_readers())
    parts = [leaf.column_reader(name, translate=translate) for leaf, _ in leaves]
    return parts[0] if len(parts) == 1 else MultiColumnReader(parts, [offset for _, offset in leaves])


def _date_key(raw: int, pattern: str) -> str:
    date = date_of(raw)
    return date.strftime(pattern) if date else NO_DATE


def _ordered(name: str, counts: Counter[str]) -> dict[str, int]:
    if name == "source":
        keys = sorted(counts, key=lambda key: (key == NO_SOURCE, -counts[key], key))
    else:
        keys = sorted((key for key in counts if key != NO_DATE), reverse=True)
        keys += [NO_DATE] if NO_DATE in counts else []
    return {key: counts[key] for key in keys}
