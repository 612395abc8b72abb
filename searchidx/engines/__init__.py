"""The engines behind :class:`searchidx.Index`: the :class:`~searchidx.engines.protocol.Backend`
protocol, Whoosh (a folder on this machine) and OpenSearch (a cluster), and the factory that picks one."""
