"""The speller: what a misspelt word most likely meant, from the words the archive really contains.

Edit distances are measured on words as written (lower case, accents folded,
not stemmed), against the ``spelling`` field that ingest keeps for this
(:class:`searchidx.query.fields.SpellingWords`): ``abramovic`` is one edit from
``abramovich``, where their stems are further apart and ``goverment`` shares
its stem with ``governess``.

Candidates are ranked as a noisy-channel speller ranks them: how likely the
word is (its document frequency) times how likely the typing error is (each
edit costs a factor of :data:`EDIT_COST`). A capitalized query word is most
likely a name, so candidates the archive writes capitalized are preferred
(``Putn`` is ``putin``, not the more frequent ``put``). A word the archive
holds is kept unless a neighbour is more likely by the same measure, which
takes a neighbour :data:`EDIT_COST` times as frequent for one edit, and
only a rare word (in :data:`RARE` documents or fewer, or one in
:data:`RARE_SHARE`) is corrected at all: an archive has its own typos
("goverment" in 9 of 19,043 Reuters articles), which must not hide the word meant.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from whoosh.support.levenshtein import damerau_levenshtein

SPELLING_FIELD = "spelling"
# The likelihood of one more typing error, as a factor: a candidate one edit
# away must be this many times as frequent as the word typed to replace it.
EDIT_COST = 100.0
# How much a capitalized query word prefers a candidate the archive writes capitalized,
# as a factor between a word always written capitalized and one never so written.
NAME_PREFERENCE = 60.0
MIN_LENGTH = 3
# Only a word in this many documents or fewer (or none), or in fewer than one in RARE_SHARE, may be
# corrected: the rest are words of the archive.
RARE = 2
RARE_SHARE = 1000
MAX_CANDIDATES = 200


@dataclass(frozen=True)
class QueryWord:
    """A plain word of a query: where it stands in the text, as the speller knows it, and its stem."""

    start: int
    end: int
    typed: str
    stem: str
    capitalized: bool


@dataclass(frozen=True)
class Correction:
    """The archive's word that a query word most likely meant.

    ``searched`` is false for the usual form of a word that is not one but
    has the stem of one ("parad" for "parade"): the word as typed finds the
    same documents, so only the wording is corrected.
    """

    typed: str
    word: str
    searched: bool = True


def edits_allowed(word: str) -> int:
    """As Elasticsearch's ``fuzziness: AUTO``: none under 3 letters, 1 up to 5, else 2."""
    if len(word) < MIN_LENGTH:
        return 0
    return 1 if len(word) <= 5 else 2


def words_within(reader: Any, text: str, edits: int, prefix: int = 1) -> list[str]:
    """The archive's words as written within ``edits`` edits of ``text``, with its first ``prefix`` letters.

    A transposition counts as one edit (optimal string alignment, as
    Whoosh's own Damerau distance). The words of each first letter are read
    from the index once per reader and kept while it is open.
    """
    from rapidfuzz import process  # only a rare or misspelt word pays for the import
    from rapidfuzz.distance import OSA

    words = _lexicon(reader).starting_with(reader, text[:prefix])
    found = process.extract(text, words, scorer=OSA.distance, score_cutoff=edits, limit=None)
    return [word for word, _, _ in found]


class _Lexicon:
    """The spelling field's words of one reader, by their first letters, read on first use.

    It does not hold the reader: kept per reader in a weak dictionary, it
    would keep its reader, and the reader's mapped segments, for ever.
    """

    def __init__(self) -> None:
        self._words: dict[str, list[str]] = {}

    def starting_with(self, reader: Any, prefix: str) -> list[str]:
        """The words of ``reader`` (the one this lexicon is kept for) that start with ``prefix``, sorted."""
        if prefix not in self._words:
            # Each segment's words apart: Whoosh's merge of all segments' term lists costs more.
            words: set[str] = set()
            for leaf, _ in reader.leaf_readers():
                if SPELLING_FIELD in leaf.schema and leaf.doc_count_all():
                    words.update(term.decode("utf-8") for term in leaf.expand_prefix(SPELLING_FIELD, prefix))
            self._words[prefix] = sorted(words)
        return self._words[prefix]


# One lexicon per open reader (each thread has its own); gone with the reader.
_LEXICONS: weakref.WeakKeyDictionary[Any, _Lexicon] = weakref.WeakKeyDictionary()


def _lexicon(reader: Any) -> _Lexicon:
    lexicon = _LEXICONS.get(reader)
    if lexicon is None:
        lexicon = _LEXICONS[reader] = _Lexicon()
    return lexicon


