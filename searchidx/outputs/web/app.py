"""``searchidx serve``: the archive in a browser, and a JSON API for other programs.

A Falcon WSGI application served by waitress (both pure Python, without
dependencies of their own). The index is opened once; waitress answers
requests in several threads, each with its own searcher, which is reopened
when an ingest has committed since, so every request sees the last commit.

Routes: ``/`` (the search page, its state in the URL, with the query's
matches over time above the hits as an image, ``/chart.svg``, drawn by its own
request), ``/chart`` (the chart's page: the chart, its numbers and top words),
``/doc/<id>`` (one article with the
query's words marked), ``/export.csv`` (every hit of a query), ``/api/search``,
``/api/trend``, ``/api/doc/<id>``, ``/api/similar/<id>`` and ``/api/stats``
(JSON, as ``searchidx query --json`` and friends print it), ``/health`` (``ok``,
for monitors) and ``/login``. Errors are JSON under ``/api/`` and a page
elsewhere, never a traceback. ``HEAD`` is answered wherever ``GET`` is; a
parameter is given once (``q`` may repeat on ``/api/trend``, ``vs`` on the page).

What protects the server when it is shared (a secret, rate limits, a time
budget, a limit on costly requests, connection limits) is in
:mod:`searchidx.outputs.web.serving`. Remote clients never see the server's folders:
source paths are shown relative to the folder that holds every ingested file,
and the index folder by its name only.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs

import falcon

from searchidx import Index
from searchidx.errors import (
    ClusterError,
    DocumentNotFoundError,
    IndexDamagedError,
    IndexNotFoundError,
    NotAuthorizedError,
    QueryError,
    RateLimitedError,
    RequestRefusedError,
    SearchidxError,
    SearchTimeoutError,
    ServeError,
    ServerBusyError,
    TimeBudgetError,
    WatchNotFoundError,
)
from searchidx.outputs.atom import atom_feed
from searchidx.outputs.charts import message_image, trend_image
from searchidx.outputs.exports import csv_text, hit_rows
from searchidx.outputs.rendering import article_json, results_json, stats_json, trend_json
from searchidx.outputs.web.pages import (
    PageState,
    chart_page,
    document_page,
    error_page,
    intro_page,
    login_page,
    search_page,
    watch_state,
    watches_page,
)
from searchidx.outputs.web.serving import (
    SESSION_COOKIE,
    SESSION_DAYS,
    AccessLog,
    Cache,
    Gate,
    Generation,
    Kept,
    Limits,
    PublicPaths,
    Released,
    ServeSettings,
    check_exposure,
    index_name,
    is_costly,
    raise_open_file_limit,
    safe_next,
    session_value,
    summarise_queue_warnings,
    today_key,
    waitress_options,
)
from searchidx.results import (
    MAX_API_LIMIT,
    MAX_HITS,
    MAX_QUERY_CHARS,
    MAX_TREND_QUERIES,
    SORTS,
    UNITS,
    Article,
    Hit,
    Results,
    Trend,
    Unit,
)

T = TypeVar("T")
PAGE_FACETS = ("year", "source")
PAGE_TOP_WORDS = 8
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
CHART_GRACE = 5.0  # the page's chart may take this many budgets (in the background, kept for a reload)
CHART_IMAGE = "/chart.svg"
SVG = "image/svg+xml"
# Why the chart is not drawn now, by what stopped it.
CHART_LEFT_OUT: list[tuple[type[SearchidxError], str]] = [
    (ServerBusyError, "The chart over time is left out: the server is busy. Reload the page in a moment."),
    (TimeBudgetError, "The chart over time is still being drawn. Reload the page in a moment to see it."),
    (SearchTimeoutError, "The chart over time is left out: it takes longer to draw than the server allows."),
]
EXPORT_CHUNK_BYTES = 64 * 1024  # the export is sent in pieces of about this size
LOGIN_BYTES = 4096  # the login form's body, at most
FORM_BYTES = 8192  # a watch's form's body, at most
STATUS_OF: list[tuple[type[SearchidxError], str]] = [
    (NotAuthorizedError, falcon.HTTP_401),
    (RateLimitedError, falcon.HTTP_429),
    (ServerBusyError, falcon.HTTP_503),
    (TimeBudgetError, falcon.HTTP_504),
    (SearchTimeoutError, falcon.HTTP_504),
    (QueryError, falcon.HTTP_400),
    (DocumentNotFoundError, falcon.HTTP_404),
    (WatchNotFoundError, falcon.HTTP_404),
    (IndexNotFoundError, falcon.HTTP_503),
    (IndexDamagedError, falcon.HTTP_500),
    (ClusterError, falcon.HTTP_503),  # the cluster is unreachable or lost shards: try again later
]


def create_app(
    index: str | os.PathLike[str] | None = None, settings: ServeSettings | None = None
) -> falcon.App[Any, Any]:
    """The WSGI application over the index at ``index`` (opened now: :class:`IndexNotFoundError` if none).

    ``settings`` give the secret, the rate limit, the time budget and the
    limit on costly requests (by default: no secret, no rate limit).
    """
    site = _Site(Index(index), settings or ServeSettings())
    middleware: list[Any] = [_SecurityHeaders(), site.gate]
    if site.settings.access_log:
        middleware.insert(0, AccessLog())
    app = falcon.App(middleware=middleware)
    app.req_options.keep_blank_qs_values = False
    routes: dict[str, Any] = {
        "/": _SearchPage(site),
        "/chart": _ChartPage(site),
        CHART_IMAGE: _ChartImage(site),
        "/doc/{doc_id}": _DocumentPage(site),
        "/export.csv": _ExportCsv(site),
        "/api/search": _ApiSearch(site),
        "/api/trend": _ApiTrend(site),
        "/api/doc/{doc_id}": _ApiDocument(site),
        "/api/similar/{doc_id}": _ApiSimilar(site),
        "/api/stats": _ApiStats(site),
        "/health": _Health(),
        "/login": _Login(site),
        "/watches": _WatchesPage(site),
        "/watch/{feed}": _WatchFeed(site),
        "/static/searchidx.css": _StaticFile("searchidx.css", "text/css; charset=utf-8"),
    }
    icon = _StaticFile("favicon.svg", "image/svg+xml")
    routes |= {"/static/favicon.svg": icon, "/favicon.ico": icon}
    for path, resource in routes.items():
        if hasattr(resource, "on_get") and not hasattr(resource, "on_head"):
            resource.on_head = resource.on_get  # Falcon sends the headers of GET without its body
        app.add_route(path, resource)

    def searchidx_error(req: falcon.Request, resp: falcon.Response, error: SearchidxError, _: Any) -> None:
        _searchidx_error(req, resp, error, site)

    app.add_error_handler(SearchidxError, searchidx_error)
    app.add_error_handler(falcon.HTTPError, _http_error)
    app.add_error_handler(Exception, _internal_error)
    return app


def serve(
    index: str | os.PathLike[str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    settings: ServeSettings | None = None,
    public: bool = False,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the index until interrupted; ``ready`` is called with the address once it listens.

    Port 0 takes any free port. :class:`ServeError` when the address cannot be
    used; :class:`~searchidx.errors.ServeSettingsError` when ``host`` reaches
    beyond this machine and ``settings`` hold no secret, unless ``public``.
    """
    import waitress  # only serving needs it

    settings = settings or ServeSettings()
    check_exposure(host, settings.token, public=public)
    options = waitress_options(settings, raise_open_file_limit())
    summarise_queue_warnings()
    app = create_app(index, settings)
    try:
        server = waitress.create_server(app, host=host, port=port, **options)
    except OSError as error:
        raise ServeError(f"{host}:{port}", error.strerror or str(error)) from error
    address = f"http://{_url_host(str(server.effective_host))}:{server.effective_port}/"
    if ready is not None:
        ready(address)
    try:
        server.run()
    finally:
        server.close()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class _SecurityHeaders:
    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any, ok: bool) -> None:
        resp.set_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_header("Referrer-Policy", "no-referrer")  # links out must not carry the query
        if not req.path.startswith("/static/") and req.path != "/favicon.ico":
            resp.set_header("Cache-Control", "no-store")


