"""Publication dates as articles write them, parsed into timezone-aware UTC datetimes.

:func:`parse_date` accepts the forms news articles and page metadata use:

* ISO 8601: ``2015-03-20``, ``2015-03-20T10:30:00Z``, ``2015-03-20 10:30+03:00``
* month names, full or abbreviated, either order: ``March 20, 2015``,
  ``20 March 2015``, ``Mar. 20, 2015``, ``20th of March, 2015``
* day-first dotted numbers: ``20.03.2015``
* RFC 2822: ``Fri, 20 Mar 2015 10:30:00 +0000``

each optionally with a label (``Published:``, ``Updated on``), a weekday, a time
(``10:30``, ``10:30:15``, ``10:30 AM``, before or after the date) and a zone
(``UTC``, ``GMT``, ``EST``, ``+0300``...). A date without a zone, or in a zone
this module does not know, is taken as UTC. Anything else, and any date before
1800 or more than a year in the future, gives ``None``: no date is better than
an invented one.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

EARLIEST_YEAR = 1800
LATEST_AHEAD = timedelta(days=366)

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}

# Zone abbreviations common in English-language news; ambiguous ones (IST, CST
# in Asia) take their North American / Indian meaning.
ZONE_HOURS = {
    "utc": 0.0, "gmt": 0.0, "z": 0.0, "bst": 1.0, "wet": 0.0, "west": 1.0,
    "cet": 1.0, "cest": 2.0, "eet": 2.0, "eest": 3.0, "msk": 3.0, "ist": 5.5,
    "est": -5.0, "edt": -4.0, "cst": -6.0, "cdt": -5.0, "mst": -7.0, "mdt": -6.0,
    "pst": -8.0, "pdt": -7.0, "jst": 9.0, "kst": 9.0, "hkt": 8.0, "aest": 10.0,
    "aedt": 11.0,
}  # fmt: skip

WEEKDAY = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|sday|nesday|rsday|urday)?"
MONTH = r"(?P<month>[a-z]{3,9})\.?"
DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
YEAR = r"(?P<year>\d{4})"
TIME = (
    r"(?:(?:,|\s)\s*(?:at\s+)?(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"\s*(?P<ampm>[ap]\.?m\.?)?"
    r"(?:\s*(?P<zone>[a-z]{1,4}|[+-]\d{2}:?\d{2})(?:\s*(?P<offset>[+-]\d{1,2}(?::?\d{2})?))?)?)?"
)

CLOCK_FIRST = (
    r"(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?::(?P<second>\d{2}))?\s*(?P<ampm>[ap]\.?m\.?)?"
    r"(?:\s*(?P<zone>[a-z]{1,4}|[+-]\d{2}:?\d{2}))?,?\s+(?:on\s+)?"
)

DATE_PATTERNS = [
    re.compile(rf"{MONTH}\s+{DAY},?\s+{YEAR}{TIME}"),
    re.compile(rf"{CLOCK_FIRST}(?:{WEEKDAY},?\s+)?{MONTH}\s+{DAY},?\s+{YEAR}"),
    re.compile(rf"{DAY}\.?\s+(?:of\s+)?{MONTH},?\s+{YEAR}{TIME}"),
    re.compile(rf"(?P<day>\d{{1,2}})\.(?P<month>\d{{1,2}})\.{YEAR}{TIME}"),
    re.compile(rf"{YEAR}/(?P<month>\d{{1,2}})/(?P<day>\d{{1,2}}){TIME}"),
]
LEADING_WEEKDAY = re.compile(rf"^{WEEKDAY}\.?,?\s+")
# "Published: ...", "Updated on ...", "Posted ..." before the date itself.
LEADING_LABEL = re.compile(
    r"^(?:(?:first|last|originally)\s+)?(?:published|updated|posted|modified|date)(?:\s+on)?\s*:?\s*"
)
ISO_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[t ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?\s*(?:z|[+-]\d{2}:?\d{2})?"
)


def parse_date(text: str, *, now: datetime | None = None) -> datetime | None:
    """Parse one date as articles write it; return it in UTC, or ``None``.

    The whole of ``text`` must be the date (surrounding spaces aside), so a
    sentence that merely starts with a date is not taken for one.

    >>> parse_date("March 20, 2015")
    datetime.datetime(2015, 3, 20, 0, 0, tzinfo=datetime.timezone.utc)
    >>> parse_date("Fri, 20 Mar 2015 10:30:00 +0300").isoformat()
    '2015-03-20T07:30:00+00:00'
    >>> parse_date("sometime in spring") is None
    True
    """
    cleaned = " ".join(text.strip().lower().split())
    if not cleaned or len(cleaned) > 80:
        return None
    parsed = _parse_iso(cleaned) or _parse_words(cleaned) or _parse_rfc2822(text.strip())
    if parsed is None or not _plausible(parsed, now or datetime.now(UTC)):
        return None
    return parsed


def _parse_iso(text: str) -> datetime | None:
    if not ISO_DATE.fullmatch(text):
        return None
    try:
        parsed = datetime.fromisoformat(text.upper().replace(",", "."))
    except ValueError:
        return None
    return _as_utc(parsed)


def _parse_rfc2822(text: str) -> datetime | None:
    from email.utils import parsedate_to_datetime  # only ingest needs it: spares queries 10 ms of imports

    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return _as_utc(parsed)


def _parse_words(text: str) -> datetime | None:
    text = LEADING_WEEKDAY.sub("", LEADING_LABEL.sub("", text))
    for pattern in DATE_PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            return _from_match(match)
    return None


def _from_match(match: re.Match[str]) -> datetime | None:
    parts = match.groupdict()
    month_text = parts["month"]
    month = int(month_text) if month_text.isdigit() else MONTHS.get(month_text)
    if month is None:
        return None
    zone = _zone(parts.get("zone"), parts.get("offset"))
    hour = int(parts.get("hour") or 0)
    if parts.get("ampm"):
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if parts["ampm"].startswith("p") else 0)
    try:
        local = datetime(
            int(parts["year"]),
            month,
            int(parts["day"]),
            hour,
            int(parts.get("minute") or 0),
            int(parts.get("second") or 0),
            tzinfo=zone,
        )
    except ValueError:
        return None
    return local.astimezone(UTC)


def _zone(name: str | None, offset: str | None) -> timezone:
    """The zone a date names; UTC when it names none or one this module does not know."""
    hours = 0.0
    if name:
        hours = _offset_hours(name) if name[0] in "+-" else ZONE_HOURS.get(name, 0.0)
    if offset:  # "GMT+3", "UTC-05:00"
        hours += _offset_hours(offset)
    return timezone(timedelta(hours=hours))


def _offset_hours(offset: str) -> float:
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    hours = int(digits[:2] if len(digits) > 2 else digits)
    minutes = int(digits[2:]) if len(digits) > 2 else 0
    return sign * (hours + minutes / 60)


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _plausible(moment: datetime, now: datetime) -> bool:
    return moment.year >= EARLIEST_YEAR and moment <= now + LATEST_AHEAD


WHEN_FORMS = (
    "2015-03-20, 2015-03, 2015, March 2015, today, yesterday, last week, last month, last year, "
    "or an age such as 7d, 2w, 6m, 1y"
)
AGE = re.compile(
    r"(?P<count>\d{1,4})\s*(?P<unit>d|day|days|w|wk|week|weeks|m|mo|month|months|y|yr|year|years)"
)
MONTH_YEAR = re.compile(rf"{MONTH},?\s+{YEAR}")
ISO_MONTH = re.compile(r"(?P<year>\d{4})-(?P<month>\d{1,2})")
LAST = {"last week": "1w", "last month": "1m", "last year": "1y"}


def parse_when(text: str, *, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The period a ``--since``/``--until`` value names, as (first, last) UTC instants.

    A calendar form names a period (``2015`` is the whole year, ``March 2015``
    the month, ``2015-03-20`` the day); a relative form names the day that
    long before ``now`` (``7d`` and ``last week``: the day seven days ago).
    ``--since`` takes the first instant and ``--until`` the last. Raises
    ``ValueError`` listing the accepted forms when ``text`` is none of them.

    >>> start, end = parse_when("March 2015")
    >>> start.isoformat(), end.isoformat()
    ('2015-03-01T00:00:00+00:00', '2015-03-31T23:59:59.999999+00:00')
    """
    now = now or datetime.now(UTC)
    cleaned = " ".join(text.strip().lower().split())
    period = _calendar_period(cleaned, now) or _relative_day(LAST.get(cleaned, cleaned), now)
    if period is None:
        raise ValueError(f"{text!r} is not a date this tool understands; use {WHEN_FORMS}.")
    return period


