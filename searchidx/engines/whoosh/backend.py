"""The Whoosh backend: an index in a folder on this machine, searched in this process.

Threads: one backend may be shared by many threads (a web server). Each
thread gets its own Whoosh searcher, reopened when an ingest has committed
since, so every query sees the last committed state.
"""

from __future__ import annotations

import os
import re
import struct
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from datetime import UTC, date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from whoosh import query as wq
from whoosh import sorting
from whoosh.collectors import FilterCollector, SortingCollector
from whoosh.filedb.filetables import FileFormatError
from whoosh.reading import TermNotFound
from whoosh.util.times import datetime_to_long

from searchidx.engines.locations import index_path
from searchidx.engines.protocol import DayCounts, Filters, Order, Page, Row, StoryMatches
from searchidx.engines.whoosh.facets import (
    MICROSECONDS_PER_DAY,
    MISSING_DATE,
    brought_by,
    count_facets,
    date_of,
    date_values,
    ingest_values,
    live_documents,
    newest_first_key,
    story_groups,
    story_values,
)
from searchidx.engines.whoosh.storage import open_index, read_index_files
from searchidx.errors import DocumentNotFoundError
from searchidx.inputs.urls import canonical_url, document_id
from searchidx.query.bounds import EveryArticle
from searchidx.query.deadlines import check
from searchidx.query.parsing import SEARCH_FIELDS, decoded, preloaded, words_to_mark
from searchidx.query.ranking import weighting
from searchidx.query.spelling import SPELLING_FIELD, words_within
from searchidx.results import Stats

if TYPE_CHECKING:
    from searchidx.engines.whoosh.topk import Ranked

SIMILAR_TERMS = 25
# Where a term's document count is in its entry of Whoosh's term table (after a flag byte and a float).
DOC_FREQUENCY = struct.Struct("!I")
DOC_FREQUENCY_AT = 5
# How many words a prefix or wildcard stands for are looked at between two checks of the deadline.
CHECK_EVERY = 1024
# Past this share of the index in an ingests' window, its matches are found reading the words whole.
WHOLE_WINDOW = 0.25
# Per open reader (each thread has its own), the speller's words looked up so far; gone with the reader.
_SPELLING_WORDS: weakref.WeakKeyDictionary[Any, dict[str, tuple[int, float]]] = weakref.WeakKeyDictionary()
T = TypeVar("T")
# Per open reader, how to read a document's id from its number; gone with the reader.
_ID_READERS: weakref.WeakKeyDictionary[Any, Callable[[int], str]] = weakref.WeakKeyDictionary()


