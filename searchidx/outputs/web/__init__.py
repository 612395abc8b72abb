"""``searchidx serve``: the web page and JSON API (Falcon on waitress), and its protections."""
