"""The embedded engine: a Whoosh index in a folder."""
