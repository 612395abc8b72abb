"""The HTML of ``searchidx serve``: the search page, the chart's page, the document view and the watches.

Every piece of document text is HTML-escaped before ``<mark>`` tags are put
around the matched words; a URL becomes a link only when it is http(s). The
pages work without JavaScript and load nothing but the server's stylesheet (and
the search page its chart, an image the server draws).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from urllib.parse import quote, urlencode, urlsplit

from searchidx.errors import plural
from searchidx.outputs.charts import (
    CHART_WIDTH,
    SERIES_CLASSES,
    image_height,
    no_share_note,
    trend_svg,
    trend_table,
)
from searchidx.outputs.rendering import showing_text
from searchidx.results import NO_DATE, NO_SOURCE, WATCH_NAME, Article, Hit, MarkedText, Results, Trend, Watch

PAGE_LINKS = 7  # page numbers shown around the current one, at most
FACET_LINKS = 12
CURRENT = ' aria-current="true"'
PERIOD_CHOICES = (("", "Auto"), ("day", "Day"), ("week", "Week"), ("month", "Month"), ("year", "Year"))


@dataclass(frozen=True)
class PageState:
    """What the search page shows, all of it in its URL: ``/?q=putin+parade&since=2015&page=2``."""

    q: str = ""
    since: str = ""
    until: str = ""
    source: str = ""
    sort: str = "relevance"
    page: int = 1
    undated: bool = False
    exact: bool = False
    vs: tuple[str, ...] = ()
    by: str = ""
    share: bool = False
    all_versions: bool = False  # every version of a story listed, not the best one alone
    mode: str = ""  # "" = the index's default (hybrid when it has vectors)
    modes: tuple[str, ...] = ("keyword",)  # what the index can search by (not in the URL)

    def url(self, path: str = "/", **changes: str | int | bool | tuple[str, ...]) -> str:
        """The page's URL with ``changes``; empty and default values are left out, the page reset to 1.

        A new query is searched with corrections again (``exact`` dropped).
        """
        state = replace(self, **{"page": 1, "exact": False, **changes})  # type: ignore[arg-type]
        params: list[tuple[str, str | int]] = [
            (name, int(value) if isinstance(value, bool) else value)
            for name in (
                "q",
                "since",
                "until",
                "undated",
                "source",
                "sort",
                "mode",
                "page",
                "exact",
                "by",
                "share",
                "all_versions",
            )
            if (value := getattr(state, name)) != getattr(DEFAULT_STATE, name)
        ]
        params[1:1] = [("vs", query) for query in state.vs]
        return f"{path}?" + urlencode(params) if params else path


def e(text: object) -> str:
    """Text made safe for HTML content and attribute values."""
    return html.escape(str(text), quote=True)


def safe_link(url: str | None) -> str | None:
    """``url`` when it is an http(s) URL a browser can follow safely, else ``None``."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def layout(title: str, body: str) -> str:
    """A whole page."""
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{e(title)}</title>\n"
        '<link rel="stylesheet" href="/static/searchidx.css">\n'
        '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">\n</head>\n<body>\n'
        f"{body}\n</body>\n</html>\n"
    )


DEFAULT_STATE = PageState()


def hidden_inputs(state: PageState, names: tuple[str, ...]) -> str:
    """Hidden fields carrying the page state's ``names`` that differ from the defaults into a form."""
    return "".join(
        f'<input type="hidden" name="{name}" value="{e(int(value) if value is True else value)}">'
        for name in names
        if (value := getattr(state, name)) and value != getattr(DEFAULT_STATE, name)
    )


def search_box(state: PageState) -> str:
    """The header: the archive's name and the one search box."""
    hidden = hidden_inputs(state, ("since", "until", "undated", "source", "sort", "mode"))
    return (
        '<header class="top"><a class="home" href="/">searchidx</a>'
        '<form class="search" role="search" action="/" method="get">'
        '<label for="q" class="visually-hidden">Search the archive</label>'
        f'<input id="q" name="q" type="search" value="{e(state.q)}" placeholder="Search the archive" '
        'autocomplete="off" autofocus>'
        f'{hidden}<button type="submit">Search</button></form></header>'
    )


