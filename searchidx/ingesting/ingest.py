"""``ingest()``: the articles in files and under folders into the index, incrementally.

Every supported file is hashed; only new and changed files are read again,
documents of files that are gone from the folders (or, for a file given by
name, no longer read) are removed, and the rest is left untouched
(``full=True`` rebuilds from scratch). Every record found is accounted for
exactly once: added, updated, unchanged, duplicate or skipped.

Identity and duplicates: a document is identified by its canonical URL, else
by its file (and record). A document with the identity, or the title and body
(case and spacing aside), of one already in the index is a duplicate: the one
indexed first (in sorted path order within a run) is kept, except that a later
capture of a page (web archives) replaces an earlier one, whichever file holds
it. Near-duplicates (syndicated copies, updates) are kept, as versions of one
story (:mod:`searchidx.ingesting.stories`). Which files are read is
:mod:`searchidx.inputs.finding`'s business.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import sqlite3
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from searchidx.engines.factory import open_store
from searchidx.engines.locations import index_location, index_path, is_cluster
from searchidx.engines.protocol import DEFAULT_WAIT, FolderStore, Store
from searchidx.errors import (
    NUL_IN_PATH,
    CorpusError,
    DocumentError,
    IndexWriteError,
    NothingToIndexError,
    SemanticUnavailableError,
    plural,
)
from searchidx.ingesting.reports import (
    Duplicate,
    IngestObserver,
    IngestReport,
    Skipped,
    Truncated,
    passed_over_text,
)
from searchidx.ingesting.stories import Sketch, StoryFinder, sketch, sketch_all
from searchidx.inputs.archives import PassedOver, is_archive
from searchidx.inputs.documents import (
    NOT_REGULAR,
    BadRecord,
    Document,
    archive_documents,
    is_regular,
    is_supported,
    load_documents,
    path_text,
    read_bytes,
    will_read,
)
from searchidx.inputs.finding import find_files, is_under
from searchidx.inputs.manifest import Manifest, Record
from searchidx.query.fields import SCHEMA_VERSION

if TYPE_CHECKING:
    from searchidx.meaning.embedding import Article

PathLike = str | os.PathLike[str]
SUPPORTED_NAMES = ".txt, .md, .html, .htm, .jsonl, .ndjson, .rss, .atom, .xml, .warc, .arc, .wacz"
# The hash of a file not in the manifest: it is new, so it is read (and hashed) anyway.
NOT_HASHED = ""
# Documents indexed between two commits of a large ingest at most: what a crash can cost. A batch
# also ends when its text fills the writers' posting buffers (``batch_characters``): a buffer that
# overflows is sorted to disk and merged back, which made some batches take twice as long.
BATCH_DOCUMENTS = 20_000
# Files the kernel is asked to read ahead of the one being read (inputs.documents.will_read).
READ_AHEAD = 32
# Files read, parsed and sketched together (a web archive is streamed alone, sketched as it is read).
SKETCHED_TOGETHER = 64
# Files modified less than this long before an ingest are hashed again next time (see _stamp).
RACY_NS = 2_000_000_000


def ingest(
    directories: PathLike | Iterable[PathLike],
    *,
    index: PathLike | None = None,
    full: bool = False,
    workers: int | None = None,
    wait: float = DEFAULT_WAIT,
    observer: IngestObserver | None = None,
    shards: int | None = None,
    replicas: int | None = None,
    semantic: bool | None = None,
    include_folder_docs: bool = False,
) -> IngestReport:
    """Bring the index at ``index`` up to date with the articles in ``directories``: folders and files.

    ``index`` defaults to ``$SEARCHIDX_INDEX`` or ``index/``; it is created if
    missing. An ``http(s)://host:port/name`` URL is an index on an OpenSearch
    cluster (``shards`` and ``replicas`` set when it is created; default 1 and
    1). A folder is read recursively; a file given by name is read whatever
    its name. Documents that came from other folders and files are left alone,
    unless ``full`` asks for a rebuild from these only. A folder's own
    documents (README.txt, LICENSE.md, COPYING.html...) are not read unless
    ``include_folder_docs``; one indexed before is removed. ``workers`` is the
    number of indexing processes (default: one per core, up to 4, when there
    are 2,000 files or 8 MB to read, or more). An ingest that finds another
    one writing waits up to ``wait`` seconds for it (``observer.waiting`` is
    told). ``semantic`` True gives every article a vector for searching by
    meaning (the ``semantic`` extra), False drops the vectors, None keeps
    what the index was last told. Raises :class:`CorpusError` when a folder
    or file is missing or none holds a supported file, :class:`IndexLockedError` when
    the wait runs out, :class:`SemanticUnavailableError` when vectors are
    asked for without the extra.

    Example: ``ingest("corpus/", index="index/").added`` is 331 for the demo corpus.
    """
    started = time.perf_counter()
    folders = _as_folders(directories)
    location = index_location(index)
    cluster = location is not None and is_cluster(location)
    target = index_path(location) if not cluster else None
    found = find_files(folders, exclude=target, include_folder_docs=include_folder_docs)
    candidates = found.supported
    files = len(candidates)
    folder_documents = tuple(path_text(path) for path in found.folder_documents)
    if not candidates:
        names = ", ".join(str(folder) for folder in folders)
        if folder_documents:
            raise NothingToIndexError(
                f"No articles in {names}: "
                f"{passed_over_text(folder_documents, found.ignored, found.ignored_folders)} ignored. "
                "Point ingest at the folder that holds your articles, "
                "or add --include-folder-docs to index folder documents."
            )
        raise NothingToIndexError(
            f"No supported files ({SUPPORTED_NAMES}) in {names} "
            f"({plural(found.ignored, 'other file')} ignored). "
            "Point ingest at the folder that holds your articles."
        )
    observer = observer or IngestObserver()
    if cluster and semantic:
        raise SemanticUnavailableError(
            "Vectors for searching by meaning are kept beside an index folder; a cluster index cannot "
            "hold them yet. Ingest into a folder with --semantic, or leave --semantic out."
        )
    opened = open_store(target or str(location), full=full, workers=workers, shards=shards,
                        replicas=replicas, wait=wait, on_wait=observer.waiting, files=files)  # fmt: skip
    with opened as store:
        remembered = isinstance(store, FolderStore) and _remembers_vectors(store)
        with_vectors = semantic if semantic is not None else remembered
        if with_vectors and target is not None:
            _check_model()  # a missing extra or a wrong model file is said before anything is read
        run = _Run(store, store.manifest, observer, full=full, fresh=full or store.fresh,
                   semantic=with_vectors)  # fmt: skip
        try:
            for location in folder_documents:
                observer.action("ignored", location, "a folder document")
            run.execute(candidates, folders)  # empties candidates
            run.commit()
            run.finish()
            if isinstance(store, FolderStore) and target is not None:
                run.embedded = _sync_vectors(target, store, run, with_vectors)
            total = store.document_count()
            undated = store.manifest.undated_count()
            stories = store.manifest.story_count()
            watches = len(store.watches().watches())
            run.stories.forget()  # before the index's last merges, which leaving the store may run
        except (OSError, sqlite3.Error) as error:  # a full disk, a read-only folder...
            run.cancel()
            reason = getattr(error, "strerror", None) or str(error)
            raise IndexWriteError(target or Path(str(location)), reason) from error
        except BaseException:
            run.cancel()
            raise
    return IngestReport(
        index=store.location,
        files=files,
        ignored=found.ignored,
        ignored_folders=found.ignored_folders,
        folder_documents=folder_documents,
        added=run.added,
        updated=run.updated,
        unchanged=run.unchanged,
        removed=len(run.removed()),
        duplicates=tuple(run.duplicates),
        skipped=tuple(run.skipped),
        undated=undated,
        total=total,
        seconds=time.perf_counter() - started,
        truncated=tuple(run.truncated),
        embedded=run.embedded,
        passed_records=tuple(run.passed.most_common()),
        stories=stories,
        watches=watches,
    )


def _sync_vectors(target: Path, store: FolderStore, run: _Run, with_vectors: bool) -> int:
    """Give the committed documents their vectors (or drop them all); the number embedded."""
    if not with_vectors:
        if _remembers_vectors(store):
            from searchidx.meaning.vectors import remove_store

            remove_store(target)
            store.manifest.set_meta("semantic", "off")
            store.manifest.commit()
        return 0
    from searchidx.meaning.embedding import sync_vectors

    live = store.manifest.indexed_contents()

    def stored_articles(wanted: dict[str, str]) -> Iterator[Article]:
        for fields in store.stored_documents(wanted):
            yield _article(fields["id"], wanted[fields["id"]], fields)

    return sync_vectors(target, live, run.articles, stored_articles, run.observer.embedding)


@dataclass
class _Run:
    """The state of one ingest: the writer, the manifest and the counts."""

    store: Store
    manifest: Manifest
    observer: IngestObserver
    full: bool
    fresh: bool
    semantic: bool = False
    added: int = 0
    embedded: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: list[Duplicate] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    truncated: list[Truncated] = field(default_factory=list)
    passed: Counter[str] = field(default_factory=Counter)  # web archive records without an article
    retired: set[str] = field(default_factory=set)
    # This run's documents (ids as numbers: at a million articles their strings took hundreds of MB),
    # and their texts' content keys; where each one came from is in its record.
    written: set[int] = field(default_factory=set)
    _new_content: set[int] = field(default_factory=set)
    changes: bool = False
    writer: Any = None
    _retired_at: dict[str, str] = field(default_factory=dict)
    _file_records: list[Record] = field(default_factory=list)  # of the file being read
    _new_crawled: dict[str, str] = field(default_factory=dict)  # this run's web archive captures, by id
    _replaced: set[str] = field(default_factory=set)  # pages a later capture replaced in this run
    _unchanged_ids: set[str] = field(default_factory=set)  # the documents counted unchanged
    # The files still to read after the one being read: how many, and their bytes.
    _left: tuple[int, int] = (0, 0)
    _stamps: dict[str, str] = field(default_factory=dict)
    _batched: int = 0
    _batched_characters: int = 0
    _sizes: dict[str, int] = field(default_factory=dict)
    _cleared: bool = False
    # This run's documents as their vectors need them, when the index has vectors.
    articles: dict[str, Article] = field(default_factory=dict)
    stories: StoryFinder = field(init=False)
    # This ingest's number (the one after the last that finished), and the content key and ingest of
    # each document retired (ids and keys as numbers): one written again with the same text keeps its
    # ingest, so a saved search does not report it again.
    number: int = field(init=False)
    _brought: dict[int, tuple[int, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.stories = StoryFinder(self.manifest.indexed_sketches)
        self.number = self.manifest.finished_ingest() + 1

    def execute(self, candidates: dict[str, str], folders: list[Path]) -> None:
        """Hash every file, retire what changed or is gone, then read what is new or changed.

        Empties ``candidates`` as it plans, and forgets each file once it is read: at a million
        files, their paths, keys, sizes and stamps are most of an ingest's memory.
        """
        self.observer.started(len(candidates))
        to_read, hashes = self._plan(candidates, folders)
        self.stories.expect(len(to_read))  # an article a file, at least
        bytes_left = sum(self._sizes.get(path, 0) for path, _ in to_read)
        for path, _ in itertools.islice(to_read, READ_AHEAD):
            will_read(path, self._sizes.get(path, 0))
        while to_read:
            chunk: list[_Opened] = []
            while to_read and len(chunk) < SKETCHED_TOGETHER and not (chunk and chunk[-1].streamed):
                if len(to_read) > READ_AHEAD:  # the file that enters the window read ahead
                    ahead = to_read[READ_AHEAD][0]
                    will_read(ahead, self._sizes.get(ahead, 0))
                path, key = to_read.popleft()  # read: forgotten
                bytes_left -= self._sizes.pop(path, 0)
                chunk.append(self._open(path, key, hashes.pop(key), (len(to_read), bytes_left)))
            _sketch_documents(chunk)
            for opened in chunk:
                self._left = opened.left
                self._place_all(opened)
                self.observer.file_done(opened.path)
                if self._batch_full() and opened.left[0]:
                    self._commit_batch()
        for doc_id in self.removed():
            self.observer.action("removed", self._retired_at[doc_id])

    def removed(self) -> list[str]:
        """The documents of changed or gone files that this run did not write again, sorted."""
        return sorted(doc_id for doc_id in self.retired if _number(doc_id) not in self.written)

    def _plan(
        self, candidates: dict[str, str], folders: list[Path]
    ) -> tuple[deque[tuple[str, str]], dict[str, str]]:
        """The files to read (new or changed) with their keys, and each one's content hash; the
        documents of changed and gone files retired, the others' files told done."""
        if self.full:
            self._remember_texts(self.manifest.indexed_texts())
            self.manifest.clear()
            self.manifest.finish_ingest(self.number - 1)  # the numbers go on
        known, recorded = self.manifest.file_hashes(), self.manifest.file_stamps()
        hashes = self._hash_all(candidates, known, recorded)
        current = set(candidates.values())
        gone = {key for key in known if is_under(key, folders) and key not in current}
        changed = {key for key, digest in hashes.items() if digest != known.get(key)}
        size = sum(self._sizes[path] for path, key in candidates.items() if key in changed)
        self.writer = self.store.new_writer(len(changed), size)
        if known:
            reread = self._retire(gone | changed, current)
        else:  # nothing recorded yet: nothing to retire
            reread, self.changes = changed, bool(changed)
        unchanged = [key for key in hashes if key not in reread]
        self._account_unchanged(unchanged)
        self.manifest.restamp(
            {key: self._stamps[key] for key in unchanged if self._stamps[key] != recorded[key]}
        )
        to_read: deque[tuple[str, str]] = deque()
        for path, key in candidates.items():
            if key in reread and key in hashes:
                to_read.append((path, key))
            else:
                self.observer.file_done(Path(path))
                self._sizes.pop(path, None)
                self._stamps.pop(key, None)
        candidates.clear()
        return to_read, hashes

    def commit(self) -> None:
        """Commit the index, then the manifest: the documents of every file read so far are safe."""
        if self.full and not self._cleared:
            self.store.commit(self.writer, replace_all=True)  # the rebuild replaces every older segment
            self._cleared = True
        elif self.changes:
            self.store.commit(self.writer)
        else:
            self.writer.cancel()
        self._account_rejected(getattr(self.writer, "rejected", {}))
        self.manifest.set_meta("last_ingest", datetime.now(UTC).isoformat())
        self.manifest.set_meta("schema_version", str(SCHEMA_VERSION))
        if self.semantic:  # said with the first commit, so an ingest stopped while embedding is resumed
            self.manifest.set_meta("semantic", "on")
        self.manifest.commit()
        self.writer = None  # committed: nothing left to cancel

    def finish(self) -> None:
        """Record that this ingest finished: saved searches may report its documents now."""
        self.manifest.finish_ingest(self.number)
        self.manifest.commit()

    def _account_rejected(self, rejected: dict[str, str]) -> None:
        """Documents a cluster refused are skipped records, reported with the cluster's reason."""
        for doc_id, reason in rejected.items():
            number = _number(doc_id)
            if number not in self.written:
                continue
            indexed = self._indexed_here(doc_id=doc_id)
            self._unwrite(doc_id)
            self.manifest.reject(doc_id, reason)
            self._skip(indexed[1] if indexed else doc_id, reason)
        rejected.clear()

    def _batch_full(self) -> bool:
        """Whether the documents written since the last commit should be committed now."""
        room = getattr(self.writer, "batch_characters", None)  # a cluster's writer has no buffer to fill
        return self._batched >= BATCH_DOCUMENTS or (room is not None and self._batched_characters >= room)

    def _commit_batch(self) -> None:
        self.commit()
        self._batched = self._batched_characters = 0
        self.writer = self.store.new_writer(*self._left)

    def cancel(self) -> None:
        """Drop what this ingest wrote but did not commit.

        Closing the writer's files can fail again (the disk is still full);
        what it leaves is removed by the next ingest (``remove_leftovers``).
        """
        if self.writer is not None:
            with contextlib.suppress(OSError):
                self.writer.cancel()

    def _hash_all(
        self, keys: dict[str, str], known: dict[str, str], recorded: dict[str, str]
    ) -> dict[str, str]:
        """The content hash of every file found, and each file's size and stamp (one ``stat`` each).

        A known file whose size and modification time are those recorded is
        taken as unchanged without being read (as make, rsync and git do); a
        new file gets ``NOT_HASHED`` and is hashed when it is read, once.
        """
        hashes: dict[str, str] = {}
        for path, key in keys.items():
            try:
                status = os.stat(path)
                if not is_regular(status):
                    raise DocumentError(Path(path), NOT_REGULAR)
                self._sizes[path], self._stamps[key] = status.st_size, _stamp(status)
                if key not in known:
                    hashes[key] = NOT_HASHED
                elif self._stamps[key] and recorded.get(key) == self._stamps[key]:
                    hashes[key] = known[key]
                elif is_archive(path):
                    hashes[key] = _streamed_hash(path)
                else:
                    hashes[key] = hashlib.sha256(read_bytes(Path(path))).hexdigest()
            except (OSError, DocumentError) as error:
                self._skip(path_text(path), _why(error))
        return hashes

    def _retire(self, affected: set[str], present: set[str]) -> set[str]:
        """Delete the documents of changed and gone files; return the files to read again.

        Files whose duplicates pointed at a retired document are read again
        too, so one of them can take its place.
        """
        pending = set(affected)
        while pending:
            old = [record for record in self.manifest.records_of(pending) if record.status == "indexed"]
            ids = {record.doc_id for record in old if record.doc_id}
            self._remember_texts(
                (record.doc_id, record.content_key, record.ingested) for record in old if record.doc_id
            )
            self._retired_at.update((record.doc_id, record.location) for record in old if record.doc_id)
            self.manifest.forget(pending)
            for doc_id in ids - self.retired:
                self.writer.delete_by_term("id", doc_id)
            self.retired |= ids
            self.changes = self.changes or bool(pending)
            orphans = self.manifest.duplicates_of(ids) & present
            pending = orphans - affected
            affected |= pending
        return affected

    def _remember_texts(self, documents: Iterable[tuple[str, str | None, int | None]]) -> None:
        """Keep the content key and ingest of each of these ``(id, content key, ingest)`` documents."""
        for doc_id, content_key, number in documents:
            if content_key and number is not None:
                self._brought[_number(doc_id)] = (_number(content_key), number)

    def _ingest_of(self, document: Document) -> int:
        """The ingest that brought the document's text: an earlier one if it was indexed with the same
        text before, else this one."""
        before = self._brought.get(_number(document.id))
        return before[1] if before is not None and before[0] == _number(document.content_key) else self.number

    def _account_unchanged(self, keys: list[str]) -> None:
        for record in self.manifest.records_of(keys):
            if record.status == "indexed":
                self.unchanged += 1
                self._unchanged_ids.add(record.doc_id or "")
            elif record.status == "duplicate":
                kept = self.manifest.indexed_by_id(record.detail)
                of = kept.location if kept else record.detail
                self.duplicates.append(Duplicate(record.location, of))
                self.observer.action("duplicate", record.location, of)
            else:  # still not indexable: say so again
                self._skip(record.location, record.detail)

    def _open(self, text: str, key: str, content_hash: str, left: tuple[int, int]) -> _Opened:
        """The file read and parsed (a web archive: opened, its records read as they are placed)."""
        path = Path(text)
        opened = _Opened(path, key, content_hash, left)
        if is_archive(path):  # streamed: read twice (hash, records) rather than held whole
            try:
                opened.content_hash = content_hash if content_hash != NOT_HASHED else _streamed_hash(path)
            except OSError as error:
                opened.failure = _why(error)
                return opened
            opened.items, opened.streamed = self._archive_items(path), True
            return opened
        try:
            data = read_bytes(path)  # after the stamp was taken: a change makes the next run look again
        except DocumentError as error:
            opened.failure = error.reason
            return opened
        if content_hash == NOT_HASHED:
            opened.content_hash = hashlib.sha256(data).hexdigest()
        opened.items = list(_load(path, data))
        return opened

    def _place_all(self, opened: _Opened) -> None:
        """Index the file's documents (or count them as duplicates) and record what became of each."""
        if opened.failure is not None:
            self._skip(path_text(opened.path), opened.failure)
            return
        records = self._file_records = []
        sketches = iter(opened.sketches)
        for item in opened.items:
            if isinstance(item, Skipped):
                self._skip(item.location, item.reason)
                records.append(Record(opened.key, item.location, "skipped", detail=item.reason))
            else:
                records.append(self._place(item, opened.key, next(sketches, None)))
        self.manifest.remember(opened.key, opened.content_hash, records, self._stamps.pop(opened.key))

    def _archive_items(self, path: Path) -> Iterator[Document | Skipped]:
        """A web archive's articles; its records that hold none are counted by kind, not reported."""
        try:
            for item in archive_documents(path):
                if isinstance(item, PassedOver):
                    self.passed[item.kind] += 1
                else:
                    yield Skipped(item.location, item.reason) if isinstance(item, BadRecord) else item
        except OSError as error:
            yield Skipped(path_text(path), _why(error))
        except Exception as error:  # a parser bug must not stop the other files
            yield Skipped(path_text(path), f"could not read the archive ({type(error).__name__}: {error})")

    def _place(self, document: Document, key: str, sketched: Sketch | None) -> Record:
        """Index the document, or count it as a duplicate of the one already there (its sketch made
        here if not given)."""
        document = replace(document, resolved=key)  # the file's key is its resolved path
        kept = self._already_indexed(document)
        crawled = document.crawled.astimezone(UTC).isoformat() if document.crawled else None
        if kept is not None and self._captured_later(document.id, crawled, kept[0]):
            self._supersede(*kept, document.location)
        elif kept is not None:
            kept_id, kept_location = kept
            self.duplicates.append(Duplicate(document.location, kept_location))
            self.observer.action("duplicate", document.location, kept_location)
            return Record(key, document.location, "duplicate", document.id, document.content_key, kept_id)
        sketched = sketched or sketch(document.title, document.body, document.date)
        story = self.stories.story_of(document.id, sketched)
        ingested = self._ingest_of(document)
        fields = _fields(document, key, story, ingested)
        if self.semantic:
            self.articles[document.id] = _article(document.id, document.content_key, fields)
        self._batched += 1
        self._batched_characters += document.characters
        if self.fresh and document.id not in self.retired and document.id not in self._replaced:
            self.writer.add_document(**fields)
        else:
            self.writer.update_document(**fields)
        if document.id in self.retired:
            kind = "updated"
            self.updated += 1
        else:
            kind = "added"
            self.added += 1
        self.written.add(_number(document.id))
        self.changes = True
        self._new_content.add(_number(document.content_key))
        if crawled is not None:
            self._new_crawled[document.id] = crawled
        self.observer.action(kind, document.location, document.title)
        if document.truncated_from:
            length = len(document.body)
            self.truncated.append(Truncated(document.location, document.truncated_from, length))
            self.observer.action("truncated", document.location, f"{length:,} of {document.truncated_from:,}")
        dated = document.date is not None
        return Record(key, document.location, "indexed", document.id, document.content_key, dated=dated,
                      story=story, sketch=sketched.to_bytes(), crawled=crawled,
                      ingested=ingested)  # fmt: skip

    def _unwrite(self, doc_id: str) -> None:
        """A document this run wrote is not its own after all: no longer counted added (or updated)."""
        self.written.discard(_number(doc_id))
        if doc_id in self.retired:
            self.updated -= 1
        else:
            self.added -= 1

    def _captured_later(self, doc_id: str, crawled: str | None, kept_id: str) -> bool:
        """Whether this capture of a page is later than the one of it already indexed (the same URL)."""
        if crawled is None or kept_id != doc_id:
            return False
        if doc_id in self._new_crawled:
            return crawled > self._new_crawled[doc_id]
        record = self.manifest.indexed_by_id(doc_id)
        return record is not None and record.crawled is not None and crawled > record.crawled

    def _supersede(self, doc_id: str, location: str, by: str) -> None:
        """The page ``doc_id`` indexed from ``location`` is replaced by a later capture from ``by``: its
        record becomes a duplicate's (it comes back if the later one's file goes), and it is counted so."""
        self.manifest.supersede(doc_id)
        if _number(doc_id) in self.written:  # indexed by this run: it was counted as added (or updated) here
            self._unwrite(doc_id)
            # A Whoosh writer cannot delete a document it holds itself: committed, the next one can.
            self._commit_batch()
        else:  # indexed before: the later capture updates it
            if doc_id in self._unchanged_ids:
                self.unchanged -= 1
            self.retired.add(doc_id)
            self._retired_at[doc_id] = location
        self._replaced.add(doc_id)
        self.duplicates.append(Duplicate(location, by))
        self.observer.action("duplicate", location, by)

    def _already_indexed(self, document: Document) -> tuple[str, str] | None:
        """The id and location of the document indexed with this one's identity or text, if any."""
        if _number(document.id) in self.written:
            return self._indexed_here(doc_id=document.id)
        if _number(document.content_key) in self._new_content:
            return self._indexed_here(content_key=document.content_key)
        if self.fresh:
            return None  # an empty index: nothing indexed before this run
        for record in (
            self.manifest.indexed_by_id(document.id),
            self.manifest.indexed_by_content(document.content_key),
        ):
            if record is not None and record.doc_id:
                return record.doc_id, record.location
        return None

    def _indexed_here(self, *, doc_id: str = "", content_key: str = "") -> tuple[str, str] | None:
        """The id and location of the document this run indexed with this id or text: from the records
        of the file being read, else from the ingest records (which hold the other files' records)."""
        wanted, column = (doc_id, "doc_id") if doc_id else (content_key, "content_key")
        for record in reversed(self._file_records):
            if record.status == "indexed" and getattr(record, column) == wanted:
                return record.doc_id or "", record.location
        if doc_id:
            found = self.manifest.indexed_by_id(doc_id)
        else:
            found = self.manifest.indexed_by_content(content_key)
        return (found.doc_id or "", found.location) if found is not None else None

    def _skip(self, location: str, reason: str) -> None:
        self.skipped.append(Skipped(location, reason))
        self.observer.action("skipped", location, reason)


