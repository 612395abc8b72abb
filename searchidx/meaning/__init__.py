"""Searching by meaning: the embedding model, the vectors kept beside an index, and the search over them."""