def intro_page(state: PageState, documents: int, error: str = "") -> str:
    """The search page before a search (or after one that could not run: ``error`` says why)."""
    intro = f'<p class="intro">Search {documents:,} articles. {e(error)}</p>'
    return layout("searchidx", search_box(state) + f'<main class="empty">{intro}</main>')


def search_page(state: PageState, results: Results) -> str:
    """The search page: the box, the filters and facets, the chart over time, the hits, the page links.

    The chart is an image of its own (``/chart.svg``), drawn by its own request: the page costs what its
    search costs (see :func:`chart_link`).
    """
    chart = chart_link(state, results) if results.total and not state.undated and state.page == 1 else ""
    main = (
        f'<main class="results-page">{filters(state, results)}'
        f'<section class="results" aria-label="Results">{mode_switch(state, results)}'
        f"{summary(state, results)}{chart}"
        f"{hit_list(state, results)}{pagination(state, results)}{watch_form(state)}</section></main>"
    )
    return layout(f"{state.q} – searchidx", search_box(state) + main)


def watch_form(state: PageState) -> str:
    """ "Watch this search": saves the page's query and filters as a watch (its news: ``/watches``)."""
    hidden = hidden_inputs(state, ("q", "since", "until", "undated", "source"))
    suggested = "-".join(re.findall(r"[A-Za-z0-9]+", state.q.lower()))[:40] or "search"
    return (
        '<form class="watch" action="/watches" method="post">'
        f'<label for="watch-name">Watch this search as</label>'
        f'<input id="watch-name" name="name" value="{e(suggested)}" pattern="{e(WATCH_NAME)}" required '
        'title="Letters, digits, ., _ or -, up to 64">'
        f'{hidden}<button type="submit">Watch this search</button></form>'
    )


def watches_page(watches: list[Watch], counts: dict[str, int], error: str = "") -> str:
    """The watches (``/watches``): each one's query (a link to its search), new articles, feed, removal."""
    problem = f'<p class="note" role="alert">{e(error)}</p>' if error else ""
    items = "".join(_watch_item(watch, counts.get(watch.name, 0)) for watch in watches)
    listing = f'<ul class="watches">{items}</ul>' if watches else (
        '<p class="note">No watches yet: search, then "Watch this search".</p>')  # fmt: skip
    main = (
        '<main class="watches-page"><h1>Watches</h1>'
        "<p>Each watch reports the matching articles that later ingests bring: "
        "<code>searchidx watch news</code> lists them, and each has a feed for a feed reader.</p>"
        f"{problem}{listing}</main>"
    )
    return layout("Watches – searchidx", search_box(PageState()) + main)


def watch_state(watch: Watch) -> PageState:
    """The search page's state of a watch's query and filters."""
    get = watch.option
    return PageState(q=watch.query, since=get("since") or "", until=get("until") or "",
                     source=get("source") or "", undated=get("undated") == "true")  # fmt: skip


def _watch_item(watch: Watch, new: int) -> str:
    search = watch_state(watch)
    filters = ", ".join(f"{key} {value}" for key, value in watch.options)
    return (
        f'<li><h2>{e(watch.name)}</h2><p><a href="{e(search.url())}">{e(watch.query)}</a>'
        f"{f' ({e(filters)})' if filters else ''}</p>"
        f"<p>{new:,} new article{'' if new == 1 else 's'} not reported yet · "
        f'<a href="/watch/{e(watch.name)}.atom" type="application/atom+xml">Feed</a></p>'
        '<form action="/watches" method="post"><input type="hidden" name="action" value="remove">'
        f'<input type="hidden" name="name" value="{e(watch.name)}"><button type="submit">Remove</button>'
        "</form></li>"
    )


