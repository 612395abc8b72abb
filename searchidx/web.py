"""``searchidx serve``: the archive in a browser, and a JSON API for other programs.

A Falcon WSGI application served by waitress (both pure Python, without
dependencies of their own). The index is opened once; waitress answers
requests in several threads, each with its own searcher, which is reopened
when an ingest has committed since, so every request sees the last commit.

Routes: ``/`` (the search page, its state in the URL, with the query's
matches over time above the hits), ``/doc/<id>`` (one article with the
query's words marked), ``/export.csv`` (every hit of a query), ``/api/search``,
``/api/trend``, ``/api/doc/<id>``, ``/api/similar/<id>`` and ``/api/stats``
(JSON, as ``searchidx query --json`` and friends print it). Errors are JSON
under ``/api/`` and a page elsewhere, never a traceback.
"""

from __future__ import annotations

import ipaddress
import os
import sys
import traceback
from collections.abc import Callable
from importlib import resources
from typing import Any

import falcon

from searchidx.errors import (
    ClusterError,
    DocumentNotFoundError,
    IndexDamagedError,
    IndexNotFoundError,
    QueryError,
    SearchidxError,
    ServeError,
)
from searchidx.exports import csv_text, hit_rows
from searchidx.rendering import article_json, results_json, stats_json, trend_json
from searchidx.results import MAX_API_LIMIT, MAX_HITS, MAX_QUERY_CHARS, Results
from searchidx.searching import MAX_TREND_QUERIES, SORTS, Index
from searchidx.trends import UNITS, Trend, Unit
from searchidx.webpages import PageState, document_page, error_page, intro_page, search_page

PAGE_FACETS = ("year", "source")
PAGE_TOP_WORDS = 8
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
STATUS_OF: list[tuple[type[SearchidxError], str]] = [
    (QueryError, falcon.HTTP_400),
    (DocumentNotFoundError, falcon.HTTP_404),
    (IndexNotFoundError, falcon.HTTP_503),
    (IndexDamagedError, falcon.HTTP_500),
    (ClusterError, falcon.HTTP_503),  # the cluster is unreachable or lost shards: try again later
]


def create_app(index: str | os.PathLike[str] | None = None) -> falcon.App[Any, Any]:
    """The WSGI application over the index at ``index`` (opened now: :class:`IndexNotFoundError` if none)."""
    ix = Index(index)
    app = falcon.App(middleware=[_SecurityHeaders()])
    app.req_options.keep_blank_qs_values = False
    app.add_route("/", _SearchPage(ix))
    app.add_route("/doc/{doc_id}", _DocumentPage(ix))
    app.add_route("/export.csv", _ExportCsv(ix))
    app.add_route("/api/search", _ApiSearch(ix))
    app.add_route("/api/trend", _ApiTrend(ix))
    app.add_route("/api/doc/{doc_id}", _ApiDocument(ix))
    app.add_route("/api/similar/{doc_id}", _ApiSimilar(ix))
    app.add_route("/api/stats", _ApiStats(ix))
    app.add_route("/static/searchidx.css", _StaticFile("searchidx.css", "text/css; charset=utf-8"))
    icon = _StaticFile("favicon.svg", "image/svg+xml")
    app.add_route("/static/favicon.svg", icon)
    app.add_route("/favicon.ico", icon)
    app.add_error_handler(SearchidxError, _searchidx_error)
    app.add_error_handler(falcon.HTTPError, _http_error)
    app.add_error_handler(Exception, _internal_error)
    return app


