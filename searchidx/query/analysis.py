"""Text analysis: how titles, bodies and queries become the terms the index holds.

Words in any script, lower case, accents folded (``café`` = ``cafe``), English
stop words dropped, CJK runs as overlapping character pairs, then Snowball
English stems (``parades`` = ``parade``). Queries are analysed the same way,
so a word means the same on both sides.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from typing import Any

import Stemmer
from whoosh.analysis import (
    Analyzer,
    CharsetFilter,
    Filter,
    LowercaseFilter,
    RegexTokenizer,
    StopFilter,
    Token,
)
from whoosh.support.charset import accent_map

# Han, Hiragana, Katakana and Hangul: scripts written without spaces between words.
CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+")
# Lucene's English stop words, plus question words, auxiliaries and pronouns:
# natural-language queries ("what happened at ...") are full of them, and in a
# small archive a rare "what" would otherwise weigh like a content word.
STOP_WORDS = frozenset([
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no",
    "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to",
    "was", "will", "with",
    "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "does", "do", "did", "done",
    "has", "have", "had", "having", "been", "being", "were", "am", "can", "could", "should", "would", "may",
    "might", "must", "shall", "about", "any", "some", "than", "also", "its", "his", "her", "our", "your",
    "we", "you", "he", "she", "i", "me", "my", "him", "them", "from",
])  # fmt: skip
MIN_WORD_LENGTH = 2
# The capitalized share of a word only in an article's headline: many sites write headlines in title
# case, so its case says nothing (see surface_words).
HEADLINE_ONLY_SHARE = 0.5
# Whoosh's default token: runs of word characters (and ``*``, for wildcards),
# joined across single dots, so "U.S" and "3.5" stay one token.
TOKEN = re.compile(r"[\w*]+(?:\.?[\w*]+)*")
# A token that starts with a capital letter (the same token boundaries).
CAPITALIZED = re.compile(r"(?<![\w*.])[A-Z][\w*]*(?:\.?[\w*]+)*")
# The same two for ASCII text, where \w is these characters: a third faster (a table lookup per
# character, where \w asks the Unicode database).
ASCII_TOKEN = re.compile(r"[A-Za-z0-9_*]++(?:\.?[A-Za-z0-9_*]++)*+")
ASCII_CAPITALIZED = re.compile(r"(?<![A-Za-z0-9_*.])[A-Z][A-Za-z0-9_*]*+(?:\.?[A-Za-z0-9_*]++)*+")


# Indexing stems each distinct word once per process (most words of an article were seen before):
# up to this many words are kept with their stems, then forgotten all at once (about 15 MB).
KNOWN_STEMS = 100_000
_known_stems: dict[str, str] = {}


class CjkBigramFilter(Filter):  # type: ignore[misc]  # Whoosh is untyped
    """Split runs of CJK characters into overlapping pairs, as Lucene's CJK analyzer does.

    The tokenizer sees a whole Chinese sentence as one word; pairs of
    characters make its words findable without a dictionary.
    """

    def __call__(self, tokens: Any) -> Any:
        """The tokens, CJK ones split into pairs; positions renumbered in order."""
        position = 0
        for token in tokens:
            if not CJK.search(token.text):
                token.pos = position
                position += 1
                yield token
                continue
            start = token.startchar if hasattr(token, "startchar") else 0
            text = token.text
            for part, offset in _cjk_parts(text):
                token.text = part
                if hasattr(token, "startchar"):
                    token.startchar, token.endchar = start + offset, start + offset + len(part)
                token.pos = position
                position += 1
                yield token


class _Stemming:
    """English Snowball ("Porter2") stems through PyStemmer (C), which also caches them.

    The C stemmer cannot be pickled (Whoosh pickles the schema, analyzers and
    all), so it is made on first use and left out of the pickled state.
    """

    _stemmer: Any = None

    def _stemmer_of(self) -> Any:
        if self._stemmer is None:
            self._stemmer = Stemmer.Stemmer("english")
        return self._stemmer

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._stemmer = None

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def has_morph(self) -> bool:
        """Stemming changes word forms (Whoosh asks, for spelling and highlighting)."""
        return True


class SnowballStemFilter(_Stemming, Filter):  # type: ignore[misc]  # Whoosh is untyped
    """A Whoosh filter giving each token's Snowball stem."""

    def __call__(self, tokens: Any) -> Any:
        """The tokens with their text stemmed (unless the analyzer is asked not to)."""
        stem = self._stemmer_of().stemWord
        for token in tokens:
            if not getattr(token, "stopped", False) and not getattr(token, "no_morph", False):
                token.text = stem(token.text)
            yield token


def _cjk_parts(text: str) -> list[tuple[str, int]]:
    """The pieces of a token: CJK runs as character pairs, anything else as it is."""
    parts: list[tuple[str, int]] = []
    position = 0
    for run in CJK.finditer(text):
        if run.start() > position:
            parts.append((text[position : run.start()], position))
        chars = run.group()
        if len(chars) == 1:
            parts.append((chars, run.start()))
        parts += [(chars[i : i + 2], run.start() + i) for i in range(len(chars) - 1)]
        position = run.end()
    if position < len(text):
        parts.append((text[position:], position))
    return parts


