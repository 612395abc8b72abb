"""The saved searches of an index on a cluster: one document in the index of its ingest records, so
every machine that searches the index sees the same watches.

A change reads the document and writes it back only if nobody changed it meanwhile (its sequence
number); else it reads it again and tries once more.
"""

from __future__ import annotations

from typing import Any

from searchidx.engines.opensearch.backend import META_ID, ClusterAddress, call
from searchidx.errors import ClusterError
from searchidx.inputs.manifest import FINISHED_INGEST
from searchidx.results import Watch, WatchProgress

WATCHES_ID = "searchidx:watches"
ATTEMPTS = 5


class ClusterWatches:
    """The watches of the index at ``address``, through ``client``."""

    def __init__(self, client: Any, address: ClusterAddress) -> None:
        self._client = client
        self._address = address

    def watches(self) -> list[Watch]:
        """Every watch, by name."""
        listed, _ = self._read()
        return sorted(listed.values(), key=lambda watch: watch.name)

    def save(self, watch: Watch) -> None:
        """Keep ``watch``, in place of the one of its name if there is one."""
        self._change(lambda listed: listed.__setitem__(watch.name, watch) or True)

    def remove(self, name: str) -> bool:
        """Forget the watch named ``name``; whether there was one."""
        return self._change(lambda listed: listed.pop(name, None) is not None)

    def advance(self, progress: WatchProgress, through: dict[str, int]) -> None:
        """Move each named watch's ``progress`` on to the ingest given (never back), in one change."""

        def moved(listed: dict[str, Watch]) -> bool:
            behind = [
                name for name, watch in listed.items() if through.get(name, 0) > getattr(watch, progress)
            ]
            for name in behind:
                fields = {**_fields(listed[name]), progress: through[name]}
                listed[name] = _watch(fields)
            return bool(behind)

        self._change(moved)

    def finished_ingest(self) -> int:
        """The number of the last ingest that finished, from the index's meta document (0: none)."""
        found = self._get(META_ID)
        meta = found["_source"].get("meta", {}) if found else {}
        return int(meta.get(FINISHED_INGEST, 0))

    def _change(self, change: Any) -> bool:
        for _ in range(ATTEMPTS):
            listed, version = self._read()
            changed = bool(change(listed))
            if not changed:
                return False
            if self._write(listed, version):
                return True
        raise ClusterError(
            f"The saved searches of {self._address.shown} kept changing while this change was made; "
            "try again."
        )

    def _read(self) -> tuple[dict[str, Watch], tuple[int, int] | None]:
        found = self._get(WATCHES_ID)
        if found is None:
            return {}, None
        listed = {fields["name"]: _watch(fields) for fields in found["_source"].get("watches", [])}
        return listed, (found["_seq_no"], found["_primary_term"])

    def _write(self, listed: dict[str, Watch], version: tuple[int, int] | None) -> bool:
        from opensearchpy.exceptions import ConflictError

        body = {"watches": [_fields(watch) for watch in listed.values()]}
        where: dict[str, Any] = {"op_type": "create"} if version is None else {
            "if_seq_no": version[0], "if_primary_term": version[1]}  # fmt: skip

        def written() -> bool:
            try:
                self._client.index(index=self._address.files, id=WATCHES_ID, body=body, refresh=True, **where)
            except ConflictError:  # changed meanwhile
                return False
            return True

        return call(self._address, written)

    def _get(self, doc_id: str) -> Any:
        from opensearchpy.exceptions import NotFoundError

        try:
            return call(self._address, lambda: self._client.get(index=self._address.files, id=doc_id))
        except NotFoundError:
            return None


def _fields(watch: Watch) -> dict[str, Any]:
    return {**watch.__dict__, "options": [list(pair) for pair in watch.options]}


def _watch(fields: dict[str, Any]) -> Watch:
    options = tuple((str(key), str(value)) for key, value in fields.get("options", []))
    return Watch(**{**fields, "options": options})
