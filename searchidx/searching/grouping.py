"""Results grouped by story: each story once, at the rank of its best version, with its other versions.

The stories are found at ingest (:mod:`searchidx.ingesting.stories`); each
document's ``story`` field names its story. Counts stay counts of articles:
grouping changes what a page lists, never a total.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from searchidx.engines.protocol import Row
from searchidx.results import Version

# A page is found in a window of ranked hits this many times as deep as the page, widened until the
# page's stories are all in it (versions of one story take more than one place in the ranking).
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
    window = min(max((skip + limit) * WIDENING, limit), deepest)
    while True:
        rows, complete = ranked(window)
        firsts = first_versions(rows)
        if len(firsts) >= skip + limit or complete or window >= deepest:
            return firsts[skip : skip + limit]
        window = min(window * WIDENING, deepest)


def other_versions(shown: Iterable[Row], matching: Iterable[Row]) -> dict[str, tuple[Version, ...]]:
    """For each shown row, by its id, the other versions of its story among ``matching`` (in their order)."""
    wanted = {story_of(row): row.fields["id"] for row in shown}
    versions: dict[str, list[Version]] = {doc_id: [] for doc_id in wanted.values()}
    for row in matching:
        shown_id = wanted.get(story_of(row))
        if shown_id is not None and row.fields["id"] != shown_id:
            versions[shown_id].append(_version(row))
    return {doc_id: tuple(found) for doc_id, found in versions.items()}


def _version(row: Row) -> Version:
    stored = row.fields
    date = stored.get("date")
    return Version(
        id=stored["id"],
        title=stored.get("title", ""),
        date=date.replace(tzinfo=UTC) if isinstance(date, datetime) and date.tzinfo is None else date,
        url=stored.get("url") or None,
        source=stored.get("source") or None,
        path=stored.get("path", ""),
    )