def chart_link(state: PageState, results: Results) -> str:
    """Attention over time on the search page: a compare box, the chart as an image, a link to its page, CSV.

    The image (``/chart.svg``) is drawn by its own request (no script needed), with the legend and the top
    words; its alternative text names what it shows, and the chart's page (``/chart``), behind a link,
    has the same chart with its numbers in a table and the top words as text. When every match lacks a
    date, the page says so without an image.
    """
    queries = " and ".join(query for query in (state.q, *state.vs))
    if _only_undated(results) and not state.vs:
        chart = '<p class="note">No dated matches to chart.</p>'
    else:
        what = "share of all dated articles" if state.share else "articles"
        period = state.by or "period"
        alt = f"Bar chart: the {what} matching {queries} per {period}; its numbers are on the chart's page."
        source = state.url("/chart.svg", sort=DEFAULT_STATE.sort, mode="")
        chart = (
            f'<figure><img class="chart" src="{e(source)}" width="{CHART_WIDTH}" '
            f'height="{image_height(1 + len(state.vs))}" alt="{e(alt)}"></figure>'
        )
    numbers = (
        f'<p class="numbers"><a href="{e(state.url("/chart"))}">The chart\'s numbers, per period, and the '
        "words most used in the matches</a></p>"
    )
    return (
        f'<section class="trend" aria-label="Matches over time">{compare_box(state)}{chart}{numbers}'
        f"{_export_link(state)}</section>"
    )


def _only_undated(results: Results) -> bool:
    """Whether every match lacks a date, as the page's year counts say."""
    years = results.facets.get("year", {})
    return bool(years) and set(years) == {NO_DATE}


def _export_link(state: PageState) -> str:
    href = e(state.url("/export.csv", vs=(), by="", share=False))
    return f'<p class="export"><a href="{href}" download>Download every hit as CSV</a></p>'


def chart_page(state: PageState, trend: Trend | None, note: str = "") -> str:
    """The chart's page (``/chart``): the chart over time inline, its legend, its numbers, its top words.

    ``note`` says why the chart is missing, when ``trend`` is ``None`` (the server was too busy to draw it).
    """
    section = (
        trend_section(state, trend) if trend is not None else f'<p class="note chart-note">{e(note)}</p>'
    )
    main = (
        f'<main class="chart-page"><p class="back"><a href="{e(state.url())}">Back to results</a></p>'
        f"<h1>Matches over time</h1>{section}</main>"
    )
    return layout(f"{state.q} over time – searchidx", search_box(state) + main)


def trend_section(state: PageState, trend: Trend) -> str:
    """Attention over time: a compare box, the chart (SVG) with its legend, its numbers, top words, CSV."""
    legend = "".join(
        f'<li><span class="swatch"><svg viewBox="0 0 1 1" aria-hidden="true"><rect class="{css}" width="1" '
        f'height="1"/></svg></span>{e(series.query)}: {series.dated:,} dated'
        f"{f', {series.undated:,} without a date (not charted)' if series.undated else ''}</li>"
        for series, css in zip(trend.series, SERIES_CLASSES, strict=False)
    )
    chart = (
        f"<figure>{trend_svg(trend, by_share=state.share)}"
        f'<figcaption><ul class="legend">{legend}</ul>{_no_share_legend(trend)}</figcaption></figure>'
        if trend.periods
        else '<p class="note">No dated matches to chart.</p>'
    )
    numbers = (
        f"<details open><summary>The numbers, per {e(trend.unit)}</summary>"
        f'<div class="table-scroll">{trend_table(trend)}</div></details>'
        if trend.periods
        else ""
    )
    words = "".join(
        f'<p class="words">Words most used in <em>{e(series.query)}</em> matches: '
        f"{e(', '.join(word.word for word in series.top_words))}</p>"
        for series in trend.series
        if series.top_words
    )
    return (
        f'<section class="trend" aria-label="Matches over time">{compare_box(state, "/chart")}{chart}'
        f"{words}{numbers}{_export_link(state)}</section>"
    )


def _no_share_legend(trend: Trend) -> str:
    """The legend's line on what the dash of a period without any dated article means (none without one)."""
    note = no_share_note(trend)
    return f'<p class="legend">{e(note)}</p>' if note else ""


