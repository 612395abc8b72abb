"""Text analysis: how titles, bodies and queries become the terms the index holds.

Words in any script, lower case, accents folded (``café`` = ``cafe``), English
stop words dropped, CJK runs as overlapping character pairs, then Snowball
English stems (``parades`` = ``parade``). Queries are analysed the same way,
so a word means the same on both sides.
"""

from __future__ import annotations

import re
from typing import Any

import Stemmer
from whoosh.analysis import CharsetFilter, Filter, LowercaseFilter, RegexTokenizer, StopFilter
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


class SnowballStemFilter(Filter):  # type: ignore[misc]  # Whoosh is untyped
    """English Snowball ("Porter2") stems through PyStemmer (C), which also caches them."""

    def __init__(self) -> None:
        self._stemmer: Any = None

    def __call__(self, tokens: Any) -> Any:
        """The tokens with their text stemmed (unless the analyzer is asked not to)."""
        if self._stemmer is None:
            self._stemmer = Stemmer.Stemmer("english")
        stem = self._stemmer.stemWord
        for token in tokens:
            if not getattr(token, "stopped", False) and not getattr(token, "no_morph", False):
                token.text = stem(token.text)
            yield token

    def __getstate__(self) -> dict[str, Any]:
        return {}  # the C stemmer cannot be pickled (Whoosh pickles the schema); it is made again

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._stemmer = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SnowballStemFilter)

    def __hash__(self) -> int:
        return hash(SnowballStemFilter)

    def has_morph(self) -> bool:
        """Stemming changes word forms (Whoosh asks, for spelling and highlighting)."""
        return True


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


def text_analyzer() -> Any:
    """The analyzer of the title and body fields and of queries on them."""
    return (
        RegexTokenizer()
        | LowercaseFilter()
        | CharsetFilter(accent_map)
        | StopFilter(stoplist=STOP_WORDS, minsize=MIN_WORD_LENGTH)
        | CjkBigramFilter()  # after the stop filter, which would drop single characters
        | SnowballStemFilter()
    )


def url_analyzer() -> Any:
    """URLs are searchable by their parts (``url:moscowtimes``, ``url:2015``), unstemmed."""
    return RegexTokenizer(r"\w+") | LowercaseFilter()
