"""A PostgreSQL cluster of a test's own: `initdb` in a temporary folder, on a free loopback port,
trust auth, started and stopped with `pg_ctl`, so a test may stop and restart it without touching
the machine's shared server. Run as root, the server runs as the `postgres` user (PostgreSQL
refuses root)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg2

from deploy.production_stack import free_port, until

BINARIES = Path("/usr/lib/postgresql/15/bin")


class PostgresCluster:
    """One cluster: `dsn` is how the platform's processes reach it (user `postgres`)."""

    def __init__(self) -> None:
        # under /tmp, not pytest's folder: the server's user must reach it, and a socket's path
        # must stay under 108 bytes
        self.root = Path(tempfile.mkdtemp(prefix="pg_cluster_"))
        self.data, self.sockets = self.root / "data", self.root / "sockets"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self.owner = pwd.getpwnam("postgres") if os.geteuid() == 0 else None

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres"

    def _run(self, binary: str, *arguments: str) -> None:
        subprocess.run(
            [str(BINARIES / binary), *arguments],
            check=True,
            cwd=self.root,
            capture_output=True,
            user=self.owner.pw_uid if self.owner else None,
            group=self.owner.pw_gid if self.owner else None,
        )

    def create(self) -> PostgresCluster:
        self.sockets.mkdir()
        if self.owner:
            for path in (self.root, self.sockets):
                os.chown(path, self.owner.pw_uid, self.owner.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        return self.start()

    def start(self) -> PostgresCluster:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockets}"
        # -w: return once the server accepts connections
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        until(self.accepts, 60, every=0.5, why=f"PostgreSQL on port {self.port}")
        return self

    def stop(self) -> None:
        """A fast shutdown: every session is ended, as a server restart ends them."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def accepts(self) -> bool:
        try:
            psycopg2.connect(f"dbname=postgres {self.dsn}", connect_timeout=2).close()
        except psycopg2.OperationalError:
            return False
        return True

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    try:
        yield cluster.create()
    finally:
        cluster.remove()


def outage(cluster: PostgresCluster, seconds: float) -> float:
    """Stop the cluster for `seconds`, start it again; returns when it was stopped."""
    cluster.stop()
    stopped = time.time()
    time.sleep(seconds)
    cluster.start()
    return stopped
