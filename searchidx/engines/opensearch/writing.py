"""Ingesting into an OpenSearch index: the writer, the ingest records and the lock, on the cluster.

:func:`searchidx.ingest` runs the same ingest over a cluster as over a folder
(the same files read, identities, duplicates, incremental runs, report);
what differs lives here:

- :class:`ClusterWriter` takes the documents the ingest writes and sends them
  in bulk requests of :data:`CHUNK` actions, retried with backoff while the
  cluster answers 429/502/503/504 or a node cannot be reached; a document
  the cluster rejects is kept in :attr:`ClusterWriter.rejected` with the
  reason, for the ingest to report like a bad file.
- :class:`ClusterManifest` keeps what each file gave in an index beside the
  documents (``NAME-searchidx-files``), so every machine ingesting into the
  cluster sees the same records: it is read into memory at the start and
  the files that changed are written back at each commit.
- An ingest holds a lock document in that index while it runs.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from searchidx.engines.opensearch.backend import (
    MANAGER,
    META_ID,
    ClusterAddress,
    DocumentBuilder,
    call,
    connect,
    files_index_body,
    index_body,
    parse_address,
)
from searchidx.engines.opensearch.watches import WATCHES_ID, ClusterWatches
from searchidx.errors import ClusterError
from searchidx.inputs.manifest import Manifest, Record, compare_records
from searchidx.query.fields import SCHEMA_VERSION
from searchidx.results import RERUN, CheckReport

CHUNK = 500
# How long a bulk request is tried again while the cluster is overloaded or a node is lost.
RETRY_SECONDS = 300.0
RETRY_STATUS = (429, 502, 503, 504)
LOCK_ID = "searchidx:lock"
# A lock older than this is taken to be left by an ingest that died.
STALE_LOCK_SECONDS = 6 * 3600
LOCK_POLL_SECONDS = 1.0
DEFAULT_SHARDS = 1
DEFAULT_REPLICAS = 1


class ClusterWriter:
    """Bulk writes into one index, with the writer verbs the ingest uses on Whoosh."""

    def __init__(self, client: Any, address: ClusterAddress) -> None:
        self._client = client
        self._address = address
        self._builder = DocumentBuilder()
        # One action per id: a delete followed by a new version is just the new version.
        self._pending: dict[str, dict[str, Any] | None] = {}
        self.rejected: dict[str, str] = {}
        self.sent = 0

    def add_document(self, **fields: Any) -> None:
        """Index (or replace) the document with these Whoosh-shaped fields."""
        doc_id = fields["id"]
        self._pending.pop(doc_id, None)
        self._pending[doc_id] = self._builder.build(fields)
        if len(self._pending) >= CHUNK:
            self.flush()

    update_document = add_document

    def delete_by_term(self, field: str, value: str) -> None:
        """Delete the document whose ``id`` is ``value``."""
        if field != "id":
            raise ValueError(f"documents are deleted by id, not {field}")
        self._pending.pop(value, None)
        self._pending[value] = None
        if len(self._pending) >= CHUNK:
            self.flush()

    def commit(self, **_: Any) -> None:
        """Send what is pending and refresh, so the next search sees every document."""
        self.flush()
        call(self._address, lambda: self._client.indices.refresh(index=self._address.name))

    def cancel(self) -> None:
        """Drop what was not sent yet (what was sent stays: the next ingest reads those files again)."""
        self._pending.clear()

    def flush(self) -> None:
        """Send the pending actions, trying again those the cluster could not take yet."""
        actions, self._pending = self._pending, {}
        deadline = time.monotonic() + RETRY_SECONDS
        pause = 0.5
        while actions:
            retry = self._send(actions, deadline)
            if not retry:
                break
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"The cluster at {self._address.shown} kept refusing {len(retry)} documents for "
                    f"{RETRY_SECONDS:g} s (busy or without a live copy of a shard). Run the ingest again "
                    "once `searchidx stats` says the cluster is green; the documents sent are kept."
                )
            time.sleep(pause)
            pause = min(pause * 2, 10.0)
            actions = retry

    def _send(self, actions: dict[str, dict[str, Any] | None], deadline: float) -> dict[str, Any]:
        """One bulk request; the actions to send again (the cluster was busy or lost a node)."""
        from opensearchpy import exceptions as failure

        lines = []
        for doc_id, document in actions.items():
            if document is None:
                lines.append(json.dumps({"delete": {"_id": doc_id}}))
            else:
                lines.append(json.dumps({"index": {"_id": doc_id}}))
                lines.append(json.dumps(document, ensure_ascii=False))
        try:
            answer = self._client.bulk(index=self._address.name, body="\n".join(lines) + "\n")
        except (failure.ConnectionError, failure.ConnectionTimeout) as error:
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"Lost the cluster at {self._address.shown} while indexing ({type(error).__name__}). "
                    "Run the ingest again when it is back; the documents sent are kept."
                ) from error
            return actions
        except failure.TransportError as error:
            if error.status_code in RETRY_STATUS and time.monotonic() <= deadline:
                return actions
            raise ClusterError(
                f"The cluster at {self._address.shown} refused the documents "
                f"(HTTP {error.status_code}: {error.error}). Check its health with `searchidx stats`."
            ) from error
        retry: dict[str, Any] = {}
        for item in answer["items"]:
            kind, result = next(iter(item.items()))
            doc_id, status = result["_id"], int(result.get("status", 500))
            if status < 300 or (kind == "delete" and status == 404):
                self.sent += 1
            elif status in RETRY_STATUS:
                retry[doc_id] = actions[doc_id]
            else:
                cause = result.get("error", {})
                reason = cause.get("reason") or cause.get("type") or f"HTTP {status}"
                self.rejected[doc_id] = f"the cluster rejected the document ({str(reason)[:300]})"
        return retry


class ClusterManifest(Manifest):
    """The ingest records of a cluster's index, kept in its files index and worked on in memory."""

    def __init__(self, client: Any, address: ClusterAddress) -> None:
        super().__init__(None)
        self._client = client
        self._address = address
        self._load()
        self._saved = self._snapshot()
        self._saved_meta = self.meta()

    def _load(self) -> None:
        from opensearchpy import helpers

        for hit in helpers.scan(self._client, index=self._address.files, query={"query": {"match_all": {}}}):
            source = hit["_source"]
            if hit["_id"] == META_ID:
                for key, value in source.get("meta", {}).items():
                    self.set_meta(key, str(value))
            elif hit["_id"] not in (LOCK_ID, WATCHES_ID):  # the lock, and the watches (kept apart)
                records = [_record(fields) for fields in source.get("records", [])]
                self.remember(hit["_id"], source["hash"], records, source.get("stamp", ""))
        super().commit()

    def _snapshot(self) -> dict[str, dict[str, Any]]:
        files = {
            path: {"hash": digest, "stamp": stamp, "records": []}
            for path, digest, stamp in self._connection.execute("SELECT path, hash, stamp FROM files")
        }
        for record in self.records_of(files):
            files[record.path]["records"].append(_fields(record))
        return files

    def commit(self) -> None:
        """Write the files whose records changed since the last commit to the cluster."""
        super().commit()
        now, meta = self._snapshot(), self.meta()
        lines = [json.dumps({"delete": {"_id": path}}) for path in self._saved.keys() - now.keys()]
        for path, entry in now.items():
            if self._saved.get(path) != entry:
                lines += [json.dumps({"index": {"_id": path}}), json.dumps(entry, ensure_ascii=False)]
        if meta != self._saved_meta:
            lines += [json.dumps({"index": {"_id": META_ID}}), json.dumps({"meta": meta})]
        for start in range(0, len(lines), 2 * CHUNK):
            self._send("\n".join(lines[start : start + 2 * CHUNK]) + "\n")
        if lines:
            call(self._address, lambda: self._client.indices.refresh(index=self._address.files))
        self._saved, self._saved_meta = now, meta

    def _send(self, body: str) -> None:
        answer = call(self._address, lambda: self._client.bulk(index=self._address.files, body=body))
        statuses = [int(next(iter(item.values())).get("status", 500)) for item in answer["items"]]
        failed = [status for status in statuses if status >= 300 and status != 404]
        if failed:
            raise ClusterError(
                f"The cluster at {self._address.shown} did not take {len(failed)} ingest records; "
                "run the same ingest again (documents are kept, the records catch up)."
            )


