"""The OpenSearch backend: an index on a cluster, named by ``http(s)://host:port/name``.

What is the same as on Whoosh: the cluster indexes the terms searchidx's own
analyzer makes (:mod:`searchidx.query.analysis`: accent folding, the stop words,
Snowball English, the headline weighted inside the body), through a mapping
whose analyzer only splits on spaces, so every word means the same on both
engines and the query tree is searched term for term
(:mod:`searchidx.engines.opensearch.query`). Scores are BM25 with searchidx's K1 and
B, and every search runs ``dfs_query_then_fetch`` so they do not depend on
how documents fall into shards. Snippets, the speller's ranking and rendering
are searchidx's own, over the stored text.

Credentials come from the environment (``SEARCHIDX_OPENSEARCH_USER`` and
``SEARCHIDX_OPENSEARCH_PASSWORD``, or ``SEARCHIDX_OPENSEARCH_API_KEY``) and are
never printed; TLS certificates are verified (``SEARCHIDX_OPENSEARCH_CA_CERTS``
names a CA bundle for a private CA).
"""

from __future__ import annotations

import fnmatch
import os
import re
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from whoosh import query as wq

from searchidx.engines.opensearch.query import Dsl, Translator
from searchidx.engines.protocol import DayCounts, Filters, Order, Page, Row, StoryMatches
from searchidx.errors import ClusterError, ClusterExtraMissingError, DocumentNotFoundError
from searchidx.inputs.urls import canonical_url, document_id
from searchidx.query.analysis import surface_words, text_analyzer, url_analyzer
from searchidx.query.deadlines import check, expired, remaining
from searchidx.query.fields import SCHEMA_VERSION, build_schema
from searchidx.query.parsing import SEARCH_FIELDS
from searchidx.query.ranking import K1, B
from searchidx.results import MAX_HITS, NO_DATE, NO_SOURCE, Stats

USER_ENV = "SEARCHIDX_OPENSEARCH_USER"
PASSWORD_ENV = "SEARCHIDX_OPENSEARCH_PASSWORD"
API_KEY_ENV = "SEARCHIDX_OPENSEARCH_API_KEY"
CA_ENV = "SEARCHIDX_OPENSEARCH_CA_CERTS"
# The ingest records (what each file gave) live beside the documents, in this index.
FILES_SUFFIX = "-searchidx-files"
META_ID = "searchidx:meta"
INDEX_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,200}")
TERMS_ANALYZER = "searchidx_terms"
# Fields holding analysed terms: searched, never returned (the text is under ``shown``).
TERM_FIELDS = ("title", "body", "url", "spelling", "names")
STORY_PAGE = 10_000  # stories per page of a composite aggregation
# Searches that meet a shard without a live copy (a node just died) are tried again this long.
SEARCH_RETRY_SECONDS = 20.0
# A word counts as a name in an article when at least this share of its occurrences is capitalized.
NAME_SHARE = 0.5
SIMILAR_TERMS = 25
PREFERENCE = "searchidx"  # the same shard copies answer every search, so equal scores stay in order
REQUEST_TIMEOUT = 60
# A search with a deadline is cancelled on the cluster this long after it, and given up on by the client
# twice as long after it (the cluster's own timeout answers first).
TIMEOUT_GRACE = 0.5
# How long a request that needs the elected cluster manager (mappings, settings, health, creating an
# index) waits for one: an election after a manager is lost takes a few seconds; a cluster with none
# is reported after this wait (the server's default is 30 s, and the client tried 4 times: 2 minutes).
MANAGER_WAIT_SECONDS = 8
MANAGER = {"cluster_manager_timeout": f"{MANAGER_WAIT_SECONDS}s"}  # the parameter of those requests
# How long the questions asked to explain a failure may take: each is answered by the node itself.
DIAGNOSIS_TIMEOUT = 3
T = TypeVar("T")


@dataclass(frozen=True)
class ClusterAddress:
    """Where an index lives: the cluster's nodes and the index name."""

    hosts: tuple[str, ...]
    name: str

    @property
    def shown(self) -> str:
        """The address as searchidx prints it (never with credentials)."""
        return f"{self.hosts[0]}/{self.name}"

    @property
    def files(self) -> str:
        """The name of the index that holds the ingest records."""
        return self.name + FILES_SUFFIX


def parse_address(url: str) -> ClusterAddress:
    """``http(s)://host:port[,host:port...]/name`` as a :class:`ClusterAddress`.

    Raises :class:`ClusterError` for a URL without an index name, with
    credentials in it, or with a name OpenSearch does not allow.
    """
    url = url.strip()
    scheme, rest = url.split("://", 1)
    hosts_part, _, name = rest.partition("/")
    name = name.strip("/")
    if "@" in hosts_part:
        raise ClusterError(
            f"The index URL holds credentials; remove them and set {USER_ENV} and {PASSWORD_ENV} "
            f"(or {API_KEY_ENV}) instead, so they never show in commands or logs."
        )
    hosts = tuple(f"{scheme.lower()}://{host.strip()}" for host in hosts_part.split(",") if host.strip())
    if not hosts:
        raise ClusterError(f"The index URL {url!r} names no host. Give it as http(s)://host:9200/NAME.")
    if not name:
        raise ClusterError(f"The index URL {hosts[0]} names no index. Add one: {hosts[0]}/news.")
    if not INDEX_NAME.fullmatch(name) or name.endswith(FILES_SUFFIX):
        raise ClusterError(
            f"{name!r} cannot be an index name: use lower-case letters, digits, '-', '_' or '.', "
            f"not ending in {FILES_SUFFIX!r}."
        )
    return ClusterAddress(hosts, name)