class NewsAnalyzer(_Stemming, Analyzer):  # type: ignore[misc]  # Whoosh is untyped
    """The analysis of titles, bodies and queries, done in one pass.

    It gives the same tokens as :func:`reference_analyzer` (Whoosh's
    tokenizer and filter chain, kept as the documented definition), several
    times faster: one compiled regex, ``str.lower``, a frozenset of stop
    words and PyStemmer's C stemmer over the whole word list. Whoosh calls it
    for queries and highlighting; indexing uses :meth:`terms`.
    """

    def terms(self, text: str) -> list[str]:
        """The indexed terms of ``text`` in order: what the tokens' texts would be, without the tokens."""
        words = self.words(text)
        if words is None:
            parts = [part for word in _folded_words(text) if _indexed(word) for part, _ in _cjk_parts(word)]
            return self._stem_words(parts)
        return list(filter(None, map(self.stems_of(words).__getitem__, words)))

    def words(self, text: str) -> list[str] | None:
        """The words of ``text`` whose stems are its terms, in order: lower case, accents folded, stop
        words and single characters kept (their stem is ``""``); ``None`` for a text holding CJK, whose
        terms are pairs of characters (the list must not be changed)."""
        if text.isascii():  # lower-casing ASCII changes no token boundary, and there is nothing to fold
            return lowered_words(text)
        if CJK.search(text):
            return None
        return _folded_words(text)

    def stem_of(self, word: str) -> str:
        """The stem of one of the :meth:`words` of a text (``""`` for a word not indexed)."""
        stem = _known_stems.get(word)
        if stem is None:
            stem = self._stemmer_of().stemWord(word) if _indexed(word) else ""
            if len(_known_stems) >= KNOWN_STEMS:
                _known_stems.clear()
            _known_stems[word] = stem
        return stem

    def stems_of(self, words: Collection[str]) -> dict[str, str]:
        """A table holding the stem of each of ``words`` (``""`` for a word not indexed)."""
        stems = _known_stems
        new = set(words).difference(stems)
        if new:
            if len(stems) + len(new) > KNOWN_STEMS:
                stems.clear()  # forgotten all at once: the words known before are learnt again
                new = set(words)
            kept = list(filter(_indexed, new))
            stems.update(dict.fromkeys(new, ""))
            stems.update(zip(kept, self._stem_words(kept), strict=True))
        return stems

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """``(start, end, term)`` of each indexed word of ``text``: the tokens' offsets and texts, faster."""
        if CJK.search(text):
            return [(t.startchar, t.endchar, t.text) for t in self(text, chars=True, mode="index")]
        if text.isascii():  # lower-casing ASCII keeps every offset, and there is nothing to fold
            found = [(m.start(), m.end(), m.group()) for m in ASCII_TOKEN.finditer(text.lower())]
        else:
            found = [(m.start(), m.end(), _fold(m.group().lower())) for m in TOKEN.finditer(text)]
        stems = self.stems_of([word for _, _, word in found])  # "" for a word not indexed
        return [(start, end, stem) for start, end, word in found if (stem := stems[word])]

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        """Whoosh's analyzer protocol: the tokens of ``value``, one reused ``Token`` object."""
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        stem = self._stemmer_of().stemWord
        spans = (
            [(m.group(), m.start(), m.end()) for m in TOKEN.finditer(value)]
            if tokenize
            else [(value, 0, len(value))]
        )
        position = start_pos
        for original, start, end in spans:
            text = _fold(original.lower())
            stopped = not _indexed(text)
            if stopped and removestops:
                continue
            cjk = CJK.search(text) is not None
            for part, offset in _cjk_parts(text) if cjk else [(text, 0)]:
                token.text = part if stopped or getattr(token, "no_morph", False) else stem(part)
                token.stopped = stopped
                token.boost = 1.0
                if keeporiginal:
                    token.original = original
                if positions:
                    token.pos = position
                if chars:
                    token.startchar = start_char + start + offset
                    token.endchar = start_char + (start + offset + len(part) if cjk else end)
                position += 1
                yield token

    def _stem_words(self, words: list[str]) -> list[str]:
        return self._stemmer_of().stemWords(words)  # type: ignore[no-any-return]


def surface_words(headline: str, text: str) -> dict[str, float]:
    """The words of an article as written (folded, lower case, not stemmed), each with the share
    of its occurrences in the text that are capitalized: 1 for a word always written so (a name),
    0 for one never so written, 0.5 for a word only in the headline (which many sites write in
    title case, so its case says nothing).

    Only words a speller can offer: letters only, no CJK, not stop words. An
    all-capitals text makes every word look capitalized, which changes no
    ranking between them.
    """
    parts = ascii_surface_words(headline, text)
    if parts is None:
        # Tokens hold no spaces: joined, the capitalized ones are lower-cased in one call.
        capitalized = Counter(" ".join(CAPITALIZED.findall(text)).lower().split()).get
        return _folded_surface_words(headline, Counter(lowered_words(text)), capitalized)
    in_text, capitals, in_headline = parts
    occurrences, capitalized = Counter(in_text), Counter(capitals).get
    shares = {word: capitalized(word, 0) / count for word, count in occurrences.items() if speller_word(word)}
    for word in in_headline:
        if word not in occurrences and speller_word(word):
            shares[word] = HEADLINE_ONLY_SHARE
    return shares


