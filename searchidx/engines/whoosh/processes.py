"""The child processes of an ingest (indexing workers, a background merge): started clean, ignoring
Ctrl-C, dying with the ingest process, yielding the CPU to it.

Children are forked by a small server process (multiprocessing's ``forkserver``, its imports done
once), not from the ingest process: a child forked from that one shares its memory, and each page it
changes afterwards (its story tables and records change all the time) is copied for it, the old one
kept for the child. At 950,000 articles the children held 2.6 GB of such copies. The program's main
module is not imported in them, so a script that ingests needs no ``if __name__ == "__main__"``.

An interrupted ingest stops in the ingest process alone, which cancels cleanly and stops its children:
no stray process, lock or traceback is left behind.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import multiprocessing.forkserver
import multiprocessing.resource_tracker
import os
import signal
import sys
import threading
import types
from collections.abc import Iterator
from multiprocessing.context import BaseContext
from typing import Any

# How much lower than the ingest process's a child's scheduling priority is: the ingest process reads,
# parses and sketches every article, and the writers wait for it; on two cores, children that yield
# to it keep both busy.
CHILD_NICENESS = 5
# What the server imports once, before it forks any child.
PRELOADED = ["searchidx.engines.whoosh.writing"]

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(PRELOADED)


def child_context() -> BaseContext:
    """The multiprocessing context children are started in (their queues and pipes are made in it)."""
    return _CONTEXT


def prepare_children() -> None:
    """Start the server children are forked from now, its imports beside the caller's work (the first
    child started waited for them: 0.15-0.2 s of a large ingest's start with a core idle)."""
    # Multiprocessing's resource tracker first: starting it unblocks SIGINT here. The server started
    # with it blocked keeps it so through its imports: a Ctrl-C then is the caller's alone.
    multiprocessing.resource_tracker.ensure_running()
    with _interrupt_blocked():
        multiprocessing.forkserver.ensure_running()


def start_child(process: Any) -> None:
    """Start ``process`` with SIGINT blocked in this process while it starts.

    Blocked, not ignored: a Ctrl-C typed meanwhile waits and then interrupts the ingest (ignoring it
    lost it: under load an ingest ran to the end after its Ctrl-C).
    """
    prepare_children()
    with _interrupt_blocked(), _main_module_hidden():
        process.start()


@contextlib.contextmanager
def _interrupt_blocked() -> Iterator[None]:
    """SIGINT blocked in this process (the main thread: another one's mask is its own) meanwhile."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start a child without the program's main module: multiprocessing would import it in the child
    (a script's ingest, unless guarded by ``if __name__ == "__main__"``, would run again there)."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def settle_child() -> None:
    """Called first in a child started by :func:`start_child`: Ctrl-C ignored, death with the parent,
    the inherited objects frozen, a lower priority."""
    # Ignore SIGINT, then let it through: a Ctrl-C typed while this process started is dropped here and
    # taken by the parent.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _die_with_parent()
    # What the server imported is never freed here: frozen, no full collection walks it (or copies
    # its memory pages).
    gc.freeze()
    os.nice(CHILD_NICENESS)


def _die_with_parent() -> None:
    """End this child when the ingest process ends, however it ends (even by ``kill -9``).

    A thread waits for the ingest process's end (an event: multiprocessing's sentinel of the parent
    becomes readable), then ends the process: an orphaned worker would wait for work forever, and the
    server that forked it would live on for it.
    """
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_when_ended, args=(parent,), daemon=True).start()


def _exit_when_ended(parent: Any) -> None:
    parent.join()
    os._exit(1)