def connect(address: ClusterAddress) -> Any:
    """An OpenSearch client for the cluster, with the credentials of the environment."""
    try:
        from opensearchpy import OpenSearch
    except ImportError as error:
        raise ClusterExtraMissingError() from error
    options: dict[str, Any] = {
        "hosts": list(address.hosts),
        "timeout": REQUEST_TIMEOUT,
        "max_retries": 3,
        "retry_on_timeout": True,
        # Not 503: searches and bulk writes try a busy or shard-less cluster again themselves, with
        # pauses; any other 503 means no elected cluster manager, which 4 tries in a row cannot fix.
        "retry_on_status": (502, 504),
        "verify_certs": True,
    }
    if os.environ.get(API_KEY_ENV):
        options["headers"] = {"Authorization": f"ApiKey {os.environ[API_KEY_ENV]}"}
    elif os.environ.get(USER_ENV):
        options["http_auth"] = (os.environ[USER_ENV], os.environ.get(PASSWORD_ENV, ""))
    if os.environ.get(CA_ENV):
        options["ca_certs"] = os.environ[CA_ENV]
    return OpenSearch(**options)


def call(address: ClusterAddress, action: Callable[[], T]) -> T:
    """``action()``, which talks to the cluster; the client's errors become a :class:`ClusterError`."""
    from opensearchpy import exceptions as failure

    where = address.shown
    try:
        return action()
    except failure.SSLError as error:
        raise ClusterError(
            f"The TLS connection to {where} failed ({_reason(error)}). Check that the cluster speaks https "
            f"there and that its certificate is trusted ({CA_ENV} names the CA bundle that signed it)."
        ) from error
    except failure.ConnectionError as error:
        raise ClusterError(
            f"Cannot reach the cluster at {where} ({_reason(error)}). "
            "Check the address and that the cluster is running."
        ) from error
    except failure.AuthenticationException as error:
        raise ClusterError(
            f"The cluster at {where} refused the login. "
            f"Check {USER_ENV} and {PASSWORD_ENV} (or {API_KEY_ENV})."
        ) from error
    except failure.AuthorizationException as error:
        raise ClusterError(
            f"The cluster at {where} does not allow this user to do that ({_reason(error)}). "
            "Ask its administrator for read and write rights on the index."
        ) from error
    except failure.NotFoundError as error:
        if "index_not_found" in str(getattr(error, "error", "")):
            raise ClusterError(
                f"No index {address.name!r} on the cluster at {address.hosts[0]}. "
                "Run `searchidx ingest DIR --index URL` first."
            ) from error
        raise
    except failure.TransportError as error:
        raise ClusterError(
            manager_missing(address)
            or f"The cluster at {where} could not answer (HTTP {error.status_code}: {_reason(error)}). "
            "Check its health with `searchidx stats`, and try again."
        ) from error


def manager_missing(address: ClusterAddress) -> str | None:
    """What to say of a cluster whose nodes have no elected cluster manager, or None if it has one.

    Asked of the node reached (``local``: answered at once, without a manager) after a request
    failed: ``_cluster/health`` says whether a manager is known, ``_cat/nodes`` which of the
    nodes it last knew answer. None too when the cluster cannot tell within
    :data:`DIAGNOSIS_TIMEOUT`.
    """
    try:
        client = connect(address)
        health = client.cluster.health(local=True, request_timeout=DIAGNOSIS_TIMEOUT)
        if health.get("discovered_cluster_manager", health.get("discovered_master", True)):
            return None
    except Exception:  # the cluster cannot tell: the error at hand is reported as it is
        return None
    lost = ""
    try:
        nodes = client.cat.nodes(
            local=True, format="json", h="name,heap.percent", request_timeout=DIAGNOSIS_TIMEOUT
        )
        names = sorted(str(node["name"]) for node in nodes if node.get("heap.percent") is None)
        if names:
            lost = f" ({len(names)} of {len(nodes)} nodes unreachable: {', '.join(names)})"
    except Exception:  # the sentence goes without the count
        pass
    return (
        f"The cluster at {address.hosts[0]} has no elected cluster manager{lost}, so it cannot answer: "
        "too few of its nodes reach each other to elect one. Start the missing nodes, then try again."
    )


