"""The platform as a user runs it, for the slow tests: `dagster dev` (webserver, daemon, code
server) over locations in one temporary folder, on a free port of 127.0.0.1, in its own process
group so that it and every run worker it spawns are stopped together."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Protocol

import dagster as dg

from data_platform.catalog.keys import gold_key
from deploy.production_stack import free_port, until

REPO = Path(__file__).parents[1]


def materialized_after(
    instance: dg.DagsterInstance, key: dg.AssetKey, since: float, partition: str | None
) -> float:
    """When `key` (or one partition of it) was first materialized after `since`; 0 if not yet."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=key,
            asset_partitions=[partition] if partition else None,
            after_timestamp=since,
        ),
        limit=1,
    ).records
    return records[0].timestamp if records else 0.0


# the daily mart the end-to-end tests follow a landed day into
DAILY_GOLD = gold_key("daily_revenue_by_nation")


class Settles(Protocol):
    """A running platform (`dagster dev`, or the production stack) the slow tests watch."""

    def materialized_after(
        self, key: dg.AssetKey, since: float, partition: str | None
    ) -> float: ...

    def idle(self) -> bool: ...


def day_in_gold(platform: Settles, day: str, since: float, why: str, timeout: float = 600) -> float:
    """When `day` of the daily mart was built after `since`; returns once the runs have ended."""
    done = until(
        lambda: platform.materialized_after(DAILY_GOLD, since, day), timeout=timeout, why=why
    )
    until(platform.idle, timeout=600, why=f"the runs of {day} to end")
    return done


class DagsterDev:
    """`dagster dev` with its landing zone, lake, warehouse and `DAGSTER_HOME` under `root`, the
    instance configured as `make run` configures it; `env` adds or overrides settings."""

    def __init__(self, root: Path, env: dict[str, str] | None = None) -> None:
        self.root, self.home = root, root / "dagster_home"
        self.landing, self.warehouse = root / "landing", root / "warehouse.duckdb"
        self.landing.mkdir(parents=True, exist_ok=True)
        self.home.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "config" / "local" / "dagster.yaml", self.home / "dagster.yaml")
        self.env = {
            "PLATFORM_LANDING_DIR": str(self.landing),
            "PLATFORM_LAKE_DIR": str(root / "lake"),
            "PLATFORM_WAREHOUSE_PATH": str(self.warehouse),
            **(env or {}),
            "DAGSTER_HOME": str(self.home),
        }
        self.port = free_port()
        self.log = self.home / "dagster-dev.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._instance: dg.DagsterInstance | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 240) -> "DagsterDev":
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
        until(self._loaded, timeout, every=2, why=f"the code location on {self.url} ({self.log})")
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
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            payload: dict[str, Any] = json.load(response)
        if payload.get("errors"):
            raise AssertionError(f"GraphQL errors: {payload['errors']}")
        data: dict[str, Any] = payload["data"]
        return data

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

    def instance(self) -> dg.DagsterInstance:
        """The same instance, opened from this process (reads only)."""
        if self._instance is None:
            # the configured event log finds its folder from DAGSTER_HOME, as in the daemon
            previous = os.environ.get("DAGSTER_HOME")
            os.environ["DAGSTER_HOME"] = str(self.home)
            try:
                self._instance = dg.DagsterInstance.get()
            finally:
                if previous is None:
                    del os.environ["DAGSTER_HOME"]
                else:
                    os.environ["DAGSTER_HOME"] = previous
        return self._instance
