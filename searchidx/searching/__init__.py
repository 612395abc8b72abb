"""Searching an index: :class:`~searchidx.Index` and what it builds on every engine's
answers (ranking by meaning too, related articles, snippets, trends)."""
