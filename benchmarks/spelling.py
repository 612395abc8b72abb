"""How well misspelt queries find what was meant, and what they cost beside correctly spelt ones.

Writes an archive as a new user's might be (title on the first line, the
text after it; no dates, no URLs), from the Reuters JSON Lines of
``../shared/data/news`` or from ``--jsonl FILE``, ingests it, then makes typing
errors in two kinds of words the archive really contains:

- names: words written capitalized (not at a sentence start) in 90% or more
  of their occurrences, in 5 documents or more ("Volcker", "Nakasone");
- ordinary words: lower-case words of 6 letters or more in 20 documents or more.

Each error is one random edit (a letter dropped, doubled, replaced or two
swapped) after the first letter, which people rarely get wrong, that makes no
word of the archive. A name is typed capitalized and, separately, in lower
case. For each misspelt query it reports the share of the top 3 hits whose
title or text holds the intended word, against the same share for the word
spelt right, and the latency of both (median of the runs, warm index).

    python benchmarks/spelling.py                  # 3,000 Reuters articles
    python benchmarks/spelling.py --articles 19043 --words 150

Runs against whatever ``searchidx`` is importable, so an older checkout can be
measured the same way (``PYTHONPATH=/path/to/old/checkout``).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import string
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REUTERS = ROOT.parent / "shared" / "data" / "news" / "reuters21578.jsonl"
WORD = re.compile(r"[A-Za-z]+")
SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n\s*)([A-Za-z]+)")


def write_archive(source: Path, folder: Path, articles: int) -> list[str]:
    """The texts written, one file per article: its title on the first line, then its text."""
    texts = []
    with source.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            if number >= articles:
                break
            record = json.loads(line)
            title = str(record.get("title") or "").strip().title()
            body = str(record.get("body") or record.get("text") or "").strip()
            text = f"{title}\n\n{body}\n"
            (folder / f"{number:05d}.txt").write_text(text, encoding="utf-8")
            texts.append(text)
    return texts


def pick_words(
    texts: list[str], count: int, rng: random.Random, *, exclude: frozenset[str]
) -> tuple[list[str], list[str]]:
    """(names, ordinary words) of the archive, ``count`` of each at most, drawn at random."""
    capitalized: Counter[str] = Counter()
    lowercase: Counter[str] = Counter()
    documents: Counter[str] = Counter()
    for text in texts:
        body = text.split("\n", 1)[1]
        starts = {match.start(1) for match in SENTENCE_START.finditer(body)}
        for match in WORD.finditer(body):
            word = match.group()
            if word.isupper() or match.start() in starts:
                continue
            (capitalized if word[0].isupper() else lowercase)[word.lower()] += 1
        documents.update({word.lower() for word in WORD.findall(body)})
    names = sorted(
        word for word, times in capitalized.items()
        if len(word) >= 5 and documents[word] >= 5 and times >= 0.9 * (times + lowercase[word])
    )  # fmt: skip
    ordinary = sorted(
        word for word, times in lowercase.items()
        if len(word) >= 6 and documents[word] >= 20 and times >= 0.9 * (times + capitalized[word])
        and word not in exclude
    )  # fmt: skip
    rng.shuffle(names)
    rng.shuffle(ordinary)
    return names[:count], ordinary[:count]


def misspell(word: str, rng: random.Random, vocabulary: set[str]) -> str | None:
    """One random edit after the first letter that makes no word of the archive."""
    for _ in range(20):
        at = rng.randrange(1, len(word))
        kind = rng.choice(["drop", "double", "replace", "swap"])
        if kind == "drop":
            typo = word[:at] + word[at + 1 :]
        elif kind == "double":
            typo = word[:at] + word[at] + word[at:]
        elif kind == "replace":
            typo = word[:at] + rng.choice(string.ascii_lowercase) + word[at + 1 :]
        else:
            if at + 1 >= len(word) or word[at] == word[at + 1]:
                continue
            typo = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
        if typo != word and typo not in vocabulary:
            return typo
    return None


def top3_share(ix: object, analyzer: object, query: str, intended: str) -> tuple[float, float]:
    """(the share of the top 3 hits holding ``intended``, the query's latency in ms: median of 3).

    A hit holds the word when it holds the word's stem (``reports`` for ``reported``), as the
    index matches words.
    """
    (stem,) = analyzer.terms(intended)  # type: ignore[attr-defined]
    times = []
    for _ in range(3):
        started = time.perf_counter()
        results = ix.search(query, limit=3)  # type: ignore[attr-defined]
        times.append((time.perf_counter() - started) * 1000)
    hits = list(results)[:3]
    holding = 0
    for hit in hits:
        article = ix.get(hit.id)  # type: ignore[attr-defined]
        holding += stem in analyzer.terms(f"{article.title}\n{article.body}")  # type: ignore[attr-defined]
    return holding / 3, statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jsonl", type=Path, default=REUTERS, help="articles: {title, body} per line")
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--words", type=int, default=100, help="names and ordinary words, each")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    options = parser.parse_args()
    if not options.jsonl.exists():
        print(f"{options.jsonl} is missing (../shared is not beside the repo)", file=sys.stderr)
        return 2

    from searchidx import Index, ingest
    from searchidx.query.analysis import STOP_WORDS, text_analyzer

    rng = random.Random(options.seed)
    with tempfile.TemporaryDirectory(prefix="searchidx-spelling-") as work:
        folder = Path(work) / "archive"
        folder.mkdir()
        texts = write_archive(options.jsonl, folder, options.articles)
        ingest(folder, index=Path(work) / "index")
        vocabulary = {word.lower() for text in texts for word in WORD.findall(text)}
        names, ordinary = pick_words(texts, options.words, rng, exclude=STOP_WORDS)
        cases = [(name.capitalize(), name, "names, capitalized") for name in names]
        cases += [(name, name, "names, lower case") for name in names]
        cases += [(word, word, "ordinary words") for word in ordinary]
        rows: dict[str, list[tuple[float, float, float, float]]] = {}
        analyzer = text_analyzer()
        with Index(Path(work) / "index") as ix:
            for typed, intended, kind in cases:
                typo = misspell(typed.lower(), rng, vocabulary)
                if typo is None:
                    continue
                typo = typo.capitalize() if typed[0].isupper() else typo
                right, right_ms = top3_share(ix, analyzer, typed, intended)
                wrong, wrong_ms = top3_share(ix, analyzer, typo, intended)
                rows.setdefault(kind, []).append((wrong, right, wrong_ms, right_ms))
    figures = {
        kind: {
            "queries": len(values),
            "top3_share_misspelt": round(statistics.mean(v[0] for v in values), 3),
            "top3_share_spelt_right": round(statistics.mean(v[1] for v in values), 3),
            "p50_ms_misspelt": round(statistics.median(v[2] for v in values), 1),
            "p50_ms_spelt_right": round(statistics.median(v[3] for v in values), 1),
        }
        for kind, values in rows.items()
    }
    if options.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{options.articles} articles; share of the top 3 hits holding the intended word; p50 latency")
    print(
        f"{'words':<22}{'queries':>8}{'misspelt':>10}{'spelt right':>13}{'ms misspelt':>13}{'ms right':>10}"
    )
    for kind, row in figures.items():
        print(f"{kind:<22}{row['queries']:>8}{row['top3_share_misspelt']:>10.3f}"
              f"{row['top3_share_spelt_right']:>13.3f}{row['p50_ms_misspelt']:>13.1f}"
              f"{row['p50_ms_spelt_right']:>10.1f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
