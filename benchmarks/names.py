"""Name queries on a news archive: does hybrid search rank them at least as well as keyword search?

The shared judged collections are abstracts searched with sentences; a news
archive is mostly searched for names (people, companies, places, events). This
check builds its own judged set from the Reuters-21578 articles: the queries
are names taken from the articles (two or three capitalised words that occur
together, as written, in 5 to 300 articles, none of them a common word at the
start of a sentence), and a hit is relevant when its headline or text holds the
whole name, words in order. Each query is typed as a user would, without
quotes, so keyword search matches any of its words and must rank the articles
that hold the name first.

    python benchmarks/names.py [--queries N] [--articles N]

Prints, per mode (keyword, hybrid, semantic): the mean precision at 10, nDCG@10
(binary gains, the ideal ranking puts every holder first) and the share of
queries whose first hit holds the name, with hybrid's difference from keyword.
Needs ``../shared/data/news/reuters21578.jsonl`` and the semantic extra.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

from searchidx import Index, ingest

ROOT = Path(__file__).resolve().parents[1]
REUTERS = ROOT.parent / "shared" / "data" / "news" / "reuters21578.jsonl"
# Two or three capitalised words in a row (a name), inside a sentence.
NAME = re.compile(r"(?<=[a-z,] )([A-Z][a-z]{2,}(?: [A-Z][a-z]{2,}){1,2})\b")
# Capitalised words that start names often but are not names themselves.
NOT_NAMES = frozenset(
    re.findall(
        r"\w+",
        "The This That These Those There Their They When Where What While With Without After Before During "
        "Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May June July "
        "August September October November December Inc Corp Co Ltd Group Mln Billion Dlrs Pct",
    )
)
MODES = ("keyword", "hybrid", "semantic")


def load(limit: int | None) -> list[dict[str, str]]:
    """The Reuters articles (the first ``limit`` of them when given)."""
    with REUTERS.open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines]
    return records[:limit] if limit else records


def names_in(records: list[dict[str, str]], wanted: int) -> list[str]:
    """``wanted`` names held by 5 to 300 articles each, drawn evenly (a fixed seed)."""
    holders: Counter[str] = Counter()
    for record in records:
        found = {name for name in NAME.findall(record["body"]) if not set(name.split()) & NOT_NAMES}
        holders.update(found)
    eligible = sorted(name for name, count in holders.items() if 5 <= count <= 300)
    return random.Random(20261206).sample(eligible, min(wanted, len(eligible)))


def holds(text: str, name: str) -> bool:
    """Whether ``text`` holds the whole name, its words in order (case aside)."""
    return (
        re.search(r"\b" + r"\W+".join(map(re.escape, name.split())) + r"\b", text, re.IGNORECASE) is not None
    )


def scores(ranked: list[bool], holders: int) -> tuple[float, float, float]:
    """Precision at 10, nDCG@10 with binary gains, and whether the first hit is relevant."""
    top = ranked[:10]
    dcg = sum(1 / math.log2(rank + 2) for rank, relevant in enumerate(top) if relevant)
    ideal = sum(1 / math.log2(rank + 2) for rank in range(min(10, holders)))
    return sum(top) / 10, dcg / ideal if ideal else 0.0, float(bool(top and top[0]))


def main() -> int:
    """Build the index with vectors, run every name in every mode, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--articles", type=int, help="only the first N Reuters articles (a quicker run)")
    args = parser.parse_args()
    if not REUTERS.exists():
        print(f"no Reuters data at {REUTERS} (../shared is not beside the repo)", file=sys.stderr)
        return 2
    records = load(args.articles)
    names = names_in(records, args.queries)
    texts = {record["id"]: f"{record['title']}\n{record['body']}" for record in records}
    holders = {name: sum(holds(text, name) for text in texts.values()) for name in names}
    with tempfile.TemporaryDirectory(prefix="searchidx-names-") as work:
        archive = Path(work) / "archive"
        archive.mkdir()
        (archive / "reuters.jsonl").write_text(
            "".join(json.dumps(record) + "\n" for record in records), encoding="utf-8"
        )
        index = Path(work) / "index"
        ingest(archive, index=index, semantic=True)
        table = {mode: _run(index, names, holders, mode) for mode in MODES}
    print(f"{len(names)} name queries on {len(records):,} Reuters articles "
          f"(each name held by {min(holders.values())}-{max(holders.values())} articles)")  # fmt: skip
    print(f"{'mode':<10}{'P@10':>8}{'nDCG@10':>9}{'first hit':>11}")
    for mode, (precision, ndcg, first) in table.items():
        print(f"{mode:<10}{precision:>8.4f}{ndcg:>9.4f}{first:>11.4f}")
    gain = table["hybrid"][1] - table["keyword"][1]
    print(f"hybrid - keyword nDCG@10: {gain:+.4f}")
    return 0


def _run(index: Path, names: list[str], holders: dict[str, int], mode: str) -> tuple[float, float, float]:
    """Mean (P@10, nDCG@10, first hit) of ``mode`` over the names, as the CLI lists hits."""
    totals = [0.0, 0.0, 0.0]
    with Index(index) as ix:
        for name in names:
            results = ix.search(name, limit=10, snippets=0, mode=mode, related=False)
            ranked = [
                holds(f"{hit.title}\n{ix.get(hit.id).body}", name) for hit in (*results, *results.following)
            ]
            for position, value in enumerate(scores(ranked, holders[name])):
                totals[position] += value
    return totals[0] / len(names), totals[1] / len(names), totals[2] / len(names)


if __name__ == "__main__":
    sys.exit(main())
