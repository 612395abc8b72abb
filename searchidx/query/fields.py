"""The fields of an article, as the query language and the Whoosh index both read them.

Title and body are analysed the same way (see :mod:`searchidx.query.analysis`) so a
word means the same in both; title matches weigh more than body matches. The
query parser needs these fields on every engine; the Whoosh engine also stores
them (:mod:`searchidx.engines.whoosh.storage`).
"""

from __future__ import annotations

import functools
from array import array
from collections import defaultdict
from typing import Any

from whoosh.fields import DATETIME, ID, NUMERIC, TEXT, FieldType, Schema
from whoosh.formats import Existence, Positions
from whoosh.system import _INT_SIZE, pack_uint

from searchidx.query.analysis import NewsAnalyzer, surface_words, text_analyzer, url_analyzer
from searchidx.query.ranking import HEADLINE_WEIGHT

# Bumped whenever the fields or their analysis change; kept in the pickled schema
# (and the manifest), and checked whenever an index is opened.
SCHEMA_VERSION = 10
VERSION_ATTRIBUTE = "searchidx_schema_version"


class CompactPositions(Positions):  # type: ignore[misc]  # Whoosh is untyped
    """Word positions stored as an array of 4-byte integers instead of a pickled list.

    Encoding and decoding are one C call each, where Whoosh's format pickles
    and unpickles a list of deltas for every posting.
    """

    def encode(self, poslist: list[int]) -> bytes:
        """The frequency, then the positions (native byte order)."""
        return bytes(pack_uint(len(poslist))) + array("I", poslist).tobytes()

    def decode_positions(self, valuestring: bytes) -> list[int]:
        """The positions :meth:`encode` stored."""
        return array("I", valuestring[_INT_SIZE:]).tolist()


# Terms at one place among a text's first this many (most terms) take their encoding from a table.
ONE_POSITIONS = 4096


@functools.cache
def _one_position() -> list[bytes]:
    """The encoded positions of a term at each one place below :data:`ONE_POSITIONS` (made on first
    use by indexing: a query's start-up does not need them)."""
    encode = CompactPositions().encode
    return [encode([place]) for place in range(ONE_POSITIONS)]


class ArticleText(TEXT):  # type: ignore[misc]  # Whoosh is untyped
    """A text field indexed from :meth:`NewsAnalyzer.terms`, with word positions (for phrases).

    The value is a string, or a ``(headline, text)`` pair: the headline's words
    are indexed first and each weighs ``HEADLINE_WEIGHT`` matches of a word of
    the text, inside the one field (BM25F: a field weight applied before the
    term frequency saturates).
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.format: CompactPositions = CompactPositions(field_boost=options.get("field_boost", 1.0))

    def index(self, value: str | tuple[str, str], **kwargs: Any) -> list[tuple[bytes, int, float, bytes]]:
        """Whoosh's field protocol: ``(term, frequency, weight, encoded positions)`` per distinct term."""
        positions, extra, _ = self._positions(value)
        encode = self.format.encode
        return [
            (term.encode("utf-8"), len(places), len(places) + extra.get(term, 0.0), encode(places))
            for term, places in positions.items()
        ]

    def postings(self, value: str | tuple[str, str]) -> tuple[list[bytes], list[float], list[bytes], int]:
        """The distinct terms of ``value``, their weights and encoded positions, and its length in words:
        :meth:`index` as columns, for :class:`searchidx.engines.whoosh.postings.BulkPostings`."""
        positions, extra, length = self._positions(value)
        # Terms hold no line breaks: encoded in one call. Most terms are at one position, encoded once.
        terms = "\n".join(positions).encode("utf-8").split(b"\n") if positions else []
        places = positions.values()
        if extra:
            weights = [len(at) + extra.get(term, 0.0) for term, at in positions.items()]
        else:
            weights = list(map(float, map(len, places)))
        encode, once = self.format.encode, _one_position()
        values = [once[at[0]] if len(at) == 1 and at[0] < ONE_POSITIONS else encode(at) for at in places]
        return terms, weights, values, length

    def _positions(self, value: str | tuple[str, str]) -> tuple[dict[str, list[int]], dict[str, float], int]:
        """Each term's positions, the headline terms' extra weight, and the number of words."""
        analyzer: NewsAnalyzer = self.analyzer
        headline, text = value if isinstance(value, tuple) else ("", value)
        headline_terms = analyzer.terms(headline) if headline else []
        words = headline_terms + analyzer.terms(text)
        positions: dict[str, list[int]] = defaultdict(list)
        for position, term in enumerate(words):
            positions[term].append(position)
        extra: dict[str, float] = defaultdict(float)
        for term in headline_terms:
            extra[term] += HEADLINE_WEIGHT - 1
        return positions, extra, len(words)


