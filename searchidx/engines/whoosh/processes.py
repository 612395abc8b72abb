"""The child processes of an ingest (indexing workers, a background merge): forked with Ctrl-C blocked,
ignoring it once started, dying with the ingest process, yielding the CPU to it.

An interrupted ingest stops in the ingest process alone, which cancels cleanly and stops its children:
no stray process, lock or traceback is left behind.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
import threading
from typing import Any

# How much lower than the ingest process's a child's scheduling priority is: the ingest process reads,
# parses and sketches every article and takes most of a core; on two cores, children that yield to it
# keep both busy.
CHILD_NICENESS = 5


def start_child(process: Any) -> None:
    """Start ``process`` with SIGINT blocked while it is forked.

    Blocked, not ignored: a Ctrl-C typed while the child is forked waits and then interrupts the ingest
    (ignoring it lost it: under load an ingest ran to the end after its Ctrl-C).
    """
    if threading.current_thread() is not threading.main_thread():
        process.start()
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        process.start()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def settle_child() -> None:
    """Called first in a child started by :func:`start_child`: Ctrl-C ignored, death with the parent,
    the inherited objects frozen, a lower priority."""
    # Ignore SIGINT, then let it through: a Ctrl-C typed while this process started is dropped here and
    # taken by the parent.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _die_with_parent()
    # The objects this process inherited from the ingest process are never freed here: left to the
    # garbage collector, each full collection would walk all of them (and copy their memory pages), a
    # cost growing with the ingest's heap.
    gc.freeze()
    os.nice(CHILD_NICENESS)


def _die_with_parent() -> None:
    """Have Linux kill this child when the ingest process ends, even by ``kill -9``.

    An orphaned worker would wait for work forever and keep the index's write lock (it shares the
    parent's open lock file).
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes  # only child processes need it

    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:  # the parent died before the prctl
        os._exit(1)
