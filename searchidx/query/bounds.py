"""What one query may cost: the bounds every search keeps, whatever is typed, on both engines.

A query's cost grows with the words it makes the engine read. Unbounded,
``*`` read every word of the archive, ``a*`` thousands, fifty ``word~2``
hundreds each, and a long phrase of common words checked every position of
every article holding them: a minute of one core for one search. So, as
Elasticsearch bounds them (``max_expansions``, ``indices.query.bool.max_clause_count``,
``allow_leading_wildcard``), and each said in a note of the results:

- ``*`` alone (or ``title:*``, ``body:*``) is every article, read as such
  (ranked in index order, or by date when asked), not every word of every
  article (:func:`limited`);
- a word may not start with a wildcard (``*tion``): finding the words it
  stands for would read every word the archive holds, however few are
  searched, and the index holds stems, whose endings are not the words'
  (``*tion`` would miss "production", held as ``product``), so the search
  is refused with a :class:`~searchidx.errors.QueryError` saying so (as
  Lucene's query parser does by default);
- a phrase is searched on its first :data:`MAX_PHRASE_WORDS` words;
- at most :data:`MAX_FUZZY_WORDS` words of a query are fuzzy (``word~``);
  the others are searched as typed;
- at most :data:`MAX_QUERY_WORDS` different plain words are searched;
- a prefix, wildcard or range of words (``mobil*``, ``ex*ort``,
  ``[a TO c]``; ``?`` ends questions, it is no wildcard) stands for its
  :data:`MAX_EXPANSIONS` most frequent words at most, fewer when a query
  has many (:data:`MAX_EXPANSIONS_PER_QUERY` in all), and a fuzzy word for
  its :data:`MAX_FUZZY_EXPANSIONS` most frequent near spellings
  (:func:`bounded`, with the index's words).

The first five need only the query (:func:`limited`, called by
:func:`searchidx.query.parsing.parse_query`); the last needs the words the index
holds and how many articles hold each (:func:`bounded`, called by
:class:`searchidx.Index` with its backend's lexicon). A cluster chooses the
words of a prefix itself (its ``top_terms`` rewrite: the first in term
order, not the most frequent) and its near spellings from its term
suggester (the 50 nearest), so there :func:`bounded` changes nothing and says
nothing. What is left (the postings of the words searched) is what a
search's deadline stops (:mod:`searchidx.query.deadlines`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from whoosh import query as wq

from searchidx.errors import QueryError

# A prefix or wildcard is searched as at most this many of its words, the most frequent ones: 100 covers
# 99% of the 3-letter prefixes of the Reuters archive's words (median 10) and all of the 4-letter
# ones but one.
MAX_EXPANSIONS = 100
# ... and all of a query's prefixes and wildcards (one per field searched) at most this many together.
MAX_EXPANSIONS_PER_QUERY = 500
# The query nodes that stand for the words of the index they match: ``mobil*``, ``ex*ort``, ``[a TO c]``.
PATTERNS = (wq.Prefix, wq.Wildcard, wq.TermRange)
# A fuzzy word is searched as at most this many near spellings, the most frequent (Elasticsearch's
# max_expansions for fuzzy queries).
MAX_FUZZY_EXPANSIONS = 50
# At most this many different words of a query are fuzzy; the others are searched as typed.
MAX_FUZZY_WORDS = 5
# A phrase is searched on its first this many words.
MAX_PHRASE_WORDS = 12
PHRASE_NOTE = "A phrase of {words} words (stop words aside) was searched on its first {kept}."
# A note names at most this many of the words it is about.
SHOWN_WORDS = 5
# At most this many different plain words are searched (the longest judged request of the relevance
# collections, LISA's, has 45).
MAX_QUERY_WORDS = 100


class Expansions(Protocol):
    """What :func:`bounded` asks of an index (a backend's lexicon)."""

    def expansions(self, node: Any) -> Mapping[str, int] | None:
        """The indexed terms a prefix, wildcard or fuzzy word stands for, each with the number of
        documents holding it in the node's field; None when the engine bounds them itself."""


class Expansion(wq.Query):  # type: ignore[misc]  # Whoosh is untyped
    """A prefix, wildcard or range searched as some of the words it stands for: their OR, shown as typed.

    Scored as Whoosh scores the pattern (each word as a word of its own,
    with its own IDF, OR-ed under the pattern's boost), so
    :mod:`searchidx.engines.whoosh.topk` ranks it as plain words; its words are
    fixed, so rewriting the query's plain words (corrections, fuzzy
    fallback) leaves them alone.
    """

    def __init__(self, pattern: Any, words: Sequence[str]) -> None:
        self.pattern = pattern
        self.words = tuple(words)
        self.fieldname = pattern.fieldname
        self.boost = pattern.boost

    def searched(self) -> Any:
        """The query actually run: the words OR-ed under the pattern's boost (one word keeps it too)."""
        if not self.words:
            return wq.NullQuery
        if len(self.words) == 1:
            return wq.Term(self.fieldname, self.words[0], boost=self.boost)
        return wq.Or([wq.Term(self.fieldname, word) for word in self.words], boost=self.boost)

    def children(self) -> list[Any]:
        """The words' terms (for marking the words in hits, and counting the query's terms)."""
        searched = self.searched()
        return list(searched.subqueries) if isinstance(searched, wq.Or) else [searched]

    def is_leaf(self) -> bool:
        """Not a leaf: its terms are."""
        return False

    def apply(self, fn: Callable[[Any], Any]) -> Expansion:
        """Itself: its words are fixed."""
        return self

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        """The matcher of the words' OR (scored through Whoosh's array matcher, as plain ORs are)."""
        searched = self.searched()
        if isinstance(searched, wq.Or):
            searched.matcher_type = wq.Or.ARRAY_MATCHER
        return searched.matcher(searcher, context)

    def estimate_size(self, ixreader: Any) -> int:
        """At most the sum of the words' document counts."""
        return sum(int(ixreader.doc_frequency(self.fieldname, word)) for word in self.words)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Expansion)
            and self.pattern == other.pattern
            and self.words == other.words
            and self.boost == other.boost
        )

    def __hash__(self) -> int:
        return hash((Expansion, self.pattern, self.words))

    def __repr__(self) -> str:
        return f"Expansion({self.pattern!r}, {len(self.words)} words)"

    def __str__(self) -> str:
        return str(self.pattern)


