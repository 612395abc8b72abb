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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from whoosh.fields import DATETIME, ID, NUMERIC, TEXT, FieldType, Schema
from whoosh.formats import Existence, Positions
from whoosh.system import _INT_SIZE, pack_uint

from searchidx.query.analysis import (
    HEADLINE_ONLY_SHARE,
    NewsAnalyzer,
    ascii_surface_words,
    speller_word,
    surface_words,
    text_analyzer,
    url_analyzer,
)
from searchidx.query.ranking import HEADLINE_WEIGHT

# Bumped whenever the fields or their analysis change; kept in the pickled schema
# (and the manifest), and checked whenever an index is opened.
SCHEMA_VERSION = 11
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

    def batch_postings(
        self, values: Sequence[str | tuple[str, str] | None], numbers: WordNumbers
    ) -> TextPostings:
        """The postings of a batch of documents' ``values`` (``None``: no value), as arrays; each term by
        its number in ``numbers``. Each posting's weight and encoded positions are :meth:`index`'s."""
        words = array("q")
        parts = []  # each document's number of words in its headline and in its text
        for value in values:
            for part in ("", "") if value is None else _headline_and_text(value):
                counted = len(words)
                if part:
                    analysed = self.analyzer.words(part)
                    if analysed is None:  # CJK: its terms are not the stems of its words
                        words.extend(map(numbers.terms.__getitem__, self.analyzer.terms(part)))
                    else:
                        words.extend(map(numbers.__getitem__, analysed))
                parts.append(len(words) - counted)
        return _grouped(np.frombuffer(words, dtype=np.int64), np.array(parts, dtype=np.int64), len(values))

    def _positions(self, value: str | tuple[str, str]) -> tuple[dict[str, list[int]], dict[str, float], int]:
        """Each term's positions, the headline terms' extra weight, and the number of words."""
        analyzer: NewsAnalyzer = self.analyzer
        headline, text = _headline_and_text(value)
        headline_terms = analyzer.terms(headline) if headline else []
        words = headline_terms + analyzer.terms(text)
        positions: dict[str, list[int]] = defaultdict(list)
        for position, term in enumerate(words):
            positions[term].append(position)
        extra: dict[str, float] = defaultdict(float)
        for term in headline_terms:
            extra[term] += HEADLINE_WEIGHT - 1
        return positions, extra, len(words)


def _headline_and_text(value: str | tuple[str, str]) -> tuple[str, str]:
    """An :class:`ArticleText` value's headline (``""`` when it is a text alone) and text."""
    return value if isinstance(value, tuple) else ("", value)


class WordNumbers(dict[str, int]):
    """Each word's term number as a segment's postings know it, ``-1`` for a word not indexed: a word's
    stem is looked up once per segment, not once per occurrence."""

    def __init__(self, analyzer: NewsAnalyzer, terms: defaultdict[Any, int]) -> None:
        super().__init__()
        self._analyzer = analyzer
        # Each term's number, given as it first comes.
        self.terms = terms

    def __missing__(self, word: str) -> int:
        stem = self._analyzer.stem_of(word)
        number = self[word] = self.terms[stem] if stem else -1
        return number


@dataclass
class TextPostings:
    """A batch of documents' postings in a text field, in arrays: each posting's document (counted
    from the batch's first), term number, weight and encoded positions; each document's length."""

    documents: np.ndarray
    terms: np.ndarray
    weights: np.ndarray
    values: list[bytes]
    lengths: np.ndarray


