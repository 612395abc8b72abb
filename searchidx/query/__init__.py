"""A query from what was typed to what an engine runs: text analysis, the fields, the query
language, its bounds, the speller, the ranking's parameters and the time budget. The same for
every engine (Whoosh's analysis and query objects are its vocabulary; no index is opened here)."""