def _fields(record: Record) -> dict[str, Any]:
    """A record as the cluster keeps it (JSON: the sketch in base 64)."""
    fields = dict(record.__dict__)
    if record.sketch is not None:
        fields["sketch"] = base64.b64encode(record.sketch).decode("ascii")
    return fields


def _record(fields: dict[str, Any]) -> Record:
    """A record the cluster kept (:func:`_fields`)."""
    sketch = fields.get("sketch")
    return Record(**{**fields, "sketch": base64.b64decode(sketch) if sketch else None})


@dataclass
class ClusterStore:
    """What an ingest writes to on a cluster: the index, its records, a writer per batch."""

    client: Any
    address: ClusterAddress
    manifest: ClusterManifest
    fresh: bool

    @property
    def location(self) -> str:
        """The index as searchidx shows it."""
        return self.address.shown

    def new_writer(self, files: int, size: int) -> ClusterWriter:
        """A writer for the next batch of documents."""
        return ClusterWriter(self.client, self.address)

    def commit(self, writer: ClusterWriter, *, replace_all: bool = False) -> None:
        """Send what ``writer`` holds and refresh (a rebuild made the index anew when it began)."""
        writer.commit()

    def watches(self) -> ClusterWatches:
        """The index's saved searches, kept on the cluster."""
        return ClusterWatches(self.client, self.address)

    def document_count(self) -> int:
        """How many documents the index holds now."""
        return int(call(self.address, lambda: self.client.count(index=self.address.name))["count"])