class WhooshBackend:
    """A Whoosh index in a folder, opened for searching."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = index_path(path)
        self.location = str(self.path)
        self._ix = open_index(self.path)
        self.schema = self._ix.schema
        self._local = threading.local()

    def reading(self, action: Callable[[], T]) -> T:
        """``action()``; failures to read the index files become :class:`IndexDamagedError`."""
        return read_index_files(self.path, action)

    def close(self) -> None:
        """Release this thread's searcher (others are released when their threads end)."""
        searcher = getattr(self._local, "searcher", None)
        if searcher is not None:
            searcher.close()
            self._local.searcher = None
        self._local.matched = None

    def lexicon(self) -> WhooshLexicon:
        """The words of the index's ``spelling`` field, for the speller."""
        return WhooshLexicon(self._searcher().reader())

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
        """The rows ``skip`` to ``depth`` of ``query``'s hits, and the number of matches.

        By relevance, the best ``depth`` come from :mod:`searchidx.engines.whoosh.topk`
        (exact top k without scoring every match; the total is estimated past
        :data:`~searchidx.results.EXACT_TOTAL_UP_TO` unless ``exact_total``).
        ``ids_only`` rows (by relevance, or of an ingests' window) come from the id column, and
        :meth:`documents` reads the ones wanted next without looking them up.
        """
        from searchidx.engines.whoosh.topk import (
            top_documents,  # numpy: only a ranked search pays for the import
        )

        searcher = self._searcher()
        allow = self._allow(searcher, filters)
        if sort == "relevance" or searcher.doc_count_all() == 0:  # an empty index has no date column
            ranked = top_documents(searcher, query, depth, allow, count_all=exact_total)
            if ids_only:
                return Page(self._id_rows(searcher, ranked, skip), ranked.total, ranked.exact)
            return Page(self._rows(searcher, ranked, skip), ranked.total, ranked.exact)
        if isinstance(query, EveryArticle):  # "*" by date: no posting to read, the date column sorted
            return self._every_by_date(searcher, allow, sort, depth, skip)
        if sort == "-ingested" and not hasattr(allow, "shape"):
            raise ValueError("hits are ordered by arrival in an ingests' window only")
        if hasattr(allow, "shape"):  # an ingests' window (a watch's news): few matches, the columns sorted
            ranked = self._window_by_date(searcher, query, allow, sort, depth, skip)
            rows = self._id_rows(searcher, ranked, 0) if ids_only else self._rows(searcher, ranked, 0)
            return Page(rows, ranked.total)
        if sort == "date":
            facet: Any = sorting.FieldFacet("date")
        else:
            facet = sorting.TranslateFacet(newest_first_key, sorting.FieldFacet("date"))
        collector = SortingCollector(facet, limit=depth)
        searcher.search_with_collector(
            preloaded(query), FilterCollector(collector, allow=allow) if allow is not None else collector
        )
        results = collector.results()
        rows = [Row(stored_fields(searcher, result.docnum), float(result.score or 0.0))
                for result in results[skip:depth]]  # fmt: skip
        return Page(rows, len(results))

    @staticmethod
    def _every_by_date(searcher: Any, allow: Any, sort: Order, depth: int, skip: int) -> Page:
        """Every article (that ``allow`` lets through) in date order, as Whoosh's sorting collector
        orders them (no date last, ties in index order), each scoring 1 as ``*`` does."""
        from searchidx.engines.whoosh.topk import matching_documents

        docnums = matching_documents(searcher, EveryArticle(), allow)
        chosen = _by_date(searcher, docnums, sort)[skip:depth]
        return Page([Row(stored_fields(searcher, int(docnum)), 1.0) for docnum in chosen], len(docnums))

    @staticmethod
    def _window_by_date(searcher: Any, query: Any, allow: Any, sort: Order, depth: int, skip: int) -> Ranked:
        """The matches ``skip`` to ``depth`` of ``query`` among the documents of the mask ``allow`` (its
        words read only in the blocks that hold them), in ``sort`` order (see :func:`_by_date`), each
        with its score."""
        from searchidx.engines.whoosh.topk import Ranked, scored_among

        docnums = WhooshBackend._window_matches(searcher, query, allow)
        chosen = _by_date(searcher, docnums, sort)[skip:depth]
        _, scores = scored_among(searcher, query, chosen, allow)  # the words' blocks holding those shown
        return Ranked(chosen.tolist(), scores.tolist(), len(docnums), exact=True)

    @staticmethod
    def _window_matches(searcher: Any, query: Any, allow: Any) -> Any:
        """The documents of the mask ``allow`` (an ingests' window) that ``query`` matches, ascending:
        its words read only in the posting blocks holding them, or whole when most blocks do."""
        import numpy as np

        from searchidx.engines.whoosh.topk import matches_among, matching_documents

        candidates = np.flatnonzero(allow)
        if len(candidates) > len(allow) * WHOLE_WINDOW:
            return matching_documents(searcher, query, allow)
        return candidates[matches_among(searcher, query, candidates, allow)]

    @staticmethod
    def _rows(searcher: Any, ranked: Ranked, skip: int) -> list[Row]:
        return [
            Row(stored_fields(searcher, docnum), score)
            for docnum, score in zip(ranked.docnums[skip:], ranked.scores[skip:], strict=True)
        ]

    def _id_rows(self, searcher: Any, ranked: Ranked, skip: int) -> list[Row]:
        id_of = _id_reader(searcher)
        found = [(id_of(docnum), docnum) for docnum in ranked.docnums[skip:]]
        self._local.docnums = (searcher, dict(found))
        return [Row({"id": doc}, score) for (doc, _), score in zip(found, ranked.scores[skip:], strict=True)]

    def documents(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored fields of each document named by its id, of those the index still holds."""
        searcher = self._searcher()
        # Document numbers hold for the searcher that ranked them (the last id-only run), not a newer one.
        ranked_by, docnums = getattr(self._local, "docnums", (None, {}))
        known: dict[str, int] = docnums if ranked_by is searcher else {}
        found = {}
        for doc in ids:
            docnum = known.get(doc)
            if docnum is None:
                docnum = searcher.document_number(id=doc)
            if docnum is not None:
                found[doc] = stored_fields(searcher, docnum)
        return found

    def match_counts(self, searches: Sequence[tuple[Any, Filters]]) -> tuple[list[int], int]:
        """How many documents each ``(query, filters)`` matches, and how many match any of them."""
        import numpy as np

        from searchidx.engines.whoosh.topk import matching_documents

        searcher = self._searcher()
        anywhere = np.zeros(searcher.doc_count_all(), dtype=bool)
        counts = []
        for query, filters in searches:
            allow = self._allow(searcher, filters)
            if hasattr(allow, "shape"):
                matched = self._window_matches(searcher, query, allow)
            else:
                matched = matching_documents(searcher, query, allow)
            counts.append(len(matched))
            anywhere[matched] = True
        return counts, int(anywhere.sum())

    def undated_matches(self, query: Any, source: str | None) -> int:
        """How many documents match ``query`` (and ``source``) but have no date."""
        searcher = self._searcher()
        matches = set(searcher.docs_for_query(query)) & self._undated(searcher)
        site = _site_filter(source)
        return len(matches & set(searcher.docs_for_query(site)) if site is not None else matches)

    def facets(self, query: Any, filters: Filters, names: list[str]) -> dict[str, dict[str, int]]:
        """Counts by facet of the documents matching ``query`` and ``filters``."""
        searcher = self._searcher()
        docnums = self._matching(searcher, query, self._allow(searcher, filters))
        return count_facets(searcher.reader(), docnums, names)

    def _matching(self, searcher: Any, query: Any, allow: Any) -> Any:
        """:func:`matching_documents`, its last answer kept per thread: a chart's counts and its top
        sources ask for one query's matches in turn, each a pass over every posting of its words."""
        from searchidx.engines.whoosh.topk import matching_documents

        kept = getattr(self._local, "matched", None)
        # A set of undated documents, or a mask of an ingest's: not compared.
        keepable = not isinstance(allow, set | frozenset) and not hasattr(allow, "shape")
        if keepable and kept is not None and kept[0]() is searcher and kept[1] == query and kept[2] == allow:
            return kept[3]
        docnums = matching_documents(searcher, query, allow)
        if keepable:  # the searcher held weakly: a closed one, and its mapped segments, can go
            self._local.matched = (weakref.ref(searcher), query, allow, docnums)
        return docnums

    def day_counts(self, query: Any | None, filters: Filters, *, stories: bool = False) -> DayCounts:
        """Matches of ``query`` (every document when None) and ``filters`` per UTC day (the date column);
        with ``stories``, each story once, on its first matching version's day (the story column)."""
        import numpy as np  # only charts and ranked searches need it

        reader = self._searcher().reader()
        chosen = self._chosen(query, filters)
        if chosen is None:
            return DayCounts({}, 0)
        raw = date_values(reader)[chosen]
        if stories:
            codes = story_values(reader)[chosen]
            order = np.lexsort((raw, codes))  # by story, then earliest first
            first = np.ones(len(order), dtype=bool)
            first[1:] = codes[order][1:] != codes[order][:-1]
            raw = raw[order][first]
        missing = raw == MISSING_DATE
        days, counts = np.unique(raw[~missing] // MICROSECONDS_PER_DAY, return_counts=True)
        per_day = {date.fromordinal(int(day) + 1): int(n) for day, n in zip(days, counts, strict=True)}
        return DayCounts(per_day, int(np.count_nonzero(missing)))

    def stories(self, query: Any, filters: Filters, shown: Collection[str], *, count: bool) -> StoryMatches:
        """The distinct values of the story column among the matches; the matching documents of the
        ``shown`` stories, from the stories of more than one document (read once per reader)."""
        import numpy as np

        searcher = self._searcher()
        reader = searcher.reader()
        groups = story_groups(reader) if reader.doc_count_all() else {}
        asked = [code for code in (int(story, 16) for story in shown) if code in groups]
        if not count and not asked:
            return StoryMatches(None, {})
        if count or query is None:
            chosen = self._chosen(query, filters)
            if chosen is None:
                return StoryMatches(0 if count else None, {})
            counted = len(np.unique(story_values(reader)[chosen])) if count else None
            matching = {code: groups[code][chosen[groups[code]]] for code in asked}
        else:  # only the shown stories' versions: each word read where one of them is
            counted = None
            candidates = np.unique(np.concatenate([groups[code] for code in asked]))
            chosen_among = self._chosen_among(query, filters, candidates)
            matching = {
                code: groups[code][chosen_among[np.searchsorted(candidates, groups[code])]] for code in asked
            }
        read_id = _id_reader(searcher)
        versions = {
            f"{code:016x}": tuple(read_id(int(docnum)) for docnum in documents)
            for code, documents in matching.items()
        }
        return StoryMatches(counted, versions)

    def _chosen(self, query: Any | None, filters: Filters) -> Any:
        """The numbers of the documents matching ``query`` (every one when None) and ``filters``, as a
        mask over the index; None for an index without documents."""

        searcher = self._searcher()
        reader = searcher.reader()
        size = reader.doc_count_all()
        if not size:
            return None
        site = _site_filter(filters.source)
        if query is None:
            chosen = _documents_mask(live_documents(reader), size)
            if site is not None:
                chosen &= _documents_mask(self._matching(searcher, site, None), size)
        else:
            chosen = _documents_mask(self._matching(searcher, query, site), size)
        return chosen & _dated_as_asked(date_values(reader), filters) & _ingested_mask(reader, None, filters)

    def _chosen_among(self, query: Any, filters: Filters, candidates: Any) -> Any:
        """Which of ``candidates`` (global numbers, ascending) match ``query`` and ``filters``, as
        :meth:`_chosen` says of them."""
        from searchidx.engines.whoosh.topk import matches_among

        searcher = self._searcher()
        reader = searcher.reader()
        matched = matches_among(searcher, query, candidates, _site_filter(filters.source))
        return (
            matched
            & _dated_as_asked(date_values(reader)[candidates], filters)
            & _ingested_mask(reader, candidates, filters)
        )

    def marked_words(self, query: Any, rows: list[Row]) -> frozenset[str]:
        """The indexed words a hit of ``query`` can have matched, over the whole index's words."""
        return words_to_mark(query, self._searcher().reader())

    def document(self, reference: str) -> dict[str, Any]:
        """The stored fields of the document ``reference`` names: its id, URL or file path."""
        searcher = self._searcher()
        return stored_fields(searcher, self._docnum(searcher, reference))

    def similar(
        self, fields: dict[str, Any], depth: int, skip: int, *, exact_total: bool = False
    ) -> tuple[Page, frozenset[str], str]:
        """The documents sharing the most distinctive words of the stored document ``fields``."""
        from searchidx.engines.whoosh.topk import top_documents

        searcher = self._searcher()
        docnum = searcher.document_number(id=fields["id"])
        terms = []
        for name in SEARCH_FIELDS:
            text = fields.get(name) or ""
            terms += [
                wq.Term(name, word, boost=weight)
                for word, weight in searcher.key_terms_from_text(name, text, numterms=SIMILAR_TERMS)
            ]
        like = wq.Or(terms)
        ranked = top_documents(searcher, like, depth, exclude={docnum}, count_all=exact_total)
        page = Page(self._rows(searcher, ranked, skip), ranked.total, ranked.exact)
        return page, frozenset(term.text for term in terms), str(like)

    def document_count(self) -> int:
        """How many documents the index holds (as of the last commit)."""
        return int(self._searcher().doc_count())

    def stats(self) -> Stats:
        """Documents, date range, documents per year, top sources, size, last ingest, schema version."""
        import numpy as np  # stats read whole columns

        searcher = self._searcher()
        reader = searcher.reader()
        live = live_documents(reader)
        raw_dates = date_values(reader)[live]
        dated = raw_dates[raw_dates != MISSING_DATE]
        first, last = (date_of(int(dated.min())), date_of(int(dated.max()))) if len(dated) else (None, None)
        counts = count_facets(reader, live, ("year", "source"))
        meta = self._meta()
        return Stats(
            path=self.path,
            documents=len(live),
            first_date=first.replace(tzinfo=UTC) if first else None,
            last_date=last.replace(tzinfo=UTC) if last else None,
            per_year=counts["year"],
            top_sources=dict(list(counts["source"].items())[:10]),
            size_bytes=sum(entry.stat().st_size for entry in self.path.iterdir() if entry.is_file()),
            last_ingest=meta.get("last_ingest"),
            schema_version=meta.get("schema_version"),
            stories=len(np.unique(story_values(reader)[live])),
        )

    def _searcher(self) -> Any:
        searcher = getattr(self._local, "searcher", None)
        if searcher is None:
            searcher = self._ix.searcher(weighting=weighting())
        elif not searcher.up_to_date():
            if searcher.doc_count_all():
                searcher = searcher.refresh()
            else:  # Whoosh cannot refresh the reader of an index that had no documents
                searcher.close()
                searcher = self._ix.searcher(weighting=weighting())
        self._local.searcher = searcher
        return searcher

    def _allow(self, searcher: Any, filters: Filters) -> Any:
        """What a hit must match besides the query: a query, a set of documents, a mask over them, or
        ``None`` for anything.

        Documents without a date have no term to search for, so ``undated``
        is the set of documents whose date column is empty; the ingests' window
        is read from the ``ingested`` column (a mask, with every filter in it).
        """
        site = _site_filter(filters.source)
        if filters.ingested is not None:
            return self._brought(searcher, filters, site)
        if filters.undated:
            chosen = self._undated(searcher)
            return chosen & set(searcher.docs_for_query(site)) if site is not None else chosen
        dated = wq.DateRange("date", filters.start, filters.end) if filters.ranged else None
        parts = [part for part in (dated, site) if part is not None]
        return wq.And(parts) if len(parts) > 1 else (parts[0] if parts else None)

    def _brought(self, searcher: Any, filters: Filters, site: Any) -> Any:
        """The documents of the filters' ingests that the other filters let through, as a mask over the
        index (from the columns: a watch asks for them after every ingest)."""
        assert filters.ingested is not None
        reader = searcher.reader()
        mask = brought_by(reader, *filters.ingested) & _dated_as_asked(date_values(reader), filters)
        if site is not None:
            mask &= _documents_mask(self._matching(searcher, site, None), len(mask))
        return mask

    def _undated(self, searcher: Any) -> set[int]:
        reader = searcher.reader()
        live = live_documents(reader)
        return set(live[date_values(reader)[live] == MISSING_DATE].tolist())

    def _docnum(self, searcher: Any, reference: str) -> int:
        reference = reference.strip()
        candidates = [reference, document_id(canonical) if (canonical := canonical_url(reference)) else None]
        for doc_id in filter(None, candidates):
            docnum = searcher.document_number(id=doc_id)
            if docnum is not None:
                return int(docnum)
        records = list(searcher.document_numbers(record=reference)) if "record" in searcher.schema else []
        if len(records) == 1:
            return int(records[0])
        path = str(Path(reference).expanduser().resolve())
        docnums = records or list(searcher.document_numbers(path=path))
        if len(docnums) == 1:
            return int(docnums[0])
        if docnums:
            ids = ", ".join(_own_id(searcher.stored_fields(doc)) for doc in docnums[:5])
            raise DocumentNotFoundError(
                f"{reference} names {len(docnums)} documents; name one by its id ({ids}, ...)."
            )
        raise DocumentNotFoundError(
            f"No document {reference!r} in the index at {self.path}. Give an id, URL or file path "
            "as `searchidx query --json` shows it."
        )

    def _meta(self) -> dict[str, str]:
        from searchidx.inputs.manifest import (  # SQLite: only `stats` reads the manifest
            MANIFEST_NAME,
            Manifest,
        )

        if not (self.path / MANIFEST_NAME).exists():
            return {}
        manifest = Manifest(self.path, read_only=True)  # an ingest may be writing it
        try:
            return manifest.meta()
        finally:
            manifest.close()


class WhooshLexicon:
    """The speller's view of one Whoosh reader: the ``spelling`` field's words and their weights.

    What a word's postings say is looked up once per reader: on an index of
    many segments each lookup visits every segment, and the speller asks
    about the same candidates query after query.
    """

    def __init__(self, reader: Any) -> None:
        self._reader = reader
        self._usable = SPELLING_FIELD in reader.schema and reader.doc_count_all() > 0
        self._known = _SPELLING_WORDS.setdefault(reader, {})
        self._near: dict[tuple[str, int, int], list[str]] = {}  # a fuzzy word's stems

    def documents(self) -> int:
        """How many documents the reader has (0 for an index without a spelling field)."""
        return int(self._reader.doc_count_all()) if self._usable else 0

    def prepare(self, words: Iterable[str]) -> None:
        """Nothing to prepare: the reader answers each word at once."""

    def frequency(self, word: str) -> int:
        """How many documents hold ``word`` as written."""
        return self._postings(word)[0]

    def name_share(self, word: str) -> float:
        """Postings weigh 1 + the share of capitalized occurrences: their mean, less 1."""
        documents, weight = self._postings(word)
        return (weight - documents) / documents if documents else 0.0

    def _postings(self, word: str) -> tuple[int, float]:
        """(documents holding ``word`` as written, the sum of their postings' weights)."""
        if word not in self._known:
            try:
                info = self._reader.term_info(SPELLING_FIELD, word)
                self._known[word] = (int(info.doc_frequency()), float(info.weight()))
            except TermNotFound:
                self._known[word] = (0, 0.0)
        return self._known[word]

    def stem_frequencies(self, stems: Iterable[str]) -> dict[str, int]:
        """How many documents hold each stem in the body field."""
        return {stem: int(self._reader.doc_frequency("body", stem)) for stem in stems}

    def words_within(self, text: str, edits: int, prefix: int = 1) -> list[str]:
        """The reader's words within ``edits`` edits of ``text`` (see :func:`spelling.words_within`)."""
        return words_within(self._reader, text, edits, prefix)

    def expansions(self, node: Any) -> dict[str, int]:
        """The indexed terms of a prefix, wildcard, range or fuzzy word, with their document counts."""
        reader = self._reader
        if isinstance(node, (wq.Prefix, wq.Wildcard, wq.TermRange)):
            return _pattern_frequencies(reader, node)
        if node.fieldname not in reader.schema:
            return {}
        near = (getattr(node, "typed", node.text), int(node.maxdist), int(node.prefixlength))
        if near not in self._near:  # the same in every field: found once
            self._near[near] = [decoded(stem) for stem in node._btexts(reader) if stem]
        return {stem: int(reader.doc_frequency(node.fieldname, stem)) for stem in self._near[near]}


def _pattern_frequencies(reader: Any, node: Any) -> dict[str, int]:
    """The words a prefix, wildcard or range ``node`` stands for, in term order, with their document
    counts: read segment by segment from the first word it can stand for, the deadline checked every
    :data:`CHECK_EVERY` words."""
    field = node.fieldname
    if field not in reader.schema:
        return {}
    start, within, match = _span(node)
    found: Counter[str] = Counter()
    for leaf, _ in reader.leaf_readers():
        for number, (term, frequency) in enumerate(_words_from(leaf, field, start, within), start=1):
            if number % CHECK_EVERY == 0:
                check()
            word = term.decode("utf-8")
            if match(word):
                found[word] += frequency
    return {word: found[word] for word in sorted(found)}


def _span(node: Any) -> tuple[bytes, Callable[[bytes], bool], Callable[[str], bool]]:
    """Where in term order the words of a prefix, wildcard or range start, whether a word (bytes) is
    still in the span, and whether a word in it is one of the node's (as Whoosh's ``_btexts``)."""
    if isinstance(node, wq.TermRange):
        first = (node.start or "").encode("utf-8")
        last = node.end.encode("utf-8") if node.end is not None else None

        def within(term: bytes) -> bool:
            return last is None or term < last or (term == last and not node.endexcl)

        return first, within, lambda word: not (node.startexcl and word == node.start)
    literal = node.text if isinstance(node, wq.Prefix) else node._find_prefix(node.text)
    start = literal.encode("utf-8")
    pattern = None if isinstance(node, wq.Prefix) else re.compile(node._get_pattern()).match
    return start, lambda term: term.startswith(start), lambda word: pattern is None or bool(pattern(word))


def _words_from(
    leaf: Any, field: str, start: bytes, within: Callable[[bytes], bool]
) -> Iterator[tuple[bytes, int]]:
    """A segment's words of ``field`` from ``start`` on while ``within`` them, and how many documents
    hold each.

    From the raw entries of Whoosh's term table where it has one (a
    term's document count is a number at a fixed place in its entry: ten
    times faster than decoding every entry), else through the reader.
    """
    terms = getattr(leaf, "_terms", None)
    table, coder = getattr(terms, "_tindex", None), getattr(terms, "_keycoder", None)
    if table is None or coder is None or not hasattr(table, "items_from"):
        for term, info in leaf.iter_field(field, start):
            if not within(term):
                return
            yield term, int(info.doc_frequency())
        return
    head = coder(field, b"")
    for entry, value in table.items_from(coder(field, start)):
        if not entry.startswith(head) or not within(entry[len(head) :]):
            return
        yield entry[len(head) :], DOC_FREQUENCY.unpack_from(value, DOC_FREQUENCY_AT)[0]


def _documents_mask(docnums: Iterable[int], size: int) -> Any:
    """A boolean array over the reader's documents, true at ``docnums``."""
    import numpy as np

    mask = np.zeros(size, dtype=bool)
    mask[docnums if isinstance(docnums, np.ndarray) else np.fromiter(docnums, dtype=np.int64)] = True
    return mask


def _by_date(searcher: Any, docnums: Any, sort: Order) -> Any:
    """``docnums`` in date order (``date`` oldest first, ``-date`` newest first), as Whoosh's sorting
    collector orders them: no date last, ties in index order; ``-ingested``: the latest ingest's first,
    each ingest's newest first."""
    import numpy as np

    raw = date_values(searcher.reader())[docnums]
    keys = raw if sort == "date" else np.where(raw == MISSING_DATE, raw, MISSING_DATE - 1 - raw)
    if sort == "-ingested":
        arrival = -ingest_values(searcher.reader())[docnums].astype(np.int64)
        return docnums[np.lexsort((docnums, keys, arrival))]
    return docnums[np.lexsort((docnums, keys))]


def _ingested_mask(reader: Any, candidates: Any, filters: Filters) -> Any:
    """Which documents (``candidates``, or all of the reader's) the filters' ingests let through."""
    if filters.ingested is None:
        return True
    brought = brought_by(reader, *filters.ingested)
    return brought if candidates is None else brought[candidates]


def _dated_as_asked(raw: Any, filters: Filters) -> Any:
    """Which of the dates ``raw`` (the date column's values) the filters' dates let through."""
    import numpy as np

    missing = raw == MISSING_DATE
    allowed = missing.copy() if filters.undated else np.ones(len(raw), dtype=bool)
    if filters.ranged:
        allowed &= ~missing
        if filters.start is not None:
            allowed &= raw >= datetime_to_long(filters.start)
        if filters.end is not None:
            allowed &= raw <= datetime_to_long(filters.end)
    return allowed


def _site_filter(source: str | None) -> Any:
    return wq.Term("source", source) if source else None


def stored_fields(searcher: Any, docnum: int) -> dict[str, Any]:
    """Document ``docnum``'s stored fields; stored fields without an id were decoded from damaged bytes.

    Raises :class:`~whoosh.filedb.filetables.FileFormatError` then, which
    :meth:`WhooshBackend.reading` reports as a damaged index.
    """
    fields = searcher.stored_fields(docnum)
    if not isinstance(fields, dict) or not isinstance(fields.get("id"), str):
        raise FileFormatError(f"the stored fields of document {docnum} have no id")
    story = fields.get("story")
    return {**fields, "story": f"{story:016x}" if isinstance(story, int) else fields["id"]}


def _id_reader(searcher: Any) -> Callable[[int], str]:
    """Reads a document's id from its number: from the id column, or its stored fields when there is none.

    An index made before ids had a column lacks it in every segment (they
    share one schema).
    """
    reader = searcher.reader()
    if reader not in _ID_READERS:
        leaves = [leaf for leaf, _ in reader.leaf_readers()]
        if not leaves or not all(leaf.has_column("id") for leaf in leaves):
            return lambda docnum: str(searcher.stored_fields(docnum)["id"])
        column = reader.column_reader("id")
        _ID_READERS[reader] = lambda docnum: str(column[docnum])
    return _ID_READERS[reader]


def _own_id(stored: dict[str, Any]) -> str:
    """How a user names a stored document: its record's own id in a file of several, else searchidx's id."""
    return str(stored.get("record") or stored["id"])
