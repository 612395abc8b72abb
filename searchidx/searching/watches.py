"""Saved searches ("watches"): a query kept with the index, and what each ingest brought it.

Ingests are numbered in turn, and every article's text carries the number of the ingest that brought
it as it is (the ``ingested`` field; :mod:`searchidx.inputs.manifest`). A watch remembers the last
ingest whose articles it reported; its news are its query's matches among the articles of the ingests
that finished since, found by the same query run on them alone, so it reports what a search of those
articles finds, exactly. An article read again with the same text keeps its number (not news again);
one whose text changed takes the new one (news again); a removed one is in no search. An ingest that
is stopped (Ctrl-C, a crash) has not finished: its articles are reported once, when it is run again
and finishes.

:class:`searchidx.Index` offers the watches (``watch``, ``watches``, ``unwatch``, ``watch_news``,
``watch_feed``...); this module holds their rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from searchidx.engines.protocol import Row
from searchidx.errors import QueryError
from searchidx.results import WATCH_NAME
from searchidx.searching.snippets import AnalysisMemo

_NAME = re.compile(WATCH_NAME)
# The articles a listing keeps read: past this many characters of their texts it forgets them (its
# memory stays bounded on any listing, of any articles).
LISTING_CHARS = 16_000_000


class SharedListing:
    """What the hits of every watch share, read once: an article's stored fields and the analysis of
    its text for snippets (the new articles of a day match many watches each)."""

    def __init__(self, analyzer: Any) -> None:
        self.analysis = AnalysisMemo(analyzer)
        self._fields: dict[str, dict[str, Any]] = {}
        self._chars = 0

    def rows(self, rows: list[Row], read: Callable[[Sequence[str]], dict[str, dict[str, Any]]]) -> list[Row]:
        """``rows`` (of ids alone, or whole) with their articles' stored fields, each read by ``read``
        (ids to fields) once; an article gone since it was found is left out."""
        bare = [row.fields["id"] for row in rows if len(row.fields) == 1]
        wanted = [doc for doc in bare if doc not in self._fields]
        fetched = read(wanted) if wanted else {}
        size = sum(map(_chars_of, fetched.values()))
        if self._chars + size > LISTING_CHARS:  # forget the articles of earlier rows, not of these
            self._fields = {doc: self._fields[doc] for doc in bare if doc in self._fields}
            self._chars = sum(map(_chars_of, self._fields.values()))
        self._fields.update(fetched)
        self._chars += size
        whole = [row if len(row.fields) > 1 else replace(row, fields=self._fields.get(row.fields["id"], {}))
                 for row in rows]  # fmt: skip
        return [row for row in whole if row.fields]


def _chars_of(fields: dict[str, Any]) -> int:
    return len(fields.get("body", "")) + len(fields.get("title", ""))


def check_watch(name: str, mode: str | None) -> None:
    """Raise :class:`QueryError` unless ``name`` can name a watch and ``mode`` is one a watch takes."""
    if not _NAME.fullmatch(name):
        raise QueryError(f"A watch's name is 1-64 letters, digits, '.', '_' or '-', starting with a letter "
                         f"or digit (got {name!r}): it names the watch's feed too.")  # fmt: skip
    if mode not in (None, "keyword"):
        raise QueryError(f"A watch reports the articles that match its words; searching by meaning "
                         f"({mode}) ranks every article and matches none, so a watch takes --mode keyword "
                         "only.")  # fmt: skip


def watch_options(
    *,
    since: str | date | datetime | None,
    until: str | date | datetime | None,
    undated: bool,
    source: str | None,
) -> tuple[tuple[str, str], ...]:
    """The filters a watch keeps, as text (a date as its ISO form): those given, in a fixed order."""
    given = {"since": since, "until": until, "source": source, "undated": "true" if undated else None}
    return tuple((key, _text(value)) for key, value in given.items() if value not in (None, ""))


def _text(value: str | date | datetime | None) -> str:
    return value.isoformat() if isinstance(value, (date, datetime)) else str(value)
