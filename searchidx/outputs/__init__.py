"""What people and programs see: the command line, its text and JSON, charts, CSV exports, the web server.

These use the library's public API only (``searchidx``, ``searchidx.errors``, ``searchidx.results``)."""
