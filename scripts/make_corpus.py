"""Rebuild the demo corpus in ``corpus/`` from ``../shared`` (see corpus/README.md).

    python scripts/make_corpus.py

Writes every 60th Reuters-21578 record (318 articles) in the seed's text
format, copies the seed article, and unpacks a fixed list of real news pages.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS = ROOT / "corpus"
REUTERS_STEP = 60
HTML_PAGES = {
    "7916ecca969f": "aljazeera",
    "7de5241947a5": "detroitnews",
    "e7994d550087": "apnews",
    "06e5123e4ef7": "venturebeat",
    "d1c57d7821e5": "spacenews",
    "c58aa507c4de": "usatoday",
    "f344ca5fb36e": "hawaiinewsnow",
    "5a822960e9a2": "nbcnews",
    "bd673bd79881": "livescience",
    "686bb170effe": "space",
    "70cb2d5bca75": "bbc",
    "9e8c9f082a8d": "politifact",
}


def reuters_article(record: dict[str, str | None]) -> str:
    """One Reuters record in the seed's text format (no URL: the wire had none)."""
    date = datetime.fromisoformat(record["date"]).strftime("%B %-d, %Y") if record.get("date") else ""
    body = re.sub(r"\s*\bReuter\s*$", "", record["body"])
    paragraphs = [" ".join(part.split()) for part in re.split(r"\n(?=\s)", body)]
    if record.get("dateline"):
        paragraphs[0] = f"{record['dateline'].strip()} {paragraphs[0]}"
    head = f"# {record['title'].strip()}\n\n" + (f"{date}\n\n" if date else "")
    return head + "\n\n".join(p for p in paragraphs if p) + "\n"


def main() -> None:
    """Write the three parts of the corpus."""
    shutil.copy(SHARED / "seed" / "000_4e7d869d1a4b2b3a.txt", CORPUS / "000_4e7d869d1a4b2b3a.txt")
    reuters = CORPUS / "reuters"
    reuters.mkdir(exist_ok=True)
    lines = (SHARED / "data" / "news" / "reuters21578.jsonl").read_text(encoding="utf-8").splitlines()
    for line in lines[::REUTERS_STEP]:
        record = json.loads(line)
        (reuters / f"{record['id']}.txt").write_text(reuters_article(record), encoding="utf-8")
    html = CORPUS / "html"
    html.mkdir(exist_ok=True)
    pages = SHARED / "data" / "html" / "html"
    for prefix, site in HTML_PAGES.items():
        (source,) = pages.glob(f"{prefix}*.html.gz")
        (html / f"{site}-{prefix}.html").write_bytes(gzip.decompress(source.read_bytes()))


if __name__ == "__main__":
    main()
