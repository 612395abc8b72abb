"""What lets ``searchidx serve`` be shared with a newsroom: the server layer around the web app.

- **Connections**: waitress with many connection slots, short idle timeouts,
  small caps on headers and bodies, and ``poll`` (not ``select``), so idle and
  slow clients cannot take every slot; the open-file limit is raised to allow it.
- **A secret**: a shared token from ``SEARCHIDX_TOKEN`` or a file. Programs
  send ``Authorization: Bearer TOKEN`` (feed readers, which ask for a user name
  and password: any name, the secret as the password); browsers log in once through a form
  (no script needed) and get an ``HttpOnly``, ``SameSite=Strict`` cookie that
  holds an HMAC of the token, never the token. Compared in constant time.
- **Rate limits**: a token bucket per client address (429 with ``Retry-After``).
- **Time budget and costly requests**: every search runs in a worker with a
  deadline (504 after it, while the worker finishes on its own), and at most a
  few costly requests (wildcards, fuzzy words, many words, charts, trends,
  exports) run at once (503 with ``Retry-After`` past that), so cheap searches
  keep being answered.
- **A readable log**: waitress's "Task queue depth" warning at most once per
  10 s with a count of those left out, and an optional access log.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import math
import os
import re
import resource
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import falcon

from searchidx.errors import (
    NotAuthorizedError,
    RateLimitedError,
    SearchTimeoutError,
    ServerBusyError,
    ServeSettingsError,
    TimeBudgetError,
    terminal_safe,
)

T = TypeVar("T")
TOKEN_ENV = "SEARCHIDX_TOKEN"
SHORTEST_TOKEN = 16
SESSION_COOKIE = "searchidx_session"
SESSION_DAYS = 7
DEFAULT_RATE = 20.0  # requests a second per client address, on average
DEFAULT_BURST = 40  # ... and at once
DEFAULT_TIMEOUT = 2.0  # seconds, Datasette's range
# Costly: a wildcard or prefix (`oil*`, `wom?n`, `*`), a fuzzy word (`word~`), or many words.
COSTLY_SYNTAX = re.compile(r"[*~]|\?(?=\w)")
COSTLY_WORDS = 20
QUEUE_LOG_EVERY = 10.0  # seconds between two of waitress's "Task queue depth" warnings
MOST_CLIENTS = 10_000  # rate-limit buckets kept; full ones are dropped past this
TRENDS_KEPT = 256  # the page's charts kept, per query, filters and index generation
SPARE_FILES = 64  # open files kept for the index, the log... beyond the connections
# Paths that need no secret: the health check, the login form and the stylesheet and icon it shows.
OPEN_PATHS = frozenset({"/health", "/login", "/favicon.ico"})
OPEN_PREFIX = "/static/"
UNCOUNTED_PATHS = frozenset({"/health", "/favicon.ico"})


@dataclass(frozen=True)
class ServeSettings:
    """How ``searchidx serve`` shares the index: threads, limits, secret, logging.

    The defaults are those of :func:`~searchidx.outputs.web.app.create_app` (no secret, no
    rate limit); ``searchidx serve`` turns the rate limit on (:data:`DEFAULT_RATE`).
    ``timeout`` is the time budget of a request in seconds (0: none); ``expensive``
    how many costly requests run at once (``None``: half the threads).
    """

    threads: int = 8
    timeout: float = DEFAULT_TIMEOUT
    expensive: int | None = None
    rate: float = 0.0
    burst: int = DEFAULT_BURST
    token: str | None = None
    access_log: bool = False
    trusted_proxy: str | None = None
    connection_limit: int = 1000
    channel_timeout: int = 15  # seconds a connection may stay silent
    max_request_header_size: int = 16 * 1024
    max_request_body_size: int = 64 * 1024

    @property
    def expensive_limit(self) -> int:
        """How many costly requests may run at once."""
        return self.expensive if self.expensive is not None else max(1, self.threads // 2)


def waitress_options(settings: ServeSettings, open_files: int) -> dict[str, Any]:
    """The waitress settings: connection slots within ``open_files``, short timeouts, small requests."""
    options: dict[str, Any] = {
        "threads": settings.threads,
        "connection_limit": max(10, min(settings.connection_limit, open_files - SPARE_FILES)),
        "channel_timeout": settings.channel_timeout,
        "cleanup_interval": max(1, settings.channel_timeout // 3),
        "max_request_header_size": settings.max_request_header_size,
        "max_request_body_size": settings.max_request_body_size,
        "asyncore_use_poll": True,  # select() cannot watch a descriptor past 1023
        "backlog": 1024,
        "ident": "searchidx",
    }
    if settings.trusted_proxy:
        options["trusted_proxy"] = settings.trusted_proxy
        options["trusted_proxy_headers"] = {"x-forwarded-for", "x-forwarded-proto"}
        options["clear_untrusted_proxy_headers"] = True
    return options


def raise_open_file_limit() -> int:
    """Raise this process's soft limit of open files to its hard limit; the limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):  # not allowed here: keep what there is
            pass
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def read_token(token_file: str | os.PathLike[str] | None = None) -> str | None:
    """The shared secret: the first line of ``token_file`` when given, else ``$SEARCHIDX_TOKEN``, else none.

    :class:`ServeSettingsError` when the file cannot be read or the secret is too weak to share.
    """
    if token_file is not None:
        try:
            lines = Path(token_file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise ServeSettingsError(f"Cannot read the secret from {token_file}: {reason}.") from error
        token = lines[0].strip() if lines else ""
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
        if not token:
            return None
    check_token(token)
    return token


def check_token(token: str) -> None:
    """:class:`ServeSettingsError` unless ``token`` is long enough and can travel in a header."""
    if not (token.isascii() and token.isprintable()) or " " in token:
        raise ServeSettingsError("The secret must be printable ASCII without spaces. " + _MAKE_ONE)
    if len(token) < SHORTEST_TOKEN:
        raise ServeSettingsError(f"The secret is {len(token)} characters long; use {SHORTEST_TOKEN} or more. "
                                 + _MAKE_ONE)  # fmt: skip


_MAKE_ONE = "Make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


def check_exposure(host: str, token: str | None, *, public: bool) -> None:
    """:class:`ServeSettingsError` when ``host`` is not loopback with no secret (and not ``public``)."""
    if token is None and not public and not is_loopback(host):
        raise ServeSettingsError(
            f"Listening on {host} would share the archive with anyone who can reach it: set a secret in "
            f"{TOKEN_ENV} or give --token-file PATH, or add --public if the archive is meant to be public."
        )


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def session_value(token: str) -> str:
    """What the login cookie holds: an HMAC of the token (which a stolen cookie does not reveal)."""
    return hmac.new(token.encode(), b"searchidx session v1", hashlib.sha256).hexdigest()


def is_costly(*queries: str) -> bool:
    """Whether searching ``queries`` may take long: wildcards, prefixes, fuzzy words, or many words."""
    return any(COSTLY_SYNTAX.search(text) or len(text.split()) > COSTLY_WORDS for text in queries)


class Limits:
    """The time budget of each request and the limit on costly requests running at once.

    :meth:`run` runs an action in a worker thread and waits for it until the
    deadline (:class:`TimeBudgetError` after it; the worker finishes on its own,
    holding its slot until then). A costly action needs one of ``expensive``
    slots, and is refused at once when none is free (:class:`ServerBusyError`):
    however many costly requests come, the other workers stay for cheap ones.
    """

    def __init__(self, threads: int, expensive: int, timeout: float) -> None:
        # As many workers as request threads (each worker keeps its own searcher, and its memory); costly
        # actions left running past their deadline hold theirs until done, at most ``expensive`` of them.
        workers = threads
        self.timeout = timeout if timeout > 0 else None
        self.expensive = expensive
        self._workers = threading.BoundedSemaphore(workers)
        self._costly = threading.BoundedSemaphore(expensive)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="searchidx-search")

    def deadline(self) -> float | None:
        """When a request starting now must be answered (``time.monotonic()`` time), or ``None``."""
        return None if self.timeout is None else time.monotonic() + self.timeout

    def run(self, action: Callable[[float | None], T], *, costly: bool, deadline: float | None = None) -> T:
        """``action(deadline)`` in a worker, answered by ``deadline`` (by default the budget from now).

        The action is given the deadline to stop by itself (``Index.search(..., deadline=...)``).
        """
        deadline = deadline if deadline is not None else self.deadline()
        if costly:
            self._take_costly()
        try:
            if not self._workers.acquire(timeout=_left(deadline)):
                raise ServerBusyError(
                    "The server is already running as many searches as it allows at once. "
                    "Try again in a moment.",
                    retry_after=self._retry_after(),
                )
        except BaseException:
            if costly:
                self._costly.release()
            raise
        future = self._pool.submit(self._release_after, lambda: action(deadline), costly)
        return self.wait(future, deadline)

    def wait(self, future: Future[T], deadline: float | None) -> T:
        """The result of ``future``, or :class:`TimeBudgetError` when it is not there by ``deadline``."""
        try:
            return future.result(timeout=_left(deadline))
        except FutureTimeout:
            raise TimeBudgetError(
                f"The request took longer than the server's {self.timeout:g}-second budget and was stopped. "
                "Narrow it: fewer or rarer words, shorter phrases, fewer wildcards, a date range or a source."
            ) from None

    def hold_costly(self) -> Callable[[], None]:
        """Take a costly slot for work done outside :meth:`run` (an export's stream).

        Returns the function that frees the slot: once, however often it is called.
        """
        self._take_costly()
        released = threading.Event()

        def release() -> None:
            if not released.is_set():
                released.set()
                self._costly.release()

        return release

    def close(self) -> None:
        """Stop the workers once they are done."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _take_costly(self) -> None:
        if not self._costly.acquire(blocking=False):
            raise ServerBusyError(
                f"The server is already running the {self.expensive} costly requests it allows at once "
                "(wildcards, fuzzy words, many words, charts, trends, exports). Try again in a moment.",
                retry_after=self._retry_after(),
            )

    def _retry_after(self) -> int:
        return max(1, math.ceil(self.timeout or 1))

    def _release_after(self, action: Callable[[], T], costly: bool) -> T:
        try:
            return action()
        finally:
            self._workers.release()
            if costly:
                self._costly.release()


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


class Generation:
    """A cheap key that changes when an ingest commits: the names of a folder index's tables of contents.

    A cluster index gives its document count, and a key that changes every
    ``cluster_seconds`` (a cluster says nothing cheaper about its commits).
    """

    def __init__(self, location: Path | str, cluster_seconds: float = 30.0) -> None:
        self.location = location
        self.cluster_seconds = cluster_seconds

    def key(self, document_count: Callable[[], int]) -> Hashable:
        """The key of the index's current generation (``document_count`` is asked for a cluster's only)."""
        if isinstance(self.location, Path):
            try:
                with os.scandir(self.location) as entries:
                    return frozenset(entry.name for entry in entries if entry.name.endswith(".toc"))
            except OSError:
                return ""
        return (document_count(), int(time.monotonic() // self.cluster_seconds))


@dataclass(frozen=True)
class TooCostly:
    """What :class:`Kept` keeps for a computation that ran out of time (its budget, in seconds)."""

    budget: float


class Kept:
    """Costly values computed once per key and kept (the charts, per query and index generation).

    Requests for a key being computed wait for that computation instead of
    starting another (32 people searching the news of the hour draw one
    chart). A computation that ran out of time is kept as such, and said at
    once the next time.
    """

    def __init__(self, limits: Limits, size: int = TRENDS_KEPT) -> None:
        self.limits = limits
        self.cache = Cache(size)
        self._pending: dict[Hashable, Future[Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The value kept for ``key``, else the one being computed, else ``compute()`` (a costly request).

        The request waits until its deadline (:class:`TimeBudgetError`); the
        computation goes on and keeps its value for the next request.
        """
        kept = self.cache.get(key)
        if isinstance(kept, TooCostly):
            raise SearchTimeoutError(kept.budget)
        if kept is not None:
            return kept  # type: ignore[no-any-return]
        with self._lock:
            pending = self._pending.get(key)
            if pending is not None:
                owner = False
            else:
                pending = self._pending[key] = Future()
                owner = True
        if not owner:
            return self.limits.wait(pending, self.limits.deadline())  # type: ignore[no-any-return]
        try:
            return self.limits.run(lambda _: self._compute(key, compute, pending), costly=True)
        except ServerBusyError as error:  # not started: those waiting are told the same
            self._finish(key, pending, error=error)
            raise

    def _compute(self, key: Hashable, compute: Callable[[], T], pending: Future[Any]) -> T:
        try:
            value = compute()
        except SearchTimeoutError as error:
            self.cache.put(key, TooCostly(error.budget))
            self._finish(key, pending, error=error)
            raise
        except BaseException as error:
            self._finish(key, pending, error=error)
            raise
        self.cache.put(key, value)  # kept even when the request that asked gave up waiting
        self._finish(key, pending, value=value)
        return value

    def _finish(self, key: Hashable, pending: Future[Any], *, value: Any = None,
                error: BaseException | None = None) -> None:  # fmt: skip
        with self._lock:
            self._pending.pop(key, None)
        if pending.done():
            return
        if error is not None:
            pending.set_exception(error)
        else:
            pending.set_result(value)