class Speller:
    """Corrections for query words, from the words an archive holds (a backend's lexicon)."""

    def __init__(self, lexicon: Lexicon, analyzer: Any) -> None:
        self._lexicon = lexicon
        self._analyzer = analyzer
        self._usable = False
        self._rare = RARE

    def correct(self, words: Iterable[QueryWord]) -> dict[str, Correction]:
        """``{typed: Correction}`` for each word the archive lacks or holds far less than a near spelling."""
        words = list(words)
        self._lexicon.prepare(word.typed for word in words)  # one request on a cluster
        documents = self._lexicon.documents()
        self._usable, self._rare = documents > 0, max(RARE, documents // RARE_SHARE)
        found: dict[str, Correction] = {}
        for word in words:
            if word.typed not in found and (correction := self._correct_word(word)) is not None:
                found[word.typed] = correction
        return found

    def _correct_word(self, word: QueryWord) -> Correction | None:
        """The correction of one word, or ``None`` when the word as typed is the likeliest."""
        edits = edits_allowed(word.typed)
        if not self._usable or not edits or not word.typed.isalpha():
            return None
        written = self._lexicon.frequency(word.typed)
        if written > self._rare:  # a word the archive uses: never corrected
            return None
        near = [
            candidate
            for candidate in self._lexicon.words_within(word.typed, edits)
            if candidate != word.typed
        ][:MAX_CANDIDATES]
        # A near spelling with the typed word's stem is found by the word as typed already.
        same_stem = {candidate for candidate in near if self._analyzer.terms(candidate)[:1] == [word.stem]}
        candidates = [candidate for candidate in near if candidate not in same_stem]

        def likelihood(candidate: str) -> float:
            distance: int = damerau_levenshtein(candidate, word.typed)
            return self._prior(candidate, capitalized=word.capitalized) - distance * math.log(EDIT_COST)

        def likeliest(words: Iterable[str]) -> str:
            return max(words, key=lambda candidate: (likelihood(candidate), candidate))

        if candidates:
            best = likeliest(candidates)
            # The word as typed finds the documents of its stem ("volcanoes" finds "volcano").
            stemmed = self._lexicon.stem_frequencies([word.stem])[word.stem]
            if not stemmed or likelihood(best) > self._typed_prior(word, written=written, stemmed=stemmed):
                return Correction(word.typed, best)
        # Not a word but a bare stem ("parad"); an inflection the archive lacks ("volcanoes") is fine.
        if same_stem and word.stem == word.typed and not written:
            return Correction(word.typed, likeliest(same_stem), searched=False)
        return None

    def _typed_prior(self, word: QueryWord, *, written: int, stemmed: int) -> float:
        """The log-likelihood that the user meant the word typed: ``written`` articles hold it as
        typed, ``stemmed`` by its stem."""
        if written:
            return self._prior(word.typed, capitalized=word.capitalized)
        return math.log(stemmed) + (math.log(NAME_PREFERENCE) / 2 if word.capitalized else 0.0)

    def _prior(self, word: str, *, capitalized: bool) -> float:
        """The log-likelihood that a user meant ``word``: its frequency, and its case against the query's."""
        documents = self._lexicon.frequency(word)
        if not documents:
            return -math.inf
        prior = math.log(documents)
        if capitalized:
            prior += math.log(NAME_PREFERENCE) * self._lexicon.name_share(word)
        return prior


class Lexicon(Protocol):
    """The words an archive holds, as the speller needs them (each engine gives one)."""

    def documents(self) -> int:
        """How many documents there are; 0 when there is nothing to correct against."""

    def prepare(self, words: Iterable[str]) -> None:
        """The speller will ask about these words (a cluster counts them all in one request)."""

    def frequency(self, word: str) -> int:
        """How many documents hold ``word`` as written (folded, lower case)."""

    def name_share(self, word: str) -> float:
        """The share (0 to 1) of the word's occurrences that are written capitalized."""

    def stem_frequencies(self, stems: Iterable[str]) -> dict[str, int]:
        """How many documents hold each of the ``stems`` in the body field (a cluster: one request)."""

    def words_within(self, text: str, edits: int, prefix: int = 1) -> list[str]:
        """The archive's words within ``edits`` edits of ``text`` that share its first ``prefix`` letters."""

    def expansions(self, node: Any) -> dict[str, int] | None:
        """The indexed terms a prefix, wildcard or fuzzy word of a query stands for, each with the
        number of documents holding it in the node's field; None when the engine bounds them itself
        (see :mod:`searchidx.query.bounds`)."""