def _grouped(numbers: np.ndarray, parts: np.ndarray, documents: int) -> TextPostings:
    """The postings of the words' term ``numbers`` (``-1``: not indexed), each document's headline then
    text words in turn (``parts`` of them), grouped by document and term."""
    part = np.repeat(np.arange(len(parts)), parts)
    kept = numbers >= 0
    numbers, document, in_headline = numbers[kept], part[kept] // 2, part[kept] % 2 == 0
    lengths = np.bincount(document, minlength=documents)
    position = np.arange(len(numbers)) - (np.cumsum(lengths) - lengths)[document]
    key = document * (int(numbers.max(initial=0)) + 1) + numbers
    order = np.argsort(key, kind="stable")  # by document and term, each term's positions in order
    key, position = key[order], position[order].astype(np.uint32)
    firsts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, dtype=np.int64)
    frequencies = np.diff(np.r_[firsts, len(key)])
    posting = np.repeat(np.arange(len(firsts)), frequencies)
    # Summed one occurrence at a time, in order, as :meth:`ArticleText._positions` sums them.
    extra = np.bincount(posting, weights=np.where(in_headline[order], HEADLINE_WEIGHT - 1, 0.0),
                        minlength=len(firsts))  # fmt: skip
    return TextPostings(
        documents=document[order][firsts],
        terms=numbers[order][firsts],
        weights=frequencies + extra,
        values=_encoded_positions(position, firsts, frequencies, posting),
        lengths=lengths,
    )


def _encoded_positions(
    position: np.ndarray, firsts: np.ndarray, frequencies: np.ndarray, posting: np.ndarray
) -> list[bytes]:
    """Each posting's positions as :class:`CompactPositions` encodes them: a term at one place below
    :data:`ONE_POSITIONS` from the table, the others cut from one buffer of all of them."""
    encoded = np.empty(len(position) + len(firsts), dtype=np.uint32)
    heads = firsts + np.arange(len(firsts))
    encoded[heads] = np.asarray(frequencies, dtype=">u4").view(np.uint32)  # the frequency, big-endian
    encoded[np.arange(len(position)) + posting + 1] = position
    values = np.empty(len(firsts), dtype=object)
    once = (frequencies == 1) & (position[firsts] < ONE_POSITIONS)
    values[once] = list(map(_one_position().__getitem__, position[firsts[once]].tolist()))
    buffer = encoded.tobytes()
    starts, ends = (heads * 4)[~once].tolist(), ((heads + frequencies + 1) * 4)[~once].tolist()
    values[~once] = [buffer[start:end] for start, end in zip(starts, ends, strict=True)]
    return values.tolist()


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
        return [(word.encode("utf-8"), 1, weight, b"") for word, weight in self.weights(value).items()]

    def weights(self, value: tuple[str, str]) -> dict[str, float]:
        """Each distinct word's weight: :meth:`index`'s, by word."""
        return {word: 1.0 + share for word, share in surface_words(*value).items()}

    def batch_postings(
        self, values: Sequence[tuple[str, str] | None], numbers: SpellerNumbers
    ) -> WordPostings:
        """The postings of a batch of documents' ``values`` (``None``: no value), each word by its number
        in ``numbers``, each weight :meth:`weights`'s: an ASCII article's words are counted with the
        batch's at once, another's alone (its words are folded)."""
        words, capitals, headlines = array("q"), array("q"), array("q")
        sizes: list[tuple[int, int, int]] = []  # each document's number of each
        alone: list[tuple[int, dict[str, float]]] = []
        number = numbers.__getitem__
        for document, value in enumerate(values):
            parts = None if value is None else ascii_surface_words(*value)
            if parts is None:
                sizes.append((0, 0, 0))
                if value is not None:
                    alone.append((document, self.weights(value)))
                continue
            for into, part in zip((words, capitals, headlines), parts, strict=True):
                into.extend(map(number, part))
            sizes.append((len(parts[0]), len(parts[1]), len(parts[2])))
        counted = _counted_words(words, capitals, headlines, np.array(sizes, dtype=np.int64).reshape(-1, 3),
                                 len(numbers.terms))  # fmt: skip
        return counted.joined(alone, numbers.terms)