def ascii_surface_words(headline: str, text: str) -> tuple[list[str], list[str], list[str]] | None:
    """What :func:`surface_words` counts in an ASCII article: the text's tokens lower-cased, those of
    them written capitalized, and the headline's (the lists must not be changed); ``None`` for an
    article that is not all ASCII (its words are folded: :func:`surface_words` alone)."""
    if not (text.isascii() and headline.isascii()):
        return None
    capitals = ASCII_CAPITALIZED.findall(text)
    return lowered_words(text), " ".join(capitals).lower().split(), lowered_words(headline)


def _folded_surface_words(
    headline: str, occurrences: Counter[str], capitalized: Callable[[str, int], int]
) -> dict[str, float]:
    """:func:`surface_words` of a text that is not all ASCII: accents folded, CJK words left out."""
    shares = {word: capitalized(word, 0) / count for word, count in occurrences.items()}
    for word in lowered_words(headline):
        shares.setdefault(word, HEADLINE_ONLY_SHARE)
    folded: dict[str, float] = {}
    for word, share in shares.items():
        folded[_fold(word)] = max(share, folded.get(_fold(word), 0.0))
    return {word: share for word, share in folded.items() if speller_word(word) and not CJK.search(word)}


def _folded_words(text: str) -> list[str]:
    """The tokens of ``text`` lower-cased, accents folded."""
    return [_fold(word.lower()) for word in TOKEN.findall(text)]


def lowered_words(text: str) -> list[str]:
    """The tokens of ``text`` lower-cased (the list must not be changed).

    An article's headline and text are read by two fields (the words and
    the speller's), a batch of articles at a time: the texts of the latest
    batch or two are kept with their tokens.
    """
    global _recent_words  # replaced whole: threads may share it
    newer, older = _recent_words
    words = newer.get(text)
    if words is None:
        words = older.get(text)
        if words is None:
            lowered = text.lower()
            words = (ASCII_TOKEN if lowered.isascii() else TOKEN).findall(lowered)
        if len(newer) >= RECENT_TEXTS:
            newer = {}
            _recent_words = newer, _recent_words[0]
        newer[text] = words
    return words


# The texts lowered_words tokenized lately and their tokens, in two generations of RECENT_TEXTS at most.
RECENT_TEXTS = 512
_recent_words: tuple[dict[str, list[str]], dict[str, list[str]]] = ({}, {})


def documents_holding(texts: Iterable[tuple[str, str]]) -> Counter[str]:
    """How many of ``texts`` (headline, text) hold each of the words :func:`surface_words` gives.

    Each distinct word is checked once (letters only, not a stop word), not once per text holding it.
    """
    held: Counter[str] = Counter()
    for headline, text in texts:
        held.update(_written_words(headline, text))
    return Counter({word: count for word, count in held.items() if speller_word(word)})


def _written_words(headline: str, text: str) -> set[str]:
    """The distinct words of a headline and text, lower case, accents folded (CJK words left out)."""
    words = set(TOKEN.findall(f"{headline}\n{text}".lower()))
    if not (text.isascii() and headline.isascii()):
        words = {_fold(word) for word in words if not CJK.search(word)}
    return words


def speller_word(word: str) -> bool:
    """Whether a lower-cased word is one the speller may offer: letters only, not a stop word."""
    return word.isalpha() and len(word) >= MIN_WORD_LENGTH and word not in STOP_WORDS


def fold_word(word: str) -> str:
    """A word as the speller knows it: lower case, accents folded, not stemmed."""
    return _fold(word.lower())


def _indexed(word: str) -> bool:
    """Whether a lower-cased, folded word is indexed: not a stop word, not a single character."""
    return len(word) >= MIN_WORD_LENGTH and word not in STOP_WORDS


def _fold(word: str) -> str:
    """Accents folded; ASCII words (almost all) are left as they are without a lookup per character."""
    return word if word.isascii() else word.translate(accent_map)


def text_analyzer() -> NewsAnalyzer:
    """The analyzer of the title and body fields and of queries on them."""
    return NewsAnalyzer()


def reference_analyzer() -> Any:
    """The definition :class:`NewsAnalyzer` follows, as Whoosh's tokenizer and filter chain.

    Slower (a Python generator per filter, a call per token and stem); the
    tests check that both give the same tokens.
    """
    return (
        RegexTokenizer(TOKEN)
        | LowercaseFilter()
        | CharsetFilter(accent_map)
        | StopFilter(stoplist=STOP_WORDS, minsize=MIN_WORD_LENGTH)
        | CjkBigramFilter()  # after the stop filter, which would drop single characters
        | SnowballStemFilter()
    )


def url_analyzer() -> Any:
    """URLs are searchable by their parts (``url:moscowtimes``, ``url:2015``), unstemmed."""
    return RegexTokenizer(r"\w+") | LowercaseFilter()
