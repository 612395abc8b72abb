"""Attention over time: a query's matching articles per day, week, month or year, and its top words.

A backend counts the matches of a query per UTC day (and those without a
date); everything else is here, the same for every engine: the periods
(chosen from the date span unless asked for), the share of all dated
articles in each period (so a growing archive does not look like a growing
story), and the words that the matching articles use far more often than
the archive does (Dunning's log-likelihood on words as written, stop words
left out).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta

from searchidx.engines.protocol import DayCounts
from searchidx.errors import QueryError
from searchidx.query.analysis import documents_holding
from searchidx.results import UNITS, Period, Series, TopWord, Trend, Unit

# The automatic unit is the finest that divides the span into at most this many periods.
MOST_PERIODS = 40
# A chart of more periods than this is refused (a day per bar over decades): a larger unit says more.
MAX_PERIODS = 10_000
# Top words are counted in this many of the most relevant matching articles (all when fewer match).
WORDS_SAMPLE = 200
# A top word is held by at least this share of those articles, and at least 2 of them.
WORD_MIN_SHARE = 0.02


def choose_unit(first: date, last: date) -> Unit:
    """The finest unit that splits ``first``..``last`` into :data:`MOST_PERIODS` periods or fewer."""
    for unit in UNITS:
        if _period_count(first, last, unit) <= MOST_PERIODS:
            return unit
    return "year"


def period_start(day: date, unit: Unit) -> date:
    """The first day of the period holding ``day`` (weeks start on Monday, as ISO weeks do)."""
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def periods_between(first: date, last: date, unit: Unit) -> list[Period]:
    """Every period from the one holding ``first`` to the one holding ``last``, none left out."""
    periods: list[Period] = []
    start = period_start(first, unit)
    while start <= last:
        following = _next_start(start, unit)
        periods.append(Period(start, following - timedelta(days=1), _label(start, unit)))
        if following <= start:  # the last representable period
            break
        start = following
    return periods


def bucketed(days: Mapping[date, int], periods: list[Period], unit: Unit) -> list[int]:
    """The counts of ``days`` per period (days outside every period are not counted)."""
    index = {period.start: number for number, period in enumerate(periods)}
    counts = [0] * len(periods)
    for day, count in days.items():
        number = index.get(period_start(day, unit))
        if number is not None:
            counts[number] += count
    return counts


def shares_of(counts: Iterable[int], articles: Iterable[int]) -> list[float | None]:
    """Each count as a share (0 to 1) of the dated articles of its period; ``None`` where there are none."""
    return [count / total if total else None for count, total in zip(counts, articles, strict=True)]


def build_trend(
    queries: list[tuple[str, str, DayCounts]],
    everything: DayCounts,
    *,
    unit: Unit | None = None,
    first: date | None = None,
    last: date | None = None,
) -> Trend:
    """The trend of ``(query, query searched, its day counts)`` against ``everything`` (all articles).

    The span runs from ``first`` (else the earliest match of any query) to
    ``last`` (else the latest), so it holds every dated match when the
    matches were filtered to ``first``..``last``; ``unit`` defaults to
    :func:`choose_unit`.
    """
    matched = [day for _, _, counts in queries for day, count in counts.days.items() if count]
    first = first or (min(matched) if matched else None)
    last = last or (max(matched) if matched else None)
    if first is None or last is None or first > last:  # nothing dated to chart
        empty = tuple(Series(query, searched, (), (), counts.undated) for query, searched, counts in queries)
        return Trend(unit or "month", (), (), empty)
    chosen = unit or choose_unit(first, last)
    if _period_count(first, last, chosen) > MAX_PERIODS:
        raise QueryError(
            f"{first:%Y-%m-%d} to {last:%Y-%m-%d} is more than {MAX_PERIODS:,} {chosen}s to chart; "
            "choose a longer period (week, month, year) or a shorter span with since/until."
        )
    periods = periods_between(first, last, chosen)
    articles = bucketed(everything.days, periods, chosen)
    series = []
    for query, searched, counts in queries:
        per_period = bucketed(counts.days, periods, chosen)
        shares = shares_of(per_period, articles)
        series.append(Series(query, searched, tuple(per_period), tuple(shares), counts.undated))
    return Trend(chosen, tuple(periods), tuple(articles), tuple(series))


def top_words(
    texts: list[tuple[str, str]],
    archive_frequency: Callable[[list[str]], Mapping[str, int]],
    archive_size: int,
    limit: int,
) -> list[TopWord]:
    """The ``limit`` words most distinctive of the articles ``texts`` (title, body) against the archive.

    ``archive_frequency`` gives how many of the ``archive_size`` articles
    hold each word (as the speller counts them: written form, folded).
    Only words the sample uses more often than the rest of the archive count.
    """
    sampled = len(texts)
    if not sampled or limit <= 0:
        return []
    held = documents_holding(texts)
    least = max(2, math.ceil(WORD_MIN_SHARE * sampled)) if sampled > 1 else 1
    candidates = [word for word, count in held.items() if count >= least]
    frequencies = archive_frequency(candidates)
    rest = archive_size - sampled
    words = []
    for word in candidates:
        inside = held[word]
        outside = max(frequencies.get(word, inside) - inside, 0)
        if rest > 0 and inside / sampled <= outside / rest:
            continue
        score = log_likelihood(inside, sampled, outside, max(rest, 0))
        words.append(TopWord(word, inside, sampled, inside + outside, score))
    words.sort(key=lambda top: (-top.score, top.word))
    return words[:limit]


def log_likelihood(inside: int, sampled: int, outside: int, rest: int) -> float:
    """Dunning's G² of a word in ``inside`` of ``sampled`` articles and in ``outside`` of ``rest`` others."""
    total = sampled + rest
    held = inside + outside
    cells = (
        (inside, sampled * held / total),
        (sampled - inside, sampled * (total - held) / total),
        (outside, rest * held / total),
        (rest - outside, rest * (total - held) / total),
    )
    return 2 * sum(observed * math.log(observed / expected) for observed, expected in cells if observed > 0)


def _period_count(first: date, last: date, unit: Unit) -> int:
    """How many periods of ``unit`` hold ``first``..``last`` (without listing them)."""
    if unit == "year":
        return last.year - first.year + 1
    if unit == "month":
        return (last.year - first.year) * 12 + last.month - first.month + 1
    size = 7 if unit == "week" else 1
    return (period_start(last, unit) - period_start(first, unit)).days // size + 1


def _next_start(start: date, unit: Unit) -> date:
    try:
        if unit == "day":
            return start + timedelta(days=1)
        if unit == "week":
            return start + timedelta(days=7)
        if unit == "month":
            return date(start.year + start.month // 12, start.month % 12 + 1, 1)
        return date(start.year + 1, 1, 1)
    except (OverflowError, ValueError):  # past the year 9999
        return start


def _label(start: date, unit: Unit) -> str:
    if unit == "day":
        return start.isoformat()
    if unit == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if unit == "month":
        return start.strftime("%Y-%m")
    return str(start.year)