class EveryArticle(wq.Every):  # type: ignore[misc]  # Whoosh is untyped
    """``*``: every article (Whoosh's ``Every()``, which reads no posting), shown as ``*``."""

    def __init__(self, boost: float = 1.0) -> None:
        super().__init__(None, boost=boost)

    def __str__(self) -> str:
        return "*"


def most_frequent(frequencies: Mapping[str, int], limit: int) -> list[str]:
    """The ``limit`` words held by the most documents (ties: the first in term order), in their order
    in ``frequencies``.

    >>> most_frequent({"mobil": 12, "mobile": 40, "mobilis": 3, "mobility": 3}, 3)
    ['mobil', 'mobile', 'mobilis']
    """
    ranked = sorted(frequencies, key=lambda word: (-frequencies[word], word))
    kept = set(ranked[: max(limit, 0)])
    return [word for word in frequencies if word in kept]


# ------------------------------------------------------------ bounds of the query itself


def limited(query: Any, fields: Iterable[str]) -> tuple[Any, tuple[str, ...]]:
    """``query`` within the bounds that need no index, and a note for each bound that changed it.

    ``fields`` are those plain words are searched in (title, body). Raises
    :class:`QueryError` for a word that starts with a wildcard.
    """
    searched = frozenset(fields)
    notes: dict[str, None] = {}  # in order, each once (a word is searched in two fields)
    query = _mapped(query, lambda node: _every_article(node, searched))
    query = _mapped(query, _refuse_leading_wildcard)
    query = _mapped(query, lambda node: _cut_phrase(node, notes))
    query = _fewer_fuzzy_words(query, notes)
    query = _fewer_words(query, searched, notes)
    return query, tuple(notes)