def _reason(error: Any) -> str:
    """A short reason from a client error, without anything that could hold credentials."""
    info = getattr(error, "info", None)
    if isinstance(info, dict):
        cause = info.get("error", {})
        if isinstance(cause, dict):
            return str(cause.get("reason") or cause.get("type") or "")[:300]
        return str(cause)[:300]
    if isinstance(info, Exception):
        return type(info).__name__ + (f": {str(info)[:200]}" if str(info) else "")
    return str(getattr(error, "error", "") or type(error).__name__)[:300]


def index_body(shards: int, replicas: int) -> Dsl:
    """Settings and mapping of a searchidx index on a cluster."""
    terms = {"type": "text", "analyzer": TERMS_ANALYZER, "similarity": "searchidx_bm25"}
    words = {"type": "text", "analyzer": TERMS_ANALYZER, "index_options": "docs", "norms": False}
    return {
        "settings": {
            "number_of_shards": shards,
            "number_of_replicas": replicas,
            "similarity": {"searchidx_bm25": {"type": "BM25", "k1": K1, "b": B}},
            "analysis": {"analyzer": {TERMS_ANALYZER: {"type": "custom", "tokenizer": "whitespace"}}},
            "max_result_window": MAX_HITS,
        },
        "mappings": {
            "dynamic": "strict",
            "_meta": {"searchidx_schema_version": SCHEMA_VERSION},
            "_source": {"excludes": list(TERM_FIELDS)},
            "properties": {
                "id": {"type": "keyword"},
                "title": terms,
                "body": terms,
                "url": {"type": "text", "analyzer": TERMS_ANALYZER},
                "spelling": words,
                "names": words,
                "source": {"type": "keyword"},
                "path": {"type": "keyword"},
                "record": {"type": "keyword"},
                "date": {"type": "date"},
                "crawled": {"type": "date"},
                "story": {"type": "keyword"},
                "ingested": {"type": "long"},
                "shown": {"type": "object", "enabled": False},
            },
        },
    }


def files_index_body(replicas: int) -> Dsl:
    """Settings and mapping of the index of ingest records: one document per source file."""
    return {
        "settings": {"number_of_shards": 1, "number_of_replicas": replicas},
        "mappings": {"dynamic": False, "properties": {"hash": {"type": "keyword"}}},
    }


class DocumentBuilder:
    """A searchidx document (the fields ingest gives Whoosh) as the cluster's JSON document."""

    def __init__(self) -> None:
        self._analyzer = text_analyzer()
        self._url_analyzer = url_analyzer()

    def build(self, fields: dict[str, Any]) -> Dsl:
        """The JSON document: analysed terms to search, and the text as it is to show."""
        headline, text = fields["body"]
        headline_terms = " ".join(self._analyzer.terms(headline))
        body_terms = " ".join(self._analyzer.terms(text))
        shares = surface_words(headline, text)
        url = fields.get("url") or ""
        document: Dsl = {
            "id": fields["id"],
            "title": " ".join(self._analyzer.terms(fields["title"])),
            # The headline's words count twice in the body (searchidx.query.ranking.HEADLINE_WEIGHT): once
            # alone, once followed by the text, so a phrase may run on from the headline, as on Whoosh.
            "body": [headline_terms, f"{headline_terms} {body_terms}".strip()],
            "url": " ".join(token.text for token in self._url_analyzer(url)) if url else "",
            "spelling": " ".join(shares),
            "names": " ".join(word for word, share in shares.items() if share >= NAME_SHARE),
            "source": fields.get("source") or None,
            "path": fields["path"],
            "record": fields.get("record") or None,
            "story": f"{fields['story']:016x}",
            "ingested": fields.get("ingested", 0),
            "shown": {"title": fields["title"], "body": fields["_stored_body"], "url": url},
        }
        for name in ("date", "crawled"):
            if fields.get(name) is not None:
                document[name] = fields[name].isoformat() + "Z"
        return document


def stored_fields(hit: Dsl) -> dict[str, Any]:
    """A search hit's ``_source`` as the stored fields searchidx's hits are made of."""
    source = hit["_source"]
    shown = source.get("shown", {})
    raw_date, raw_crawled = source.get("date"), source.get("crawled")
    return {
        "id": source["id"],
        "title": shown.get("title", ""),
        "body": shown.get("body", ""),
        "url": shown.get("url", ""),
        "source": source.get("source") or "",
        "path": source.get("path", ""),
        "record": source.get("record") or "",
        "story": source.get("story") or source["id"],
        "date": _naive_utc(raw_date) if raw_date else None,
        "crawled": _naive_utc(raw_crawled) if raw_crawled else None,
    }