@contextlib.contextmanager
def cluster_store(
    url: str,
    *,
    full: bool,
    shards: int | None,
    replicas: int | None,
    wait: float,
    on_wait: Callable[[int | None], None],
) -> Iterator[ClusterStore]:
    """The index at ``url``, created if missing (``full``: made anew), locked for this ingest."""
    address = parse_address(url)
    client = connect(address)
    call(address, lambda: _ensure_indexes(client, address, full, shards, replicas))
    with _lock(client, address, wait, on_wait):
        manifest = call(address, lambda: ClusterManifest(client, address))
        try:
            count = int(call(address, lambda: client.count(index=address.name))["count"])
            yield ClusterStore(client, address, manifest, fresh=count == 0)
        finally:
            manifest.close()


def _ensure_indexes(
    client: Any, address: ClusterAddress, full: bool, shards: int | None, replicas: int | None
) -> None:
    # Each request here needs the elected cluster manager, and waits MANAGER_WAIT_SECONDS for one.
    exists = client.indices.exists(index=address.name, **MANAGER)
    if exists and not full:
        _check_compatible(client, address)
        if shards is not None or replicas is not None:
            _check_layout(client, address, shards, replicas)
        if not client.indices.exists(index=address.files, **MANAGER):
            body = files_index_body(replicas or DEFAULT_REPLICAS)
            client.indices.create(index=address.files, body=body, **MANAGER)
        return
    if exists:
        settings = _settings(client, address)
        shards = shards or int(settings["number_of_shards"])
        replicas = replicas if replicas is not None else int(settings["number_of_replicas"])
        client.indices.delete(index=address.name, **MANAGER)
    if client.indices.exists(index=address.files, **MANAGER):
        client.indices.delete(index=address.files, **MANAGER)
    shards = shards or DEFAULT_SHARDS
    replicas = DEFAULT_REPLICAS if replicas is None else replicas
    for name, body in (
        (address.name, index_body(shards, replicas)),
        (address.files, files_index_body(replicas)),
    ):
        client.indices.create(index=name, body=body, wait_for_active_shards="all", **MANAGER)


def _settings(client: Any, address: ClusterAddress) -> Any:
    """The index's settings (``number_of_shards``...), as its cluster manager knows them."""
    return client.indices.get_settings(index=address.name, **MANAGER)[address.name]["settings"]["index"]


def _check_compatible(client: Any, address: ClusterAddress) -> None:
    """Raises :class:`ClusterError` unless the index was built by this version of searchidx
    (and :class:`ClusterError` saying so when there is no such index)."""
    mapping = client.indices.get_mapping(index=address.name, **MANAGER)[address.name]["mappings"]
    if mapping.get("_meta", {}).get("searchidx_schema_version") != SCHEMA_VERSION:
        raise ClusterError(
            f"The index {address.shown} was not built by this version of searchidx (or not by searchidx). "
            "Rebuild it with `searchidx ingest --full DIR --index URL`."
        )


