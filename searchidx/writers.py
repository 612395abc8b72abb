"""Opening an index writer: one process for small ingests, both cores for large ones.

Whoosh's multi-process writer analyses and indexes documents in worker
processes, each writing its own segment (``multisegment=True``; with
``False`` Whoosh silently drops documents that have no indexed text). The
workers ignore Ctrl-C, so an interrupted ingest stops in the main process
alone, cancels cleanly and leaves no stray process or traceback behind.
"""

from __future__ import annotations

import os
import pickle
import queue
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.util import random_name
from whoosh.writing import SegmentWriter

from searchidx.errors import IndexLockedError

# Whoosh's default index name, the prefix of its files.
INDEX_NAME = "MAIN"
# Below this many files, or bytes, to read, starting worker processes costs more than it saves.
PARALLEL_FROM = 2000
PARALLEL_FROM_BYTES = 8_000_000
# Memory for each writer's posting buffer before it spills sorted runs to disk.
LIMIT_MB = 256
# Documents handed to a worker at a time.
BATCH_SIZE = 200


class _PreloadedLengths:
    """The field lengths of a new segment, read once instead of once per posting."""

    def __init__(self, reader: Any, fieldnames: list[str], doc_count: int) -> None:
        self._lengths = {
            name: [reader.doc_field_length(docnum, name) for docnum in range(doc_count)]
            for name in fieldnames
        }

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int:
        lengths = self._lengths.get(fieldname)
        return lengths[docnum] if lengths is not None else default


class FastSegmentWriter(SegmentWriter):  # type: ignore[misc]  # Whoosh is untyped
    """Whoosh's writer, minus a column read for every posting when the segment is written.

    Whoosh looks up each posting's document length on disk while writing the
    postings (a fifth of the indexing time); this reads the lengths once.
    """

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        reader = self.per_document_reader()
        try:
            scorable = [name for name, field in self.schema.items() if field.scorable]
            lengths = _PreloadedLengths(reader, scorable, self.docnum)
            self.fieldwriter.add_postings(self.schema, lengths, self.pool.iter_postings())
            self.fieldwriter.close()
        finally:
            reader.close()


class _WorkerTask(SubWriterTask):  # type: ignore[misc]  # Whoosh is untyped
    """A worker process of :class:`ParallelWriter`: its own segment, written by :class:`FastSegmentWriter`."""

    def run(self) -> None:
        ix = self.storage.open_index(self.indexname)
        writer = self.writer = FastSegmentWriter(ix, _lk=False, **self.kwargs)
        while self.running:
            job = self.jobqueue.get()
            if job is None:
                break
            self._process_file(*job)
        fieldnames = writer.pool.fieldnames
        self.resultqueue.put((None, fieldnames, writer._finalize_segment()), timeout=5)


class WorkerError(OSError):
    """A worker process of the parallel writer died (killed, or out of memory)."""


class ParallelWriter(MpWriter):  # type: ignore[misc]  # Whoosh is untyped
    """Whoosh's multi-process writer with workers that ignore Ctrl-C and a cancel that stops them."""

    tasks: list[Any]
    docbuffer: list[Any]

    def _new_task(self) -> Any:
        task = _WorkerTask(
            self.storage, self.indexname, self.jobqueue, self.resultqueue, self.subargs, self.multisegment
        )
        self.tasks.append(task)
        if threading.current_thread() is not threading.main_thread():
            task.start()
            return task
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            task.start()  # the forked worker inherits SIG_IGN
        finally:
            signal.signal(signal.SIGINT, previous)
        return task

    def _enqueue(self) -> None:
        # Whoosh's version blocks forever on a full queue when a worker has died.
        filename = f"{random_name()}.doclist"
        with self.temp_storage().create_file(filename).raw_file() as out:
            for item in self.docbuffer:
                pickle.dump(item, out, 2)
        if len(self.tasks) < self.procs:
            self._new_task()
        job = (filename, len(self.docbuffer))
        self.docbuffer = []
        while True:
            try:
                self.jobqueue.put(job, timeout=1)
                return
            except queue.Full:
                self._check_workers()

    def _commit(self, mergetype: Any, optimize: Any, merge: Any) -> None:
        # Whoosh's version waits one second for each worker's segment and
        # silently leaves out a segment that is late or missing.
        if self.docbuffer:
            self._enqueue()
        for _ in self.tasks:
            self.jobqueue.put(None)
        segments = self._merge_segments(mergetype, optimize, merge)
        for task in self.tasks:
            task.join()
        self._check_workers()
        segments += [self.resultqueue.get(timeout=60)[2] for _ in self.tasks]
        if self._added:
            segments.append(self._finalize_segment())
        else:
            self._close_segment()
        self._commit_toc(segments)
        self._finish()

    def _check_workers(self) -> None:
        failed = [task.exitcode for task in self.tasks if task.exitcode not in (None, 0)]
        if failed:
            raise WorkerError(f"an indexing worker process stopped with exit code {failed[0]}")

    def cancel(self) -> None:
        """Stop the workers at once; their unfinished segments are removed by the next commit."""
        for task in self.tasks:
            task.terminate()
            task.join()
        self.tasks.clear()
        super().cancel()


def worker_count(files_to_read: int, bytes_to_read: int) -> int:
    """How many writer processes an ingest of this many files (of this total size) should use."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    large = files_to_read >= PARALLEL_FROM or bytes_to_read >= PARALLEL_FROM_BYTES
    return min(cores, 4) if large and cores > 1 else 1


@contextmanager
def write_lock(storage: Any, path: Path) -> Iterator[None]:
    """Hold the write lock of the index in ``storage``; :class:`IndexLockedError` if another holds it.

    Whoosh's lock is an ``flock`` on a file in the index folder: the system
    releases it when its process ends, however it ends.
    """
    lock = storage.lock(f"{INDEX_NAME}_WRITELOCK")  # the file Whoosh's own writers lock
    if not lock.acquire(blocking=False):
        raise IndexLockedError(path)
    try:
        yield
    finally:
        lock.release()


def open_writer(ix: Any, *, procs: int = 1) -> Any:
    """A writer on ``ix`` with ``procs`` processes, for a caller that holds :func:`write_lock`."""
    if procs > 1:
        return ParallelWriter(
            ix,
            procs=procs,
            multisegment=True,
            batchsize=BATCH_SIZE,
            subargs={"limitmb": LIMIT_MB},
            limitmb=LIMIT_MB,
            _lk=False,
        )
    return FastSegmentWriter(ix, limitmb=LIMIT_MB, _lk=False)