class Cache:
    """A small thread-safe LRU of values computed per key."""

    def __init__(self, size: int = TRENDS_KEPT) -> None:
        self.size = size
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        """The value kept for ``key``, or ``None``."""
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> None:
        """Keep ``value`` for ``key``, dropping the least recently used past :attr:`size`."""
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)


def today_key() -> Hashable:
    """Today's date: relative dates (``last week``) mean something else tomorrow."""
    return date.today()


class PublicPaths:
    """Source paths as remote clients see them: relative to the folder that holds every ingested file.

    ``root`` is that folder (``None``, e.g. on a cluster, or ``/``: only the file name is shown).
    """

    def __init__(self, root: str | None) -> None:
        self.root = root if root and root != os.path.dirname(root) else None  # never relative to "/"

    def __call__(self, path: str) -> str:
        """``path`` without the server's folders."""
        if path and self.root:
            relative = os.path.relpath(path, self.root)
            if not relative.startswith(".."):
                return relative
        return os.path.basename(path)


def index_name(location: Path | str) -> str:
    """The last part of an index folder or cluster URL: what a remote client may see of it."""
    return str(location).rstrip("/").rsplit("/", 1)[-1]


class RateLimiter:
    """A token bucket per client address: ``rate`` requests a second on average, ``burst`` at once."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def wait(self, client: str) -> float:
        """Take one request from ``client``'s bucket: 0 when allowed, else the seconds until one is."""
        with self._lock:
            now = self._clock()
            tokens, then = self._buckets.get(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[client] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > MOST_CLIENTS:
                self._forget_full(now)
            return 0.0 if allowed else (1.0 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have filled up again (their clients are back where new ones start)."""
        full = [key for key, (tokens, then) in self._buckets.items()
                if tokens + (now - then) * self.rate >= self.burst]  # fmt: skip
        for key in full:
            del self._buckets[key]


class Gate:
    """Falcon middleware: the rate limit (not for static files), then the secret (not for the login form,
    static files and the health check)."""

    def __init__(self, settings: ServeSettings) -> None:
        self.limiter = RateLimiter(settings.rate, settings.burst) if settings.rate > 0 else None
        self.token = settings.token.encode() if settings.token else None
        self.session = session_value(settings.token).encode() if settings.token else None

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Refuse the request (429 or 401) when its client is over the rate or it lacks the secret."""
        if self.limiter is not None and not _is_uncounted(req.path):
            wait = self.limiter.wait(req.remote_addr or "")
            if wait:
                raise RateLimitedError(
                    f"Too many requests from your address: at most {self.limiter.rate:g} a second "
                    f"({self.limiter.burst} at once). Try again in {math.ceil(wait)} s.",
                    retry_after=math.ceil(wait),
                )
        if self.token is not None and not _is_open(req.path) and not self.allows(req):
            raise NotAuthorizedError(
                "This archive needs its secret: send the header `Authorization: Bearer TOKEN`, "
                "or log in at /login in a browser."
            )

    def allows(self, req: falcon.Request) -> bool:
        """Whether the request carries the secret (bearer token) or the login cookie; constant-time."""
        if self.token is None or self.session is None:
            return True
        scheme, _, value = (req.get_header("Authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), self.token):
            return True
        if scheme.lower() == "basic" and hmac.compare_digest(_basic_password(value), self.token):
            return True  # a feed reader: any user name, the secret as the password
        cookies = req.get_cookie_values(SESSION_COOKIE) or []
        return any(hmac.compare_digest(cookie.encode(), self.session) for cookie in cookies)

    def accepts(self, token: str) -> bool:
        """Whether ``token`` (typed into the login form) is the secret; constant-time."""
        return self.token is not None and hmac.compare_digest(token.encode(), self.token)


def _basic_password(credentials: str) -> bytes:
    """The password of HTTP Basic credentials (``b""`` when they cannot be read)."""
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True)
    except ValueError:
        return b""
    return decoded.partition(b":")[2]


def _is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIX)


def _is_uncounted(path: str) -> bool:
    """The stylesheet, the icon and the health check: files read once, not counted against the rate."""
    return path in UNCOUNTED_PATHS or path.startswith(OPEN_PREFIX)


def safe_next(target: str) -> str:
    """Where to go after logging in: a path on this server (never another site), else ``/``."""
    if (
        not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or len(target) > 4000
        or any(ord(char) < 32 for char in target)
    ):
        return "/"
    return target


class AccessLog:
    """Falcon middleware: one line per request on stderr (client, method, path, status, milliseconds)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Note when the request started."""
        req.context.started = time.perf_counter()

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any, ok: bool) -> None:
        """Write the request's line."""
        took = (time.perf_counter() - getattr(req.context, "started", time.perf_counter())) * 1000
        line = (f'{req.remote_addr} "{req.method} {terminal_safe(req.relative_uri)}" '
                f"{str(resp.status)[:3]} {took:.0f} ms\n")  # fmt: skip
        with self._lock:
            sys.stderr.write(line)
            sys.stderr.flush()


class SummarisedLog(logging.Filter):
    """Lets one record through per ``every`` seconds; the next one says how many were left out."""

    def __init__(self, every: float = QUEUE_LOG_EVERY, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.every = every
        self._clock = clock
        self._last: float | None = None
        self._left_out = 0
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether ``record`` is written (with the count of those left out since the last one)."""
        with self._lock:
            now = self._clock()
            if self._last is not None and now - self._last < self.every:
                self._left_out += 1
                return False
            if self._left_out:
                record.msg = (
                    f"{record.getMessage()} ({self._left_out} more such warnings in {now - self._last:.0f} s)"  # type: ignore[operator]
                )
                record.args = ()
            self._last, self._left_out = now, 0
            return True


def summarise_queue_warnings() -> None:
    """Install :class:`SummarisedLog` on waitress's task-queue logger (once per process)."""
    queue = logging.getLogger("waitress.queue")
    if not any(isinstance(kept, SummarisedLog) for kept in queue.filters):
        queue.addFilter(SummarisedLog())


class Released:
    """An iterable body that calls ``release()`` once: when it is used up, fails or is closed unread.

    The WSGI server closes a body it stops sending (the client went away); a
    body it never started is closed too, so a slot taken for it is freed in
    every case.
    """

    def __init__(self, chunks: Iterator[bytes], release: Callable[[], None]) -> None:
        self._chunks = chunks
        self._release = release

    def __iter__(self) -> Released:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Free the slot (once) and close the chunks' generator."""
        self._release()
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
