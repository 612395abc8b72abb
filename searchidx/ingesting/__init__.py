"""Ingesting: reading a folder's articles into an index, and what an ingest reports."""
