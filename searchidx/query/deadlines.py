"""The deadline of the search running in this thread, for the loops that can run long to check.

:class:`searchidx.Index` sets it for the length of one call (``search``,
``trend``, ``similar``, ``every_hit``) with :func:`within`; the exact top k
(:mod:`searchidx.engines.whoosh.topk`) checks it every few posting blocks, Whoosh's
own posting readers (phrases, date sorts) at every block they read, and a
cluster is given what is left of it as the request's ``timeout``. Past it,
:func:`check` raises :class:`~searchidx.errors.SearchTimeoutError`.

A deadline is a :func:`time.monotonic` instant, so that a server can give
one budget to everything a request does (``time.monotonic() + 2``); a
deadline already passed stops the search at its first check.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from searchidx.errors import SearchTimeoutError


@dataclass(frozen=True)
class _Deadline:
    """When the search must end, and the budget it was given (for the message)."""

    at: float
    budget: float


_local = threading.local()


@contextmanager
def within(deadline: float | None) -> Iterator[None]:
    """Run the block under ``deadline`` (a :func:`time.monotonic` instant; None: no deadline).

    Nested, the earlier deadline holds.
    """
    outer: _Deadline | None = getattr(_local, "deadline", None)
    if deadline is None or (outer is not None and outer.at <= deadline):
        yield
        return
    _local.deadline = _Deadline(deadline, max(deadline - time.monotonic(), 0.0))
    try:
        yield
    finally:
        _local.deadline = outer


def remaining() -> float | None:
    """Seconds left before this thread's deadline (0 when past it), or None when it has none."""
    current: _Deadline | None = getattr(_local, "deadline", None)
    return None if current is None else max(current.at - time.monotonic(), 0.0)


def check() -> None:
    """Raise :class:`SearchTimeoutError` when this thread's deadline has passed."""
    current: _Deadline | None = getattr(_local, "deadline", None)
    if current is not None and time.monotonic() >= current.at:
        raise SearchTimeoutError(_rounded(current.budget))


def expired(budget: float | None = None) -> SearchTimeoutError:
    """The error to raise when a search ran out of time elsewhere (a cluster's timed-out answer)."""
    current: _Deadline | None = getattr(_local, "deadline", None)
    given = budget if budget is not None else (current.budget if current is not None else 0.0)
    return SearchTimeoutError(_rounded(given))


def _rounded(budget: float) -> float:
    """A budget as the message says it: 2, 0.5, 1.5 (seconds)."""
    return round(budget, 1) if budget >= 0.1 else round(budget, 2)
