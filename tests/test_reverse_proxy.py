"""HTTPS through Debian's nginx with the README's configuration (``docs/nginx-searchidx.conf``), on real sockets.

nginx and openssl come from Debian's packages (``.ci/run`` installs them);
without them the test is skipped here and fails in CI. nginx runs in the
foreground from a folder of the test, and is stopped by its process id.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from searchidx import IngestReport
from searchidx.outputs.web.serving import SESSION_COOKIE
from tests.conftest import REPO
from tests.test_serving import TOKEN, Server, without_token

CONFIG = REPO / "docs" / "nginx-searchidx.conf"


def tool(name: str) -> str:
    """The path of a Debian tool this test needs; skipped without it (a failure in CI)."""
    found = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if found is None:
        reason = f"{name} is not installed (apt-get install nginx openssl)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the reverse-proxy test: {reason}")
        pytest.skip(reason)
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key."""
    cert, key = folder / "searchidx.pem", folder / "searchidx.key"
    subprocess.run([tool("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)  # fmt: skip
    return cert, key


def nginx_config(folder: Path, port: int, upstream: int, cert: Path, key: Path) -> Path:
    """The README's site configuration on a free port, in a minimal nginx.conf that keeps to ``folder``."""
    site = CONFIG.read_text(encoding="utf-8")
    for documented, here in [("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;"),
                             ("/etc/ssl/certs/searchidx.pem", str(cert)),
                             ("/etc/ssl/private/searchidx.key", str(key)),
                             ("http://127.0.0.1:8765", f"http://127.0.0.1:{upstream}")]:  # fmt: skip
        assert documented in site
        site = site.replace(documented, here)
    (folder / "site.conf").write_text(site, encoding="utf-8")
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers may write the folder's temp files
    main = (
        f"{user}worker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\n"
        "events { worker_connections 256; }\n"
        f"http {{\n access_log off;\n client_body_temp_path {folder}/body;\n proxy_temp_path {folder}/proxy;\n"
        f" fastcgi_temp_path {folder}/fastcgi;\n uwsgi_temp_path {folder}/uwsgi;\n scgi_temp_path {folder}/scgi;\n"
        f" include {folder}/site.conf;\n}}\n"
    )
    (folder / "nginx.conf").write_text(main, encoding="utf-8")
    return folder / "nginx.conf"


def wait_for_port(port: int, process: subprocess.Popen[bytes], folder: Path) -> None:
    """Until nginx accepts connections on ``port`` (polling the socket), or fail when it exits."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                (folder / "error.log").read_text() if (folder / "error.log").exists() else ""
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)  # polling the socket, as nginx says nothing when it is ready
    raise AssertionError("nginx did not listen within 30 s")


class Proxy:
    """HTTPS requests to nginx, trusting the test's certificate."""

    def __init__(self, port: int, cert: Path) -> None:
        self.port = port
        self.context = ssl.create_default_context(cafile=str(cert))

    def request(self, path: str, method: str = "GET", headers: dict[str, str] | None = None,
                body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
        connection = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()


@pytest.fixture(scope="module")
def proxy(
    corpus_index: tuple[Path, IngestReport], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Proxy]:
    """searchidx on loopback with a secret and a rate limit, behind nginx with TLS."""
    nginx = tool("nginx")
    folder = tmp_path_factory.mktemp("nginx")
    cert, key = certificate(folder)
    server = Server(corpus_index[0], "--rate", "1", "--burst", "4", "--trusted-proxy", "127.0.0.1",
                    env=without_token(SEARCHIDX_TOKEN=TOKEN))  # fmt: skip
    port = free_port()
    config = nginx_config(folder, port, server.port, cert, key)
    process = subprocess.Popen([nginx, "-p", str(folder), "-c", str(config), "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for_port(port, process, folder)
        yield Proxy(port, cert)
    finally:
        process.terminate()
        process.wait(timeout=30)
        server.stop()


def test_https_through_nginx_keeps_the_secret_the_secure_cookie_and_the_rate_limit(proxy: Proxy) -> None:
    assert proxy.request("/health")[0] == 200
    assert proxy.request("/api/stats")[0] == 401
    assert proxy.request("/api/stats", headers={"Authorization": f"Bearer {TOKEN}"})[0] == 200
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, headers, _ = proxy.request("/login", "POST", form, f"token={TOKEN}&next=%2F".encode())
    assert status == 303
    cookie = headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "Secure" in cookie  # the proxy said the client came over HTTPS
    assert "HttpOnly" in cookie
    # A client cannot escape its rate limit by claiming another address: the proxy names it.
    statuses = [proxy.request("/api/stats", headers={"Authorization": f"Bearer {TOKEN}",
                                                     "X-Forwarded-For": f"10.0.0.{number}"})[0]
                for number in range(6)]  # fmt: skip
    assert 429 in statuses
    too_big = proxy.request("/login", "POST", form, b"token=" + b"x" * 100_000)
    assert too_big[0] == 413  # nginx's client_max_body_size, as searchidx's own cap
