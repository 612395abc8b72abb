"""The speed benchmark's quick mode runs end to end on a slice of Reuters and prints every column."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SHARED, need

COLUMNS = ["ingest s", "docs/s", "peak RSS", "size", "p50", "p95", "max", "p50 snip", "p95 snip", "max snip"]


@pytest.mark.slow
def test_quick_mode_completes_and_prints_every_column(tmp_path: Path) -> None:
    need(SHARED / "data" / "news" / "reuters21578.jsonl")
    done = subprocess.run(
        [sys.executable, "benchmarks/speed.py", "--quick", "--docs", "2000", "--cache", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = next(line for line in lines if line.startswith("engine"))
    assert all(column in header for column in COLUMNS)
    rows = {line[:20].strip(): line[20:].split() for line in lines[lines.index(header) + 1 :] if line.strip()}
    assert {"searchidx", "searchidx re-ingest", "plain-whoosh", "fts5"} <= rows.keys()
    assert len(rows["searchidx"]) == len(COLUMNS)  # a figure in every column
    assert all(value != "-" for value in rows["searchidx"])
    assert "Cold CLI" in done.stdout
    assert "The bars of issues 6 and 15 at 1x" in done.stdout
    assert "Snippet time per hit by article length" in done.stdout