def _naive_utc(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


class OpenSearchBackend:
    """An index on an OpenSearch cluster, opened for searching (one client, shared by threads)."""

    def __init__(self, url: str) -> None:
        self.address = parse_address(url)
        self.location = self.address.shown
        self.schema = build_schema()  # the query language's fields; analysis is searchidx's own
        self._analyzer = self.schema["body"].analyzer
        self._client = connect(self.address)
        self._local = threading.local()
        call(self.address, self._check_index)

    def _check_index(self) -> None:
        mapping = self._client.indices.get_mapping(index=self.address.name, **MANAGER)
        meta = next(iter(mapping.values()))["mappings"].get("_meta", {})
        if meta.get("searchidx_schema_version") != SCHEMA_VERSION:
            raise ClusterError(
                f"The index {self.location} was not built by this version of searchidx. "
                "Rebuild it with `searchidx ingest --full DIR --index URL`."
            )

    def reading(self, action: Callable[[], T]) -> T:
        """``action()``; the cluster's failures become :class:`ClusterError`."""
        return call(self.address, action)

    def close(self) -> None:
        """Nothing to release per thread: the client's connections are pooled."""

    def lexicon(self) -> ClusterLexicon:
        """The archive's words as written, from the cluster's ``spelling`` field; what it learns is
        kept for the rest of this search (each search starts with a new one)."""
        self._local.lexicon = ClusterLexicon(self)
        return self._local.lexicon  # type: ignore[no-any-return]

    def _current_lexicon(self) -> ClusterLexicon:
        """This search's lexicon (what it has looked up already is not asked again)."""
        lexicon: ClusterLexicon | None = getattr(self._local, "lexicon", None)
        return lexicon if lexicon is not None else self.lexicon()

    def search(self, body: Dsl, *, size: int = 0, start: int = 0, scored: bool = False) -> Dsl:
        """One search of the index; ``scored`` ones with global term statistics (a first round trip
        to every shard). A search that meets a shard with no live copy (a node just died) is tried
        again until :data:`SEARCH_RETRY_SECONDS` pass, or :data:`MANAGER_WAIT_SECONDS` when the
        cluster has no elected manager then (none can promote a replica); an index that is red (a
        shard without any copy left on the cluster's nodes) is reported at once."""
        search_type = "dfs_query_then_fetch" if scored else "query_then_fetch"
        deadline = time.monotonic() + SEARCH_RETRY_SECONDS
        pause = 0.25
        tries = 0
        while True:
            check()  # the search's deadline, if it has one (searchidx.query.deadlines)
            tries += 1
            if tries == 2:  # the first failed: can the cluster mend it, and soon?
                if manager_missing(self.address):
                    deadline = min(deadline, time.monotonic() + MANAGER_WAIT_SECONDS)
                elif red := self._red():
                    raise ClusterError(red)
            try:
                answer: Dsl = self._client.search(
                    index=self.address.name,
                    body=body,
                    size=size,
                    from_=start,
                    search_type=search_type,
                    preference=PREFERENCE,
                    allow_partial_search_results=False,
                    **_time_limits(),
                )
            except Exception as error:
                if remaining() == 0:  # the cluster gave up or was given up on at the search's deadline
                    raise expired() from error
                if not _retryable(error) or time.monotonic() > deadline:
                    raise
            else:
                if answer.get("timed_out"):
                    raise expired()
                if not answer.get("_shards", {}).get("failed"):
                    return answer
                if time.monotonic() > deadline:
                    raise ClusterError(
                        manager_missing(self.address)
                        or f"Some shards of {self.location} failed to answer. "
                        "Check its health with `searchidx stats`."
                    )
            time.sleep(pause)
            pause = min(pause * 2, 4.0)

    def _red(self) -> str | None:
        """What to say when the index is red (a primary shard with no live copy: when a node dies,
        the cluster promotes a replica in the same step, so red is a loss only a node's return
        mends), or None. None too when the cluster cannot tell within :data:`DIAGNOSIS_TIMEOUT`."""
        name = self.address.name
        try:
            health = self._client.cluster.health(
                index=name, level="shards", request_timeout=DIAGNOSIS_TIMEOUT, **MANAGER
            )
            shards = health["indices"][name]["shards"]
        except Exception:  # the failure at hand is reported as it is
            return None
        # A primary being recovered (initializing: a node restarting) is not lost: wait for it.
        lost = [
            shard
            for shard in shards.values()
            if not shard["primary_active"] and not shard["initializing_shards"]
        ]
        if not lost:
            return None
        return (
            f"The index {self.location} is red: {len(lost)} of its {len(shards)} shards "
            f"{'has' if len(lost) == 1 else 'have'} no live copy on the cluster's nodes, so it cannot be "
            "searched. Bring back the nodes that held them (the cluster's own logs say which); "
            "`searchidx check --index URL` says when the index is whole again."
        )

    def translator(self) -> Translator:
        """A query translator whose fuzzy words are expanded from this cluster's words."""
        lexicon = self._current_lexicon()
        return Translator(
            lexicon.documents,
            self.term_frequencies,
            lexicon.words_within,
            lambda word: (self._analyzer.terms(word) or [""])[0],
        )

    def run(
        self,
        query: Any,
        depth: int,
        filters: Filters,
        sort: Order,
        skip: int,
        *,
        exact_total: bool = False,
        ids_only: bool = False,
    ) -> Page:
        """The hits ``skip`` to ``depth`` of ``query``, ties in score broken by id, and the exact total.

        ``ids_only`` rows hold the id field alone (the rest is not sent).
        """
        body: Dsl = {
            "query": self._filtered(self.translator().dsl(query), filters),
            "track_total_hits": True,
            "sort": _sort(sort),
        }
        if ids_only:
            body["_source"] = ["id"]
        answer = self.search(body, size=max(depth - skip, 0), start=min(skip, depth), scored=True)
        hits = answer["hits"]["hits"]
        rows = [
            Row(
                {"id": hit["_source"]["id"]} if ids_only else stored_fields(hit),
                float(hit.get("_score") or 0.0),
            )
            for hit in hits
        ]
        return Page(rows, int(answer["hits"]["total"]["value"]))

    def match_counts(self, searches: Sequence[tuple[Any, Filters]]) -> tuple[list[int], int]:
        """How many documents each ``(query, filters)`` matches, and how many match any of them (one
        search for each, and one for them all)."""
        filtered = [self._filtered(self.translator().dsl(query), filters) for query, filters in searches]
        counts = [self._count(each) for each in filtered]
        anywhere = {"bool": {"should": filtered, "minimum_should_match": 1}}
        return counts, self._count(anywhere) if filtered else 0

    def _count(self, dsl: Dsl) -> int:
        return int(self.search({"query": dsl, "track_total_hits": True})["hits"]["total"]["value"])

    def undated_matches(self, query: Any, source: str | None) -> int:
        """How many documents match ``query`` (and ``source``) but have no date."""
        body = {
            "query": self._filtered(self.translator().dsl(query), Filters(undated=True, source=source)),
            "track_total_hits": True,
        }
        return int(self.search(body)["hits"]["total"]["value"])

    def facets(self, query: Any, filters: Filters, names: list[str]) -> dict[str, dict[str, int]]:
        """Counts by year, month or source from aggregations, ordered as on Whoosh."""
        aggregations: Dsl = {}
        for name in names:
            if name == "source":
                aggregations[name] = {"terms": {"field": "source", "size": 10_000, "missing": NO_SOURCE}}
            else:
                pattern = "yyyy" if name == "year" else "yyyy-MM"
                interval = "year" if name == "year" else "month"
                aggregations[name] = {
                    "date_histogram": {
                        "field": "date",
                        "calendar_interval": interval,
                        "format": pattern,
                        "min_doc_count": 1,
                    }
                }
                aggregations[f"{name}-missing"] = {"missing": {"field": "date"}}
        body = {"query": self._filtered(self.translator().dsl(query), filters), "aggs": aggregations}
        answer = self.search(body)["aggregations"]
        return {name: _facet(name, answer) for name in names}

    def day_counts(self, query: Any | None, filters: Filters, *, stories: bool = False) -> DayCounts:
        """Matches of ``query`` (every document when None) and ``filters`` per UTC day, from aggregations;
        with ``stories``, each story once, on its first matching version's day."""
        matched = {"match_all": {}} if query is None else self.translator().dsl(query)
        if stories:
            per_day: dict[date, int] = {}
            undated = 0
            for bucket in self._stories(self._filtered(matched, filters)):
                first = bucket["first"]["value_as_string"] if bucket["first"]["value"] is not None else None
                if first is None:
                    undated += 1
                else:
                    day = _naive_utc(first).date()
                    per_day[day] = per_day.get(day, 0) + 1
            return DayCounts(dict(sorted(per_day.items())), undated)
        days = {"field": "date", "calendar_interval": "day", "format": "yyyy-MM-dd", "min_doc_count": 1}
        body = {
            "query": self._filtered(matched, filters),
            "aggs": {"days": {"date_histogram": days}, "undated": {"missing": {"field": "date"}}},
        }
        answer = self.search(body)["aggregations"]
        buckets = answer["days"]["buckets"]
        per_day = {date.fromisoformat(bucket["key_as_string"]): bucket["doc_count"] for bucket in buckets}
        return DayCounts(per_day, int(answer["undated"]["doc_count"]))

    def stories(self, query: Any, filters: Filters, shown: Collection[str], *, count: bool) -> StoryMatches:
        """The stories among the matches, counted exactly a page at a time; the ``shown`` stories'
        matching versions, in one search filtered by story."""
        matched = self.translator().dsl(query)
        counted = (
            sum(1 for _ in self._stories(self._filtered(matched, filters), dated=False)) if count else None
        )
        versions: dict[str, list[str]] = {}
        if shown:
            only = {"bool": {"must": [matched], "filter": [{"terms": {"story": sorted(shown)}}]}}
            body = {"query": self._filtered(only, filters), "_source": ["id", "story"]}
            for hit in self.search(body, size=MAX_HITS)["hits"]["hits"]:
                versions.setdefault(hit["_source"]["story"], []).append(hit["_source"]["id"])
        return StoryMatches(counted, {story: tuple(ids) for story, ids in versions.items()})

    def _stories(self, query: Dsl, *, dated: bool = True) -> Iterator[Dsl]:
        """Every story among the documents ``query`` matches (a composite aggregation's buckets, paged;
        exact, where a cardinality aggregation estimates), with its first version's date if ``dated``."""
        after: Dsl | None = None
        while True:
            composite: Dsl = {"size": STORY_PAGE, "sources": [{"story": {"terms": {"field": "story"}}}]}
            if after is not None:
                composite["after"] = after
            aggregation: Dsl = {"composite": composite}
            if dated:
                aggregation["aggs"] = {"first": {"min": {"field": "date"}}}
            answer = self.search({"query": query, "aggs": {"stories": aggregation}})["aggregations"][
                "stories"
            ]
            yield from answer["buckets"]
            after = answer.get("after_key")
            if after is None or len(answer["buckets"]) < STORY_PAGE:
                return

    def marked_words(self, query: Any, rows: list[Row]) -> frozenset[str]:
        """The words and phrase words of ``query``; prefix and wildcard words as the hits hold them,
        fuzzy words as the cluster's words within reach."""
        analyzer = self._analyzer
        terms: list[set[str]] = []

        def held() -> set[str]:  # the hits' terms, read once and only when a prefix needs them
            if not terms:
                fields = [row.fields.get(name, "") for row in rows for name in SEARCH_FIELDS]
                terms.append({term for text in fields for term in analyzer.terms(text)})
            return terms[0]

        words: set[str] = set()
        self._positive_words(query, held, words)
        return frozenset(words)

    def _positive_words(self, node: Any, held: Callable[[], set[str]], words: set[str]) -> None:
        if isinstance(node, wq.Not):
            return
        if isinstance(node, wq.AndNot):
            self._positive_words(node.a, held, words)
        elif getattr(node, "fieldname", None) not in (None, *SEARCH_FIELDS):
            return
        elif isinstance(node, wq.FuzzyTerm):
            typed = getattr(node, "typed", node.text)
            near = self._current_lexicon().words_within(
                typed, max(int(node.maxdist), 1), max(int(node.prefixlength), 1)
            )
            words.update(stem for word in near for stem in self._analyzer.terms(word)[:1])
        elif isinstance(node, (wq.Prefix, wq.Wildcard)):
            pattern = node.text if isinstance(node, wq.Wildcard) else node.text + "*"
            words.update(fnmatch.filter(held(), pattern))
        elif isinstance(node, wq.Term):
            words.add(node.text)
        elif isinstance(node, wq.Phrase):
            words.update(node.words)
        else:
            for child in node.children():
                self._positive_words(child, held, words)

    def document(self, reference: str) -> dict[str, Any]:
        """The stored fields of the document ``reference`` names: its id, URL or file path."""
        reference = reference.strip()
        candidates = [reference, document_id(canonical) if (canonical := canonical_url(reference)) else None]
        ids = [doc_id for doc_id in candidates if doc_id]
        path = str(Path(reference).expanduser().resolve())
        query = {
            "bool": {
                "should": [{"terms": {"id": ids}}, {"term": {"path": path}}, {"term": {"record": reference}}],
                "minimum_should_match": 1,
            }
        }
        answer = self.search({"query": query, "sort": [{"id": "asc"}]}, size=6)
        hits = answer["hits"]["hits"]
        by_id = [hit for hit in hits if hit["_source"]["id"] in ids]
        if by_id:
            return stored_fields(by_id[0])
        if len(hits) == 1:
            return stored_fields(hits[0])
        if hits:
            shown = ", ".join(hit["_source"].get("record") or hit["_source"]["id"] for hit in hits[:5])
            raise DocumentNotFoundError(
                f"{reference} names {len(hits)}+ documents; name one by its id ({shown}, ...)."
            )
        raise DocumentNotFoundError(
            f"No document {reference!r} in the index at {self.location}. Give an id, URL or file path "
            "as `searchidx query --json` shows it."
        )

    def documents(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored fields of each document named by its id, of those the index holds."""
        if not ids:
            return {}
        answer = self.search({"query": {"terms": {"id": list(ids)}}}, size=len(ids))
        return {hit["_source"]["id"]: stored_fields(hit) for hit in answer["hits"]["hits"]}

    def similar(
        self, fields: dict[str, Any], depth: int, skip: int, *, exact_total: bool = False
    ) -> tuple[Page, frozenset[str], str]:
        """more_like_this over the document's terms; the words are its most distinctive terms."""
        analyzer = self._analyzer
        like = {
            "title": " ".join(analyzer.terms(fields.get("title", ""))),
            "body": " ".join(analyzer.terms(fields.get("body", ""))),
        }
        mlt = {
            "more_like_this": {
                "fields": list(SEARCH_FIELDS),
                "like": [{"doc": like}],
                "max_query_terms": SIMILAR_TERMS,
                "min_term_freq": 1,
                # A word of this article alone finds nothing else; any shared word counts, as on Whoosh.
                "min_doc_freq": 2,
                "minimum_should_match": 1,
            }
        }
        query = {"bool": {"must": [mlt], "must_not": [{"term": {"id": fields["id"]}}]}}
        answer = self.search(
            {"query": query, "track_total_hits": True, "sort": _sort("relevance")},
            size=max(depth - skip, 0),
            start=min(skip, depth),  # past the last hit: only the total (the window ends at depth)
            scored=True,
        )
        rows = [Row(stored_fields(hit), float(hit.get("_score") or 0.0)) for hit in answer["hits"]["hits"]]
        vectors = self._client.termvectors(
            index=self.address.name,
            body={
                "doc": like,
                "fields": ["body"],
                "term_statistics": True,
                "filter": {"max_num_terms": SIMILAR_TERMS, "min_term_freq": 1, "min_doc_freq": 2},
            },
        )
        words = frozenset(vectors.get("term_vectors", {}).get("body", {}).get("terms", {}))
        shown = f"more_like_this({', '.join(sorted(words))})"
        return Page(rows, int(answer["hits"]["total"]["value"])), words, shown

    def document_count(self) -> int:
        """How many documents the index holds (as of the last refresh)."""
        return int(self._client.count(index=self.address.name)["count"])

    def stats(self) -> Stats:
        """What the index holds, with the cluster's name, health, shards and replicas."""
        aggregations = {
            "first": {"min": {"field": "date"}},
            "last": {"max": {"field": "date"}},
            "year": {
                "date_histogram": {
                    "field": "date",
                    "calendar_interval": "year",
                    "format": "yyyy",
                    "min_doc_count": 1,
                }
            },
            "year-missing": {"missing": {"field": "date"}},
            "source": {"terms": {"field": "source", "size": 10, "missing": NO_SOURCE}},
        }
        answer = self.search({"aggs": aggregations, "track_total_hits": True})
        found = answer["aggregations"]
        name = self.address.name
        health = self._client.cluster.health(index=name, **MANAGER)
        settings = self._client.indices.get_settings(index=name, **MANAGER)[name]["settings"]["index"]
        size = self._client.indices.stats(index=name, metric="store")["_all"]["primaries"]["store"]
        meta = self._meta()
        return Stats(
            path=self.location,
            documents=int(answer["hits"]["total"]["value"]),
            first_date=_aggregated_date(found["first"]),
            last_date=_aggregated_date(found["last"]),
            per_year=_facet("year", found),
            top_sources=_facet("source", found),
            size_bytes=int(size["size_in_bytes"]),
            last_ingest=meta.get("last_ingest"),
            schema_version=meta.get("schema_version"),
            backend="opensearch",
            cluster={
                "name": str(health["cluster_name"]),
                "health": str(health["status"]),
                "nodes": str(health["number_of_nodes"]),
                "shards": str(settings["number_of_shards"]),
                "replicas": str(settings["number_of_replicas"]),
            },
            stories=sum(1 for _ in self._stories({"match_all": {}}, dated=False)),
        )

    def term_frequencies(self, field: str, terms: Iterable[str]) -> dict[str, int]:
        """How many documents hold each term in ``field``: one request for them all."""
        wanted = list(dict.fromkeys(terms))
        counts, _ = self.counts([(field, term) for term in wanted])
        return {term: counts[(field, term)] for term in wanted}

    def counts(self, pairs: list[tuple[str, str]]) -> tuple[dict[tuple[str, str], int], int]:
        """How many documents hold each ``(field, term)``, and how many documents there are: one request."""
        filters = {str(number): {"term": {field: term}} for number, (field, term) in enumerate(pairs)}
        body: Dsl = {"track_total_hits": True}
        if pairs:
            body["aggs"] = {"terms": {"filters": {"filters": filters}}}
        answer = self.search(body)
        buckets = answer.get("aggregations", {}).get("terms", {}).get("buckets", {})
        found = {pair: int(buckets[str(number)]["doc_count"]) for number, pair in enumerate(pairs)}
        return found, int(answer["hits"]["total"]["value"])

    def _filtered(self, query: Dsl, filters: Filters) -> Dsl:
        parts: list[Dsl] = []
        if filters.undated:
            parts.append({"bool": {"must_not": [{"exists": {"field": "date"}}]}})
        if filters.ranged:
            bounds: Dsl = {}
            if filters.start is not None:
                bounds["gte"] = filters.start.isoformat() + "Z"
            if filters.end is not None:
                bounds["lte"] = filters.end.isoformat() + "Z"
            parts.append({"range": {"date": bounds}} if bounds else {"exists": {"field": "date"}})
        if filters.source:
            parts.append({"term": {"source": filters.source}})
        if filters.ingested is not None:
            after, through = filters.ingested
            parts.append({"range": {"ingested": {"gt": after, "lte": through}}})
        return {"bool": {"must": [query], "filter": parts}} if parts else query

    def _meta(self) -> dict[str, str]:
        from opensearchpy.exceptions import NotFoundError

        try:
            found = self._client.get(index=self.address.files, id=META_ID)
        except NotFoundError:
            return {}
        return {str(key): str(value) for key, value in found["_source"].get("meta", {}).items()}


class ClusterLexicon:
    """The speller's view of a cluster: term suggestions and document counts of words as written."""

    def __init__(self, backend: OpenSearchBackend) -> None:
        self._backend = backend
        self._counts: dict[tuple[str, str], int] = {}
        self._near: dict[tuple[str, int, int], list[str]] = {}
        self._documents: int | None = None

    def documents(self) -> int:
        """How many documents the index holds."""
        if self._documents is None:
            self._documents = self._backend.document_count()
        return self._documents

    def prepare(self, words: Iterable[str]) -> None:
        """Count the words as written, and the documents, in one request."""
        pairs = [
            ("spelling", word) for word in dict.fromkeys(words) if ("spelling", word) not in self._counts
        ]
        found, self._documents = self._backend.counts(pairs)
        self._counts.update(found)

    def frequency(self, word: str) -> int:
        """How many documents hold ``word`` as written."""
        return self._count("spelling", [word])[word]

    def name_share(self, word: str) -> float:
        """The share of the word's articles that write it capitalized mostly."""
        counts = self._count("spelling", [word])
        return self._count("names", [word])[word] / counts[word] if counts[word] else 0.0

    def stem_frequencies(self, stems: Iterable[str]) -> dict[str, int]:
        """How many documents hold each stem in the body (those not yet counted: one request)."""
        return self._count("body", list(stems))

    def expansions(self, node: Any) -> None:
        """None: the cluster bounds prefixes and wildcards itself (a ``top_terms`` rewrite) and fuzzy
        words by its term suggester (:mod:`searchidx.engines.opensearch.query`)."""

    def words_within(self, text: str, edits: int, prefix: int = 1) -> list[str]:
        """The cluster's words within ``edits`` edits of ``text``, from its term suggester; their
        counts are kept, so the speller asks the cluster once for them all; each word is asked once."""
        key = (text, edits, prefix)
        if key in self._near:
            return self._near[key]
        suggest = {
            "word": {
                "text": text,
                "term": {
                    "field": "spelling",
                    "suggest_mode": "always",
                    "max_edits": max(1, min(edits, 2)),
                    "prefix_length": prefix,
                    "size": 50,
                    "min_word_length": 2,
                },
            }
        }
        answer = self._backend.search({"suggest": suggest})
        options = [
            option for entry in answer.get("suggest", {}).get("word", []) for option in entry["options"]
        ]
        words = [option["text"] for option in options]
        for option in options:
            self._counts[("spelling", option["text"])] = int(option["freq"])
        self._count("names", words)
        self._near[key] = words
        return words

    def _count(self, field: str, words: list[str]) -> dict[str, int]:
        missing = [(field, word) for word in dict.fromkeys(words) if (field, word) not in self._counts]
        if missing:
            found, self._documents = self._backend.counts(missing)
            self._counts.update(found)
        return {word: self._counts[(field, word)] for word in words}


def _time_limits() -> dict[str, Any]:
    """What is left of the search's deadline as a request's limits: the cluster's ``timeout`` (the
    shards stop collecting matches and say ``timed_out``), its cancellation a moment later (every
    phase stops), and the client's own wait; none when the search has no deadline."""
    left = remaining()
    if left is None:
        return {}
    return {
        "timeout": f"{max(int(left * 1000), 1)}ms",
        "cancel_after_time_interval": f"{int((left + TIMEOUT_GRACE) * 1000)}ms",
        "request_timeout": left + 2 * TIMEOUT_GRACE,
    }


def _retryable(error: Exception) -> bool:
    status = getattr(error, "status_code", None)
    return status in (429, 502, 503, 504) or type(error).__name__ in ("ConnectionError", "ConnectionTimeout")


def _sort(sort: Order) -> list[Any]:
    if sort == "-ingested":
        return [{"ingested": "desc"}, {"date": {"order": "desc", "missing": "_last"}}, {"id": "asc"}]
    if sort == "date":
        return [{"date": {"order": "asc", "missing": "_last"}}, {"id": "asc"}]
    if sort == "-date":
        return [{"date": {"order": "desc", "missing": "_last"}}, {"id": "asc"}]
    return [{"_score": "desc"}, {"id": "asc"}]


def _facet(name: str, aggregations: Dsl) -> dict[str, int]:
    """A facet's counts from its aggregation, ordered as the Whoosh engine orders them."""
    buckets = aggregations[name]["buckets"]
    if name == "source":
        counts = {str(bucket["key"]): int(bucket["doc_count"]) for bucket in buckets}
        keys = sorted(counts, key=lambda key: (key == NO_SOURCE, -counts[key], key))
        return {key: counts[key] for key in keys}
    counts = {
        str(bucket["key_as_string"]): int(bucket["doc_count"]) for bucket in buckets if bucket["doc_count"]
    }
    ordered = {key: counts[key] for key in sorted(counts, reverse=True)}
    missing = int(aggregations[f"{name}-missing"]["doc_count"])
    if missing:
        ordered[NO_DATE] = missing
    return ordered


def _aggregated_date(aggregation: Dsl) -> datetime | None:
    value = aggregation.get("value")
    return datetime.fromtimestamp(value / 1000, tz=UTC) if value is not None else None
