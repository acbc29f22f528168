"""`dagster dev` (webserver, daemon, code server) as a user starts it, on 127.0.0.1, in its own
process group so that it and every child it spawns are stopped together."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import dagster as dg
from dagster._core.instance.ref import InstanceRef

from tests.fake_slack import free_port

REPO = Path(__file__).parents[2]
T = TypeVar("T")


def until(what: Callable[[], T | None], timeout: float, every: float = 1.0, why: str = "") -> T:
    """Poll `what` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = what()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f}s waiting for {why or what}")
        time.sleep(every)


class DagsterDev:
    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home, self.env = home, env
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._instance: dg.DagsterInstance | None = None
        home.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "config" / "dagster.yaml", home / "dagster.yaml")
        self.log = home / "dagster-dev.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "DagsterDev":
        dagster = Path(sys.executable).parent / "dagster"
        env = {**os.environ, **self.env, "DAGSTER_HOME": str(self.home)}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(dagster),
                    "dev",
                    "-w",
                    "workspace.yaml",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                ],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        until(self._serving, timeout=180, why=f"the Dagster UI on {self.url} (see {self.log})")
        return self

    def _serving(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"dagster dev exited: {self.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{self.url}/server_info", timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is None:
            return
        group = os.getpgid(self.process.pid)
        os.killpg(group, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(group, signal.SIGKILL)
            self.process.wait()
        # children that outlived the parent (run workers, the code server) go with the group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        self.process = None

    def instance(self) -> dg.DagsterInstance:
        """The same instance, opened from this process (reads only)."""
        if self._instance is None:
            # the configured event log finds its folder from DAGSTER_HOME, as in the daemon
            previous = os.environ.get("DAGSTER_HOME")
            os.environ["DAGSTER_HOME"] = str(self.home)
            try:
                self._instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(self.home)))
            finally:
                if previous is None:
                    del os.environ["DAGSTER_HOME"]
                else:
                    os.environ["DAGSTER_HOME"] = previous
        return self._instance
