"""The fields of an article, as the query language and the Whoosh index both read them.

Title and body are analysed the same way (see :mod:`searchidx.query.analysis`) so a
word means the same in both; title matches weigh more than body matches. The
query parser needs these fields on every engine; the Whoosh engine also stores
them (:mod:`searchidx.engines.whoosh.storage`).
"""

from __future__ import annotations

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
SCHEMA_VERSION = 9
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
        analyzer: NewsAnalyzer = self.analyzer
        headline, text = value if isinstance(value, tuple) else ("", value)
        headline_terms = analyzer.terms(headline) if headline else []
        positions: dict[str, list[int]] = defaultdict(list)
        for position, term in enumerate(headline_terms + analyzer.terms(text)):
            positions[term].append(position)
        extra: dict[str, float] = defaultdict(float)
        for term in headline_terms:
            extra[term] += HEADLINE_WEIGHT - 1
        encode = self.format.encode
        return [
            (term.encode("utf-8"), len(places), len(places) + extra[term], encode(places))
            for term, places in positions.items()
        ]


class SpellingWords(FieldType):  # type: ignore[misc]  # Whoosh is untyped
    """The article's words as written (folded, lower case, not stemmed), for the speller only.

    Never searched: the edit distance of a misspelt word must be measured
    against the words the archive really contains ("abramovich"), not their
    stems ("abramovich" and "abramov..."). Each posting's weight is 1 plus
    the share of the word's occurrences written capitalized, so a term's total
    weight tells the speller how much of a name the word is (see
    :func:`searchidx.query.analysis.surface_words`).
    """

    def __init__(self) -> None:
        self.format = Existence(field_boost=1.0)
        self.analyzer = url_analyzer()  # unused by indexing; Whoosh's field protocol wants one
        self.scorable = False
        self.stored = False
        self.unique = False
        self.vector = None

    def index(self, value: tuple[str, str], **kwargs: Any) -> list[tuple[bytes, int, float, bytes]]:
        """Whoosh's field protocol: ``(word, 1, 1 + capitalized share, b"")`` per distinct word."""
        headline, text = value
        return [
            (word.encode("utf-8"), 1, 1.0 + share, b"")
            for word, share in surface_words(headline, text).items()
        ]


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
        story=NUMERIC(numtype=int, bits=64, signed=False, stored=True, sortable=True),
        spelling=SpellingWords(),
    )
    setattr(schema, VERSION_ATTRIBUTE, SCHEMA_VERSION)  # pickled with the schema into the index
    return schema