class SpellingWords(FieldType):  # type: ignore[misc]  # Whoosh is untyped
    """The article's words as written (folded, lower case, not stemmed), for the speller only.

    Never searched: the edit distance of a misspelt word must be measured
    against the words the archive really contains ("abramovich"), not their
    stems ("abramovich" and "abramov..."). Each posting's weight is 1 plus
    the share of the word's occurrences written capitalized, so a term's total
    weight tells the speller how much of a name the word is (see
    :func:`searchidx.query.analysis.surface_words`). The speller reads a
    word's document count and total weight only, so a segment keeps just
    those (``counts_only``, :mod:`searchidx.engines.whoosh.postings`).
    """

    counts_only = True
    # The stored fields its value is made of (headline, text): what a merge reads to uncount a deleted one.
    sources = ("title", "body")

    def __init__(self) -> None:
        self.format = Existence(field_boost=1.0)
        self.analyzer = url_analyzer()  # unused by indexing; Whoosh's field protocol wants one
        self.scorable = False
        self.stored = False
        self.unique = False
        self.vector = None

    def index(self, value: tuple[str, str], **kwargs: Any) -> list[tuple[bytes, int, float, bytes]]:
        """Whoosh's field protocol: ``(word, 1, 1 + capitalized share, b"")`` per distinct word."""
        terms, weights, _, _ = self.postings(value)
        return [(term, 1, weight, b"") for term, weight in zip(terms, weights, strict=True)]

    def postings(self, value: tuple[str, str]) -> tuple[list[bytes], list[float], list[bytes], int]:
        """The distinct words, their weights, no values and no length: :meth:`index` as columns."""
        shares = surface_words(*value)
        return [word.encode("utf-8") for word in shares], [1.0 + share for share in shares.values()], [], 0


class StoryNumber(NUMERIC):  # type: ignore[misc]  # Whoosh is untyped
    """A document's story: stored and kept in a column, not indexed.

    Searches count and group stories from the column alone; indexed, the
    number cost 16 terms per article (Whoosh's range-query steps), more than
    half of a segment's terms.
    """

    indexed = False


def build_schema() -> Schema:
    """The fields every searchidx document has, marked with :data:`SCHEMA_VERSION`."""
    analyzer = text_analyzer()
    schema = Schema(
        # A column too: a hybrid search reads its candidates' ids without their stored text.
        id=ID(stored=True, unique=True, sortable=True),
        title=ArticleText(analyzer=analyzer, stored=True),
        body=ArticleText(analyzer=analyzer, stored=True),
        date=DATETIME(stored=True, sortable=True),
        # url:example.com means the parts in that order, not any of them (example.org).
        url=TEXT(analyzer=url_analyzer(), stored=True, multitoken_query="phrase"),
        source=ID(stored=True, sortable=True),
        path=ID(stored=True),
        # The article's own id inside a file of several (a JSON Lines record's "id"), or "".
        record=ID(stored=True),
        # When a crawler captured the page (web archives): kept apart, never taken for the date.
        crawled=DATETIME(stored=True),
        # The story it is a version of (searchidx.ingesting.stories): the first version's id, as a
        # number, so a search counts and groups stories from the column.
        story=StoryNumber(numtype=int, bits=64, signed=False, stored=True, sortable=True),
        spelling=SpellingWords(),
    )
    setattr(schema, VERSION_ATTRIBUTE, SCHEMA_VERSION)  # pickled with the schema into the index
    return schema
