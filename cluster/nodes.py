"""Start and stop a real OpenSearch cluster on loopback: one JVM per node, from Maven jars.

Used by the cluster tests and ``benchmarks/``. ``prepare()`` resolves the
jars (cached in the user's Maven repository) and compiles the launcher
(``src/main/java/searchidx/cluster/ClusterNode.java``) once; ``Cluster``
starts the nodes on free ports in their own temporary folders, waits for
green, and stops them by PID.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLASSPATH_FILE = HERE / "target" / "classpath.txt"
CLASSES = HERE / "target" / "classes"
JVM_OPTIONS = [
    "-Xms256m",
    "-Xmx512m",
    "-XX:+UseSerialGC",
    "-Dopensearch.set.netty.runtime.available.processors=false",
]
START_TIMEOUT = 180.0


class ClusterUnavailableError(RuntimeError):
    """Java or Maven is missing, or the jars cannot be resolved."""


def prepare() -> str:
    """The launcher's classpath, resolving the jars and compiling the launcher when needed."""
    if shutil.which("java") is None or shutil.which("mvn") is None:
        raise ClusterUnavailableError("Java and Maven are needed to run OpenSearch nodes")
    launcher = CLASSES / "searchidx" / "cluster" / "ClusterNode.class"
    if not CLASSPATH_FILE.exists() or not launcher.exists():
        command = [
            "mvn",
            "-q",
            "-B",
            "dependency:build-classpath",
            f"-Dmdep.outputFile={CLASSPATH_FILE}",
            "compile",
        ]
        done = subprocess.run(command, cwd=HERE, capture_output=True, text=True, check=False)
        if done.returncode:
            raise ClusterUnavailableError(f"mvn failed: {(done.stdout + done.stderr)[-2000:]}")
    return f"{CLASSES}{os.pathsep}{CLASSPATH_FILE.read_text().strip()}"


def free_ports(count: int) -> list[int]:
    """``count`` TCP ports free on 127.0.0.1 right now."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class Node:
    """One running node: its name, ports, folder and process."""

    name: str
    http_port: int
    transport_port: int
    home: Path
    command: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    def launch(self) -> None:
        """Start (or start again) the node's JVM, its output appended to ``node.log``."""
        with (self.home / "node.log").open("ab") as log:
            self.process = subprocess.Popen(
                self.command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    @property
    def url(self) -> str:
        """The node's HTTP address."""
        return f"http://127.0.0.1:{self.http_port}"

    def kill(self) -> None:
        """``kill -9`` the node's JVM, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()


@dataclass
class Cluster:
    """``size`` OpenSearch nodes on loopback, green once :meth:`start` returns."""

    size: int = 3
    nodes: list[Node] = field(default_factory=list)
    root: Path | None = None

    def start(self) -> Cluster:
        """Start every node and wait for a green cluster of ``size`` nodes."""
        classpath = prepare()
        self.root = Path(tempfile.mkdtemp(prefix="searchidx-cluster-"))
        ports = free_ports(2 * self.size)
        names = [f"node-{number}" for number in range(1, self.size + 1)]
        transport = [str(ports[2 * i + 1]) for i in range(self.size)]
        for i, name in enumerate(names):
            node = Node(name, ports[2 * i], ports[2 * i + 1], self.root / name)
            node.home.mkdir(parents=True)
            arguments = [str(node.home), name, str(node.http_port), str(node.transport_port)]
            arguments += [",".join(transport), ",".join(names)]
            node.command = [
                "java",
                *JVM_OPTIONS,
                "-cp",
                classpath,
                "searchidx.cluster.ClusterNode",
                *arguments,
            ]
            node.launch()
            self.nodes.append(node)
        try:
            self.wait_for("green", nodes=self.size, timeout=START_TIMEOUT)
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def url(self) -> str:
        """The first node's HTTP address."""
        return self.nodes[0].url

    @property
    def urls(self) -> str:
        """An index URL's host part naming every node, so a client can go on when one dies."""
        return ",".join(node.url for node in self.nodes).replace(",http://", ",")

    def restart(self, node: Node, *, timeout: float = 120.0) -> None:
        """Start a killed node again (same folder, ports and name) and wait for it to rejoin, green."""
        node.launch()
        self.wait_for("green", nodes=self.size, timeout=timeout)

    def live_nodes(self) -> list[Node]:
        """The nodes whose process still runs."""
        return [node for node in self.nodes if node.process is not None and node.process.poll() is None]

    def health(self, via: Node | None = None, query: str = "", index: str = "") -> dict[str, object]:
        """``_cluster/health`` (of ``index`` only, if given) as one live node answers it.

        A wait that times out answers 408 with the health as it is.
        """
        node = via or self.live_nodes()[0]
        try:
            with urllib.request.urlopen(f"{node.url}/_cluster/health/{index}{query}", timeout=30) as answer:
                return json.loads(answer.read())  # type: ignore[no-any-return]
        except urllib.error.HTTPError as error:
            if error.code != 408:
                raise
            return json.loads(error.read())  # type: ignore[no-any-return]

    def wait_for(self, status: str, *, nodes: int, timeout: float = 120.0, index: str = "") -> None:
        """Wait until the cluster (or the indexes in ``index``) is ``status`` or better on ``nodes`` nodes."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            for node in self.live_nodes():
                try:
                    query = f"?wait_for_status={status}&wait_for_nodes={nodes}&timeout=5s"
                    health = self.health(node, query, index)
                except OSError as error:
                    last = str(error)
                    continue
                if not health.get("timed_out"):
                    return
                last = json.dumps(health)
            if not self.live_nodes():
                break
            time.sleep(1)
        logs = "\n".join(
            f"--- {n.name}\n{(n.home / 'node.log').read_text(errors='replace')[-1500:]}" for n in self.nodes
        )
        raise ClusterUnavailableError(
            f"the cluster did not become {status} with {nodes} nodes: {last}\n{logs}"
        )

    def stop(self) -> None:
        """Stop every node by PID and remove their folders."""
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.terminate()
        for node in self.nodes:
            if node.process is not None:
                try:
                    node.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    node.kill()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
