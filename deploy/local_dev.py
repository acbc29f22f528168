"""`dagster dev` as `make run` starts it, for whatever needs the running platform on this machine
(the slow tests, `make bench`): on a free port of 127.0.0.1, with a `DAGSTER_HOME` of its own
holding the given instance file, in its own process group so that it and every run worker it
spawns are stopped together."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deploy.production_stack import free_port, until

REPO = Path(__file__).parents[1]


def graphql(
    url: str, query: str, variables: dict[str, Any] | None = None, timeout: float = 30
) -> dict[str, Any]:
    """One query to the webserver at `url`; its GraphQL errors raised."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"{url}/graphql", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        payload: dict[str, Any] = json.load(response)
    if payload.get("errors"):
        raise RuntimeError(f"GraphQL errors: {payload['errors']}")
    data: dict[str, Any] = payload["data"]
    return data


class DagsterDev:
    """`dagster dev -w workspace.yaml` with `env` over this process's environment."""

    graphql_timeout: float = 30

    def __init__(self, home: Path, env: Mapping[str, str], instance_yaml: Path) -> None:
        self.home = home
        self.home.mkdir(parents=True, exist_ok=True)
        shutil.copy(instance_yaml, self.home / "dagster.yaml")
        self.env = {**env, "DAGSTER_HOME": str(self.home)}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = self.home / "dagster-dev.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 240, every: float = 2) -> DagsterDev:
        """Start, and return once the UI serves the loaded code location."""
        dagster = Path(sys.executable).parent / "dagster"
        command = [str(dagster), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*command, "-p", str(self.port)],
                cwd=REPO,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        why = f"the code location on {self.url} ({self.log})"
        until(self._loaded, timeout, every=every, why=why)
        return self

    def _loaded(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"dagster dev exited:\n{self.log_tail()}")
        try:
            data = self.graphql(
                "{ workspaceOrError { ... on Workspace { locationEntries {"
                " loadStatus locationOrLoadError { __typename } } } } }"
            )
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False
        entries = data["workspaceOrError"].get("locationEntries", [])
        loaded = [e for e in entries if e["loadStatus"] == "LOADED"]
        failed = [
            e for e in loaded if e["locationOrLoadError"]["__typename"] != "RepositoryLocation"
        ]
        if failed:
            raise RuntimeError(f"the code location failed to load: {failed}\n{self.log_tail()}")
        return bool(entries) and len(loaded) == len(entries)

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return graphql(self.url, query, variables, timeout=self.graphql_timeout)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Ask dagster dev to shut down, then make sure nothing of its group outlives it."""
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
