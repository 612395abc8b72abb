"""CSV for spreadsheets: hits (``query --csv``, the page's download link) and trends (``trend --csv``).

Written with the standard library's ``csv`` module (every field that needs it
quoted, newlines kept inside quotes), UTF-8. A cell that begins with ``=``,
``+``, ``-``, ``@`` (or a tab or carriage return) would run as a formula in a
spreadsheet; it is written with a leading apostrophe, as OWASP advises, so
it opens as the text it is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from searchidx.results import Hit, Trend

HIT_COLUMNS = ("rank", "id", "date", "source", "title", "url", "path", "record", "score", "snippet")
TREND_COLUMNS = ("query", "period", "start", "end", "matches", "share", "dated_articles")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> str:
    """The cell's text, with a leading apostrophe when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def hit_rows(hits: Iterable[Hit]) -> Iterator[list[str]]:
    """The header, then one row per hit: rank, id (as ``show`` takes it), date, source, title, url (empty
    when the article has none), path, record (its own id in a file of several), score, snippet."""
    yield list(HIT_COLUMNS)
    for hit in hits:
        date = hit.date.date().isoformat() if hit.date else ""
        row = (hit.rank, hit.id, date, hit.source, hit.title, hit.url, hit.path, hit.record,
               f"{hit.score:.4f}", hit.snippet)  # fmt: skip
        yield [spreadsheet_safe(value) for value in row]


def trend_rows(trend: Trend) -> Iterator[list[str]]:
    """The header, then one row per query and period (undated matches as a row without a period).

    A period without any dated article has its count (0) and an empty share: a share of nothing is undefined.
    """
    yield [*TREND_COLUMNS[:-1], f"dated_{trend.counted}"]
    for series in trend.series:
        for number, period in enumerate(trend.periods):
            share = series.shares[number]
            row = (
                series.query, period.label, period.start.isoformat(), period.end.isoformat(),
                series.counts[number], "" if share is None else f"{share:.6f}", trend.articles[number],
            )  # fmt: skip
            yield [spreadsheet_safe(value) for value in row]
        if series.undated:
            yield [spreadsheet_safe(series.query), "(no date)", "", "", str(series.undated), "", ""]


def csv_text(rows: Iterable[list[str]]) -> str:
    """The rows as CSV text (``\\r\\n`` line ends, as RFC 4180 and spreadsheets expect)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows(rows)
    return out.getvalue()