@dataclass
class _Opened:
    """A file to place: its key, content hash and what was left to read after it; its records (a
    list, or an archive's stream) and their documents' sketches, or why it could not be read."""

    path: Path
    key: str
    content_hash: str
    left: tuple[int, int]
    items: Iterable[Document | Skipped] = ()
    sketches: list[Sketch] = field(default_factory=list)
    streamed: bool = False
    failure: str | None = None


def _sketch_documents(files: list[_Opened]) -> None:
    """Sketch the documents of the files read whole, all at once (:func:`sketch_all`)."""
    documents = [item for opened in files if isinstance(opened.items, list)
                 for item in opened.items if isinstance(item, Document)]  # fmt: skip
    sketches = iter(sketch_all([(document.title, document.body, document.date) for document in documents]))
    for opened in files:
        if isinstance(opened.items, list):
            opened.sketches = [next(sketches) for item in opened.items if isinstance(item, Document)]


def _number(key: str) -> int:
    """A document id or content key (16 hex digits) as the number it writes."""
    return int(key, 16)


def _why(error: OSError | DocumentError) -> str:
    if isinstance(error, DocumentError):
        return error.reason
    return f"cannot read the file ({error.strerror or error})"


def _stamp(status: os.stat_result) -> str:
    """``size:mtime_ns`` of a file, or ``""`` when it changed too recently for the time to be trusted.

    A file written within the clock's resolution of an ingest could change
    again without its time changing; such files are hashed next time too.
    """
    if time.time_ns() - status.st_mtime_ns < RACY_NS:
        return ""
    return f"{status.st_size}:{status.st_mtime_ns}"