def _check_layout(client: Any, address: ClusterAddress, shards: int | None, replicas: int | None) -> None:
    settings = _settings(client, address)
    if shards is not None and int(settings["number_of_shards"]) != shards:
        raise ClusterError(
            f"The index {address.shown} has {settings['number_of_shards']} shards; the number is fixed "
            "when an index is made. Rebuild it with --full to change it."
        )
    if replicas is not None and int(settings["number_of_replicas"]) != replicas:
        body = {"index": {"number_of_replicas": replicas}}
        client.indices.put_settings(index=address.name, body=body, **MANAGER)


@contextlib.contextmanager
def _lock(
    client: Any, address: ClusterAddress, wait: float, on_wait: Callable[[int | None], None]
) -> Iterator[None]:
    """Hold the ingest lock of the index: a document only one ingest can create."""
    from opensearchpy.exceptions import ConflictError

    holder = {"host": socket.gethostname(), "pid": os.getpid(), "since": datetime.now(UTC).isoformat()}

    def take() -> bool:
        try:
            client.create(index=address.files, id=LOCK_ID, body=holder, refresh=True)
        except ConflictError:
            return False
        return True

    deadline = time.monotonic() + wait
    told = False
    while not call(address, take):
        current = call(address, lambda: _lock_holder(client, address))
        if current and _stale(current):
            call(address, lambda: client.delete(index=address.files, id=LOCK_ID, refresh=True))
            continue
        if time.monotonic() >= deadline:
            who = f" ({current.get('host')}, PID {current.get('pid')})" if current else ""
            raise ClusterError(
                f"Another ingest{who} is still writing to {address.shown} after {wait:g} s. "
                "Wait for it to finish, or give it longer with --wait SECONDS."
            )
        if not told:
            on_wait(int(current["pid"]) if current and current.get("pid") else None)
            told = True
        time.sleep(LOCK_POLL_SECONDS)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):  # an unreachable cluster leaves the lock to expire
            client.delete(index=address.files, id=LOCK_ID, refresh=True)


def _lock_holder(client: Any, address: ClusterAddress) -> dict[str, Any] | None:
    from opensearchpy.exceptions import NotFoundError

    try:
        return dict(client.get(index=address.files, id=LOCK_ID)["_source"])
    except NotFoundError:
        return None


def _stale(holder: dict[str, Any]) -> bool:
    try:
        since = datetime.fromisoformat(str(holder["since"]))
    except (KeyError, ValueError):
        return True
    return (datetime.now(UTC) - since).total_seconds() > STALE_LOCK_SECONDS


def check_cluster(url: str) -> CheckReport:
    """The cluster's health and the index's documents against the ingest records kept beside them."""
    from opensearchpy import helpers

    started = time.perf_counter()
    address = parse_address(url)
    client = connect(address)

    def read() -> tuple[str, int, dict[str, int], dict[str, str]]:
        # First whether the index exists (a missing one is said at once: the health of an index
        # waits for it to be created), and is searchidx's.
        _check_compatible(client, address)
        health = client.cluster.health(index=address.name, **MANAGER)
        if health["status"] == "red":  # a shard without a live copy: its documents cannot be read
            return "red", int(health["active_primary_shards"]), {}, {}
        ids: dict[str, int] = {}
        for hit in helpers.scan(client, index=address.name, query={"_source": ["id"]}, preference="_primary"):
            ids[hit["_source"]["id"]] = ids.get(hit["_source"]["id"], 0) + 1
        manifest = ClusterManifest(client, address)
        try:
            return (
                str(health["status"]),
                int(health["active_primary_shards"]),
                ids,
                manifest.indexed_locations(),
            )
        finally:
            manifest.close()

    status, shards, ids, recorded = call(address, read)
    problems = []
    if status == "red":
        problems.append(
            "The cluster is red: a shard of the index has no live copy, so searches miss documents."
        )
    problems += compare_records(ids, recorded)
    advice = RERUN if problems else ""
    if status == "red":
        advice = "Bring the missing nodes back (the cluster's own logs say which), then check again."
    elif status == "yellow":
        advice = (
            "The cluster is yellow: some replicas are not assigned (too few nodes?); no document is missing."
        )
    return CheckReport(
        address.shown,
        shards,
        sum(ids.values()),
        len(recorded),
        tuple(problems),
        advice,
        time.perf_counter() - started,
        part="shard",
    )
