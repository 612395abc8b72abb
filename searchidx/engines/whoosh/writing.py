"""Writing a Whoosh index: the folder an ingest writes to, and its writers (one process for small
ingests, both cores for large ones).

Whoosh's multi-process writer analyses and indexes documents in worker
processes, each writing its own segment (``multisegment=True``; with
``False`` Whoosh silently drops documents that have no indexed text). The
workers ignore Ctrl-C, so an interrupted ingest stops in the main process
alone, cancels cleanly and leaves no stray process or traceback behind.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pickle
import queue
import shutil
import sqlite3
import sys
import time
import zlib
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from whoosh.analysis import IDTokenizer
from whoosh.columns import VarBytesColumn, WrappedColumnWriter
from whoosh.fields import DATETIME, ID, NUMERIC
from whoosh.index import TOC, clean_files
from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.util import random_name
from whoosh.util.numeric import to_sortable
from whoosh.writing import CLEAR, SegmentWriter

from searchidx.engines.protocol import DEFAULT_WAIT
from searchidx.engines.whoosh.merging import BackgroundMerges, KeepsMergesFiles, buffer_postings
from searchidx.engines.whoosh.postings import (
    PICKLE_PROTOCOL,
    BulkPostings,
    length_bytes,
    write_field,
    write_in_bulk,
)
from searchidx.engines.whoosh.processes import child_context, prepare_children, settle_child, start_child
from searchidx.engines.whoosh.storage import index_storage, open_or_create_index
from searchidx.engines.whoosh.watches import FolderWatches
from searchidx.errors import IndexLockedError, IndexWriteError
from searchidx.inputs.manifest import Manifest
from searchidx.query.fields import ArticleText, SpellingWords

# Whoosh's default index name, the prefix of its files.
INDEX_NAME = "MAIN"
LOCK_NAME = f"{INDEX_NAME}_WRITELOCK"
# How often an ingest waiting for another one's write lock looks at it.
LOCK_POLL_SECONDS = 0.2
# Below this many files, or bytes, to read, starting worker processes costs more than it saves.
PARALLEL_FROM = 2000
PARALLEL_FROM_BYTES = 8_000_000
# Memory for each writer's posting buffer: a batch of documents is as large as fills it (the buffer
# is held whole, never spilled to disk).
LIMIT_MB = 256
# What Whoosh's posting buffer counted for each character of a document's title and text, with a
# margin (about 29 measured on Reuters): batches keep the size this gave (the bulk buffer holds less).
POOL_BYTES_PER_CHARACTER = 32
# What a worker puts on the result queue, in place of its segment, when it fails.
WORKER_FAILED = "failed"
# Documents handed to a worker at a time.
BATCH_SIZE = 200
# A document's stored fields are deflated at Whoosh's level with a 4 KB window: an article's are about
# 1 KB, and setting up zlib's default 32 KB window and tables for each took two thirds of the time.
STORED_LEVEL = 3
STORED_WINDOW_BITS = 12


class FastSegmentWriter(KeepsMergesFiles, SegmentWriter):  # type: ignore[misc]  # Whoosh is untyped
    """Whoosh's writer with its postings buffered and written in bulk (:mod:`.postings`).

    A document's fields are analysed, stored and given columns as Whoosh
    does; its postings go to :class:`BulkPostings` a field at a time, and the
    segment's term and posting files are written from arrays sorted at once.
    Fields are indexed, stored (or ``_stored_<name>`` in their place) and
    given a column; boosts and term vectors, which searchidx does not use,
    are not supported.
    """

    batch_characters = LIMIT_MB * 2**20 // POOL_BYTES_PER_CHARACTER
    pool: Any

    def __init__(self, ix: Any, **kwargs: Any) -> None:
        super().__init__(ix, **kwargs)
        self.pool = BulkPostings(self.schema)
        write_in_bulk(self.fieldwriter)
        columns = self.perdocwriter._colwriters
        columns["_stored"] = _StoredFieldsWriter(columns["_stored"]._child)

    def add_document(self, **fields: Any) -> None:
        """Add one document (Whoosh's protocol: a value per field name)."""
        self.add_documents([fields])

    def add_documents(self, documents: Sequence[dict[str, Any]]) -> None:
        """Add a batch of documents (each a value per field name): text and speller fields' postings
        made for the batch at once, the other fields' one document at a time."""
        self._check_state()
        schema = self.schema
        for fields in documents:
            self._check_fields(schema, [name for name in fields if not name.startswith("_")])
        first = self.docnum
        # The fields indexed here for the whole batch, with each document's length in each.
        batched = {
            name: self.pool.add_texts(name, schema[name], first, [fields.get(name) for fields in documents])
            for name in self._text_fields
        }
        for name in self._word_fields:
            self.pool.add_weighted_words(
                name, schema[name], first, [fields.get(name) for fields in documents]
            )
            batched[name] = np.zeros(len(documents), dtype=np.int64)  # not scored: no length
        perdocwriter = self.perdocwriter
        for offset, fields in enumerate(documents):
            perdocwriter.start_doc(self.docnum)
            try:
                for name in sorted(name for name in fields if not name.startswith("_")):
                    value = fields[name]
                    if value is None:
                        continue
                    stored = fields.get(f"_stored_{name}", value)
                    length = int(batched[name][offset]) if name in batched else None
                    self._add_field(name, schema[name], value, stored, length)
            except Exception:
                perdocwriter.cancel_doc()
                raise
            perdocwriter.finish_doc()
            self._added = True
            self.docnum += 1

    @functools.cached_property
    def _text_fields(self) -> list[str]:
        """The fields indexed a batch at a time (:class:`ArticleText`)."""
        return [name for name, field in self.schema.items() if isinstance(field, ArticleText)]

    @functools.cached_property
    def _word_fields(self) -> list[str]:
        """The fields of weighted words without values, indexed a batch at a time (:class:`SpellingWords`)."""
        return [name for name, field in self.schema.items() if isinstance(field, SpellingWords)]

    def _add_field(self, name: str, field: Any, value: Any, stored: Any, length: int | None) -> None:
        """Store ``value``, give it a column and index it (unless ``length`` says it is indexed already)."""
        if field.indexed and length is None:
            length = self._index_field(name, field, value)
        self.perdocwriter.add_field(name, field, stored if field.stored else None, length or 0)
        if field.column_type and stored is not None:
            self.perdocwriter.add_column_value(name, field.column_type, field.to_column_value(stored))

    def _index_field(self, name: str, field: Any, value: Any) -> int:
        """Buffer the postings of one document's ``value`` in a field indexed a document at a time;
        its length in terms."""
        if isinstance(field, NUMERIC) and not isinstance(value, list | tuple):
            terms = numeric_terms(field, value)
            self.pool.add_document(name, self.docnum, terms, [1.0] * len(terms), [b""] * len(terms))
            return 0
        if isinstance(field, ID) and isinstance(field.analyzer, IDTokenizer) and isinstance(value, str):
            # The value is the one term (Whoosh's ID analysis, without a token for it).
            term, weight = value.encode("utf-8"), field.format.field_boost
            self.pool.add_document(name, self.docnum, [term], [weight], [b""])
            return 0
        items = list(field.index(value))
        terms = [item[0] for item in items]
        weights, values = [item[2] for item in items], [item[3] for item in items]
        self.pool.add_document(name, self.docnum, terms, weights, values)
        return sum(item[1] for item in items) if field.scorable else 0

    def add_postings_to_pool(self, reader: Any, startdoc: int, docmap: dict[int, int] | None) -> None:
        """Buffer ``reader``'s live documents' postings, renumbered from ``startdoc`` (or by ``docmap``)."""
        buffer_postings(reader, self.pool, startdoc, docmap)

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        reader = self.per_document_reader()
        try:
            for name, buffered in self.pool.field_postings():
                field = self.schema[name]
                lengths = length_bytes(reader, name, self.docnum) if field.scorable else None
                write_field(self.fieldwriter, name, field, buffered, lengths)
            self.fieldwriter.close()
        finally:
            reader.close()


class _StoredFieldsWriter(WrappedColumnWriter):  # type: ignore[misc]  # Whoosh is untyped
    """A segment's stored fields as Whoosh's column writes them (a pickle per document, deflated), made
    in a third of the time: pickle's protocol 5 (Whoosh's 2 is slower) and a small window."""

    def add(self, docnum: int, value: Any) -> None:
        packed = zlib.compress(pickle.dumps(value, PICKLE_PROTOCOL), STORED_LEVEL, STORED_WINDOW_BITS)
        VarBytesColumn.Writer.add(self._child, docnum, packed)


def numeric_terms(field: Any, value: Any) -> list[bytes]:
    """Whoosh's terms of a number or date in ``field``: its sortable form at each step of precision, the
    form computed once (``NUMERIC.index`` converts the value again for every step)."""
    number = field.prepare_datetime(value) if isinstance(field, DATETIME) else value
    sortable = to_sortable(field.numtype, field.bits, field.signed, field.prepare_number(number))
    steps = range(0, field.bits, field.shift_step) if field.shift_step else range(1)
    return [field.sortable_to_bytes(sortable, shift) for shift in steps]


class _WorkerTask(SubWriterTask):  # type: ignore[misc]  # Whoosh is untyped
    """A worker process of :class:`ParallelWriter`: its own segment, written by :class:`FastSegmentWriter`."""

    @staticmethod
    def _Popen(process: Any) -> Any:  # noqa: N802  # multiprocessing's name
        return child_context().Process._Popen(process)  # type: ignore[attr-defined]

    def run(self) -> None:
        settle_child()
        try:
            self._index_jobs()
        except Exception as error:  # told to the ingest process, which reports it; no traceback here
            reason = getattr(error, "strerror", None) or f"{type(error).__name__}: {error}"
            self.resultqueue.put((WORKER_FAILED, reason, None), timeout=5)
            sys.exit(1)

    def _process_file(self, filename: str, count: int) -> None:
        """Add the batch of documents the ingest process wrote to ``filename``, then remove the file."""
        storage = self.writer.temp_storage()
        with storage.open_file(filename).raw_file() as jobs:
            documents = [pickle.load(jobs) for _ in range(count)]
        self.writer.add_documents([fields for _, fields in documents])
        storage.delete_file(filename)

    def _index_jobs(self) -> None:
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


class ParallelWriter(KeepsMergesFiles, MpWriter):  # type: ignore[misc]  # Whoosh is untyped
    """Whoosh's multi-process writer with workers that ignore Ctrl-C and a cancel that stops them."""

    tasks: list[Any]
    docbuffer: list[Any]
    procs: int

    def __init__(self, ix: Any, **kwargs: Any) -> None:
        super().__init__(ix, **kwargs)
        context = child_context()  # Whoosh made its queues for forked children
        self.jobqueue, self.resultqueue = context.Queue(self.procs * 4), context.Queue()

    @property
    def batch_characters(self) -> int:
        """How much text fits in the workers' posting buffers: the most a batch should hold."""
        return self.procs * FastSegmentWriter.batch_characters

    def _new_task(self) -> Any:
        task = _WorkerTask(
            self.storage, self.indexname, self.jobqueue, self.resultqueue, self.subargs, self.multisegment
        )
        self.tasks.append(task)
        start_child(task)
        return task

    def _enqueue(self) -> None:
        # Whoosh's version blocks forever on a full queue when a worker has died.
        filename = f"{random_name()}.doclist"
        with self.temp_storage().create_file(filename).raw_file() as out:
            for item in self.docbuffer:
                pickle.dump(item, out, pickle.HIGHEST_PROTOCOL)
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
            told = self._failure_told()
            raise WorkerError(told or f"an indexing worker process stopped with exit code {failed[0]}")

    def _failure_told(self) -> str | None:
        """What a failed worker said went wrong (the results of the others are dropped: this ingest stops)."""
        while True:
            try:
                kind, reason, _ = self.resultqueue.get(timeout=0.5)
            except queue.Empty:
                return None
            if kind == WORKER_FAILED:
                return str(reason)

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
def write_lock(
    storage: Any,
    path: Path,
    *,
    wait: float = DEFAULT_WAIT,
    on_wait: Callable[[int | None], None] | None = None,
) -> Iterator[None]:
    """Hold the write lock of the index in ``storage``, waiting up to ``wait`` seconds for another holder.

    Whoosh's lock is an ``flock`` on a file in the index folder: the system
    releases it when its process ends, however it ends (worker processes die
    with their parent, so they cannot keep it either). The holder writes its
    PID into the file; ``on_wait`` is called once, with that PID, if this has
    to wait. :class:`IndexLockedError` when the wait runs out.
    """
    lock = storage.lock(LOCK_NAME)  # the file Whoosh's own writers lock
    deadline = time.monotonic() + wait
    waited = False
    while not lock.acquire(blocking=False):
        if time.monotonic() >= deadline:
            holder = lock_holder(storage)
            raise IndexLockedError(path, holder=f" (PID {holder})" if holder else "", waited=f"{wait:g}")
        if not waited and on_wait is not None:
            on_wait(lock_holder(storage))
        waited = True
        time.sleep(min(LOCK_POLL_SECONDS, max(0.0, deadline - time.monotonic())))
    try:
        os.ftruncate(lock.fd, 0)
        os.write(lock.fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        lock.release()


def lock_holder(storage: Any) -> int | None:
    """The PID written into the index's lock file by its last holder, if any."""
    try:
        with open(os.path.join(storage.folder, LOCK_NAME), encoding="ascii") as lock_file:
            return int(lock_file.read().strip())
    except (OSError, ValueError):
        return None


def remove_leftovers(storage: Any) -> None:
    """Delete what writers that were killed left in the index folder.

    For a caller that holds :func:`write_lock`. Whoosh deletes segments that
    are not in the table of contents only when it commits, and never its
    temporary files: a table of contents half-written and the folder of
    sorted runs.
    """
    toc = TOC.read(storage, INDEX_NAME)
    clean_files(storage, INDEX_NAME, toc.generation, toc.segments)
    for name in os.listdir(storage.folder):
        path = os.path.join(storage.folder, name)
        if name.startswith(f"_{INDEX_NAME}_") and ".toc." in name:  # a table of contents half-written
            storage.delete_file(name)
        elif name.endswith(".tmp") and os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)


def open_writer(ix: Any, *, procs: int = 1) -> Any:
    """A writer on ``ix`` with ``procs`` processes, for a caller that holds :func:`write_lock`."""
    if procs > 1:
        return ParallelWriter(
            ix,
            procs=procs,
            multisegment=True,
            batchsize=BATCH_SIZE,
            # The batch's buffer is shared, not halved: the workers take jobs as they free up,
            # so one can get more than its share, and a buffer that overflows costs a batch
            # twice its time (sorted to disk, merged back). The batch's size bounds the total.
            subargs={"limitmb": LIMIT_MB * procs},
            limitmb=LIMIT_MB,
            _lk=False,
        )
    return FastSegmentWriter(ix, limitmb=LIMIT_MB, _lk=False)


@dataclass
class WhooshStore:
    """What an ingest writes to in a folder: the Whoosh index, its manifest, a writer per batch."""

    ix: Any
    manifest: Manifest
    location: Path
    workers: int | None
    merges: BackgroundMerges = field(default_factory=BackgroundMerges)

    @property
    def fresh(self) -> bool:
        """Whether the index holds no document yet (every document can be added, not updated)."""
        return bool(self.ix.doc_count_all() == 0)

    def new_writer(self, files: int, size: int) -> Any:
        """A writer with as many processes as ``files`` files of ``size`` bytes deserve."""
        return open_writer(self.ix, procs=self.workers or worker_count(files, size))

    def document_count(self) -> int:
        """The documents of the newest table of contents."""
        return int(self.ix.doc_count())

    def watches(self) -> FolderWatches:
        """The index's saved searches."""
        return FolderWatches(self.location)

    def commit(self, writer: Any, *, replace_all: bool = False) -> None:
        """Commit ``writer``'s segment (``replace_all``: the only one left, every older one dropped)."""
        writer.commit(mergetype=CLEAR if replace_all else self.merges)

    def finish(self) -> None:
        """Wait for the merge under way, if any, and commit it with the merges still due;
        :class:`IndexWriteError` when it failed (the documents are committed: the index is whole)."""
        if self.merges.finish_due(self.ix._segments()):
            try:
                open_writer(self.ix).commit(mergetype=self.merges.finishing)
            except OSError as error:
                raise IndexWriteError(self.location, error.strerror or str(error)) from error

    def stored_documents(self, ids: Collection[str]) -> Iterator[dict[str, Any]]:
        """The stored fields of the committed documents among ``ids`` (read in one pass over them all)."""
        with self.ix.searcher() as searcher:
            for fields in searcher.all_stored_fields():
                if fields["id"] in ids:
                    yield fields


@contextlib.contextmanager
def folder_store(
    target: Path,
    *,
    full: bool,
    workers: int | None,
    wait: float,
    on_wait: Callable[[int | None], None],
    files: int = 0,
) -> Iterator[WhooshStore]:
    """The index in ``target`` locked for one ingest (created if missing, anew when ``full``); when it
    is empty and its ``files`` will be written by several processes, their server is started now."""
    with write_lock(index_storage(target), target, wait=wait, on_wait=on_wait):
        ix = open_or_create_index(target, rebuild=full)
        if (workers or worker_count(files, 0)) > 1 and ix.doc_count_all() == 0:
            prepare_children()
        remove_leftovers(ix.storage)
        manifest = writable_manifest(target)
        try:
            store = WhooshStore(ix, manifest, target, workers)
            try:
                yield store
            except BaseException:
                store.merges.stop()
                raise
            store.finish()
        finally:
            manifest.close()


def writable_manifest(target: Path) -> Manifest:
    """The index's ingest records opened for writing; :class:`IndexWriteError` when they cannot be."""
    try:
        return Manifest(target)
    except sqlite3.OperationalError as error:
        reason = "Permission denied" if not os.access(target, os.W_OK) else str(error)
        raise IndexWriteError(target, reason) from error
