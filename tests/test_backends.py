"""The backend seam without a cluster: what an index URL means, and what Whoosh users never load."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from searchidx import ClusterError
from searchidx.engines.locations import is_cluster
from searchidx.engines.opensearch.backend import parse_address
from tests.conftest import REPO


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_a_url_names_a_cluster_index_and_anything_else_a_folder() -> None:
    assert is_cluster("http://127.0.0.1:9200/news")
    assert is_cluster(" HTTPS://search.example.org:9200/news")
    assert not is_cluster("index/")
    assert not is_cluster(Path("http:/not-a-url"))


def test_an_address_may_name_several_nodes() -> None:
    address = parse_address("https://a.example:9200,b.example:9200/news")
    assert address.hosts == ("https://a.example:9200", "https://b.example:9200")
    assert address.name == "news"
    assert address.files == "news-searchidx-files"
    assert address.shown == "https://a.example:9200/news"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:9200", "names no index"),
        ("http://127.0.0.1:9200/", "names no index"),
        ("http://127.0.0.1:9200/News", "cannot be an index name"),
        ("http://127.0.0.1:9200/news-searchidx-files", "cannot be an index name"),
        ("http://user:secret@127.0.0.1:9200/news", "holds credentials"),
    ],
)
def test_a_bad_index_url_is_one_sentence(url: str, says: str) -> None:
    with pytest.raises(ClusterError, match=says) as raised:
        parse_address(url)
    assert "secret" not in raised.value.message


def test_whoosh_queries_never_import_the_cluster_client(corpus_index: tuple[Path, object]) -> None:
    index, _ = corpus_index
    done = run(
        "import sys; from searchidx import search, Index; "
        f"search('Putin parade', index={str(index)!r}); Index({str(index)!r}).stats(); "
        "print(sorted(name for name in sys.modules if name.startswith(('opensearch', 'searchidx.opensearch'))))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_an_index_url_without_the_extra_says_how_to_install_it() -> None:
    # The client made unimportable, as on a machine where only searchidx itself was installed.
    done = run(
        "import sys; sys.modules['opensearchpy'] = None\n"
        "from searchidx.outputs.cli import main; sys.argv = ['searchidx', 'query', 'oil', '--index', "
        "'http://127.0.0.1:9/news']; main()"
    )
    assert done.returncode == 2
    assert "pip install 'searchidx[opensearch]'" in done.stderr
    assert "Traceback" not in done.stderr
