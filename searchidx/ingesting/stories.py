"""Stories: the syndicated and updated versions of one article, found at ingest and given one id.

A wire story runs on many sites with a new headline, a byline, a dateline, a
paragraph cut or added and a word changed here and there; a site re-publishes
its own story as an update. Each article gets a :class:`Sketch` of its text: a
MinHash of its three-word shingles (Broder's resemblance), the numbers it
states, its headline's words and its day. Locality-sensitive hashing over the
MinHash (bands of rows) finds the earlier articles it may be a version of,
and :func:`same_story` decides.

Precision is the hard part: Reuters-style templated reports ("Qtly div 10 cts
vs 10 cts prior"; "The Federal Reserve entered the market to arrange 1.5
billion dlrs of repurchase agreements") share most of their words with other,
different stories. Versions of one story state the same numbers and run
on the same day or the next; a text too short to tell two stories apart by
its words (a dividend notice) must also have the same headline. A copy cut
to its first paragraphs resembles the whole text too little for the bands to
find it, so the lead (the first words) has a MinHash and bands of its own.
The figures behind the thresholds are in ``benchmarks/stories.py``.

A new article joins the story of the earlier version it resembles most, or
starts its own (the story id is its document id). Stories are never merged
or split afterwards, so an unchanged article keeps its story across ingests.
"""

from __future__ import annotations

import itertools
import re
import struct
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

SHINGLE_WORDS = 3
BANDS, ROWS = 21, 3  # LSH: 21 bands of 3 MinHash values; a pair sharing one band is compared
PERMUTATIONS = BANDS * ROWS
# The lead (the first words) has a MinHash of its own, so a copy cut to its first paragraphs, which
# resembles the whole text too little for the bands above to find it, is found by its lead.
LEAD_WORDS = 40
LEAD_BANDS, LEAD_ROWS = 6, 2
LEAD_PERMUTATIONS = LEAD_BANDS * LEAD_ROWS
BUCKET_CANDIDATES = 16  # of the articles sharing a band with a new one, the latest this many are compared
RESEMBLANCE = 0.5  # estimated Jaccard similarity of the shingles at which two texts are versions
CONTAINMENT = 0.6  # or the share of the shorter text's shingles the longer one holds (a cut version)...
CONTAINED_RESEMBLANCE = 0.1  # ... when the texts also resemble each other this much
NUMBERS_AGREE = 0.66  # share of the numbers (of the text stating fewer) that both state
SHORT_WORDS = 50  # two texts shorter than this are versions only if they state the same numbers...
HEADLINES_AGREE = 0.6  # ... and have the same headline: the share of their headline words both use
DAYS_APART = 1  # versions of a story run on the same day or the next (time zones, late editions)
MAX_NUMBERS = 64  # the numbers kept in a sketch: the ones with the lowest hashes (a bottom-k sample)
_UNDATED = -(2**31)
_HEAD = struct.Struct("<4Ii")  # a stored sketch's shingles, words, numbers, headline words, and day

_WORD = re.compile(r"\w+")
# The same in ASCII text, lower case, faster: a table that keeps word characters (lower case) and makes any
# other byte a space, then a split.
_ASCII_WORDS = bytes(
    byte + 32 if 65 <= byte <= 90 else byte if chr(byte).isascii() and re.match(r"\w", chr(byte)) else 32
    for byte in range(256)
)
_NUMBER = re.compile(r"\d+(?:[.,/:-]\d+)*")
# The same in ASCII text, faster: found among the bytes a number may hold, each other byte a space and
# the spaces squeezed (a number holds none, so the same ones are found).
_ASCII_NUMBER = re.compile(rb"[0-9]++(?:[.,/:-][0-9]++)*+")
_ASCII_NUMBER_BYTES = bytes(byte if chr(byte) in "0123456789.,/:-" else 32 for byte in range(256))
_NUMBER_WORDS = frozenset([
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
    "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "thousand", "half",
    "quarter",
])  # fmt: skip
_NUMBER_WORD_BYTES = frozenset(word.encode("ascii") for word in _NUMBER_WORDS)
# A text's words: bytes for an ASCII text, text for any other.
Words = list[str] | list[bytes]
_rng = np.random.default_rng(20261206)  # fixed: every ingest, on every machine, hashes alike
_MULTIPLIERS = (_rng.integers(1, 2**63, PERMUTATIONS, dtype=np.uint64) << np.uint64(1)) | np.uint64(1)
_INCREMENTS = _rng.integers(0, 2**63, PERMUTATIONS, dtype=np.uint64)
_MIX = np.uint64(0x9E3779B97F4A7C15)
_BAND_SALT = np.uint64(0xD6E8FEB86659FD93)
with np.errstate(over="ignore"):  # each band's keys apart from the others'
    _BAND_OFFSETS = np.arange(BANDS + LEAD_BANDS, dtype=np.uint64) * _BAND_SALT


