"""RSS and Atom feeds as inputs: each item an article, incremental by the item's id, a broken feed reported."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from searchidx import Index, ingest

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Harbour News</title><link>https://harbour.example/</link>
<item>
  <title>Harbour closed for repairs</title>
  <link>https://harbour.example/2024/harbour-closed</link>
  <guid isPermaLink="false">harbour-1</guid>
  <pubDate>Fri, 01 Mar 2024 09:30:00 +0100</pubDate>
  <description>A short summary of the closure.</description>
  <content:encoded><![CDATA[<p>The old harbour will close for repairs on Monday.</p>
    <p>Officials said the work on the quay walls would take the rest of the year.</p>]]></content:encoded>
</item>
<item>
  <title>Ferry timetable changes</title>
  <link>https://harbour.example/2024/ferry-timetable</link>
  <guid>https://harbour.example/2024/ferry-timetable</guid>
  <pubDate>Sat, 02 Mar 2024 08:00:00 GMT</pubDate>
  <description><![CDATA[<p>The <b>ferry</b> will leave from the north pier while the harbour is closed.</p>]]></description>
</item>
</channel></rss>
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>City Desk</title><id>urn:city-desk</id><updated>2024-03-05T12:00:00Z</updated>
  <entry>
    <title>Bridge reopens to traffic</title>
    <id>urn:city-desk:bridge</id>
    <link rel="alternate" href="https://city.example/bridge-reopens"/>
    <updated>2024-03-05T12:00:00Z</updated>
    <content type="html">&lt;p&gt;The bridge reopened to cars and buses on Tuesday morning.&lt;/p&gt;</content>
  </entry>
</feed>
"""


def test_rss_items_with_full_content_and_atom_entries_are_articles(tmp_path: Path) -> None:
    folder = tmp_path / "feeds"
    folder.mkdir()
    (folder / "harbour.rss").write_text(RSS, encoding="utf-8")
    (folder / "city.atom").write_text(ATOM, encoding="utf-8")
    report = ingest(folder, index=tmp_path / "index")
    assert (report.added, report.skipped, report.files) == (3, (), 2)
    with Index(tmp_path / "index") as ix:
        [harbour] = ix.search("quay walls")
        assert harbour.url == "https://harbour.example/2024/harbour-closed"
        assert harbour.date == datetime(2024, 3, 1, 8, 30, tzinfo=UTC)
        assert harbour.record == "harbour-1"
        body = ix.get(harbour.id).body
        assert "rest of the year" in body  # the full content...
        assert "short summary" not in body  # ...not the summary
        [ferry] = ix.search("north pier")
        assert ferry.title == "Ferry timetable changes"  # a summary when there is no full content
        [bridge] = ix.search("bridge")
        assert (bridge.url, bridge.date) == (
            "https://city.example/bridge-reopens",
            datetime(2024, 3, 5, 12, tzinfo=UTC),
        )


def test_a_feed_saved_again_is_read_incrementally_by_item(tmp_path: Path) -> None:
    folder = tmp_path / "feeds"
    folder.mkdir()
    feed = folder / "harbour.xml"
    feed.write_text(RSS, encoding="utf-8")
    index = tmp_path / "index"
    assert ingest(folder, index=index).added == 2
    newer = RSS.replace(
        "<item>",
        """<item>
  <title>Quay walls survey published</title>
  <link>https://harbour.example/2024/survey</link>
  <guid>survey-3</guid>
  <pubDate>Mon, 04 Mar 2024 10:00:00 GMT</pubDate>
  <description>The survey found cracks in two of the walls.</description>
</item>
<item>""",
        1,
    )
    feed.write_text(newer, encoding="utf-8")
    report = ingest(folder, index=index)
    assert (report.added, report.updated, report.removed, report.total) == (1, 2, 0, 3)


def test_a_broken_feed_keeps_its_readable_items_and_says_where_it_broke(tmp_path: Path) -> None:
    folder = tmp_path / "feeds"
    folder.mkdir()
    broken = (
        RSS[: RSS.index("<item>", RSS.index("</item>"))]
        + "<item><title>Cut off <link>https://harbour.example/x"
    )
    (folder / "broken.rss").write_text(broken, encoding="utf-8")
    (folder / "sitemap.xml").write_text(
        '<?xml version="1.0"?><urlset><url><loc>https://a.example/</loc></url></urlset>'
    )
    report = ingest(folder, index=tmp_path / "index")
    assert report.added >= 1
    reasons = {item.location.rsplit("/", 1)[1]: item.reason for item in report.skipped}
    [broken_at] = [reason for name, reason in reasons.items() if "malformed" in reason]
    assert broken_at.endswith("the 2 items before it were read")
    assert reasons["sitemap.xml"].startswith("not an RSS or Atom feed")
    assert report.records == report.added + report.updated + report.unchanged + len(report.duplicates) + len(
        report.skipped
    )