def compare_box(state: PageState, path: str = "/") -> str:
    """A form to chart the query beside another, choose the period and draw shares instead of counts.

    It goes to ``path``: the search page, or the chart's page.
    """
    kept = hidden_inputs(state, ("q", "since", "until", "source", "sort", "mode"))
    # After the box, so that the query in it stays the first one compared (and keeps its colour).
    others = "".join(f'<input type="hidden" name="vs" value="{e(query)}">' for query in state.vs[1:])
    units = "".join(
        f'<option value="{value}"{" selected" if state.by == value else ""}>{label}</option>'
        for value, label in PERIOD_CHOICES
    )
    shown = state.vs[0] if state.vs else ""
    checked = " checked" if state.share else ""
    return (
        f'<form class="compare" action="{path}" method="get" aria-label="Compare over time">{kept}'
        f'<label for="vs">Compare with</label><input id="vs" name="vs" type="search" value="{e(shown)}" '
        f'placeholder="another query">{others}'
        f'<label for="by">Per</label><select id="by" name="by">{units}</select>'
        f'<label><input type="checkbox" name="share" value="1"{checked}> share of all articles</label>'
        '<button type="submit">Chart</button></form>'
    )


MODE_LABELS = (("hybrid", "Words and meaning"), ("keyword", "Words only"), ("semantic", "Meaning only"))


def mode_switch(state: PageState, results: Results) -> str:
    """Links to search by the words, the meaning or both; only on an index with vectors."""
    if len(state.modes) < 2:
        return ""
    links = " · ".join(
        f'<a href="{e(state.url(mode=mode))}"{CURRENT if results.mode == mode else ""}>{label}</a>'
        for mode, label in MODE_LABELS
    )
    return f'<nav class="modes" aria-label="Search by">{links}</nav>'


def summary(state: PageState, results: Results) -> str:
    """``showing 1-10 of N in X ms``, and what the reader should know about the results."""
    parts = []
    if results.hits:
        shown = f"{showing_text(results)} in {results.took * 1000:.0f} ms"
        if results.stories is not None and results.stories != results.total:
            other = "one per story" if state.all_versions else "every version"
            shown += f' · <a href="{e(state.url(all_versions=not state.all_versions))}">show {other}</a>'

    elif results.total:
        shown = (f"Page {state.page} is past the last page: {results.total:,} matches fill "
                 f'<a href="{e(state.url(page=results.pages))}">{results.pages:,} pages</a>.')  # fmt: skip
    elif results.mode != "keyword":
        shown = f"No article holds the words <strong>{e(state.q)}</strong>."
    else:
        shown = f"No articles match <strong>{e(state.q)}</strong>."
    parts.append(f'<p class="summary" role="status">{shown}</p>')
    parts += [f'<p class="note">{e(note)}</p>' for note in results.notes]
    if results.corrected and results.suggestion:
        fixed = e(state.url(q=results.suggestion))
        typed = e(state.url(q=state.q, exact=True))
        parts.append(
            f'<p class="suggestion">Showing results for <a href="{fixed}">{e(results.suggestion)}</a>. '
            f'Search instead for <a href="{typed}">{e(state.q)}</a>.</p>'
        )
    elif results.suggestion:
        link = e(state.url(q=results.suggestion))
        parts.append(f'<p class="suggestion">Did you mean <a href="{link}">{e(results.suggestion)}</a>?</p>')
    if results.approximate:
        parts.append('<p class="note">No exact matches; showing approximate matches.</p>')
    if results.undated_left_out:
        parts.append(f'<p class="note">{results.undated_left_out:,} matching articles have no date, so the '
                     f'date filter left them out (<a href="{e(state.url(since="", until=""))}">any date</a>).'
                     "</p>")  # fmt: skip
    return "".join(parts)


def hit_list(state: PageState, results: Results) -> str:
    """The hits as an ordered list, numbered from their rank; then, under a heading, what follows them."""
    # The stored copy marks the words that were searched: the correction, when there was one.
    marking = replace(state, q=results.suggestion) if results.corrected and results.suggestion else state
    items = "".join(hit_item(marking, hit) for hit in results)
    hits = f'<ol class="hits" start="{results.offset + 1}">{items}</ol>' if results.hits else ""
    if not results.following:
        return hits
    heading = (
        "Related articles: like the best matches, without the words"
        if results.related
        else "Found by meaning: near the query, without the words"
    )
    following = "".join(hit_item(marking, hit) for hit in results.following)
    return (
        f'{hits}<h2 class="related">{heading}</h2>'
        f'<ol class="hits" start="{results.following[0].rank}">{following}</ol>'
    )