def _streamed_hash(path: os.PathLike[str] | str) -> str:
    """The SHA-256 of a file of any size, read a block at a time."""
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _load(path: Path, data: bytes) -> Iterator[Document | Skipped]:
    """The file's documents; what cannot be read becomes :class:`Skipped` with the reason."""
    try:
        items = load_documents(path, data)
    except DocumentError as error:
        yield Skipped(path_text(path), error.reason)
        return
    except Exception as error:  # a parser bug must not stop the other files
        yield Skipped(path_text(path), f"could not parse the file ({type(error).__name__}: {error})")
        return
    for item in items:
        yield Skipped(item.location, item.reason) if isinstance(item, BadRecord) else item


def _as_folders(directories: PathLike | Iterable[PathLike]) -> list[Path]:
    """The folders and files to ingest, each checked to exist."""
    if isinstance(directories, (str, os.PathLike)):
        directories = [directories]
    folders = [Path(directory) for directory in directories]
    if not folders:
        raise CorpusError("No folder to ingest. Give one or more folders or files of articles.")
    for folder in folders:
        if "\0" in str(folder):
            raise CorpusError(
                f"The folder name {str(folder)!r} {NUL_IN_PATH}. Check the path and run ingest again."
            )
        if not folder.exists():
            kind = "file" if is_supported(folder) else "folder"
            raise CorpusError(f"The {kind} {folder} does not exist. Check the path and run ingest again.")
    return folders


