"""Snippets: the sentences of a body that show why it matched, with the matches marked.

Whoosh's own highlighter breaks score ties by object identity, so the same
query can show different fragments from run to run. This module is
deterministic: sentences are scored by the query terms they hold (terms not
yet shown first), ties go to the earlier sentence, and the best sentence leads.
A long sentence is cut at word boundaries around its first match, each cut
marked: ``… `` before a fragment that starts inside its sentence, `` …`` after
one that stops before its end. A body with no match gives its opening instead.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from searchidx.results import MarkedText, Span

T = TypeVar("T")
SEPARATOR = " … "
ELLIPSIS = " …"  # ends a fragment cut before its sentence ends
LEAD = "… "  # starts a fragment cut after its sentence starts
MIN_FRAGMENT_CHARS = 60
# A sentence ends at . ! or ? (and any closing quotes or brackets) before
# whitespace and a capital letter, or at a paragraph break.
SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*\s+(?=[\"“‘(\[]?[A-Z])|\n\s*\n")
ABBREVIATION = re.compile(
    r"(?:\b(?:mr|mrs|ms|dr|prof|st|sen|rep|gov|gen|col|lt|sgt|jr|sr|inc|ltd|co|corp|vs|no|"
    r"jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)|\b[a-z])\.$",
    re.IGNORECASE,
)

# A word with a letter beyond ASCII is folded before it is stemmed: such texts are analysed whole.
NON_ASCII_LETTER = re.compile(r"[^\W\x00-\x7f]")
# A stem differs from its word in the last letters at most (the stemmer rewrites endings only).
STEM_CHANGES = 2
# Past this many places where a match may begin, the sentences are found over the whole text at once.
MAX_SPOTS = 200
TOKEN_CHAR = re.compile(r"[\w*]")
# Fragments are cut between words, where str.split() splits.
SPACE = re.compile(r"\s+")
NON_SPACE = re.compile(r"\S")
LAST_SPACE = re.compile(r"(?s:.*)\s")  # matched from a position: up to the last white space before the end
SENTENCE_REACH = 2000
# Up to this many chars (most news articles), analysing the whole text costs less than finding where first.
SHORT_TEXT = 4000
# A memo forgets what it holds past this many characters of texts (its analyses take some 15 bytes a
# character): its memory stays bounded on any listing, of any articles.
MEMO_CHARS = 12_000_000

Match = tuple[Span, str]


class AnalysisMemo:
    """An analyzer that finds each text's words and sentences once, for listings that snippet the
    same articles for several queries (every watch's news: an article matching many watches).

    It stands in for the analyzer wherever this module takes one; make one per listing. A long
    text asked for again is analysed whole (once: each query then costs a look-up); asked for once,
    or by a memo for one query (``whole`` false), only the sentences around its matches are.
    """

    def __init__(self, analyzer: Any, *, whole: bool = True) -> None:
        self._analyzer = analyzer
        self._whole = whole
        self._chars = 0  # of the texts held, once in each memo
        self._asked: dict[str, None] = {}
        self._spans: dict[str, list[tuple[int, int, str]]] = {}
        self._places: dict[str, dict[str, list[Span]]] = {}
        self._bounds: dict[str, tuple[list[Span], list[int]]] = {}

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """The analyzer's :meth:`~searchidx.query.analysis.NewsAnalyzer.spans` of ``text``, found once."""
        return self._remembered(self._spans, text, self._analyzer.spans)

    def places(self, text: str) -> dict[str, list[Span]]:
        """Where each term of ``text`` occurs, in text order."""
        return self._remembered(self._places, text, self._find_places)

    def sentence_bounds(self, text: str) -> tuple[list[Span], list[int]]:
        """Where the sentences of ``text`` begin and end, and their starts alone (to search)."""
        return self._remembered(self._bounds, text, _bounds_and_starts)

    def analysed_whole(self, text: str) -> bool:
        """Whether to analyse the long ``text`` whole: it was asked for before (a query then costs a
        look-up), so others will likely ask again."""
        if not self._whole:
            return False
        if text in self._places or text in self._asked:
            return True
        self._remembered(self._asked, text, lambda _: None)
        return False

    def _find_places(self, text: str) -> dict[str, list[Span]]:
        places: dict[str, list[Span]] = {}
        for start, end, term in self.spans(text):
            places.setdefault(term, []).append((start, end))
        return places

    def _remembered(self, memo: dict[str, T], text: str, find: Callable[[str], T]) -> T:
        if text in memo:
            return memo[text]
        if self._chars + len(text) > MEMO_CHARS:  # forget all at once: what is asked again is found again
            for each in (self._asked, self._spans, self._places, self._bounds):
                each.clear()
            self._chars = 0
        found = memo[text] = find(text)
        self._chars += len(text)
        return found


def _memo_of(analyzer: Any) -> AnalysisMemo:
    """``analyzer`` itself when it is a memo, else a memo of it for one text."""
    return analyzer if isinstance(analyzer, AnalysisMemo) else AnalysisMemo(analyzer, whole=False)


def _bounds_and_starts(text: str) -> tuple[list[Span], list[int]]:
    bounds = _sentence_bounds(text)
    return bounds, [begin for begin, _ in bounds]


def join_fragments(fragments: tuple[MarkedText, ...]) -> MarkedText:
    """The fragments as one text, separated by `` … ``, with the offsets moved along.

    The separator stands for what is left out between two fragments, so a
    fragment's own mark of a cut there (``… `` before it, `` …`` after it) is
    not repeated; the first fragment's leading mark and the last's trailing
    one stay.
    """
    highlights: list[Span] = []
    texts: list[str] = []
    offset = 0
    for number, fragment in enumerate(fragments):
        text, shift = fragment.text, 0
        if number and text.startswith(LEAD):
            text, shift = text[len(LEAD) :], len(LEAD)
        if number < len(fragments) - 1:
            text = text.removesuffix(ELLIPSIS)
        highlights += [(start - shift + offset, end - shift + offset) for start, end in fragment.highlights]
        texts.append(text)
        offset += len(text) + len(SEPARATOR)
    return MarkedText(SEPARATOR.join(texts), tuple(highlights))


@dataclass(frozen=True)
class _Sentence:
    start: int
    end: int
    matches: tuple[Match, ...]

    @property
    def terms(self) -> frozenset[str]:
        return frozenset(term for _, term in self.matches)


def find_matches(
    text: str, words: Iterable[str], phrases: Iterable[tuple[str, ...]], analyzer: Any
) -> list[Match]:
    """Where the analysed ``words`` and whole ``phrases`` occur in ``text``, in order.

    ``analyzer`` must be the field's :class:`~searchidx.query.analysis.NewsAnalyzer`
    (its :meth:`spans`) or an :class:`AnalysisMemo` of it, so a match is found
    exactly where the index found it (stems, folded accents). A phrase is
    marked as one span; a word inside it is not marked again.
    """
    memo = _memo_of(analyzer)
    places = memo.places(text)
    found: list[Match] = [(span, term) for term in set(words) for span in places.get(term, ())]
    for phrase in phrases:
        if not all(word in places for word in phrase):
            continue
        tokens, size = memo.spans(text), len(phrase)
        for index in range(len(tokens) - size + 1):
            if all(tokens[index + offset][2] == phrase[offset] for offset in range(size)):
                found.append(((tokens[index][0], tokens[index + size - 1][1]), " ".join(phrase)))
    return _without_overlaps(found)


def mark(text: str, words: Iterable[str], phrases: Iterable[tuple[str, ...]], analyzer: Any) -> MarkedText:
    """``text`` (a title) with its matches marked."""
    return MarkedText(text, tuple(span for span, _ in find_matches(text, words, phrases, analyzer)))


def make_snippet(
    text: str,
    words: Iterable[str],
    analyzer: Any,
    *,
    phrases: Iterable[tuple[str, ...]] = (),
    max_chars: int = 240,
    max_fragments: int = 3,
) -> tuple[MarkedText, ...]:
    """The fragments of ``text`` that best show the matches, best first.

    >>> from searchidx.query.analysis import text_analyzer
    >>> (fragment,) = make_snippet("Troops rehearsed. The parades were long.", {"parad"}, text_analyzer())
    >>> fragment.marked("[", "]")
    'The [parades] were long.'
    """
    memo = _memo_of(analyzer)
    bounds, starts, matches = _matches_by_sentence(text, frozenset(words), tuple(phrases), memo)
    sentences = _sentences(bounds, starts, matches)
    if not sentences:
        return (MarkedText(_opening(text, max_chars)),)
    return _assemble(text, _choose(sentences, max_chars, max_fragments), max_chars)


def _without_overlaps(matches: list[Match]) -> list[Match]:
    """Longest first at each start; a match inside an earlier one is dropped."""
    kept: list[Match] = []
    for match in sorted(matches, key=lambda m: (m[0][0], -m[0][1])):
        if kept and match[0][0] < kept[-1][0][1]:
            continue
        kept.append(match)
    return kept


def _matches_by_sentence(
    text: str, words: frozenset[str], phrases: tuple[tuple[str, ...], ...], memo: AnalysisMemo
) -> tuple[list[Span], list[int], list[Match]]:
    """The sentences that can hold a match (and their starts), and the matches of :func:`find_matches`
    in them.

    Analysing a whole body costs time in proportion to its length. A
    regular expression (run in C) first finds the words that begin as a
    wanted term's stem does; those alone are stemmed, and only the sentences
    around the ones that match are found and analysed, so the cost follows
    the number of matches, not the length.
    A short text, one with letters beyond ASCII (the analyzer folds them),
    and one a memo for many queries was asked for before are analysed whole.
    """
    terms = words | {word for phrase in phrases for word in phrase}
    candidates = _candidate_words(terms)
    if (
        candidates is None
        or len(text) <= SHORT_TEXT
        or NON_ASCII_LETTER.search(text)
        or memo.analysed_whole(text)
    ):
        return *memo.sentence_bounds(text), find_matches(text, words, phrases, memo)
    spots = _spots(text, candidates, terms, memo)
    bounds = _sentence_bounds(text) if len(spots) > MAX_SPOTS else _bounds_around(text, spots)
    matches: list[Match] = []
    spot = 0
    for begin, end in bounds:
        while spot < len(spots) and spots[spot] < begin:
            spot += 1
        if spot < len(spots) and spots[spot] < end:
            inside = find_matches(text[begin:end], words, phrases, memo)
            matches += [((start + begin, stop + begin), term) for (start, stop), term in inside]
    return bounds, [begin for begin, _ in bounds], matches


def _bounds_around(text: str, spots: list[int]) -> list[Span]:
    """The sentences holding ``spots`` (ascending), each found within ``SENTENCE_REACH`` chars of its spot.

    The same sentences :func:`_sentence_bounds` finds in the whole text,
    unless one is longer than the reach (it is then cut there: a snippet
    shows only part of it anyway).
    """
    bounds: list[Span] = []
    for spot in spots:
        if bounds and spot < bounds[-1][1]:
            continue
        low = max(0, spot - SENTENCE_REACH, bounds[-1][1] if bounds else 0)
        high = min(len(text), spot + SENTENCE_REACH)
        for begin, end in _sentence_bounds(text[low:high]):
            if begin + low <= spot < end + low:
                chunk = text[begin + low : end + low]
                bounds.append((begin + low + len(chunk) - len(chunk.lstrip()), end + low))
                break
    return bounds


def _spots(text: str, candidates: re.Pattern[str], terms: frozenset[str], memo: AnalysisMemo) -> list[int]:
    """Where the words of ``text`` that stem to one of ``terms`` begin (stemming the candidates only)."""
    found = [
        (word.start(), word.group())
        for word in candidates.finditer(text)
        if _token_starts(text, word.start())
    ]
    offsets, position = [], 0
    for _, word in found:
        offsets.append(position)
        position += len(word) + 1
    stems = {start: stem for start, _, stem in memo.spans(" ".join(word for _, word in found))}
    return [start for (start, _), offset in zip(found, offsets, strict=True) if stems.get(offset) in terms]


@functools.lru_cache(maxsize=256)
def _candidate_words(terms: frozenset[str]) -> re.Pattern[str] | None:
    """The words (as the analyzer's tokens) that can stem to one of ``terms``; ``None`` to analyse everything.

    A stem keeps all but the last letters of its word (checked on the
    130,000 words of the shared collections: none changes more than its last
    two), so a word stemming to ``term`` starts with ``term[:-STEM_CHANGES]``.
    The expression starts with the prefixes, so that the search runs at the
    speed of a string search; :func:`_token_starts` then keeps the matches
    that begin a token.
    """
    if not terms or not all(term.isascii() and term.isalnum() for term in terms):
        return None
    prefixes = "|".join(sorted({re.escape(term[: max(1, len(term) - STEM_CHANGES)]) for term in terms}))
    return re.compile(rf"(?i:{prefixes})[\w*]*(?:\.?[\w*]+)*")


def _token_starts(text: str, position: int) -> bool:
    """Whether an analyzer token can begin at ``position``: not after a word char, nor after one and a dot."""
    before = text[max(0, position - 2) : position]
    return not (before[-1:] and TOKEN_CHAR.match(before[-1])) and not (
        len(before) == 2 and before[1] == "." and TOKEN_CHAR.match(before[0])
    )


def _sentence_bounds(text: str) -> list[Span]:
    bounds: list[Span] = []
    start = 0
    for boundary in SENTENCE_END.finditer(text):
        cut = boundary.start() + len(boundary.group().rstrip())
        if boundary.group().strip() and ABBREVIATION.search(text[max(start, cut - 6) : cut]):
            continue
        bounds.append((start, cut))
        start = boundary.end()
    bounds.append((start, len(text)))
    return bounds


def _sentences(bounds: list[Span], starts: list[int], matches: list[Match]) -> list[_Sentence]:
    """The sentences holding matches (each with those wholly inside it), in text order."""
    held: dict[int, list[Match]] = {}
    for match in sorted(matches, key=lambda match: match[0]):
        (first, last), number = match[0], bisect.bisect_right(starts, match[0][0]) - 1
        if number >= 0 and first < bounds[number][1] and last <= bounds[number][1]:
            held.setdefault(number, []).append(match)
    return [_Sentence(*bounds[number], tuple(inside)) for number, inside in held.items()]


def _choose(sentences: list[_Sentence], max_chars: int, max_fragments: int) -> list[_Sentence]:
    """Best sentence first; then those showing terms not shown yet; earlier wins ties.

    A sentence that shows no new term is added only while the ones chosen
    leave room for it, so more terms beat more of the same term.
    """
    most = max(1, min(max_fragments, max_chars // MIN_FRAGMENT_CHARS))
    chosen: list[_Sentence] = []
    shown: set[str] = set()
    remaining = list(sentences)
    used = 0
    while remaining and len(chosen) < most:
        best = max(remaining, key=lambda s: (len(s.terms - shown), len(s.terms), len(s.matches), -s.start))
        if chosen and not best.terms - shown and used + len(SEPARATOR) + MIN_FRAGMENT_CHARS > max_chars:
            break
        chosen.append(best)
        remaining.remove(best)
        shown |= best.terms
        used += best.end - best.start + (len(SEPARATOR) if len(chosen) > 1 else 0)
    return chosen


def _allowances(chosen: list[_Sentence], max_chars: int) -> list[int]:
    """Share the characters fairly: short sentences whole, long ones an equal part of the rest."""
    budget = max_chars - len(SEPARATOR) * (len(chosen) - 1)
    lengths = [s.end - s.start for s in chosen]
    allowances = [0] * len(chosen)
    for position, index in enumerate(sorted(range(len(chosen)), key=lambda i: lengths[i])):
        share = budget // (len(chosen) - position)
        allowances[index] = min(lengths[index], share)
        budget -= allowances[index]
    return allowances


def _assemble(text: str, chosen: list[_Sentence], max_chars: int) -> tuple[MarkedText, ...]:
    return tuple(
        _fragment(text, sentence, *_window(text, sentence, allowance))
        for sentence, allowance in zip(chosen, _allowances(chosen, max_chars), strict=True)
    )


def _fragment(text: str, sentence: _Sentence, begin: int, end: int) -> MarkedText:
    """``text[begin:end]`` of the sentence, spacing squeezed, its matches marked, its cuts marked ``…``."""
    lead = LEAD if NON_SPACE.search(text, sentence.start, begin) else ""
    trail = ELLIPSIS if NON_SPACE.search(text, end, sentence.end) else ""
    shown = text[begin:end]
    squeezed = " ".join(shown.split())
    # Most fragments have single spaces alone between words: their offsets move by ``begin`` only.
    offset = (
        (lambda position: position - begin)
        if squeezed == shown
        else functools.partial(_squeezed_offset, text, begin)
    )
    highlights = tuple(
        (len(lead) + offset(start), len(lead) + offset(stop))
        for (start, stop), _ in sentence.matches
        if begin <= start and stop <= end
    )
    return MarkedText(lead + squeezed + trail, highlights)


def _window(text: str, sentence: _Sentence, allowance: int) -> Span:
    """The part of the sentence to show: all of it, or whole words around its first match.

    The part fits in ``allowance`` chars with the marks of its cuts (see
    :func:`_fragment`). The sentence's start is kept when the first match is
    near it; else a little context leads in to the match. Only a word longer
    than the whole allowance is cut.
    """
    begin, end = sentence.start, sentence.end
    if end - begin <= allowance:
        return begin, end
    (first, last), _ = sentence.matches[0]
    start = (
        begin
        if first - begin <= allowance * 2 // 3
        else _word_from(text, first - allowance // 5, first, begin)
    )
    stop = _words_until(text, start, last, end, allowance - (len(LEAD) if start > begin else 0))
    if stop is not None:
        return start, stop
    # The match's word runs past the room: end with it, and start as late as that needs.
    stop = _word_end(text, last, end)
    room = allowance - len(LEAD) - len(ELLIPSIS)
    start = max(start, _word_from(text, stop - room, first, begin))
    if stop - start > room:  # the matched word alone is longer than the allowance
        start, stop = first, min(end, first + max(room, 1))
    return start, stop


def _word_from(text: str, position: int, first: int, begin: int) -> int:
    """The first word start at or after ``position``, but not past the word holding ``first``."""
    if position <= begin:
        return begin
    gap = SPACE.search(text, position - 1, first)
    if gap is not None:
        return gap.end()
    before = LAST_SPACE.match(text, begin, first)
    return before.end() if before is not None else begin


def _words_until(text: str, start: int, last: int, end: int, room: int) -> int | None:
    """Where the whole words from ``start`` up to at least ``last`` (a match's end) end, within ``room``
    chars (less the mark of a cut when they stop before ``end``); ``None`` when the match's word does not fit.
    """
    if end - start <= room:
        return end
    cut = LAST_SPACE.match(text, last, start + room - len(ELLIPSIS) + 1)
    return cut.end() - 1 if cut is not None else None


def _word_end(text: str, position: int, end: int) -> int:
    """Where the word holding ``position`` (or the one just before it) ends, at most at ``end``."""
    gap = SPACE.search(text, position, end)
    return gap.start() if gap is not None else end


def _squeezed_offset(text: str, begin: int, position: int) -> int:
    """Where ``position`` lands once the whitespace runs in ``text[begin:]`` are squeezed."""
    return len(re.sub(r"\s+", " ", text[begin:position]).lstrip())


def _opening(text: str, max_chars: int) -> str:
    flat = " ".join(text.split())
    if len(flat) <= max_chars:
        return flat
    cut = flat.rfind(" ", 0, max_chars - len(ELLIPSIS))
    return flat[: cut if cut > 0 else max_chars - len(ELLIPSIS)] + ELLIPSIS