def _mapped(node: Any, change: Callable[[Any], Any]) -> Any:
    """``node`` with ``change`` applied to every node below it, then to itself."""
    return change(node.apply(lambda child: _mapped(child, change)))


def _nodes(node: Any) -> Iterable[Any]:
    """``node`` and every node below it, in the order they were typed."""
    yield node
    for child in node.children():
        yield from _nodes(child)


def _every_article(node: Any, fields: frozenset[str]) -> Any:
    """``*`` in a searched field: every article (Whoosh's ``Every()``), not every word of the field.

    In another field (``url:*``) the pattern is an empty prefix, bounded as
    any prefix is; an OR of several ``*`` holds one.
    """
    if isinstance(node, wq.Every) and not isinstance(node, EveryArticle):
        if node.fieldname is None or node.fieldname in fields:
            return EveryArticle()
        return wq.Prefix(node.fieldname, "", boost=node.boost)
    if isinstance(node, wq.Prefix) and not node.text and node.fieldname in fields:
        return EveryArticle()
    if isinstance(node, wq.Or) and sum(isinstance(sub, EveryArticle) for sub in node.subqueries) > 1:
        others = [sub for sub in node.subqueries if not isinstance(sub, EveryArticle)]
        if not others:
            return EveryArticle()
        shorter = copy.copy(node)
        shorter.subqueries = [*others, EveryArticle()]
        return shorter
    return node


def _refuse_leading_wildcard(node: Any) -> Any:
    """Raise :class:`QueryError` for a wildcard with no letter before its first ``*``."""
    if isinstance(node, wq.Wildcard) and node.text not in ("", "*") and not node._find_prefix(node.text):
        raise QueryError(
            f"{node.text!r} starts with a wildcard, which would make the search read every word the "
            "archive holds. Give at least the first letter of the word (as in stat*), or the whole word."
        )
    return node


def _cut_phrase(node: Any, notes: dict[str, None]) -> Any:
    """A phrase of more than :data:`MAX_PHRASE_WORDS` words cut to its first ones, said in ``notes``."""
    if not isinstance(node, wq.Phrase) or len(node.words) <= MAX_PHRASE_WORDS:
        return node
    cut = copy.copy(node)
    cut.words = list(node.words[:MAX_PHRASE_WORDS])
    if getattr(cut, "char_ranges", None):
        cut.char_ranges = cut.char_ranges[:MAX_PHRASE_WORDS]
    notes[PHRASE_NOTE.format(words=len(node.words), kept=MAX_PHRASE_WORDS)] = None
    return cut


def _fuzzy_key(node: Any) -> tuple[str, int]:
    return getattr(node, "typed", node.text), int(node.maxdist)


def _fewer_fuzzy_words(query: Any, notes: dict[str, None]) -> Any:
    """The query with its fuzzy words past the first :data:`MAX_FUZZY_WORDS` searched as typed."""
    fuzzy = list(dict.fromkeys(_fuzzy_key(node) for node in _nodes(query) if isinstance(node, wq.FuzzyTerm)))
    if len(fuzzy) <= MAX_FUZZY_WORDS:
        return query
    plain = set(fuzzy[MAX_FUZZY_WORDS:])

    def typed(node: Any) -> Any:
        if isinstance(node, wq.FuzzyTerm) and _fuzzy_key(node) in plain:
            return wq.Term(node.fieldname, node.text, boost=node.boost)
        return node

    others = [word for word, _ in fuzzy[MAX_FUZZY_WORDS:]]
    rest = ", ".join(others[:SHOWN_WORDS]) + (", ..." if len(others) > SHOWN_WORDS else "")
    notes[
        f"The query has {len(fuzzy)} fuzzy words (word~); the first {MAX_FUZZY_WORDS} were searched "
        f"with their near spellings, the others as typed: {rest}."
    ] = None
    return _mapped(query, typed)