def hit_item(state: PageState, hit: Hit) -> str:
    """One hit: title (to the article, else to the stored copy), date, source, snippet."""
    stored = document_url(hit.id, state.q)
    target = safe_link(hit.url) or stored
    title = MarkedText(hit.title or "(untitled)", hit.title_highlights if hit.title else ()).html()
    meta = ["no date"]
    if hit.date:
        meta = [f'<time datetime="{hit.date.date().isoformat()}">{hit.date:%Y-%m-%d}</time>']
    if hit.source:
        meta.append(f'<span class="source">{e(hit.source)}</span>')
    if hit.by_meaning:
        meta.append('<span class="meaning">found by meaning: none of the words</span>')
    meta.append(f'<a href="{e(stored)}">stored copy</a>')
    snippet = MarkedText(hit.snippet, hit.highlights).html()
    return (
        f'<li class="hit"><h2><a href="{e(target)}">{title}</a></h2>'
        f'<p class="meta">{" · ".join(meta)}</p><p class="snippet">{snippet}</p>'
        f"{versions_list(state, hit)}</li>"
    )


def versions_list(state: PageState, hit: Hit) -> str:
    """'and 2 other versions: site, site' under a hit, each a link (to its page, else its stored copy)."""
    if not hit.versions:
        return ""
    links = []
    for version in hit.versions:
        target = safe_link(version.url) or document_url(version.id, state.q)
        links.append(
            f'<a href="{e(target)}" title="{e(version.title)}">{e(version.source or "stored copy")}</a>'
        )
    said = plural(len(hit.versions), "other version")
    return f'<p class="versions">and {said}: {", ".join(links)}</p>'


def document_url(doc_id: str, query: str) -> str:
    """The document view of ``doc_id``, marking ``query``'s words (a URL: escape it to put it in HTML)."""
    return f"/doc/{quote(doc_id)}" + (f"?{urlencode({'q': query})}" if query else "")


def filters(state: PageState, results: Results) -> str:
    """Date range and sort (a form), facet counts by year and by source (links)."""
    sorts = "".join(
        f'<option value="{value}"{" selected" if state.sort == value else ""}>{label}</option>'
        for value, label in (("relevance", "Relevance"), ("-date", "Newest first"), ("date", "Oldest first"))
    )
    kept = hidden_inputs(state, ("q", "source", "mode"))
    form = (
        '<form class="filters" action="/" method="get" aria-label="Filters">'
        f'{kept}<label for="since">Since</label><input id="since" name="since" value="{e(state.since)}" '
        'placeholder="2015, 2015-03, last week">'
        f'<label for="until">Until</label><input id="until" name="until" value="{e(state.until)}" '
        'placeholder="2016, yesterday">'
        f'<label for="sort">Sort by</label><select id="sort" name="sort">{sorts}</select>'
        '<button type="submit">Apply</button></form>'
    )
    facets = facet_block(state, results)
    return f'<aside class="side" aria-label="Refine">{form}{facets}</aside>'


def facet_block(state: PageState, results: Results) -> str:
    """The year and source counts of the matches; each one a link that filters by it."""
    blocks = []
    years = results.facets.get("year", {})
    if years:
        dated = [(year, count) for year, count in years.items() if year != NO_DATE]
        links = [
            (f"{year} ({count:,})", state.url(since=year, until=year, undated=False),
             state.since == state.until == year)
            for year, count in sorted(dated, reverse=True)[:FACET_LINKS]
        ]  # fmt: skip
        if NO_DATE in years:
            links.append((f"{NO_DATE} ({years[NO_DATE]:,})", state.url(since="", until="", undated=True),
                          state.undated))  # fmt: skip
        clear = (
            state.url(since="", until="", undated=False)
            if state.since or state.until or state.undated
            else ""
        )
        blocks.append(facet_list("Year", "year", links, clear))
    sources = results.facets.get("source", {})
    if sources:
        links = [
            (f"{source} ({count:,})", state.url(source=source), state.source == source)
            for source, count in list(sources.items())[:FACET_LINKS]
            if source != NO_SOURCE  # articles without a URL: nothing to filter by
        ]
        blocks.append(facet_list("Source", "source", links, state.url(source="") if state.source else ""))
    return "".join(blocks)