def _check_model() -> None:
    from searchidx.meaning.model import verified_files  # only for an index with vectors

    verified_files()


def _remembers_vectors(store: FolderStore) -> bool:
    """Whether the index was told to keep vectors (or holds some: a crash before the manifest said so)."""
    from searchidx.meaning.vectors import current_generation

    return store.manifest.meta().get("semantic") == "on" or current_generation(store.location) is not None


def _article(doc_id: str, content_key: str, fields: dict[str, Any]) -> Article:
    """A document's fields (as stored or as about to be written) as its vector needs them."""
    from searchidx.meaning.embedding import Article
    from searchidx.meaning.model import embedding_text
    from searchidx.meaning.vectors import Entry

    text = embedding_text(fields.get("title", ""), fields.get("_stored_body", fields.get("body", "")))
    return Article(Entry(doc_id, content_key, fields.get("date"), fields.get("source", "")), text)


def _fields(document: Document, key: str, story: str, ingested: int = 0) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": document.id,
        "title": document.title,
        # The headline is indexed as part of the text too, weighted (one field
        # scores better than two on both test collections; docs/relevance.md),
        # while the stored body stays the body alone.
        "body": (document.title, document.body),
        "_stored_body": document.body,
        "spelling": (document.title, document.body),
        "url": document.url,
        "source": document.source,
        "path": key,
        "record": document.record,
        "story": int(story, 16),
        "ingested": ingested,
    }
    # Whoosh stores naive datetimes; searchidx's are UTC.
    if document.date is not None:
        fields["date"] = document.date.astimezone(UTC).replace(tzinfo=None)
    if document.crawled is not None:
        fields["crawled"] = document.crawled.astimezone(UTC).replace(tzinfo=None)
    return fields
