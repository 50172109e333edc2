"""A real Spark standalone cluster on loopback for the tests: a master, two workers and
a Spark Connect server, each its own JVM, started from the scripts and classes the
``pyspark`` wheel ships (no download), stopped at the end like PostgreSQL.

The Connect server is an application on the same cluster; each takes at most two cores
(one executor of one core on each worker), so a driver run by a test still gets
executors on both workers while the Connect server holds its own.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyspark

SPARK_HOME = Path(pyspark.__file__).parent
WORKERS = 2
START_TIMEOUT = 300.0  # seconds; JVMs start slowly on a loaded 2-core machine

# What an application on this cluster asks for: one 1-core executor on each worker.
APP_CONF = {
    "spark.cores.max": str(WORKERS),
    "spark.executor.cores": "1",
    "spark.executor.memory": "512m",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.ui.enabled": "false",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SPARK_HOME": str(SPARK_HOME),
        "SPARK_LOCAL_IP": "127.0.0.1",  # every JVM binds and advertises loopback only
        "SPARK_LOG_DIR": str(root / "logs"),
        "SPARK_CONF_DIR": str(root / "conf"),
        "PYSPARK_PYTHON": sys.executable,
    }


@dataclass
class SparkCluster:
    root: Path
    master_url: str = ""
    connect_url: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def worker_dir(self, n: int) -> Path:
        return self.root / f"worker-{n}"

    def apps_on_worker(self, n: int) -> set[str]:
        """Applications that ran an executor on worker ``n`` (its work dir has one
        folder per application)."""
        return {p.name for p in self.worker_dir(n).glob("app-*")}

    def _start(self, name: str, args: list[str]) -> None:
        with (self.root / f"{name}.log").open("wb") as log:  # the child keeps its own copy
            proc = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_env(self.root),
                cwd=self.root,
                start_new_session=True,  # its own process group: stopped with its children
            )
        self.processes.append(proc)

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text("utf-8", errors="replace")

    def _wait(self, what: str, ready: object) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if callable(ready) and ready():
                return
            dead = [p.args for p in self.processes if p.poll() is not None]
            if dead:
                raise RuntimeError(f"Spark process exited while waiting for {what}: {dead}")
            time.sleep(0.5)
        raise RuntimeError(f"Spark cluster: {what} not ready after {START_TIMEOUT:.0f} s")

    def start(self, *, connect: bool = True) -> None:
        """The master, the workers and (``connect``) the Spark Connect server."""
        (self.root / "conf").mkdir(parents=True, exist_ok=True)
        (self.root / "logs").mkdir(exist_ok=True)
        # No REST submission server (a fixed port, and nothing here uses it).
        (self.root / "conf" / "spark-defaults.conf").write_text(
            "spark.master.rest.enabled false\n", "utf-8"
        )
        spark_class = str(SPARK_HOME / "bin" / "spark-class")
        port = free_port()
        self.master_url = f"spark://127.0.0.1:{port}"
        self._start("master", [spark_class, "org.apache.spark.deploy.master.Master",
                               "--host", "127.0.0.1", "--port", str(port),
                               "--webui-port", "0"])  # fmt: skip
        self._wait("master", lambda: "elected leader" in self.log("master"))
        for n in range(1, WORKERS + 1):
            self.worker_dir(n).mkdir()
            self._start(f"worker-{n}", [spark_class, "org.apache.spark.deploy.worker.Worker",
                                        "--host", "127.0.0.1", "--cores", "2", "--memory", "2g",
                                        "--webui-port", "0", "--work-dir", str(self.worker_dir(n)),
                                        self.master_url])  # fmt: skip
        self._wait("workers", lambda: self.log("master").count("Registering worker") >= WORKERS)
        if connect:
            self._start_connect()

    def _start_connect(self) -> None:
        from splink.backends.spark import similarity_jar_location

        port = free_port()
        conf = {
            **APP_CONF,
            "spark.connect.grpc.binding.address": "127.0.0.1",
            "spark.connect.grpc.binding.port": str(port),
        }
        args = [str(SPARK_HOME / "bin" / "spark-submit"),
                "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
                "--name", "daybreak-connect", "--master", self.master_url,
                "--jars", similarity_jar_location()]  # fmt: skip
        for k, v in conf.items():
            args += ["--conf", f"{k}={v}"]
        self._start("connect", args)
        self.connect_url = f"sc://127.0.0.1:{port}"
        self._wait(
            "Spark Connect server", lambda: "Spark Connect server started" in self.log("connect")
        )

    def stop(self) -> None:
        """SIGTERM to each process group (newest first: the Connect server before the
        workers, the workers before the master), then SIGKILL what is left."""
        for proc in reversed(self.processes):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(self.processes):
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        self.processes.clear()