class _Site:
    """What every resource shares: the index, the limits, the charts kept, how paths are shown."""

    def __init__(self, ix: Index, settings: ServeSettings) -> None:
        self.ix = ix
        self.settings = settings
        self.limits = Limits(settings.threads, settings.expensive_limit, settings.timeout)
        self.gate = Gate(settings)
        self.generation = Generation(ix.path)
        self.trends = Kept(self.limits)
        self._paths = Cache(4)
        location = str(ix.path)
        self._hidden = sorted({location, str(Path(location).resolve())} if isinstance(ix.path, Path)
                              else {location}, key=len, reverse=True)  # fmt: skip
        self.name = index_name(ix.path)

    def generation_key(self) -> Hashable:
        """A key that changes when an ingest commits."""
        return self.generation.key(self.ix.document_count)

    def trend(self, key: Hashable, compute: Callable[[float | None], Trend], *, grace: float = 1.0) -> Trend:
        """The trend kept for ``key`` in this index generation, else computed (a costly request) and kept.

        The request waits for it until its deadline; the computation may go on
        ``grace`` times the budget in all, to be kept for the next request
        (see :class:`~searchidx.outputs.web.serving.Kept`).
        """
        timeout = self.limits.timeout
        work_deadline = None if timeout is None else time.monotonic() + timeout * grace
        return self.trends.get((self.generation_key(), today_key(), key), lambda: compute(work_deadline))

    def public(self, results: Results) -> Results:
        """``results`` with the source paths as remote clients see them."""
        shown = self.paths()
        return replace(results, hits=_hits(results.hits, shown), related=_hits(results.related, shown),
                       found_by_meaning=_hits(results.found_by_meaning, shown))  # fmt: skip

    def public_hits(self, hits: Iterable[Hit]) -> Iterator[Hit]:
        """``hits`` with their source paths as remote clients see them."""
        shown = self.paths()
        return (replace(hit, path=shown(hit.path)) for hit in hits)

    def public_article(self, article: Article) -> Article:
        """``article`` with its source path as remote clients see it."""
        return replace(article, path=self.paths()(article.path))

    def public_message(self, message: str) -> str:
        """``message`` naming the index by its name only, not by the server's folders."""
        for location in self._hidden:
            message = message.replace(location, self.name)
        return message

    def paths(self) -> PublicPaths:
        """How source paths are shown in this index generation (relative to the ingested files' folder)."""
        if not isinstance(self.ix.path, Path):
            return PublicPaths(None)  # a cluster's records are not read here: file names only
        key = self.generation_key()
        kept = self._paths.get(key)
        if kept is None:
            kept = PublicPaths(self.ix.source_folder())
            self._paths.put(key, kept)
        return kept