def serve(
    index: str | os.PathLike[str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    threads: int = 8,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the index until interrupted; ``ready`` is called with the address once it listens.

    Port 0 takes any free port. :class:`ServeError` when the address cannot be used.
    """
    import waitress  # only serving needs it

    app = create_app(index)
    try:
        server = waitress.create_server(app, host=host, port=port, threads=threads, ident="searchidx")
    except OSError as error:
        raise ServeError(f"{host}:{port}", error.strerror or str(error)) from error
    address = f"http://{_url_host(str(server.effective_host))}:{server.effective_port}/"
    if ready is not None:
        ready(address)
    try:
        server.run()
    finally:
        server.close()


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class _SecurityHeaders:
    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any, ok: bool) -> None:
        resp.set_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_header("Referrer-Policy", "no-referrer")  # links out must not carry the query
        if not req.path.startswith("/static/") and req.path != "/favicon.ico":
            resp.set_header("Cache-Control", "no-store")


class _Resource:
    def __init__(self, ix: Index) -> None:
        self.ix = ix


class _SearchPage(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        state = PageState(
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
            mode=_mode(req),
            modes=self.ix.modes(),
        )
        resp.content_type = falcon.MEDIA_HTML
        if not state.q.strip():
            resp.text = intro_page(state, self.ix.document_count())
            return
        try:
            results = self._search(state)
            resp.text = search_page(state, results, self._trend(state) if results.total else None)
        except QueryError as error:
            resp.status = falcon.HTTP_400
            resp.text = intro_page(state, self.ix.document_count(), error=error.message)

    def _search(self, state: PageState) -> Results:
        return self.ix.search(
            state.q, page=state.page, since=state.since or None, until=state.until or None,
            undated=state.undated, source=state.source or None, sort=state.sort,  # type: ignore[arg-type]
            facets=PAGE_FACETS, exact=state.exact, mode=state.mode or None,
        )  # fmt: skip

    def _trend(self, state: PageState) -> Trend | None:
        """The matches over time of the query and those compared; none for undated articles or deep pages."""
        if state.undated or state.page > 1:
            return None
        return self.ix.trend(
            [state.q, *state.vs], by=state.by or None, since=state.since or None,  # type: ignore[arg-type]
            until=state.until or None, source=state.source or None, words=PAGE_TOP_WORDS, sources=0,
        )  # fmt: skip


class _DocumentPage(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, doc_id: str) -> None:
        query = _text(req, "q", MAX_QUERY_CHARS)
        article = self.ix.get(_doc_id(doc_id))
        title, body = self.ix.marks(article, query)
        resp.content_type = falcon.MEDIA_HTML
        resp.text = document_page(article, title, body, query)


class _ApiSearch(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        limit = _number(req, "limit", 10, MAX_API_LIMIT)
        page = _number(req, "page", 1, MAX_HITS)
        facets = _text(req, "facets", 100)
        results = self.ix.search(
            _text(req, "q", MAX_QUERY_CHARS), limit=limit, page=page,
            since=_text(req, "since", 100) or None, until=_text(req, "until", 100) or None,
            undated=_flag(req, "undated"), source=_text(req, "source", 255) or None,
            sort=_choice(req, "sort", SORTS), facets=facets, exact=_flag(req, "exact"),  # type: ignore[arg-type]
            mode=_mode(req) or None, related=_flag(req, "related", default=True),
        )  # fmt: skip
        resp.media = results_json(results)


class _ApiTrend(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        trend = self.ix.trend(
            _texts(req, "q", MAX_TREND_QUERIES), by=_period(req),
            since=_text(req, "since", 100) or None, until=_text(req, "until", 100) or None,
            source=_text(req, "source", 255) or None, words=_count(req, "words", 10),
            sources=_count(req, "sources", 10),
        )  # fmt: skip
        resp.media = trend_json(trend)


class _ExportCsv(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        hits = self.ix.every_hit(
            _text(req, "q", MAX_QUERY_CHARS), since=_text(req, "since", 100) or None,
            until=_text(req, "until", 100) or None, undated=_flag(req, "undated"),
            source=_text(req, "source", 255) or None, sort=_choice(req, "sort", SORTS),  # type: ignore[arg-type]
        )  # fmt: skip
        resp.content_type = "text/csv; charset=utf-8"
        resp.set_header("Content-Disposition", 'attachment; filename="searchidx-hits.csv"')
        resp.text = csv_text(hit_rows(hits))


class _ApiDocument(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, doc_id: str) -> None:
        resp.media = article_json(self.ix.get(_doc_id(doc_id)))


class _ApiSimilar(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, doc_id: str) -> None:
        limit = _number(req, "limit", 10, MAX_API_LIMIT)
        resp.media = results_json(self.ix.similar(_doc_id(doc_id), limit=limit))


class _ApiStats(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = stats_json(self.ix.stats())


class _StaticFile:
    """A file of the package's ``static/`` folder, read once."""

    def __init__(self, name: str, content_type: str) -> None:
        self.data = resources.files("searchidx").joinpath("static", name).read_bytes()
        self.content_type = content_type

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = self.content_type
        resp.set_header("Cache-Control", "max-age=3600")
        resp.data = self.data


def _text(req: falcon.Request, name: str, longest: int) -> str:
    return _short(name, req.get_param(name) or "", longest)


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
    value = req.get_param("by") or ""
    if value and value not in UNITS:
        raise QueryError(f"The by parameter must be day, week, month or year (got {value[:20]!r}).")
    return value if value else None


def _count(req: falcon.Request, name: str, default: int) -> int:
    value = req.get_param(name)
    if value is None:
        return default
    if not value.isdigit() or int(value) > 100:
        raise QueryError(f"The {name} parameter must be a whole number from 0 to 100 (got {value[:20]!r}).")
    return int(value)


def _number(req: falcon.Request, name: str, default: int, highest: int) -> int:
    value = req.get_param(name)
    if value is None:
        return default
    if not value.isdigit() or not 1 <= int(value) <= highest:
        raise QueryError(
            f"The {name} parameter must be a whole number from 1 to {highest} (got {value[:20]!r})."
        )
    return int(value)


def _flag(req: falcon.Request, name: str, *, default: bool = False) -> bool:
    value = (req.get_param(name) or str(int(default))).lower()
    if value not in ("0", "1", "true", "false"):
        raise QueryError(f"The {name} parameter must be 1 or 0 (got {value[:20]!r}).")
    return value in ("1", "true")


def _choice(req: falcon.Request, name: str, choices: tuple[str, ...]) -> str:
    value = req.get_param(name) or choices[0]
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
    else:
        resp.content_type = falcon.MEDIA_HTML
        resp.text = error_page(status, message)


def _searchidx_error(req: falcon.Request, resp: falcon.Response, error: SearchidxError, params: Any) -> None:
    status = next((code for kind, code in STATUS_OF if isinstance(error, kind)), falcon.HTTP_500)
    if status == falcon.HTTP_500:
        _log_failure(req, error)
    _respond(req, resp, status, error.message)


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