def facet_list(title: str, name: str, links: list[tuple[str, str, bool]], clear: str) -> str:
    """One facet: a heading and its links, the chosen one marked as current."""
    items = "".join(
        f'<li><a href="{e(url)}"{CURRENT if current else ""}>{e(label)}</a></li>'
        for label, url, current in links
    )
    reset = f'<li><a class="clear" href="{e(clear)}">any {name}</a></li>' if clear else ""
    return f'<nav class="facet" aria-label="{title}"><h2>{title}</h2><ul>{items}{reset}</ul></nav>'


def pagination(state: PageState, results: Results) -> str:
    """Previous, numbered and next page links."""
    pages = max(1, -(-results.total // results.limit))
    if pages == 1:
        return ""
    current = state.page
    low = max(1, min(current - PAGE_LINKS // 2, pages - PAGE_LINKS + 1))
    links = []
    if current > 1:
        links.append(f'<a rel="prev" href="{e(state.url(page=current - 1))}">Previous</a>')
    for number in range(low, min(pages, low + PAGE_LINKS - 1) + 1):
        if number == current:
            links.append(f'<span aria-current="page">{number}</span>')
        else:
            links.append(f'<a href="{e(state.url(page=number))}">{number}</a>')
    if current < pages:
        links.append(f'<a rel="next" href="{e(state.url(page=current + 1))}">Next</a>')
    return f'<nav class="pages" aria-label="Pages">{"".join(links)}</nav>'


def document_page(article: Article, title: MarkedText, body: MarkedText, query: str) -> str:
    """One stored article in full, the query's words marked."""
    meta = [f"{article.date:%Y-%m-%d}" if article.date else "no date"]
    if article.source:
        meta.append(e(article.source))
    link = safe_link(article.url)
    original = f'<p class="original">Original: <a href="{e(link)}">{e(link)}</a></p>' if link else ""
    if article.url and not link:
        original = f'<p class="original">Original: {e(article.url)}</p>'
    paragraphs = "".join(f"<p>{part}</p>" for part in body.html().split("\n\n"))
    back = PageState(q=query).url() if query else "/"
    return layout(
        f"{article.title or '(untitled)'} – searchidx",
        search_box(PageState(q=query))
        + f'<main class="document"><p class="back"><a href="{e(back)}">Back to results</a></p>'
        f'<article><h1>{title.html() or "(untitled)"}</h1><p class="meta">{" · ".join(meta)}</p>'
        f'{original}{paragraphs}<p class="path">{e(article.path)}</p></article></main>',
    )


def error_page(status: str, message: str) -> str:
    """A page for a failed request: what happened, in one sentence."""
    main = f'<main class="error"><h1>{e(status)}</h1><p>{e(message)}</p></main>'
    return layout(f"{status} – searchidx", search_box(PageState()) + main)


def login_page(target: str, error: str = "") -> str:
    """The form that asks for the archive's secret once (then a cookie), and goes on to ``target``."""
    problem = f'<p class="note" role="alert">{e(error)}</p>' if error else ""
    main = (
        '<main class="login"><h1>This archive needs its secret</h1>'
        "<p>Ask the person who runs it for the secret; this browser will remember it for a week.</p>"
        f'{problem}<form class="login" action="/login" method="post">'
        '<label for="token">Secret</label>'
        '<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>'
        f'<input type="hidden" name="next" value="{e(target)}"><button type="submit">Open</button>'
        "</form></main>"
    )
    header = '<header class="top"><a class="home" href="/">searchidx</a></header>'
    return layout("Log in – searchidx", header + main)
