"""A trend drawn two ways: rows of Unicode blocks for a terminal, and an SVG bar chart for the web page.

Both draw the same numbers from a :class:`~searchidx.searching.trends.Trend`; the SVG
needs no script and no inline style (the page's Content-Security-Policy
allows neither). Inline in the chart's page (``/chart``) its colours are
classes of the page's stylesheet, each bar has a ``<title>`` with its
numbers, and a table with the same figures is beside it for screen readers
and copying. As an image of its own (``/chart.svg``, which the search page
shows) it cannot use the page's stylesheet: the colours are attributes, and
the legend and the top words are drawn under the bars.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from html import escape

from searchidx.errors import plural, terminal_safe
from searchidx.results import Period, Series, Trend

BLOCKS = " ▏▎▍▌▋▊▉█"
BAR_WIDTH = 24
# Series colours, as classes of searchidx.css (the eighth query reuses the first colour).
SERIES_CLASSES = ("s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7")
CHART_WIDTH = 720
CHART_HEIGHT = 240
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_BOTTOM, MARGIN_TOP = 52, 32, 28, 10
# The share of a period without any dated article: undefined, not 0%.
NO_SHARE = "–"
# The chart as an image of its own: the colours of searchidx.css (s0..s7, axis, grid, tick, muted text).
IMAGE_PAINT = {
    "s0": 'fill="#0b57a4"', "s1": 'fill="#c2410c"', "s2": 'fill="#15803d"', "s3": 'fill="#7e22ce"',
    "s4": 'fill="#b45309"', "s5": 'fill="#0e7490"', "s6": 'fill="#be123c"', "s7": 'fill="#4d7c0f"',
    "axis": 'stroke="#8a8a8a" stroke-width="1"',
    "grid": 'stroke="#d8d8d8" stroke-width="1" stroke-dasharray="3 3"',
    "tick": 'font-size="12" fill="#555"',
    "text": 'font-size="13" fill="#1b1b1b"',
    "muted": 'font-size="13" fill="#555"',
}  # fmt: skip
IMAGE_FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"
LINE_HEIGHT = 20  # a line of the image's legend
LINE_CHARS = 100  # characters of a line of the image's legend, at most (13 px text in 720 px)
QUERY_CHARS = 40  # characters of a query in the image's legend, at most


def bar(value: float | None, highest: float, width: int = BAR_WIDTH) -> str:
    """``value`` as a bar of Unicode blocks, ``width`` characters for ``highest`` (eighths of a block).

    No value (the share of a period without any article) is no bar.
    """
    if value is None or highest <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / highest * width * 8))
    return BLOCKS[-1] * (eighths // 8) + (BLOCKS[eighths % 8] if eighths % 8 else "")


def percent(share: float | None) -> str:
    """A share (0 to 1) as a percentage with two significant decimals for small ones; ``None`` as a dash."""
    if share is None:
        return NO_SHARE
    if share == 0:
        return "0%"
    return f"{share * 100:.1f}%" if share >= 0.001 else f"{share * 100:.2f}%"


def trend_text(trend: Trend, *, by_share: bool = False, colored: bool = False) -> str:
    """The trend as text: a header per series, one row per period with a bar each, then top words."""
    several = len(trend.series) > 1
    lines = [
        _series_header(number, series, several, trend.counted) for number, series in enumerate(trend.series)
    ]
    if not trend.periods:
        lines.append("no dated matches to chart")
    values = plotted(trend, by_share)
    highest = highest_of(values)
    width = BAR_WIDTH if len(trend.series) == 1 else max(8, BAR_WIDTH // len(trend.series))
    label_width = max((len(period.label) for period in trend.periods), default=0)
    for number, period in enumerate(trend.periods):
        cells = []
        for series_number, series in enumerate(trend.series):
            drawn = bar(values[series_number][number], highest, width).ljust(width)
            if colored:
                drawn = f"\x1b[{31 + series_number % 6}m{drawn}\x1b[0m"
            count, share = series.counts[number], series.shares[number]
            cells.append(f"{drawn} {count:>6,} {percent(share):>6}")
        lines.append(f"{period.label:<{label_width}}  " + "   ".join(cells))
    if trend.periods:
        lines.append(f"by {trend.unit}; % = share of all dated {trend.counted} in the {trend.unit}")
    if note := no_share_note(trend):
        lines.append(note)
    for number, series in enumerate(trend.series):
        lines.extend(_described(number, series, several))
    return "\n".join(lines)


def plotted(trend: Trend, by_share: bool) -> list[tuple[float | None, ...]]:
    """Each series' values as drawn: its shares (``None`` for a period without any article) or its counts."""
    return [series.shares if by_share else tuple(map(float, series.counts)) for series in trend.series]


def highest_of(values: list[tuple[float | None, ...]]) -> float:
    """The highest value drawn (0 when there is none)."""
    return max((value for row in values for value in row if value is not None), default=0.0)


