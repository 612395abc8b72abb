"""From what a user types to a Whoosh query, and back to what a hit should mark.

The language: plain words (any may match; more matches rank higher),
``"quoted phrases"``, ``AND``/``OR``/``NOT`` and ``-word``, ``title:``/``body:``/
``url:`` fields, ``prefix*``, ``word~`` (fuzzy, ``word~2`` for two edits),
parentheses and ``date:`` ranges. In a query typed all in capitals
(``EFFECTS OF SMOKING AND DIET``) AND, OR and NOT are words, not operators.
Words typed more than once count more. A query whose syntax is broken (an
unbalanced quote, parenthesis or bracket, a dangling operator) is never an
error: its words are searched as plain words instead.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from whoosh import query as wq
from whoosh.matching import NullMatcher
from whoosh.qparser import FuzzyTermPlugin, MultifieldParser, OrGroup

from searchidx.errors import QueryError
from searchidx.inputs.urls import site_of
from searchidx.query.analysis import fold_word
from searchidx.query.bounds import (
    MAX_FUZZY_EXPANSIONS,
    MAX_FUZZY_WORDS,
    Expansions,
    bound_expansions,
    limited,
    most_frequent,
)
from searchidx.query.ranking import FIELD_BOOSTS
from searchidx.query.spelling import Correction, QueryWord, edits_allowed, words_within

SEARCH_FIELDS = ("title", "body")
OPERATORS = {"AND", "OR", "NOT"}
BINARY = {"AND", "OR"}
QUOTED = re.compile(r'"[^"]*"')
CAPITAL_OPERATOR = re.compile(r"\b(?:AND|OR|NOT)\b")
MINUS = re.compile(r"(?<![^\s(])-(?=[^\s-])")
WORD = re.compile(r"\w+")
PAIRS = {")": "(", "]": "[", "}": "{"}
# From this many plain words a query is a request, in which a corrected word counts this much.
LONG_QUERY = 4
# A word typed n times in a query weighs n ** QUERY_REPEAT_EXPONENT: a request that names its
# subject again and again ("... associative stores. Associative memory.") means it most.
QUERY_REPEAT_EXPONENT = 0.75
LONG_QUERY_CORRECTION_WEIGHT = 0.5


@dataclass(frozen=True)
class ParsedQuery:
    """The Whoosh query searched, and the text it came from.

    ``text`` is what was actually searched: the user's query, or its plain
    words when the syntax was broken (``fallback`` is then true); ``words``
    are its words as typed, for the speller; ``notes`` say, a sentence each,
    how the query searched differs from the one typed.
    """

    query: Any
    text: str
    fallback: bool
    words: tuple[QueryWord, ...] = ()
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        return str(self.query)


def parse_query(text: str, schema: Any) -> ParsedQuery:
    """Parse the user's query; fall back to its plain words when the syntax is broken.

    Raises :class:`QueryError` when nothing searchable is left (empty, only
    stop words or punctuation).
    """
    if not text.strip():
        raise QueryError('The query is empty. Give one or more words to search for, e.g. "Putin parade".')
    text = _without_question_marks(valid_text(text))
    notes: list[str] = []
    if _all_capitals(text) and CAPITAL_OPERATOR.search(text):  # typed with caps lock on
        text = CAPITAL_OPERATOR.sub(lambda match: match.group().lower(), text)
        notes.append("The query is all in capitals, so AND, OR and NOT in it were searched as words.")
    problem = _syntax_problem(text)
    if problem is not None:
        plain = " ".join(word for word in WORD.findall(text) if word not in OPERATORS)
        notes.append(f"The query has {problem}, so its words were searched as plain words: {plain}")
        parsed = ParsedQuery(_parse_plain(plain, schema), plain, True)
    else:
        parsed = ParsedQuery(_parse(_with_not(text), schema), text, False)
    parsed = replace(parsed, query=_sites(parsed.query), notes=tuple(notes))
    if parsed.query is wq.NullQuery:
        raise QueryError(
            f"The query {text!r} has no searchable words (only stop words or punctuation). "
            "Add a more specific word."
        )
    query, bounds = limited(parsed.query, SEARCH_FIELDS)  # what one query may cost: searchidx.query.bounds
    parsed = replace(parsed, query=query, notes=parsed.notes + bounds)
    analyzer = schema["body"].analyzer
    parsed = replace(parsed, query=_weighted_repeats(parsed.text, parsed.query, analyzer))
    return replace(parsed, words=_query_words(parsed.text, parsed.query, analyzer))


def valid_text(text: str) -> str:
    r"""``text`` as text the index can hold: bytes that were not UTF-8 become ``\xff`` escapes.

    Python decodes such bytes of a command line (and of a file name) as lone
    surrogates, which no UTF-8 encoder takes; ingest writes the bytes of such
    a file name as the same escapes, so a path given this way finds its file.

    >>> valid_text("café caf\udce9")  # the second: Latin-1 b"caf\xe9" on a UTF-8 command line
    'café caf\\xe9'
    """
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that stands for no byte
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _all_capitals(text: str) -> bool:
    """Whether the query has letters and none of them is lower case."""
    letters = [char for char in text if char.isalpha()]
    return bool(letters) and not any(char.islower() for char in letters)


def _weighted_repeats(text: str, query: Any, analyzer: Any) -> Any:
    """The query with each word typed more than once weighted by :data:`QUERY_REPEAT_EXPONENT`."""
    counts = Counter(analyzer.terms(text))

    def weighted(term: Any) -> Any:
        count = counts.get(term.text, 1)
        if count < 2:
            return term
        return wq.Term(term.fieldname, term.text, boost=term.boost * count**QUERY_REPEAT_EXPONENT)

    return _map_words(query, weighted)


def _query_words(text: str, query: Any, analyzer: Any) -> tuple[QueryWord, ...]:
    """The words of ``text`` that ``query`` searches as plain words (not phrases, prefixes, fuzzy terms)."""
    plain: set[str] = set()

    def note(term: Any) -> Any:
        plain.add(term.text)
        return term

    _map_words(query, note)
    words = []
    for start, end, stem in analyzer.spans(text):
        if stem not in plain:
            continue
        written = text[start:end]
        capitalized = written[:1].isupper() and not written.isupper()
        words.append(QueryWord(start, end, fold_word(written), stem, capitalized))
    return tuple(words)


def corrected(parsed: ParsedQuery, corrections: dict[str, Correction], analyzer: Any) -> ParsedQuery:
    """The query with each corrected word searched (and written) as its correction.

    In a short query the correction weighs what the word would have; in a
    request of :data:`LONG_QUERY` words or more, where a word the archive
    lacks is as often a rare term as a typing error, it counts half
    (``docs/relevance.md`` has the measurements).
    """
    weight = LONG_QUERY_CORRECTION_WEIGHT if len(parsed.words) >= LONG_QUERY else 1.0
    stems: dict[str, str] = {}
    text = parsed.text
    for word in reversed(parsed.words):
        correction = corrections.get(word.typed)
        if correction is None:
            continue
        new_stems = analyzer.terms(correction.word)
        if new_stems:
            stems[word.stem] = new_stems[0]
            text = text[: word.start] + correction.word + text[word.end :]
    query = _map_words(parsed.query, lambda term: _restemmed(term, stems, weight))
    return ParsedQuery(query, text, parsed.fallback, _query_words(text, query, analyzer), parsed.notes)


def every_word(query: Any) -> Any | None:
    """For a short query of plain words (2 to :data:`LONG_QUERY` - 1 of them, a name or a subject:
    "James Baker", "oil prices"), the query that matches only the articles holding every word; None
    for any other query. (The body field holds the headline's words too.)"""
    if not isinstance(query, wq.Or) or not all(
        type(term) is wq.Term and term.fieldname in SEARCH_FIELDS for term in query.subqueries
    ):
        return None
    stems = sorted({decoded(term.text) for term in query.subqueries})
    if not 2 <= len(stems) < LONG_QUERY:
        return None
    return wq.And([wq.Term("body", stem) for stem in stems])


def _restemmed(term: Any, stems: dict[str, str], weight: float) -> Any:
    if term.text not in stems:
        return term
    return wq.Term(term.fieldname, stems[term.text], boost=term.boost * weight)


def fuzzy(parsed: ParsedQuery) -> Any:
    """The query with its title/body words made fuzzy (1 edit, 2 over 5 letters): the first
    :data:`~searchidx.query.bounds.MAX_FUZZY_WORDS` different ones, the others as they are."""
    typed = {word.stem: word.typed for word in parsed.words}
    loosened: dict[str, None] = {}

    def loosen(term: Any) -> Any:
        word = typed.get(term.text, term.text)
        if term.text not in loosened and len(loosened) >= MAX_FUZZY_WORDS:
            return term
        loosened[term.text] = None
        return _FuzzyTerm(term.fieldname, term.text, boost=term.boost, maxdist=max(edits_allowed(word), 1),
                          prefixlength=1, typed=word)  # fmt: skip

    return _map_words(parsed.query, loosen)


class _FuzzyTerm(wq.FuzzyTerm):  # type: ignore[misc]  # Whoosh is untyped
    """Whoosh's fuzzy term, measured on the word as written and weighted by its boost.

    The edit distance is that of the typed word (``typed``: lower case,
    accents folded) to the words the archive holds as written (the speller's
    field), and the stems of those words are searched, so ``goverment~2``
    finds "government", not every word sharing the stem of "governess".
    Whoosh would also drop the boost when the term expands to a single word.
    Shown in the query syntax as ``body:word~2^0.5`` (not ``^0.500000``).
    """

    def __init__(self, fieldname: str, text: str, *, typed: str | None = None, **options: Any) -> None:
        super().__init__(fieldname, text, **options)
        self.typed = typed if typed is not None else text
        self._stems: tuple[str, ...] | None = None

    def _btexts(self, ixreader: Any) -> Any:
        if self._stems is None:  # found once for the whole index (Whoosh would look in every segment)
            analyzer = ixreader.schema[self.fieldname].analyzer
            words = words_within(ixreader, self.typed, self.maxdist, self.prefixlength)
            self._stems = tuple(dict.fromkeys(stem for word in words for stem in analyzer.terms(word)[:1]))
        return self._stems

    def limited(self, stems: Iterable[str]) -> _FuzzyTerm:
        """This fuzzy word searching ``stems`` only (see :func:`searchidx.query.bounds.bounded`)."""
        term = copy.copy(self)
        term._stems = tuple(stems)
        return term

    def expanded(self, searcher: Any) -> Any:
        """The OR searched on the whole index (``searcher``): the stems of the words within reach (the
        :data:`~searchidx.query.bounds.MAX_FUZZY_EXPANSIONS` most frequent), each weighted by the boost.

        Every word is scored with the IDF of the most common one (Elasticsearch's
        blended frequencies): otherwise the rarest near spelling, often a typo
        in some article, would outrank the word meant.
        """
        field = self.fieldname
        words = [word for word in self._btexts(searcher.reader()) if word]
        counts = {word: searcher.doc_frequency(field, word) for word in words}
        if not counts:
            return wq.NullQuery
        words = most_frequent(counts, MAX_FUZZY_EXPANSIONS)

        def idf(word: str) -> float:
            return float(searcher.weighting.idf(searcher, field, word))

        common = idf(max(words, key=lambda word: counts[word]))
        terms = [wq.Term(field, word, boost=self.boost * common / max(idf(word), 1e-9)) for word in words]
        return wq.Or(terms)

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        """The matcher of :meth:`expanded` (Whoosh passes each segment's searcher here)."""
        found = self.expanded(searcher.get_parent())
        return NullMatcher() if found is wq.NullQuery else found.matcher(searcher, context)

    def __str__(self) -> str:
        edits = str(self.maxdist) if self.maxdist > 1 else ""
        boost = f"^{self.boost:g}" if self.boost != 1 else ""
        return f"{self.fieldname}:{self.typed}~{edits}{boost}"


class _WeightedFuzzyTermPlugin(FuzzyTermPlugin):  # type: ignore[misc]  # Whoosh is untyped
    """Whoosh's ``word~`` syntax, making a :class:`_FuzzyTerm` of the word as typed."""

    class FuzzyTermNode(FuzzyTermPlugin.FuzzyTermNode):  # type: ignore[misc]
        qclass = _FuzzyTerm

        def query(self, parser: Any) -> Any:
            """The fuzzy term, with the word as typed kept for the edit distance, its first letter kept."""
            term = super().query(parser)
            if isinstance(term, _FuzzyTerm):
                term.typed = fold_word(self.text)
                term.prefixlength = max(term.prefixlength, 1)
            return term


def _sites(query: Any) -> Any:
    """``source:news.bbc.co.uk`` searched as the site it belongs to, as sources are stored (``bbc.co.uk``)."""
    if type(query) is wq.Term and query.fieldname == "source":
        return wq.Term("source", site_of(str(query.text)) or query.text, boost=query.boost)
    return query.apply(_sites) if query.children() else query


def _map_words(query: Any, change: Any) -> Any:
    """``query`` with ``change`` applied to each plain title/body word it searches for (not excluded ones)."""
    if type(query) is wq.Term and query.fieldname in SEARCH_FIELDS:
        return change(query)
    if isinstance(query, wq.Not):
        return query
    if isinstance(query, wq.AndNot):
        return wq.AndNot(_map_words(query.a, change), query.b)
    return query.apply(lambda child: _map_words(child, change))


def marks_for(query: Any) -> tuple[frozenset[str], tuple[tuple[str, ...], ...]]:
    """(words that are only part of a phrase, the phrases) of the positive part of a query."""
    alone: set[str] = set()
    phrases: list[tuple[str, ...]] = []
    _collect(query, alone, phrases)
    in_phrases = {word for phrase in phrases for word in phrase}
    return frozenset(in_phrases - alone), tuple(dict.fromkeys(phrases))


def preloaded(query: Any) -> Any:
    """The query with every OR scored through Whoosh's array matcher.

    Where Whoosh scores every match (sorting by date, the clauses
    :mod:`searchidx.engines.whoosh.topk` leaves to Whoosh, and the reference it is
    tested against), adding up each clause's matches in arrays is faster
    than Whoosh's default tree of union matchers, which is built to skip
    ahead (measured: p50 -16%, p95 -50% on the Reuters queries, same results).
    """
    query = query.apply(preloaded)
    if isinstance(query, wq.Or):
        query.matcher_type = wq.Or.ARRAY_MATCHER
    return query


def words_to_mark(query: Any, reader: Any) -> frozenset[str]:
    """The indexed words a hit of ``query`` can have matched, to mark in its text.

    The positive terms, with prefix, wildcard and fuzzy terms expanded to the
    index's words they stand for. Found once per query, not per matching
    document as Whoosh's matched-terms collector does.
    """
    words: set[str] = set()
    _positive_words(query, reader, words)
    return frozenset(words)


def _positive_words(node: Any, reader: Any, words: set[str]) -> None:
    if isinstance(node, wq.Not):
        return
    if isinstance(node, wq.AndNot):
        _positive_words(node.a, reader, words)
    elif isinstance(node, wq.MultiTerm):
        if node.fieldname in SEARCH_FIELDS:
            words.update(decoded(text) for _, text in node.existing_terms(reader, expand=True))
    elif isinstance(node, wq.Term):
        if node.fieldname in SEARCH_FIELDS:
            words.add(node.text)
    elif isinstance(node, wq.Phrase):
        if node.fieldname in SEARCH_FIELDS:
            words.update(node.words)
    else:
        for child in node.children():
            _positive_words(child, reader, words)


def decoded(text: str | bytes) -> str:
    """A term's text as Whoosh gives it (bytes from a reader, str from a query) as a string."""
    return text.decode("utf-8") if isinstance(text, bytes) else text


def _collect(node: Any, alone: set[str], phrases: list[tuple[str, ...]]) -> None:
    if isinstance(node, wq.Not):
        return
    if isinstance(node, wq.AndNot):
        _collect(node.a, alone, phrases)
        return
    if isinstance(node, wq.Phrase) and node.fieldname in SEARCH_FIELDS:
        phrases.append(tuple(node.words))
    elif isinstance(node, wq.Term) and node.fieldname in SEARCH_FIELDS:
        alone.add(node.text)
    for child in node.children():
        _collect(child, alone, phrases)


def _parser(schema: Any) -> MultifieldParser:
    parser = MultifieldParser(list(SEARCH_FIELDS), schema, fieldboosts=FIELD_BOOSTS, group=OrGroup)
    parser.add_plugin(_WeightedFuzzyTermPlugin())
    return parser


def _parse(text: str, schema: Any) -> Any | None:
    """The parsed query, or None when Whoosh cannot make sense of it."""
    try:
        parsed = _parser(schema).parse(text)
    except Exception:  # Whoosh raises assorted errors on odd syntax; fall back to plain words
        return None
    if _has_error(parsed):
        return None
    return _exclude_negations(parsed)


def _parse_plain(words: str, schema: Any) -> Any:
    return _parser(schema).parse(words) if words else wq.NullQuery


def _has_error(node: Any) -> bool:
    return bool(getattr(node, "error", None)) or any(_has_error(child) for child in node.children())


def _without_question_marks(text: str) -> str:
    """``?`` ends questions ("What happened at the volcano?"); it is not a wildcard here."""
    quoted = [match.span() for match in QUOTED.finditer(text)]
    return "".join(
        " " if char == "?" and not any(start < index < end for start, end in quoted) else char
        for index, char in enumerate(text)
    )


def _with_not(text: str) -> str:
    """``-word`` and ``-"a phrase"`` as ``NOT ...`` (a ``-`` inside a phrase stays)."""
    quoted = [match.span() for match in QUOTED.finditer(text)]

    def replace(match: re.Match[str]) -> str:
        inside = any(start < match.start() < end for start, end in quoted)
        return match.group() if inside else "NOT "

    return MINUS.sub(replace, text)


def _syntax_problem(text: str) -> str | None:
    """What breaks the query's syntax, in a few words ("an unbalanced quote"); None when it is sound."""
    if text.count('"') % 2:
        return "an unbalanced quote"
    outside = QUOTED.sub(" x ", text)
    stack: list[str] = []
    for char in outside:
        if char in "([{":
            stack.append(char)
        elif char in PAIRS and (not stack or stack.pop() != PAIRS[char]):
            return "an unbalanced parenthesis or bracket"
    if stack:
        return "an unbalanced parenthesis or bracket"
    if re.search(r"\w:(\s|$)", outside):
        return "a field name with nothing after it"
    if not _operators_well_placed(re.sub(r"([()])", r" \1 ", outside).split()):
        return "an operator (AND, OR, NOT) with nothing to join"
    return None


def _operators_well_placed(tokens: list[str]) -> bool:
    previous = "("
    for token in [*tokens, ")"]:
        if token in BINARY and (previous in OPERATORS or previous == "("):
            return False
        if token == ")" and (previous in OPERATORS):
            return False
        if token in OPERATORS and previous == "NOT":
            return False
        previous = token
    return True


def _exclude_negations(node: Any) -> Any:
    """Make ``a OR b OR NOT c`` mean "a or b, but not c".

    With OR as the default group Whoosh keeps ``NOT c`` as one more optional
    clause, which matches every document without ``c``. A ``NOT`` among other
    clauses excludes instead, as in Lucene; a lone ``NOT c`` still means
    "everything without c".
    """
    node = node.apply(_exclude_negations)
    if not isinstance(node, wq.Or):
        return node
    negatives = [sub.query for sub in node.subqueries if isinstance(sub, wq.Not)]
    positives = [sub for sub in node.subqueries if not isinstance(sub, wq.Not)]
    if not negatives or not positives:
        return node
    kept = copy.copy(node)
    kept.subqueries = positives
    return wq.AndNot(kept, wq.Or(negatives))


def bounded(parsed: ParsedQuery, lexicon: Expansions) -> ParsedQuery:
    """``parsed`` with each prefix, wildcard and fuzzy word searched as its most frequent words only.

    The words each stands for, and how many articles hold each, come from
    ``lexicon``; when it has more than its bound, its most frequent ones are
    searched and a note says so ("mobil* stands for 412 words; the 100 most
    frequent were searched."). A lexicon that answers None (a cluster,
    which bounds them itself) leaves the node as it is.
    """
    query, notes = bound_expansions(parsed.query, lexicon)
    return replace(parsed, query=query, notes=(*parsed.notes, *notes))