def _hits(hits: tuple[Hit, ...], shown: PublicPaths) -> tuple[Hit, ...]:
    return tuple(
        replace(
            hit, path=shown(hit.path), versions=tuple(replace(v, path=shown(v.path)) for v in hit.versions)
        )
        for hit in hits
    )


class _Resource:
    def __init__(self, site: _Site) -> None:
        self.site = site
        self.ix = site.ix

    def run(
        self, action: Callable[[float | None], T], *, costly: bool = False, deadline: float | None = None
    ) -> T:
        """``action(deadline)`` within the request's time budget (and a costly slot when ``costly``)."""
        return self.site.limits.run(action, costly=costly, deadline=deadline)


def _page_state(req: falcon.Request, ix: Index) -> PageState:
    """The state of the search page (and the chart's) in the request's parameters."""
    return PageState(
        q=_text(req, "q", MAX_QUERY_CHARS),
        since=_text(req, "since", 100),
        until=_text(req, "until", 100),
        source=_text(req, "source", 255),
        sort=_choice(req, "sort", SORTS),
        page=_number(req, "page", 1, MAX_HITS),
        undated=_flag(req, "undated"),
        exact=_flag(req, "exact"),
        vs=tuple(query for query in _texts(req, "vs", MAX_TREND_QUERIES - 1) if query.strip()),
        by=_period(req) or "",
        share=_flag(req, "share"),
        all_versions=_flag(req, "all_versions"),
        mode=_mode(req),
        modes=ix.modes(),
    )