def no_share_note(trend: Trend) -> str:
    """What the dash means, when some period of the trend has no dated article at all; else ``""``."""
    if 0 not in trend.articles:
        return ""
    return f"{NO_SHARE} : no dated article in the archive that {trend.unit}, so no share"


def _series_header(number: int, series: Series, several: bool, counted: str) -> str:
    mark = f"[{number + 1}] " if several else ""
    undated = f", {series.undated:,} without a date (not charted)" if series.undated else ""
    searched = f" (searched as: {series.searched})" if series.searched != series.query else ""
    found = (
        plural(series.total, "matching story", "matching stories")
        if counted == "stories"
        else plural(series.total, "matching article")
    )
    return terminal_safe(f"{mark}{series.query}: {found}{undated}{searched}")


def _described(number: int, series: Series, several: bool) -> list[str]:
    prefix = f"[{number + 1}] " if several else ""
    lines = []
    if series.top_words:
        lines.append(
            terminal_safe(f"{prefix}top words: " + ", ".join(word.word for word in series.top_words))
        )
    if series.top_sources:
        shown = ", ".join(f"{source} {count:,}" for source, count in series.top_sources)
        lines.append(terminal_safe(f"{prefix}top sources: {shown}"))
    return lines


def trend_svg(trend: Trend, *, by_share: bool = False) -> str:
    """The trend as an inline SVG bar chart (grouped bars, one colour per query), with a title per bar."""
    parts = [
        f'<svg class="chart" viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" role="img" '
        f'aria-labelledby="chart-title" preserveAspectRatio="xMinYMin meet">',
        f'<title id="chart-title">{escape(_chart_title(trend, by_share))}</title>',
        *_bars(trend, by_share, _classed),
        "</svg>",
    ]
    return "".join(parts)


def image_height(queries: int) -> int:
    """The height of :func:`trend_image` for ``queries`` queries: the bars, two lines a query, and a note."""
    return CHART_HEIGHT + LINE_HEIGHT * (2 * queries + 1)


def trend_image(trend: Trend, *, by_share: bool = False) -> str:
    """The trend as an SVG image of its own (``/chart.svg``): the bars, then per query its colour, its
    dated (and undated) matches and its top words, then what a dash means, in :func:`image_height`.

    The colours are attributes (:data:`IMAGE_PAINT`): an image cannot use the page's stylesheet.
    """
    height = image_height(len(trend.series))
    parts = [_image_head(height), f"<title>{escape(_chart_title(trend, by_share))}</title>"]
    if trend.periods:
        parts.extend(_bars(trend, by_share, _painted))
    else:
        y = MARGIN_TOP + (CHART_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM) / 2
        parts.append(
            f'<text x="{MARGIN_LEFT}" y="{y:.1f}" {IMAGE_PAINT["muted"]}>No dated matches to chart.</text>'
        )
    y = CHART_HEIGHT + LINE_HEIGHT - 6
    for number, series in enumerate(trend.series):
        paint = IMAGE_PAINT[SERIES_CLASSES[number % len(SERIES_CLASSES)]]
        undated = f", {series.undated:,} without a date (not charted)" if series.undated else ""
        query = _shortened(series.query, QUERY_CHARS)
        legend = _shortened(f"{query}: {series.dated:,} dated{undated}", LINE_CHARS - 3)
        parts.append(f'<rect x="{MARGIN_LEFT}" y="{y - 10}" width="11" height="11" {paint}/>')
        parts.append(f'<text x="{MARGIN_LEFT + 17}" y="{y}" {IMAGE_PAINT["text"]}>{escape(legend)}</text>')
        y += LINE_HEIGHT
        if series.top_words:
            line = _listed("top words: ", [word.word for word in series.top_words], LINE_CHARS)
            parts.append(f'<text x="{MARGIN_LEFT + 17}" y="{y}" {IMAGE_PAINT["muted"]}>{escape(line)}</text>')
        y += LINE_HEIGHT
    if note := no_share_note(trend):
        parts.append(f'<text x="{MARGIN_LEFT}" y="{y}" {IMAGE_PAINT["muted"]}>{escape(note)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def message_image(message: str) -> str:
    """An SVG image that says ``message`` (why a chart is not drawn), in lines of :data:`LINE_CHARS`."""
    lines = textwrap.wrap(message, LINE_CHARS) or [""]
    parts = [_image_head(LINE_HEIGHT * len(lines) + 12), f"<title>{escape(message)}</title>"]
    parts += [
        f'<text x="4" y="{LINE_HEIGHT * (number + 1)}" {IMAGE_PAINT["muted"]}>{escape(line)}</text>'
        for number, line in enumerate(lines)
    ]
    parts.append("</svg>")
    return "".join(parts)


def _image_head(height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_WIDTH}" height="{height}" '
        f'viewBox="0 0 {CHART_WIDTH} {height}" font-family="{IMAGE_FONT}">'
    )


def _shortened(text: str, most: int) -> str:
    """``text``, cut to ``most`` characters with an ellipsis when longer."""
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"