class SpellerNumbers(dict[str, int]):
    """Each word's term number in a segment's speller field, ``-1`` for a word the speller does not
    offer (:func:`speller_word`): a word is judged once per segment, not once per occurrence."""

    def __init__(self, terms: defaultdict[Any, int]) -> None:
        super().__init__()
        # Each term's number, given as it first comes.
        self.terms = terms

    def __missing__(self, word: str) -> int:
        number = self[word] = self.terms[word] if speller_word(word) else -1
        return number


@dataclass
class WordPostings:
    """A batch of documents' postings in a field of weighted words: each posting's document (counted from
    the batch's first), term number and weight."""

    documents: np.ndarray
    terms: np.ndarray
    weights: np.ndarray

    def joined(self, alone: list[tuple[int, dict[str, float]]], terms: defaultdict[Any, int]) -> WordPostings:
        """These postings and those of the documents whose words were weighed alone (by word)."""
        if not alone:
            return self
        documents = [document for document, weights in alone for _ in weights]
        numbers = [terms[word] for _, weights in alone for word in weights]
        weights = [weight for _, each in alone for weight in each.values()]
        return WordPostings(
            np.concatenate([self.documents, np.array(documents, dtype=np.int64)]),
            np.concatenate([self.terms, np.array(numbers, dtype=np.int64)]),
            np.concatenate([self.weights, np.array(weights, dtype=np.float64)]),
        )


def _counted_words(
    words: array[int], capitals: array[int], headlines: array[int], sizes: np.ndarray, span: int
) -> WordPostings:
    """The postings of ASCII articles' speller words (numbers, ``-1`` for the others): each document's
    text words (``sizes[:, 0]`` of them), capitalized ones (``[:, 1]``) and headline words (``[:, 2]``)
    one document after the other; ``span`` is more than any word's number."""
    owners = np.arange(len(sizes))

    def keys(numbers: array[int], per_document: np.ndarray) -> np.ndarray:
        taken = np.frombuffer(numbers, dtype=np.int64) if len(numbers) else np.zeros(0, dtype=np.int64)
        kept = taken >= 0
        return np.repeat(owners, per_document)[kept] * span + taken[kept]

    in_text, occurrences = np.unique(keys(words, sizes[:, 0]), return_counts=True)
    capital = keys(capitals, sizes[:, 1])  # each one of its text's words (the same token boundaries)
    place = np.minimum(np.searchsorted(in_text, capital), max(len(in_text) - 1, 0))
    found = place[in_text[place] == capital] if len(in_text) else place[:0]
    capitalized = np.bincount(found, minlength=len(in_text))
    in_headline = np.unique(keys(headlines, sizes[:, 2]))
    headline_only = in_headline[~np.isin(in_headline, in_text, assume_unique=True)]
    taken = np.concatenate([in_text, headline_only])
    weights = np.concatenate(
        [1.0 + capitalized / occurrences, np.full(len(headline_only), 1.0 + HEADLINE_ONLY_SHARE)]
    )
    return WordPostings(taken // span, taken % span, weights)


class ColumnNumber(NUMERIC):  # type: ignore[misc]  # Whoosh is untyped
    """A number kept in a column, not indexed: searches read it from the column alone (indexed, a
    64-bit number cost 16 terms per article, Whoosh's range-query steps)."""

    indexed = False


class StoryNumber(ColumnNumber):
    """A document's story: stored and kept in a column, not indexed.

    Searches count and group stories from the column alone; indexed, the
    number cost 16 terms per article, more than half of a segment's terms.
    """


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
        # The ingest that brought the article's text as it is (searchidx.inputs.manifest's numbers):
        # a saved search reports the articles of the ingests after the one it last reported.
        ingested=ColumnNumber(numtype=int, bits=64, signed=False, sortable=True),
        spelling=SpellingWords(),
    )
    setattr(schema, VERSION_ATTRIBUTE, SCHEMA_VERSION)  # pickled with the schema into the index
    return schema