class _SearchPage(_Resource):
    """The search page: as costly as its search (the chart is its own request, :class:`_ChartImage`)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        state = _page_state(req, self.ix)
        resp.content_type = falcon.MEDIA_HTML
        if not state.q.strip():
            resp.text = intro_page(state, self.run(lambda _: self.ix.document_count()))
            return
        try:
            results = self.run(lambda deadline: self._search(state, deadline), costly=is_costly(state.q))
        except QueryError as error:
            resp.status = falcon.HTTP_400
            resp.text = intro_page(state, self.run(lambda _: self.ix.document_count()), error=error.message)
            return
        resp.text = search_page(state, self.site.public(results))

    def _search(self, state: PageState, deadline: float | None) -> Results:
        return self.ix.search(
            state.q, page=state.page, since=state.since or None, until=state.until or None,
            undated=state.undated, source=state.source or None, sort=state.sort,  # type: ignore[arg-type]
            facets=PAGE_FACETS, exact=state.exact, mode=state.mode or None, deadline=deadline,
            all_versions=state.all_versions,
        )  # fmt: skip


class _Chart(_Resource):
    """The page's chart over time: drawn once per query and index generation (a costly request) and kept."""

    def trend(self, state: PageState) -> Trend:
        """The chart of ``state``'s queries, kept or drawn; :class:`QueryError` without a query."""
        if not state.q.strip():
            raise QueryError("Give a query to chart (the q parameter).")
        key = ("page", state.q, state.vs, state.by, state.since, state.until, state.source)
        return self.site.trend(key, lambda deadline: self._trend(state, deadline), grace=CHART_GRACE)

    def _trend(self, state: PageState, deadline: float | None) -> Trend:
        return self.ix.trend(
            [state.q, *state.vs], by=state.by or None, since=state.since or None,  # type: ignore[arg-type]
            until=state.until or None, source=state.source or None, words=PAGE_TOP_WORDS, sources=0,
            deadline=deadline,
        )  # fmt: skip

    @staticmethod
    def left_out(error: SearchidxError, resp: falcon.Response) -> str | None:
        """Why the chart is not drawn now (the status and ``Retry-After`` set); ``None`` for other errors."""
        note = next((text for kind, text in CHART_LEFT_OUT if isinstance(error, kind)), None)
        if note is None:
            return None
        resp.status = next(code for kind, code in STATUS_OF if isinstance(error, kind))
        if isinstance(error, RequestRefusedError) and error.retry_after is not None:
            resp.set_header("Retry-After", str(error.retry_after))
        return note


class _ChartImage(_Chart):
    """``/chart.svg``: the chart as an image (the legend and top words drawn under the bars), for the page."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        state = _page_state(req, self.ix)
        resp.content_type = SVG
        try:
            resp.text = trend_image(self.trend(state), by_share=state.share)
        except SearchidxError as error:
            note = self.left_out(error, resp)
            if note is None:
                raise  # answered by the error handlers, as an image too (see _respond)
            resp.text = message_image(note)


class _ChartPage(_Chart):
    """``/chart``: the chart inline (a title per bar), its numbers in a table, its top words, CSV."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        state = _page_state(req, self.ix)
        resp.content_type = falcon.MEDIA_HTML
        try:
            resp.text = chart_page(state, self.trend(state))
        except SearchidxError as error:
            note = self.left_out(error, resp)
            if note is None:
                raise
            resp.text = chart_page(state, None, note)


class _DocumentPage(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, doc_id: str) -> None:
        query = _text(req, "q", MAX_QUERY_CHARS)
        reference = _doc_id(doc_id)

        def page(_: float | None) -> str:
            article = self.ix.get(reference)
            title, body = self.ix.marks(article, query)
            return document_page(self.site.public_article(article), title, body, query)

        resp.content_type = falcon.MEDIA_HTML
        resp.text = self.run(page, costly=is_costly(query))


