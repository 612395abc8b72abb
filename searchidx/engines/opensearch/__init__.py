"""The cluster engine: an index on an OpenSearch cluster (the ``searchidx[opensearch]`` extra)."""
