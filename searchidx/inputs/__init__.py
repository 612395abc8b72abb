"""Reading archives: finding files, their formats, HTML pages, dates, URLs and ids, the ingest records.

Engine-free: nothing here imports Whoosh or OpenSearch."""
