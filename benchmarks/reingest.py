"""Incremental re-ingest on the Reuters corpus written out as 19,043 files.

Writes every record of ``../shared/data/news/reuters21578.jsonl`` as one file in
the seed's text format (cached in a temp folder), then times, in subprocesses
of the real CLI: a first ingest, a re-ingest of the unchanged folder, and a
re-ingest after changing 10 files, deleting 10 and adding 10.

    python benchmarks/reingest.py [--cache DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from make_corpus import reuters_article  # noqa: E402

REUTERS = ROOT.parent / "shared" / "data" / "news" / "reuters21578.jsonl"


def write_files(folder: Path) -> int:
    """One seed-format file per Reuters record; returns how many (reused when already there)."""
    lines = REUTERS.read_text(encoding="utf-8").splitlines()
    marker = folder / ".complete"
    if not marker.exists():
        folder.mkdir(parents=True, exist_ok=True)
        for line in lines:
            record = json.loads(line)
            (folder / f"{record['id']}.txt").write_text(reuters_article(record), encoding="utf-8")
        marker.write_text(str(len(lines)))
    return len(lines)


def timed_ingest(folder: Path, index: Path) -> tuple[float, dict[str, object]]:
    """Wall time of one ``searchidx ingest --json`` and its summary."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "searchidx", "ingest", str(folder), "--index", str(index), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - started, json.loads(done.stdout)


def main() -> int:
    """Print the three runs side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "searchidx-reuters-files")
    args = parser.parse_args()
    if not REUTERS.exists():
        print(f"no benchmark data: {REUTERS} is missing", file=sys.stderr)
        return 2
    count = write_files(args.cache)
    work = Path(tempfile.mkdtemp(prefix="searchidx-reingest-"))
    folder = work / "reuters"
    shutil.copytree(args.cache, folder, ignore=shutil.ignore_patterns(".complete"))
    index = work / "index"
    keys = ("added", "updated", "unchanged", "removed", "duplicates", "skipped", "total")
    print(f"{count} files in {folder}")
    first, summary = timed_ingest(folder, index)
    print(f"first ingest        {first:7.2f} s  " + "  ".join(f"{k} {summary[k]}" for k in keys))
    again, summary = timed_ingest(folder, index)
    print(f"unchanged re-ingest {again:7.2f} s  " + "  ".join(f"{k} {summary[k]}" for k in keys))
    files = sorted(folder.glob("*.txt"))
    for path in files[:10]:
        path.write_text(path.read_text(encoding="utf-8") + "\nA correction was appended.\n", encoding="utf-8")
    for path in files[10:20]:
        path.unlink()
    for number in range(10):
        (folder / f"new-{number}.txt").write_text(f"# New story {number}\n\nFresh text number {number}.\n")
    changed, summary = timed_ingest(folder, index)
    print(f"10 changed/gone/new {changed:7.2f} s  " + "  ".join(f"{k} {summary[k]}" for k in keys))
    print(f"re-ingest / first ingest: unchanged {again / first:.3f}, after changes {changed / first:.3f}")
    shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