def _calendar_period(text: str, now: datetime) -> tuple[datetime, datetime] | None:
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    if text in ("today", "yesterday"):
        start = today - timedelta(days=1 if text == "yesterday" else 0)
        return start, start + timedelta(days=1) - timedelta(microseconds=1)
    if re.fullmatch(r"\d{4}", text):
        return _span(int(text), 1, int(text) + 1, 1)
    match = ISO_MONTH.fullmatch(text) or MONTH_YEAR.fullmatch(text)
    if match:
        month_text = match["month"]
        month = int(month_text) if month_text.isdigit() else MONTHS.get(month_text.rstrip("."))
        if month is None or not 1 <= month <= 12:
            return None
        year = int(match["year"])
        return _span(year, month, year + month // 12, month % 12 + 1)
    day = parse_date(text, now=now)
    if day is None:
        return None
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1) - timedelta(microseconds=1)


def _span(year: int, month: int, next_year: int, next_month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=UTC)
    return start, datetime(next_year, next_month, 1, tzinfo=UTC) - timedelta(microseconds=1)


def _relative_day(text: str, now: datetime) -> tuple[datetime, datetime] | None:
    match = AGE.fullmatch(text)
    if not match:
        return None
    count, unit = int(match["count"]), match["unit"][0]
    if unit in "dw":
        instant = now - timedelta(days=count * (7 if unit == "w" else 1))
    else:
        months = count * (12 if unit == "y" else 1)
        year, month = divmod(now.year * 12 + now.month - 1 - months, 12)
        if year < 1:
            return None
        instant = now.replace(year=year, month=month + 1, day=min(now.day, _days_in(year, month + 1)))
    start = datetime(instant.year, instant.month, instant.day, tzinfo=UTC)
    return start, start + timedelta(days=1) - timedelta(microseconds=1)


def _days_in(year: int, month: int) -> int:
    following = datetime(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day