@dataclass(frozen=True)
class Sketch:
    """What is kept of an article's text to tell whether another article is a version of it."""

    minhash: np.ndarray  # uint32 per permutation: the least hash of the shingles under each
    lead: np.ndarray  # the same of the lead's shingles, for LEAD_PERMUTATIONS permutations
    shingles: int  # how many distinct shingles the text has
    words: int
    numbers: frozenset[int]  # hashes of the numbers it states (the least MAX_NUMBERS)
    headline: frozenset[int]  # hashes of its headline's words
    day: int | None  # its date's ordinal
    # The fingerprints of its LSH bands' keys (not stored: made from the rows above, in a batch or alone).
    bands: list[int] | None = field(default=None, compare=False, repr=False)

    def band_fingerprints(self) -> list[int]:
        """The fingerprint of each band's key, the text's bands then the lead's (made on first use)."""
        if self.bands is None:
            bands: list[int] = _band_fingerprints(self.minhash[None], self.lead[None])[0].tolist()
            object.__setattr__(self, "bands", bands)  # frozen: set once, like a cached property
            return bands
        return self.bands

    def to_bytes(self) -> bytes:
        """The sketch as stored in the ingest records."""
        day = _UNDATED if self.day is None else self.day
        head = _HEAD.pack(self.shingles, self.words, len(self.numbers), len(self.headline), day)
        rest = sorted(self.numbers) + sorted(self.headline)
        return (
            head
            + self.minhash.astype("<u4").tobytes()
            + self.lead.astype("<u4").tobytes()
            + struct.pack(f"<{len(rest)}I", *rest)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Sketch:
        """The sketch :meth:`to_bytes` stored."""
        shingles, words, numbers, headline = (int(n) for n in np.frombuffer(data, "<u4", 4))
        day = int(np.frombuffer(data, "<i4", 1, 16)[0])
        minhash = np.frombuffer(data, "<u4", PERMUTATIONS, 20).astype(np.uint32)
        lead = np.frombuffer(data, "<u4", LEAD_PERMUTATIONS, 20 + 4 * PERMUTATIONS).astype(np.uint32)
        rest = np.frombuffer(data, "<u4", numbers + headline, 20 + 4 * (PERMUTATIONS + LEAD_PERMUTATIONS))
        kept = rest.tolist()
        return cls(minhash, lead, shingles, words, frozenset(kept[:numbers]), frozenset(kept[numbers:]),
                   None if day == _UNDATED else day)  # fmt: skip


def sketch(title: str, body: str, date: datetime | None) -> Sketch:
    """The sketch of an article: its body's shingles, numbers and length, its headline's words, its day."""
    words = _words(body)
    hashes = np.fromiter(_word_hashes(words), dtype=np.uint64, count=len(words))
    shingles = _shingle_hashes(hashes)
    permuted = _permuted(shingles)
    # The least hash is the same over repeated shingles: the lead's are the text's first ones, and its
    # permutations the last ones of the text's.
    lead = permuted[-LEAD_PERMUTATIONS:, : max(1, min(LEAD_WORDS, len(words)) - SHINGLE_WORDS + 1)]
    distinct = len(set(shingles.tolist()))
    return _sketch(title, body, date, words, _least(permuted), _least(lead), distinct)


def _sketch(
    title: str, body: str, date: datetime | None, words: Words, minhash: np.ndarray, lead: np.ndarray,
    shingles: int, bands: list[int] | None = None,
) -> Sketch:  # fmt: skip
    """The sketch of an article whose text's words, MinHash rows and distinct shingles are known."""
    numbers = set(_number_hashes(body))
    numbers.update(_number_word_hashes(words))
    return Sketch(
        minhash=minhash,
        lead=lead,
        shingles=shingles,
        words=len(words),
        numbers=frozenset(sorted(numbers)[:MAX_NUMBERS]),
        headline=frozenset(_hashes(_WORD.findall(title.casefold()))),
        day=date.toordinal() if date is not None else None,
        bands=bands,
    )


def sketch_all(articles: Sequence[tuple[str, str, datetime | None]]) -> list[Sketch]:
    """The sketches of many articles (title, body, date), the same as :func:`sketch` gives each: the
    shingles of them all permuted in one product and each one's least taken at once (an article
    of fewer than :data:`SHINGLE_WORDS` words is sketched alone)."""
    words = [_words(body) for _, body, _ in articles]
    counts = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    whole = np.flatnonzero(counts >= SHINGLE_WORDS)  # the articles sketched together
    sketched: list[Sketch | None] = [None] * len(articles)
    if len(whole):
        each = itertools.chain.from_iterable(map(_word_hashes, words))
        hashes = np.fromiter(each, np.uint64, int(counts.sum()))
        minhashes, leads, distinct = _batch_minhashes(hashes, counts, whole)
        bands = _band_fingerprints(minhashes, leads).tolist()
        for number, minhash, lead, shingles, banded in zip(whole.tolist(), minhashes, leads, distinct, bands,
                                                           strict=True):  # fmt: skip
            title, body, date = articles[number]
            sketched[number] = _sketch(title, body, date, words[number], minhash, lead, shingles, banded)
    return [each or sketch(*article) for each, article in zip(sketched, articles, strict=True)]


def _batch_minhashes(
    hashes: np.ndarray, counts: np.ndarray, whole: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The MinHash rows of the text and of the lead of each article in ``whole`` (of at least
    :data:`SHINGLE_WORDS` words), and its number of distinct shingles, from the hashes of every
    article's words one after the other (``counts`` words each)."""
    ends = np.cumsum(counts)
    combined = _shingle_hashes(hashes)  # of every run of words, those across two articles too
    # A shingle is an article's when its last word is: those running into the next article are not.
    owner = np.repeat(np.arange(len(counts)), counts)[: len(combined)]
    shingles = combined[np.arange(len(combined)) + SHINGLE_WORDS - 1 < ends[owner]]
    sizes = counts[whole] - SHINGLE_WORDS + 1
    starts = np.cumsum(sizes) - sizes
    permuted = _permuted(shingles)
    minhash = (np.minimum.reduceat(permuted, starts, axis=1) >> np.uint64(32)).astype(np.uint32)
    leads = np.minimum(sizes, LEAD_WORDS - SHINGLE_WORDS + 1)
    lead_starts = np.cumsum(leads) - leads
    columns = np.arange(int(leads.sum())) + np.repeat(starts - lead_starts, leads)
    lead = np.minimum.reduceat(permuted[-LEAD_PERMUTATIONS:, columns], lead_starts, axis=1)
    article = np.repeat(np.arange(len(sizes)), sizes)
    order = np.lexsort((shingles, article))  # each article's shingles sorted, the articles in turn
    ordered, owners = shingles[order], article[order]
    new = np.ones(len(ordered), dtype=np.int64)
    new[1:] = (ordered[1:] != ordered[:-1]) | (owners[1:] != owners[:-1])
    distinct = np.add.reduceat(new, starts).tolist()
    lead = (lead >> np.uint64(32)).astype(np.uint32)
    return np.ascontiguousarray(minhash.T), np.ascontiguousarray(lead.T), distinct


def _words(body: str) -> Words:
    """The text's words, case folded: as bytes in an ASCII text (hashed as they are), else as text."""
    if body.isascii():
        return body.encode("ascii").translate(_ASCII_WORDS).split()
    return _WORD.findall(body.casefold())


def _in_text(words: Words) -> bool:
    """Whether :func:`_words` gave ``words`` as text (not bytes)."""
    return bool(words) and isinstance(words[0], str)


def _word_hashes(words: Words) -> Iterator[int]:
    """Each word's :func:`_hashes`, the same for a word as bytes or as text."""
    return _hashes(words) if _in_text(words) else map(zlib.crc32, words)  # type: ignore[arg-type]


def _number_hashes(body: str) -> Iterator[int]:
    """The hashes of the numbers written in figures in ``body`` ("1.5", "10/3")."""
    if body.isascii():
        squeezed = b" ".join(body.encode("ascii").translate(_ASCII_NUMBER_BYTES).split())
        return map(zlib.crc32, _ASCII_NUMBER.findall(squeezed))
    return _hashes(_NUMBER.findall(body))


def _number_word_hashes(words: Words) -> Iterator[int]:
    """The hashes of the numbers written as words among ``words`` ("three", "half")."""
    if _in_text(words):
        return _hashes(_NUMBER_WORDS.intersection(words))
    return map(zlib.crc32, _NUMBER_WORD_BYTES.intersection(words))


def _hashes(texts: Iterable[str]) -> Iterator[int]:
    """Each text's CRC-32 of its UTF-8 (stable across runs and machines, unlike ``hash``)."""
    return map(zlib.crc32, map(str.encode, texts))


def _shingle_hashes(words: np.ndarray) -> np.ndarray:
    """The hashes of the runs of :data:`SHINGLE_WORDS` words (of all the words, if fewer), in order."""
    if len(words) == 0:
        return words
    width = min(SHINGLE_WORDS, len(words))
    combined = words[: len(words) - width + 1]
    for offset in range(1, width):
        combined = combined * _MIX + words[offset : offset + len(combined)]
    return combined


def _permuted(shingles: np.ndarray) -> np.ndarray:
    """The shingles' hashes under each permutation (multiply-shift hashing), a row per permutation, before
    the shift: the shift keeps the order, so the least is taken first and shifted alone."""
    permuted: np.ndarray = _MULTIPLIERS[:, None] * shingles[None, :]
    permuted += _INCREMENTS[:, None]
    return permuted


def _least(permuted: np.ndarray) -> np.ndarray:
    """Per permutation (row), the least hash: the MinHash."""
    if permuted.shape[1] == 0:
        return np.full(len(permuted), 2**32 - 1, dtype=np.uint32)
    least: np.ndarray = (permuted.min(axis=1) >> np.uint64(32)).astype(np.uint32)
    return least


def resemblance(first: Sketch, second: Sketch) -> float:
    """The estimated Jaccard similarity of the two texts' shingles."""
    return float(np.count_nonzero(first.minhash == second.minhash)) / PERMUTATIONS


def same_story(first: Sketch, second: Sketch) -> float | None:
    """How much the two articles resemble each other if they are versions of one story, else None."""
    if first.shingles == 0 or second.shingles == 0:
        return None
    if first.day is not None and second.day is not None and abs(first.day - second.day) > DAYS_APART:
        return None
    alike = resemblance(first, second)
    if alike < RESEMBLANCE and (alike < CONTAINED_RESEMBLANCE or _containment(first, second) < CONTAINMENT):
        return None
    if max(first.words, second.words) < SHORT_WORDS:  # two short texts: a template's two reports?
        if first.numbers != second.numbers or _share(first.headline, second.headline) < HEADLINES_AGREE:
            return None
    elif not _numbers_agree(first.numbers, second.numbers):
        return None
    return alike


def _containment(first: Sketch, second: Sketch) -> float:
    """The estimated share of the smaller text's shingles the other holds.

    Under a permutation the smaller set's least shingle is below the other's exactly when it is one
    the other lacks, and equal when it is one both hold; so the permutations where it is below count
    the shingles of the smaller set alone, as the equal ones count those both hold.
    """
    small, large = (first, second) if first.shingles <= second.shingles else (second, first)
    shared = int(np.count_nonzero(small.minhash == large.minhash))
    alone = int(np.count_nonzero(small.minhash < large.minhash))
    return shared / (shared + alone) if shared else 0.0


def _numbers_agree(first: frozenset[int], second: frozenset[int]) -> bool:
    """Whether the two texts state the same numbers (the one stating fewer, nearly all of its)."""
    if not first or not second:  # a text stating none: an excerpt of the other, or a day or two apart
        return True
    if len(first) >= MAX_NUMBERS or len(second) >= MAX_NUMBERS:  # samples: compare below the lower cut
        cut = min(max(first), max(second))
        first, second = frozenset(n for n in first if n <= cut), frozenset(n for n in second if n <= cut)
    return _share(first, second) >= NUMBERS_AGREE


def _share(first: frozenset[int], second: frozenset[int]) -> float:
    """The share of the smaller set that the other holds too (1 for two empty sets)."""
    smaller = min(len(first), len(second))
    return len(first & second) / smaller if smaller else float(len(first) == len(second))


class StoryFinder:
    """The stories of an index, told a new article's story as it is ingested.

    ``known`` gives the sketches and stories of the articles already in the
    index; it is read the first time an article is placed (after the
    changed files' articles were retired), and not at all by an ingest that
    adds nothing.

    Held for every article of the archive, so kept compact: the sketches as
    rows of arrays (:class:`_Sketches`, about 350 bytes an article) and the
    bands in :class:`_BandTable` (about 10 bytes a band), where a dict of
    lists held 6.5 KB an article.
    """

    def __init__(self, known: Callable[[], Iterable[tuple[str, str, bytes]]]) -> None:
        self._known = known
        self._loaded = False
        self._sketches = _Sketches()
        self._stories: list[str] = []
        self._bands = _BandTable(BANDS + LEAD_BANDS)

    def expect(self, articles: int) -> None:
        """Make room at once for ``articles`` more articles: at a million, growing a step at a time held
        the old and the new arrays together, and left up to half of them unused."""
        self._sketches.reserve(articles)
        self._bands.reserve(articles * (BANDS + LEAD_BANDS))

    def forget(self) -> None:
        """Let go of the tables (about 600 MB at a million articles): the stories told so far stand,
        and the next :meth:`story_of` reads the known ones again."""
        self._loaded = False
        self._sketches = _Sketches()
        self._stories = []
        self._bands = _BandTable(BANDS + LEAD_BANDS)

    def story_of(self, doc_id: str, article: Sketch) -> str:
        """The story of a new article (its own id when it is the first version), remembered from now on."""
        if not self._loaded:
            self._loaded = True
            for known_id, story, data in self._known():
                known = Sketch.from_bytes(data)
                self._add(story or known_id, known, known.band_fingerprints() if known.shingles else None)
        best, best_story = 0.0, doc_id
        bands = article.band_fingerprints() if article.shingles else None
        if bands is not None:
            for candidate in self._likely(article, self._bands.candidates(bands)):
                alike = same_story(article, self._sketches.sketch(candidate))
                if alike is not None and alike > best:
                    best, best_story = alike, self._stories[candidate]
        self._add(best_story, article, bands)
        return best_story

    def _likely(self, article: Sketch, candidates: list[int]) -> list[int]:
        """The candidates that resemble the article enough to be versions of it, by their MinHash rows
        alone (most candidates of a busy bucket are not)."""
        if not candidates:
            return []
        chosen = np.array(candidates, dtype=np.int64)
        equal = np.count_nonzero(self._sketches.minhash[chosen] == article.minhash, axis=1)
        return chosen[equal >= CONTAINED_RESEMBLANCE * PERMUTATIONS].tolist()  # type: ignore[no-any-return]

    def _add(self, story: str, article: Sketch, bands: list[int] | None) -> None:
        number = self._sketches.append(article)
        self._stories.append(story)
        if bands is not None:
            self._bands.add(bands, number)


class _Sketches:
    """Every article's sketch as a row of arrays, read back as a :class:`Sketch`."""

    def __init__(self) -> None:
        self.size = 0
        self.minhash = np.zeros((1024, PERMUTATIONS), dtype=np.uint32)
        self._lead = np.zeros((1024, LEAD_PERMUTATIONS), dtype=np.uint32)
        self._counts = np.zeros((1024, 3), dtype=np.int32)  # shingles, words, day
        self._sets = array("I")  # each article's numbers, then its headline's words
        self._set_ends = array("q")  # where each article's numbers end, then its headline's words

    def reserve(self, articles: int) -> None:
        """Room for ``articles`` more rows than are kept."""
        more = self.size + articles - len(self.minhash)
        if more > 0:
            self.minhash, self._lead, self._counts = (
                np.concatenate([rows, np.zeros((more, rows.shape[1]), dtype=rows.dtype)])
                for rows in (self.minhash, self._lead, self._counts)
            )

    def append(self, article: Sketch) -> int:
        """Keep ``article``'s sketch; its number."""
        number = self.size
        if number == len(self.minhash):
            self.reserve(number // 2)  # grown by half: at a million articles a doubling would waste 150 MB
        self.minhash[number] = article.minhash
        self._lead[number] = article.lead
        day = _UNDATED if article.day is None else article.day
        self._counts[number] = (article.shingles, article.words, day)
        self._sets.extend(article.numbers)
        self._set_ends.append(len(self._sets))
        self._sets.extend(article.headline)
        self._set_ends.append(len(self._sets))
        self.size += 1
        return number

    def sketch(self, number: int) -> Sketch:
        """The sketch of article ``number``."""
        start = self._set_ends[2 * number - 1] if number else 0
        middle, end = self._set_ends[2 * number], self._set_ends[2 * number + 1]
        shingles, words, day = self._counts[number].tolist()
        return Sketch(
            minhash=self.minhash[number],
            lead=self._lead[number],
            shingles=shingles,
            words=words,
            numbers=frozenset(self._sets[start:middle]),
            headline=frozenset(self._sets[middle:end]),
            day=None if day == _UNDATED else day,
        )


class _BandTable:
    """The articles sharing each LSH band: an open-addressing hash table of 32-bit fingerprints of
    the band keys, each slot the latest article of its band, each article's band linked to the
    article before it in the same band (the latest :data:`BUCKET_CANDIDATES` are compared).

    A slot's place follows from its fingerprint alone, so the table can double without the keys;
    two keys of one fingerprint share a bucket, which only adds candidates to check. A lookup
    probes in Python over flat arrays (a few probes a key); doubling moves every slot with numpy.
    """

    MOST_FULL = 0.8

    def __init__(self, bands: int) -> None:
        self._bands = bands
        self._bits = 16
        self._fingerprints = array("I", bytes(4 << self._bits))
        self._latest = array("i", [-1]) * (1 << self._bits)
        self._used = 0
        self._before = array("i")  # per article and band: the article before it in the band's bucket
        self._asked: list[int] = []  # the fingerprints the last lookup asked for, and their places
        self._places: list[int] = []

    def candidates(self, fingerprints: list[int]) -> list[int]:
        """The latest articles sharing a band with ``fingerprints`` (of one key per band), without
        repeats; their places are kept for the :meth:`add` of the same ones that follows."""
        found: set[int] = set()
        before, bands, table = self._before, self._bands, self._fingerprints
        self._asked = fingerprints
        self._places = places = self._places_of(self._asked)
        for band, (fingerprint, place) in enumerate(zip(self._asked, places, strict=True)):
            if table[place] != fingerprint:
                continue
            current = self._latest[place]
            for _ in range(BUCKET_CANDIDATES):
                if current < 0:
                    break
                found.add(current)
                current = before[current * bands + band]
        return sorted(found)

    def reserve(self, keys: int) -> None:
        """Make the table large enough for ``keys`` more keys at once."""
        bits = self._bits
        while self._used + keys > self.MOST_FULL * (1 << bits):
            bits += 1
        if bits > self._bits:
            self._grow(bits)
            self._asked = []

    def add(self, asked: list[int], number: int) -> None:
        """Put article ``number`` (the next one) in the bucket of each of its bands' keys (by their
        fingerprints, ``asked``)."""
        self.reserve(len(asked))
        fingerprints, latest = self._fingerprints, self._latest
        places = self._places if asked == self._asked else [-1] * len(asked)
        for fingerprint, place in zip(asked, places, strict=True):
            if place < 0 or fingerprints[place] not in (0, fingerprint):  # not looked up, or claimed since
                place = self._place(fingerprint)
            if fingerprints[place] == 0:
                fingerprints[place] = fingerprint
                self._used += 1
            self._before.append(latest[place])
            latest[place] = number
        self._asked = []

    def _places_of(self, fingerprints: list[int]) -> list[int]:
        """:meth:`_place` of each fingerprint; the first slot looked at, most often the one, inline."""
        table, shift = self._fingerprints, 32 - self._bits
        places = []
        for fingerprint in fingerprints:
            place = fingerprint >> shift
            if table[place] not in (0, fingerprint):
                place = self._place(fingerprint)
            places.append(place)
        return places

    def _place(self, fingerprint: int) -> int:
        """The slot holding ``fingerprint``, or the empty one where it would go (linear probing)."""
        fingerprints, mask = self._fingerprints, len(self._fingerprints) - 1
        place = fingerprint >> (32 - self._bits)
        while fingerprints[place] not in (0, fingerprint):
            place = (place + 1) & mask
        return place

    def _grow(self, bits: int) -> None:
        """Make the table ``2**bits`` slots long, each slot moved to its fingerprint's place in it."""
        old = np.frombuffer(self._fingerprints, dtype=np.uint32)
        occupied = np.flatnonzero(old)
        fingerprints, latest = old[occupied], np.frombuffer(self._latest, dtype=np.int32)[occupied]
        self._bits = bits
        table = np.zeros(1 << self._bits, dtype=np.uint32)
        newest = np.full(1 << self._bits, -1, dtype=np.int32)
        places = (fingerprints >> np.uint32(32 - self._bits)).astype(np.int64)
        pending = np.arange(len(fingerprints))
        while len(pending):  # each round, the slots still to place claim their place; the losers move on
            table[places[pending]] = fingerprints[pending]
            placed = table[places[pending]] == fingerprints[pending]
            newest[places[pending[placed]]] = latest[pending[placed]]
            pending = pending[~placed]
            places[pending] = (places[pending] + 1) & (len(table) - 1)
            taken = table[places[pending]] != 0
            while taken.any():  # never overwrite a slot already placed
                moving = pending[taken]
                places[moving] = (places[moving] + 1) & (len(table) - 1)
                taken = table[places[pending]] != 0
        self._fingerprints = array("I", table.tobytes())
        self._latest = array("i", newest.tobytes())
        self._used = len(fingerprints)


def _fingerprints(keys: np.ndarray) -> np.ndarray:
    """A band key's 32 high bits (never 0, the empty slot's)."""
    return ((keys >> np.uint64(32)).astype(np.uint32)) | np.uint32(1)


def _band_fingerprints(minhash: np.ndarray, lead: np.ndarray) -> np.ndarray:
    """The fingerprint of each band key of each article's MinHash rows (a row an article: ``minhash``
    of PERMUTATIONS values, ``lead`` of LEAD_PERMUTATIONS), the text's bands then the lead's (each
    band's keys apart from the others', the bits mixed so that the high ones are uniform)."""
    keys = []
    for values, rows in ((minhash, ROWS), (lead, LEAD_ROWS)):
        banded = values.reshape(len(values), -1, rows).astype(np.uint64)
        combined = banded[:, :, 0]
        for row in range(1, rows):
            combined = combined * np.uint64(0x100000001B3) ^ banded[:, :, row]
        keys.append(combined)
    joined = np.concatenate(keys, axis=1)
    with np.errstate(over="ignore"):
        mixed: np.ndarray = (joined + _BAND_OFFSETS[: joined.shape[1]]) * _MIX
    return _fingerprints(mixed)
