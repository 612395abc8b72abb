"""Web archives: what reading WARC records costs beside ingesting the same pages as HTML files, and memory.

Builds, from the 102 real pages of ``../shared/data/html``, copies with distinct
URLs (``--pages``, 2,000 by default) as HTML files and as one gzipped WARC
(written with warcio), then in one run prints:

- reading every record of the WARC (headers and page bytes, no parsing) with
  warcio and with FastWARC (when installed), against the ingest of the HTML
  files: the share of the ingest that reading the records costs;
- ``searchidx ingest`` of the folder of HTML files and of the WARC, each in a
  child process: seconds and peak resident memory;
- with ``--big-mb N``: a WARC of about N MB (the same pages again), ingested
  in a child process, and its peak resident memory beside the small one's
  (constant memory means about the same).

    python benchmarks/archives.py [--pages 2000] [--big-mb 1024]
"""

from __future__ import annotations

import argparse
import gzip
import io
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT.parent / "shared" / "data" / "html" / "html"


def page_bytes() -> list[bytes]:
    files = sorted(PAGES.glob("*.html.gz"))
    if not files:
        sys.exit(f"{PAGES} is missing: this benchmark needs ../shared beside the repo")
    return [gzip.decompress(path.read_bytes()) for path in files]


def write_warc(path: Path, pages: list[bytes], count: int) -> None:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        for number in range(count):
            headers = StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
            )
            payload = io.BytesIO(pages[number % len(pages)])
            url = f"https://news.example.com/{number}"
            record = writer.create_warc_record(url, "response", payload=payload, http_headers=headers)
            writer.write_record(record)
            record.raw_stream.close()


def read_with_warcio(path: Path) -> int:
    from warcio.archiveiterator import ArchiveIterator

    total = 0
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type == "response":
                total += len(record.content_stream().read())
    return total


def read_with_fastwarc(path: Path) -> int | None:
    try:
        from fastwarc.stream_io import GzipReader
        from fastwarc.warc import ArchiveIterator, WarcRecordType
    except ImportError:
        return None
    total = 0
    with path.open("rb") as stream:
        for record in ArchiveIterator(GzipReader(stream), record_types=WarcRecordType.response):
            total += len(record.reader.read())
    return total


def timed(action: object) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()  # type: ignore[operator]
    return time.perf_counter() - started, result


def ingest(source: Path, index: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of ``searchidx ingest`` in a child process (one worker)."""
    script = ("import resource, sys, time; from searchidx import ingest; t = time.perf_counter(); "
              "ingest(sys.argv[1], index=sys.argv[2], workers=1); "
              "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; "
              "print(time.perf_counter() - t, peak)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", script, str(source), str(index)], check=True,
                         capture_output=True, text=True).stdout.split()  # fmt: skip
    return float(out[0]), float(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--big-mb", type=int, default=0)
    args = parser.parse_args()
    pages = page_bytes()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        html, warc = root / "html", root / "warc"
        html.mkdir()
        warc.mkdir()
        for number in range(args.pages):
            (html / f"{number}.html").write_bytes(pages[number % len(pages)])
        write_warc(warc / "pages.warc.gz", pages, args.pages)
        size = (warc / "pages.warc.gz").stat().st_size / 1e6
        warcio_s, _ = timed(lambda: read_with_warcio(warc / "pages.warc.gz"))
        fast_s, fast = timed(lambda: read_with_fastwarc(warc / "pages.warc.gz"))
        html_s, html_rss = ingest(html, root / "index-html")
        warc_s, warc_rss = ingest(warc, root / "index-warc")
        print(f"{args.pages:,} pages; the WARC is {size:,.1f} MB (gzip)")
        share = f"{warcio_s / html_s:.1%} of the HTML files' ingest"
        print(f"read every record, warcio          {warcio_s:7.2f} s  ({share})")
        if fast is not None:
            print(f"read every record, FastWARC        {fast_s:7.2f} s  ({fast_s / html_s:.1%})")
        print(f"ingest the HTML files              {html_s:7.2f} s  peak RSS {html_rss:6.0f} MB")
        print(f"ingest the WARC                    {warc_s:7.2f} s  peak RSS {warc_rss:6.0f} MB "
              f"({warc_s / html_s - 1:+.1%} against the files)")  # fmt: skip
        if args.big_mb:
            count = int(args.pages * args.big_mb / size)
            big = root / "big"
            big.mkdir()
            write_warc(big / "big.warc.gz", pages, count)
            big_size = (big / "big.warc.gz").stat().st_size / 1e6
            big_s, big_rss = ingest(big, root / "index-big")
            what = f"ingest a {big_size:,.0f} MB WARC ({count:,} pages)"
            print(f"{what:34} {big_s:7.1f} s  peak RSS {big_rss:6.0f} MB")
    print(f"(this process: peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")


if __name__ == "__main__":
    main()