class _ApiSearch(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        limit = _number(req, "limit", 10, MAX_API_LIMIT)
        page = _number(req, "page", 1, MAX_HITS)
        facets = _text(req, "facets", 100)
        query = _text(req, "q", MAX_QUERY_CHARS)
        options: dict[str, Any] = {
            "limit": limit, "page": page, "since": _text(req, "since", 100) or None,
            "until": _text(req, "until", 100) or None, "undated": _flag(req, "undated"),
            "source": _text(req, "source", 255) or None, "sort": _choice(req, "sort", SORTS),
            "facets": facets, "exact": _flag(req, "exact"), "mode": _mode(req) or None,
            "related": _flag(req, "related", default=True), "all_versions": _flag(req, "all_versions"),
        }  # fmt: skip
        results = self.run(lambda deadline: self.ix.search(query, deadline=deadline, **options),
                           costly=is_costly(query))  # fmt: skip
        resp.media = results_json(self.site.public(results))


class _ApiTrend(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        queries = _texts(req, "q", MAX_TREND_QUERIES)
        options: dict[str, Any] = {
            "by": _period(req), "since": _text(req, "since", 100) or None,
            "until": _text(req, "until", 100) or None, "source": _text(req, "source", 255) or None,
            "words": _count(req, "words", 10), "sources": _count(req, "sources", 10),
            "stories": _flag(req, "stories"),
        }  # fmt: skip
        key = ("api", tuple(queries), tuple(sorted(options.items())))
        trend = self.site.trend(key, lambda deadline: self.ix.trend(queries, deadline=deadline, **options))
        resp.media = trend_json(trend)


class _ExportCsv(_Resource):
    """Every hit of a query as CSV, streamed as it is read (constant memory); one of the costly requests.

    An export is not cut at the time budget (a cut file would look complete):
    it holds a costly slot until it is sent, so few run at once.
    """

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        query, options = self._asked(req)
        release = self.site.limits.hold_costly()
        try:
            hits = self.ix.every_hit(query, **options)
            rows = hit_rows(self.site.public_hits(hits))
            first = [next(rows), *_take(rows, 1)]  # the header and the first hit: a bad query fails here
        except BaseException:
            release()
            raise
        self._headers(resp)
        resp.stream = Released(_chunks(first, rows), release)

    def on_head(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._asked(req)
        self._headers(resp)
        resp.stream = iter(())  # sent in chunks: no length to give

    @staticmethod
    def _asked(req: falcon.Request) -> tuple[str, dict[str, Any]]:
        options: dict[str, Any] = {
            "since": _text(req, "since", 100) or None, "until": _text(req, "until", 100) or None,
            "undated": _flag(req, "undated"), "source": _text(req, "source", 255) or None,
            "sort": _choice(req, "sort", SORTS),
        }  # fmt: skip
        return _text(req, "q", MAX_QUERY_CHARS), options

    @staticmethod
    def _headers(resp: falcon.Response) -> None:
        resp.content_type = "text/csv; charset=utf-8"
        resp.set_header("Content-Disposition", 'attachment; filename="searchidx-hits.csv"')


def _take(rows: Iterator[list[str]], count: int) -> list[list[str]]:
    return [row for _, row in zip(range(count), rows, strict=False)]


def _chunks(first: list[list[str]], rest: Iterable[list[str]]) -> Iterator[bytes]:
    """The CSV of ``first`` then ``rest``, in pieces of about :data:`EXPORT_CHUNK_BYTES`."""
    piece = [csv_text(first)]
    size = len(piece[0])
    for row in rest:
        line = csv_text([row])
        piece.append(line)
        size += len(line)
        if size >= EXPORT_CHUNK_BYTES:
            yield "".join(piece).encode()
            piece, size = [], 0
    if piece:
        yield "".join(piece).encode()


class _ApiDocument(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, doc_id: str) -> None:
        reference = _doc_id(doc_id)
        article = self.run(lambda _: self.ix.get(reference))
        resp.media = article_json(self.site.public_article(article))


class _ApiSimilar(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, doc_id: str) -> None:
        limit = _number(req, "limit", 10, MAX_API_LIMIT)
        reference = _doc_id(doc_id)
        results = self.run(lambda deadline: self.ix.similar(reference, limit=limit, deadline=deadline))
        resp.media = results_json(self.site.public(results))


class _ApiStats(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        stats = self.run(lambda _: self.ix.stats())
        resp.media = stats_json(replace(stats, path=self.site.name))


class _Health:
    """``/health``: 200 ``ok`` while the server answers; needs no secret."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "ok\n"


class _Login(_Resource):
    """The login form (no script): the secret once, then a cookie holding its HMAC."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.text = login_page(safe_next(_text(req, "next", 4000) or "/"))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        form = parse_qs(req.bounded_stream.read(LOGIN_BYTES).decode("utf-8", "replace"))
        token = (form.get("token") or [""])[0]
        target = safe_next((form.get("next") or ["/"])[0])
        gate = self.site.gate
        if gate.token is None:  # nothing to log in to
            raise falcon.HTTPSeeOther(target)
        if not gate.accepts(token):
            resp.status = falcon.HTTP_401
            resp.set_header("WWW-Authenticate", 'Bearer realm="searchidx"')
            resp.content_type = falcon.MEDIA_HTML
            resp.text = login_page(target, error="That is not the archive's secret.")
            return
        assert self.site.settings.token is not None
        resp.set_cookie(
            SESSION_COOKIE, session_value(self.site.settings.token), max_age=SESSION_DAYS * 86400, path="/",
            secure=req.scheme == "https", http_only=True, same_site="Strict",
        )  # fmt: skip
        resp.status = falcon.HTTP_303
        resp.location = target


class _WatchesPage(_Resource):
    """``/watches``: the watches (GET); a form's new watch, or a removal (POST), then back to the list."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._show(resp)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        form = {key: values[0] for key, values in parse_qs(req.bounded_stream.read(FORM_BYTES).decode(
            "utf-8", "replace")).items()}  # fmt: skip
        name = form.get("name", "")
        try:
            if form.get("action") == "remove":
                self.ix.unwatch(name)
            else:
                self.ix.watch(name, form.get("q", ""), since=form.get("since") or None,
                              until=form.get("until") or None, undated=form.get("undated") in ("1", "true"),
                              source=form.get("source") or None)  # fmt: skip
        except (QueryError, WatchNotFoundError) as error:
            resp.status = falcon.HTTP_400
            self._show(resp, error.message)
            return
        raise falcon.HTTPSeeOther("/watches")

    def _show(self, resp: falcon.Response, error: str = "") -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.text = self.run(lambda _: watches_page(self.ix.watches(), self.ix.watch_counts(), error))


class _WatchFeed(_Resource):
    """``/watch/NAME.atom``: the watch's news as an Atom feed (:mod:`searchidx.outputs.atom`)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, feed: str) -> None:
        name = feed.removesuffix(".atom")
        if name == feed:
            raise falcon.HTTPNotFound(description="A watch's feed is /watch/NAME.atom.")
        news = self.run(lambda _: self.ix.watch_feed(name))
        news = replace(news, hits=tuple(self.site.public_hits(news.hits)))
        search = watch_state(news.watch)
        resp.content_type = "application/atom+xml; charset=utf-8"
        resp.text = atom_feed(
            news, site=req.prefix, feed_url=req.prefix + req.path, search_url=req.prefix + search.url()
        )


class _StaticFile:
    """A file of the package's ``static/`` folder, read once."""

    def __init__(self, name: str, content_type: str) -> None:
        self.data = resources.files("searchidx.outputs.web").joinpath("static", name).read_bytes()
        self.content_type = content_type

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = self.content_type
        resp.set_header("Cache-Control", "max-age=3600")
        resp.data = self.data


def _param(req: falcon.Request, name: str) -> str | None:
    """The one value of parameter ``name`` (``None`` when absent); a :class:`QueryError` when it repeats."""
    values = req.get_param_as_list(name)
    if values and len(values) > 1:
        raise QueryError(f"Give the {name} parameter once (it was given {len(values)} times).")
    return values[0] if values else None


def _text(req: falcon.Request, name: str, longest: int) -> str:
    return _short(name, _param(req, name) or "", longest)


def _short(name: str, value: str, longest: int) -> str:
    """``value``, or a :class:`QueryError` when it is longer than ``longest`` characters."""
    if len(value) > longest:
        raise QueryError(f"The {name} parameter is too long ({len(value)} characters; at most {longest}).")
    return value


def _texts(req: falcon.Request, name: str, most: int) -> list[str]:
    """Every value of a repeated parameter (``?q=oil&q=coffee``), each checked as :func:`_text` checks one."""
    values = req.get_param_as_list(name) or []
    if len(values) > most:
        raise QueryError(f"At most {most} {name} parameters are taken (got {len(values)}).")
    return [_short(name, value, MAX_QUERY_CHARS) for value in values]


def _period(req: falcon.Request) -> Unit | None:
    """The ``by`` parameter: a unit of time, or None (chosen from the span) when absent or empty."""
    value = _param(req, "by") or ""
    if value and value not in UNITS:
        raise QueryError(f"The by parameter must be day, week, month or year (got {value[:20]!r}).")
    return value if value else None


def _count(req: falcon.Request, name: str, default: int) -> int:
    value = _param(req, name)
    if value is None:
        return default
    if not value.isdigit() or int(value) > 100:
        raise QueryError(f"The {name} parameter must be a whole number from 0 to 100 (got {value[:20]!r}).")
    return int(value)


def _number(req: falcon.Request, name: str, default: int, highest: int) -> int:
    value = _param(req, name)
    if value is None:
        return default
    if not value.isdigit() or not 1 <= int(value) <= highest:
        raise QueryError(
            f"The {name} parameter must be a whole number from 1 to {highest} (got {value[:20]!r})."
        )
    return int(value)


def _flag(req: falcon.Request, name: str, *, default: bool = False) -> bool:
    value = (_param(req, name) or str(int(default))).lower()
    if value not in ("0", "1", "true", "false"):
        raise QueryError(f"The {name} parameter must be 1 or 0 (got {value[:20]!r}).")
    return value in ("1", "true")


def _choice(req: falcon.Request, name: str, choices: tuple[str, ...]) -> str:
    value = _param(req, name) or choices[0]
    if value not in choices:
        raise QueryError(f"The {name} parameter must be one of {', '.join(choices)} (got {value[:20]!r}).")
    return value


def _mode(req: falcon.Request) -> str:
    """The ``mode`` parameter ("": the index's default); :meth:`Index.search` says when it is not a mode."""
    return _text(req, "mode", 20)


def _doc_id(raw: str) -> str:
    if not raw.isalnum() or len(raw) > 64:
        raise DocumentNotFoundError(f"No document {raw[:64]!r} in the index.")
    return raw


def _is_api(req: falcon.Request) -> bool:
    return req.path.startswith("/api/")


def _log_failure(req: falcon.Request, error: Exception) -> None:
    """A request that failed on the server's side, with its traceback, on stderr (for the operator)."""
    lines = traceback.format_exception(error)
    sys.stderr.write(f"searchidx serve: {req.method} {req.relative_uri} failed with 500:\n{''.join(lines)}")
    sys.stderr.flush()


def _respond(req: falcon.Request, resp: falcon.Response, status: str, message: str) -> None:
    resp.status = status
    if _is_api(req):
        resp.media = {"error": {"status": int(status.split()[0]), "message": message}}
    elif status == falcon.HTTP_401:  # a browser: the login form, which comes back here
        resp.content_type = falcon.MEDIA_HTML
        resp.text = login_page(safe_next(req.relative_uri) if req.method in ("GET", "HEAD") else "/")
    elif req.path == CHART_IMAGE:  # shown by an <img>: an image that says what went wrong
        resp.content_type = SVG
        resp.text = message_image(message)
    else:
        resp.content_type = falcon.MEDIA_HTML
        resp.text = error_page(status, message)


def _searchidx_error(req: falcon.Request, resp: falcon.Response, error: SearchidxError, site: _Site) -> None:
    status = next((code for kind, code in STATUS_OF if isinstance(error, kind)), falcon.HTTP_500)
    if status == falcon.HTTP_500:
        _log_failure(req, error)
    if isinstance(error, RequestRefusedError) and error.retry_after is not None:
        resp.set_header("Retry-After", str(error.retry_after))
    if isinstance(error, NotAuthorizedError):
        resp.set_header("WWW-Authenticate", 'Bearer realm="searchidx"')
    _respond(req, resp, status, site.public_message(error.message))


def _http_error(req: falcon.Request, resp: falcon.Response, error: falcon.HTTPError, params: Any) -> None:
    fallback = "There is no page at this address." if error.status == falcon.HTTP_404 else error.title
    message = error.description or fallback or "The request cannot be answered."
    _respond(req, resp, error.status, message)  # type: ignore[arg-type]


def _internal_error(req: falcon.Request, resp: falcon.Response, error: Exception, params: Any) -> None:
    if isinstance(error, falcon.HTTPError):  # not found, method not allowed...
        _http_error(req, resp, error, params)
        return
    _log_failure(req, error)
    _respond(req, resp, falcon.HTTP_500, f"An internal error stopped this request ({type(error).__name__}).")