def _fewer_words(query: Any, fields: frozenset[str], notes: dict[str, None]) -> Any:
    """The query without the plain words (of ORs) past its first :data:`MAX_QUERY_WORDS` different ones."""
    words = list(
        dict.fromkeys(
            node.text for node in _nodes(query) if type(node) is wq.Term and node.fieldname in fields
        )
    )
    if len(words) <= MAX_QUERY_WORDS:
        return query
    kept = set(words[:MAX_QUERY_WORDS])

    def dropped(node: Any) -> bool:
        return type(node) is wq.Term and node.fieldname in fields and node.text not in kept

    def fewer(node: Any) -> Any:
        if not isinstance(node, wq.Or) or not any(dropped(sub) for sub in node.subqueries):
            return node
        shorter = copy.copy(node)
        shorter.subqueries = [sub for sub in node.subqueries if not dropped(sub)]
        return shorter if shorter.subqueries else wq.NullQuery

    notes[f"The query has {len(words)} different words; the first {MAX_QUERY_WORDS} were searched."] = None
    return _mapped(query, fewer)


# ------------------------------------------------------------ bounds that need the index's words


def bound_expansions(query: Any, lexicon: Expansions) -> tuple[Any, tuple[str, ...]]:
    """``query`` with each prefix, wildcard and fuzzy word searched as its most frequent words only,
    and the notes that say so.

    The words each stands for, and how many articles hold each, come from
    ``lexicon``; when it has more than its bound, its most frequent ones are
    searched and a note says so ("mobil* stands for 412 words; the 100 most
    frequent were searched."). A lexicon that answers None (a cluster,
    which bounds them itself) leaves the node as it is.
    """
    patterns = sum(1 for node in _nodes(query) if isinstance(node, PATTERNS))
    per_pattern = max(1, min(MAX_EXPANSIONS, MAX_EXPANSIONS_PER_QUERY // max(patterns, 1)))
    counted: dict[str, tuple[int, int]] = {}  # what each pattern stands for, and how many were searched

    def bound(node: Any) -> Any:
        if isinstance(node, wq.FuzzyTerm):
            limit = MAX_FUZZY_EXPANSIONS
        elif isinstance(node, PATTERNS):
            limit = per_pattern
        else:
            return node
        found = lexicon.expansions(node)
        if found is None:
            return node
        words = most_frequent(found, limit)
        label = _label(node)
        counted[label] = max(counted.get(label, (0, 0)), (len(found), len(words)))
        if isinstance(node, wq.FuzzyTerm):
            return node.limited(words) if hasattr(node, "limited") else node
        return Expansion(node, words)

    query = _mapped(query, bound)
    notes = tuple(
        f"{label} stands for {total:,} words; the {searched} most frequent were searched."
        for label, (total, searched) in counted.items()
        if total > searched
    )
    return query, notes


def _label(node: Any) -> str:
    """How the user typed a pattern or fuzzy word: ``mobil*``, ``gr*y``, ``goverment~2``, ``url:bbc*``."""
    if isinstance(node, wq.FuzzyTerm):
        edits = str(int(node.maxdist)) if node.maxdist > 1 else ""
        text = f"{getattr(node, 'typed', node.text)}~{edits}"
    elif isinstance(node, wq.TermRange):
        text = f"[{node.start or ''} TO {node.end or ''}]"
    else:
        text = f"{node.text}*" if isinstance(node, wq.Prefix) else node.text
    return text if node.fieldname in ("title", "body") else f"{node.fieldname}:{text}"
