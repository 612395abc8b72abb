"""Results grouped by story: each story once, at the rank of its best version, with its other versions.

The stories are found at ingest (:mod:`searchidx.ingesting.stories`); each
document's ``story`` field names its story. Counts stay counts of articles:
grouping changes what a page lists, never a total.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from searchidx.engines.protocol import Row
from searchidx.results import Version

# A page of stories is read from a window of ranked hits this much deeper than the page (at least
# MARGIN more, or half a page), widened WIDENING times until it holds the page's stories: versions
# of one story take more than one place in the ranking.
MARGIN = 5
WIDENING = 2


def story_of(row: Row) -> str:
    """The story a row is a version of (its own id on an index from before stories)."""
    return str(row.fields.get("story") or row.fields["id"])


def first_versions(rows: Iterable[Row]) -> list[Row]:
    """Each story's first row, in the rows' order: the best version of each, where it ranks."""
    seen: set[str] = set()
    firsts = []
    for row in rows:
        story = story_of(row)
        if story not in seen:
            seen.add(story)
            firsts.append(row)
    return firsts


def page_of_stories(
    ranked: Callable[[int], tuple[list[Row], bool]], skip: int, limit: int, deepest: int
) -> list[Row]:
    """Stories ``skip`` to ``skip + limit``, a row each: ``ranked(depth)`` gives the first ``depth`` hits
    and whether they are all there are; the window of hits read is widened until it holds those stories."""
    window = min(skip + limit + max(MARGIN, limit // 2), deepest)
    while True:
        rows, complete = ranked(window)
        firsts = first_versions(rows)
        if len(firsts) >= skip + limit or complete or window >= deepest:
            return firsts[skip : skip + limit]
        window = min(window * WIDENING, deepest)


def other_versions(
    shown: Iterable[Row], versions: dict[str, tuple[str, ...]], stored: dict[str, dict[str, Any]]
) -> dict[str, tuple[Version, ...]]:
    """For each shown row, by its id, the other matching versions of its story (``versions``: their ids
    by story; ``stored``: their fields, by id), the first to run first."""
    found: dict[str, tuple[Version, ...]] = {}
    for row in shown:
        others = [_version(stored[doc]) for doc in versions.get(story_of(row), ()) if doc != row.fields["id"]
                  and doc in stored]  # fmt: skip
        if others:
            found[row.fields["id"]] = tuple(sorted(others, key=_first_to_run))
    return found


def _first_to_run(version: Version) -> tuple[bool, datetime, str]:
    """Dated versions by date, then the undated; ties by id."""
    return (version.date is None, version.date or datetime.max.replace(tzinfo=UTC), version.id)


def _version(stored: dict[str, Any]) -> Version:
    date = stored.get("date")
    return Version(
        id=stored["id"],
        title=stored.get("title", ""),
        date=date.replace(tzinfo=UTC) if isinstance(date, datetime) and date.tzinfo is None else date,
        url=stored.get("url") or None,
        source=stored.get("source") or None,
        path=stored.get("path", ""),
    )