def _listed(head: str, words: list[str], most: int) -> str:
    """``head`` and as many of ``words`` as fit in ``most`` characters, comma-separated (``…`` when cut)."""
    line = head + (words[0] if words else "")
    for number, word in enumerate(words[1:], start=1):
        more = number < len(words) - 1
        if len(line) + 2 + len(word) + (3 if more else 0) > most:
            return line + ", …"
        line += ", " + word
    return line


def _classed(name: str) -> str:
    """How the inline chart paints ``name``: a class of the page's stylesheet."""
    return f'class="{name}"'


def _painted(name: str) -> str:
    """How the chart as an image paints ``name``: with attributes."""
    return IMAGE_PAINT[name]


def _bars(trend: Trend, by_share: bool, paint: Callable[[str], str]) -> list[str]:
    """The axis, the bars (a ``<title>`` each) and the period labels, painted by ``paint``."""
    values = plotted(trend, by_share)
    highest = highest_of(values)
    plot_width = CHART_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = CHART_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    slot = plot_width / max(len(trend.periods), 1)
    width = max(slot * 0.8 / max(len(trend.series), 1), 1.0)
    parts = _axis(highest, by_share, plot_height, plot_width, paint)
    for number, period in enumerate(trend.periods):
        if by_share and not trend.articles[number]:  # no share to draw, not a share of 0
            parts.append(_no_data_mark(period, MARGIN_LEFT + number * slot + slot / 2, plot_height, paint))
            continue
        left = MARGIN_LEFT + number * slot + slot * 0.1
        for series_number, series in enumerate(trend.series):
            value = values[series_number][number] or 0.0
            height = value / highest * plot_height if highest else 0
            top = MARGIN_TOP + plot_height - height
            count, share = series.counts[number], percent(series.shares[number])
            tip = f"{series.query}, {period.label}: {count:,} ({share})"
            css = SERIES_CLASSES[series_number % len(SERIES_CLASSES)]
            parts.append(
                f'<rect {paint(css)} x="{left + series_number * width:.1f}" y="{top:.1f}" '
                f'width="{width:.1f}" height="{height:.1f}"><title>{escape(tip)}</title></rect>'
            )
    parts.extend(_period_labels(trend, slot, paint))
    return parts


def _no_data_mark(period: Period, x: float, plot_height: float, paint: Callable[[str], str]) -> str:
    """A dash on the axis where a chart of shares has no bar: the period has no dated article at all."""
    tip = f"{period.label}: no dated article in the archive"
    return (
        f'<text {paint("tick")} x="{x:.1f}" y="{MARGIN_TOP + plot_height - 4:.1f}" text-anchor="middle">'
        f"{NO_SHARE}<title>{escape(tip)}</title></text>"
    )


def _chart_title(trend: Trend, by_share: bool) -> str:
    what = f"share of all dated {trend.counted}" if by_share else f"matching {trend.counted}"
    return f"{what} per {trend.unit}: " + "; ".join(
        f"{series.query} ({series.dated:,} dated)" for series in trend.series
    )


def _axis(
    highest: float, by_share: bool, plot_height: float, plot_width: float, paint: Callable[[str], str]
) -> list[str]:
    bottom = MARGIN_TOP + plot_height
    right = MARGIN_LEFT + plot_width
    parts = [f'<line {paint("axis")} x1="{MARGIN_LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}"/>']
    for fraction in (0.5, 1.0):
        y = MARGIN_TOP + plot_height * (1 - fraction)
        value = highest * fraction
        label = percent(value) if by_share else (f"{value:,.0f}" if value >= 10 else f"{value:g}")
        parts.append(f'<line {paint("grid")} x1="{MARGIN_LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}"/>')
        parts.append(
            f'<text {paint("tick")} x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>'
        )
    return parts


def _period_labels(trend: Trend, slot: float, paint: Callable[[str], str]) -> list[str]:
    """A label under the first period and then about every sixth, so labels never overlap."""
    every = max(1, -(-len(trend.periods) // 6))
    y = CHART_HEIGHT - 8
    return [
        f'<text {paint("tick")} x="{MARGIN_LEFT + number * slot + slot / 2:.1f}" y="{y}" '
        f'text-anchor="middle">{escape(period.label)}</text>'
        for number, period in enumerate(trend.periods)
        if number % every == 0
    ]


def trend_table(trend: Trend) -> str:
    """The chart's numbers as an HTML table: one row per period, a count and a share per query."""
    heads = "".join(
        f'<th scope="col">{escape(series.query)}</th><th scope="col">share</th>' for series in trend.series
    )
    rows = []
    for number, period in enumerate(trend.periods):
        cells = "".join(
            f"<td>{series.counts[number]:,}</td><td>{percent(series.shares[number])}</td>"
            for series in trend.series
        )
        rows.append(
            f'<tr><th scope="row">{escape(period.label)}</th>{cells}<td>{trend.articles[number]:,}</td></tr>'
        )
    return (
        f'<table class="trend-table"><thead><tr><th scope="col">{escape(trend.unit)}</th>{heads}'
        f'<th scope="col">all dated {trend.counted}</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )
