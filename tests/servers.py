"""``searchidx serve`` in a child process, for the tests that need a real server and real sockets.

A test waits for the server's "serving ... at URL" line, never for a time, and
the server is stopped by its process id whatever the test does.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from tests.conftest import REPO


class Server:
    """``searchidx serve`` in a child process: its address, and every line it wrote on stderr."""

    def __init__(self, index: Path | str, *args: str, env: dict[str, str] | None = None) -> None:
        command = [sys.executable, "-m", "searchidx", "serve", "--index", str(index), "--port", "0", *args]
        self.process = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True,
                                        env=env if env is not None else without_token())  # fmt: skip
        assert self.process.stderr is not None
        self.lines: list[str] = []
        for line in self.process.stderr:  # until the server says where it listens
            self.lines.append(line)
            match = re.search(r"serving .* at (http://\S+/) ", line)
            if match:
                self.url = match.group(1)
                break
        else:
            raise AssertionError(f"the server did not start: {''.join(self.lines)}")
        parts = urlsplit(self.url)
        self.host, self.port = parts.hostname or "", parts.port or 0
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    def request(self, path: str, method: str = "GET", headers: dict[str, str] | None = None,
                body: bytes | None = None, timeout: float = 30) -> Answer:  # fmt: skip
        """One request on a new connection (no redirect followed)."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()

    @property
    def log(self) -> str:
        """Everything the server wrote on stderr so far."""
        return "".join(self.lines)

    def stop(self, *, interrupt: bool = False) -> None:
        """Stop the process by its id (as Ctrl-C does when ``interrupt``) and wait for it and its log."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT if interrupt else signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
        self._reader.join(timeout=30)
        assert self.process.stderr is not None
        self.process.stderr.close()


class Answer:
    """A response: status, headers (lower-case names), body."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> dict[str, object]:
        return json.loads(self.body)  # type: ignore[no-any-return]


@contextmanager
def serving(index: Path | str, *args: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    """A server over ``index`` with the options ``args``, stopped (by its id) when the block ends."""
    server = Server(index, *args, env=env)
    try:
        yield server
    finally:
        server.stop()


def without_token(**extra: str) -> dict[str, str]:
    """This process's environment without a secret, with ``extra`` added."""
    env = {key: value for key, value in os.environ.items() if key != "SEARCHIDX_TOKEN"}
    return env | extra
