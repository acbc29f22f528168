"""The production profile on one machine, as it is deployed: every process its own.

- the code location as a gRPC server (`dagster code-server start`), the only process that imports
  the platform besides the run and step workers;
- the webserver and the daemon, with the instance of `config/production/dagster.yaml` (PostgreSQL
  storage, S3 compute logs) and the workspace of `config/production/workspace.yaml`;
- Celery workers (`dagster-celery worker start`) taking steps from the broker;
- the object store: the given endpoint, or moto's S3 server started here.

`python -m deploy.production_stack` (what `make run-prod` runs) starts all of it on this machine's
PostgreSQL (or the server `--postgres` names) and RabbitMQ, lands the demo data in the bucket, and
stops everything on Ctrl-C. The production end-to-end tests start the same stack, on a PostgreSQL
cluster of their own (`tests/postgres_cluster.py`), which they restart under it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import boto3
import psycopg2

REPO = Path(__file__).parents[1]
INSTANCE = REPO / "config" / "production" / "dagster.yaml"
WORKSPACE = REPO / "config" / "production" / "workspace.yaml"
BIN = Path(sys.executable).parent
# Dagster settings that only an environment variable sets, for every process of the deployment
PROCESS_ENVIRONMENT = {
    "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true",
    "DAGSTER_EVENT_BATCH_SIZE": "100000",
}
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


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


def _stack_salt(root: Path) -> str:
    """The stack's pseudonym salt, made once and kept beside its data (readable by its owner
    only): pseudonyms stay the same across restarts of the stack."""
    path = root / "pseudonym.salt"
    if not path.exists():
        root.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


@dataclass
class Services:
    """Where the stack's services are: PostgreSQL, the broker, the object store."""

    # libpq's connection string of the PostgreSQL server (without a database): the machine's
    # by default; the production tests give a cluster of their own, which they may restart
    postgres: str = "host=127.0.0.1 port=5432 user=postgres"
    # the RabbitMQ server; each stack takes steps through a virtual host of its own, named as
    # the stack (created with `rabbitmqctl`, the broker's own tool, and deleted with the stack)
    broker: str = "amqp://guest:guest@127.0.0.1:5672"
    broker_user: str = "guest"
    s3_endpoint: str = ""  # empty: start moto's S3 server on a free loopback port
    bucket: str = "platform"
    region: str = "us-east-1"

    def postgres_url(self, database: str) -> str:
        """The same server as a SQLAlchemy URL, as dagster-postgres takes it."""
        part = psycopg2.extensions.parse_dsn(self.postgres)
        user = part.get("user", "postgres")
        secret = f":{quote(part['password'], safe='')}" if part.get("password") else ""
        where = f"{part.get('host', '127.0.0.1')}:{part.get('port', '5432')}"
        return f"postgresql+psycopg2://{user}{secret}@{where}/{database}"


@dataclass
class ProductionStack:
    """Every process of the production profile, with its data under `bucket` and its instance
    and gold catalog in PostgreSQL databases named after `name`."""

    root: Path
    name: str = "platform"
    services: Services = field(default_factory=Services)
    workers: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    prepared: bool = False

    def __post_init__(self) -> None:
        self.home = self.root / "dagster_home"
        self.logs = self.root / "logs"
        self.port = free_port()
        self.code_port = free_port()
        self.s3_endpoint = self.services.s3_endpoint
        self.pseudonym_salt = os.environ.get("PLATFORM_PSEUDONYM_SALT") or _stack_salt(self.root)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def instance_db(self) -> str:
        return f"{self.name}_dagster"

    @property
    def catalog_db(self) -> str:
        return f"{self.name}_gold"

    @property
    def broker(self) -> str:
        """The stack's own virtual host: stacks sharing a RabbitMQ never take each other's steps."""
        return f"{self.services.broker.rstrip('/')}/{self.name}"

    def location(self, prefix: str) -> str:
        return f"s3://{self.services.bucket}/{prefix}"

    def env(self) -> dict[str, str]:
        """The environment every process of the stack shares."""
        return {
            **os.environ,
            # dagster-celery starts `celery` from PATH
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "PLATFORM_PROFILE": "production",
            # the process that creates a range run (daemon, webserver) records one planned event
            # per asset, with the range, instead of one per partition: thousands of single-row
            # INSERTs on PostgreSQL before a history's run can start (docs/deployment.md)
            **PROCESS_ENVIRONMENT,
            "DAGSTER_HOME": str(self.home),
            "PLATFORM_DAGSTER_PG_URL": self.services.postgres_url(self.instance_db),
            "PLATFORM_CODE_SERVER_HOST": "127.0.0.1",
            "PLATFORM_CODE_SERVER_PORT": str(self.code_port),
            "PLATFORM_CELERY_BROKER": self.broker,
            "PLATFORM_LANDING_DIR": self.location("landing"),
            "PLATFORM_LAKE_DIR": self.location("lake"),
            "PLATFORM_GOLD_CATALOG": f"dbname={self.catalog_db} {self.services.postgres}",
            "PLATFORM_GOLD_DATA_PATH": self.location("gold/"),
            "PLATFORM_COMPUTE_LOGS_BUCKET": self.services.bucket,
            "AWS_ENDPOINT_URL": self.s3_endpoint,
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "platform"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "platform"),
            "AWS_REGION": self.services.region,
            "AWS_ALLOW_HTTP": "true",
            "PLATFORM_PSEUDONYM_SALT": self.pseudonym_salt,
            **self.extra_env,
        }

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 300) -> ProductionStack:
        try:
            return self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def prepare(self) -> ProductionStack:
        """The services' side: the object store (moto's server, unless an endpoint is given),
        the bucket, the PostgreSQL databases of the instance and of gold's catalog, and the
        broker's virtual host."""
        if self.prepared:
            return self
        self.prepared = True
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        shutil.copy(INSTANCE, self.home / "dagster.yaml")
        if not self.s3_endpoint:
            moto_port = free_port()
            self.s3_endpoint = f"http://127.0.0.1:{moto_port}"
            self._spawn("s3", [BIN / "moto_server", "-H", "127.0.0.1", "-p", str(moto_port)])
            until(self._s3_up, 60, every=0.5, why="moto's S3 server")
        self._create_bucket()
        for database in (self.instance_db, self.catalog_db):
            self._create_database(database)
        self.create_vhost()
        return self

    def create_vhost(self) -> None:
        """The stack's virtual host on the broker, open to the broker's user."""
        self._rabbitmqctl("add_vhost", self.name)
        user = self.services.broker_user
        self._rabbitmqctl("set_permissions", "-p", self.name, user, ".*", ".*", ".*")

    def delete_vhost(self) -> None:
        self._rabbitmqctl("delete_vhost", self.name, missing_ok=True)

    def land_demo(self, scale_factor: float) -> None:
        """TPC-H at `scale_factor`, cut into daily drops, into the bucket's landing zone."""
        subprocess.run(
            [
                sys.executable,
                "-m",
                "data_platform.simulate",
                "--sf",
                str(scale_factor),
                "--out",
                self.env()["PLATFORM_LANDING_DIR"],
            ],
            env=self.env(),
            check=True,
        )

    def _start(self, timeout: float) -> ProductionStack:
        self.prepare()
        self._spawn(
            "code-server",
            [
                BIN / "dagster",
                "code-server",
                "start",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.code_port),
                "-m",
                "data_platform.definitions",
            ],
        )
        until(self._code_server_up, timeout, every=1, why="the code server")
        for number in range(1, self.workers + 1):
            self.start_worker(number)
        self._spawn(
            "webserver",
            [
                BIN / "dagster-webserver",
                "-w",
                str(WORKSPACE),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
            ],
        )
        self._spawn("daemon", [BIN / "dagster-daemon", "run", "-w", str(WORKSPACE)])
        until(self._webserver_up, timeout, every=1, why=f"the webserver on {self.url}")
        return self

    def start_worker(self, number: int) -> None:
        self._spawn(
            f"worker-{number}",
            [
                BIN / "dagster-celery",
                "worker",
                "start",
                "-A",
                "dagster_celery.app",
                "-y",
                str(self._worker_config()),
                "-n",
                f"worker{number}",
                "--",
                "--concurrency",
                "1",
                "--without-gossip",
                "--without-mingle",
            ],
        )

    def _worker_config(self) -> Path:
        from data_platform.profiles.production import CELERY_SETTINGS

        path = self.root / "celery-worker.yaml"
        if not path.exists():
            import yaml

            config = {
                "execution": {
                    "config": {
                        "broker": self.broker,
                        "backend": "rpc://",
                        "config_source": CELERY_SETTINGS,
                    }
                }
            }
            path.write_text(yaml.safe_dump(config))
        return path

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop_process(name)

    def stop_process(self, name: str, sig: int = signal.SIGTERM) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            # the code server ignores SIGTERM
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def drop_services(self) -> None:
        """Remove what `prepare` made on the shared services: databases and virtual host."""
        for database in (self.instance_db, self.catalog_db):
            with self._postgres() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        self.delete_vhost()

    def _rabbitmqctl(self, *arguments: str, missing_ok: bool = False) -> None:
        """`add_vhost` and `set_permissions` are idempotent; `delete_vhost` of a missing vhost is
        an error unless `missing_ok`."""
        done = subprocess.run(["rabbitmqctl", *arguments], capture_output=True, text=True)
        missing = "does not exist" in done.stderr
        if done.returncode != 0 and not (missing_ok and missing):
            raise RuntimeError(f"rabbitmqctl {' '.join(arguments)}: {done.stderr.strip()}")

    @contextlib.contextmanager
    def running(self) -> Iterator[ProductionStack]:
        try:
            yield self.start()
        finally:
            self.stop()

    # -- helpers -----------------------------------------------------------------------------

    def _spawn(self, name: str, command: list[object]) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [str(part) for part in command],
            cwd=REPO,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.logs / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def s3(self) -> object:
        return boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            region_name=self.services.region,
            aws_access_key_id=self.env()["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env()["AWS_SECRET_ACCESS_KEY"],
        )

    def _s3_up(self) -> bool:
        try:
            urllib.request.urlopen(self.s3_endpoint, timeout=2).close()
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False
        return True

    def _create_bucket(self) -> None:
        client = self.s3()
        existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}  # type: ignore[attr-defined]
        if self.services.bucket not in existing:
            client.create_bucket(Bucket=self.services.bucket)  # type: ignore[attr-defined]

    @contextlib.contextmanager
    def _postgres(self) -> Iterator[psycopg2.extensions.cursor]:
        connection = psycopg2.connect(f"dbname=postgres {self.services.postgres}")
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                yield cursor
        finally:
            connection.close()

    def _create_database(self, database: str) -> None:
        with self._postgres() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{database}"')

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited:\n{self.log_tail(name)}")

    def supervise(self) -> None:
        """What a process supervisor (Kubernetes) does for the workers: start a dead one again.
        Any other process dying stops the stack."""
        for name, process in list(self.processes.items()):
            if process.poll() is None:
                continue
            if not name.startswith("worker-"):
                raise RuntimeError(f"{name} exited:\n{self.log_tail(name)}")
            print(f"{name} exited ({process.returncode}); starting it again", flush=True)
            self.start_worker(int(name.removeprefix("worker-")))

    def _code_server_up(self) -> bool:
        self._check_alive()
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.code_port)) == 0

    def _webserver_up(self) -> bool:
        self._check_alive()
        try:
            urllib.request.urlopen(f"{self.url}/server_info", timeout=5).close()
        except OSError:
            return False
        return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.production_stack", description=__doc__)
    parser.add_argument("--root", default="data/production", help="logs and DAGSTER_HOME")
    parser.add_argument("--port", type=int, default=3000, help="the webserver's port")
    parser.add_argument("--sf", type=float, default=0.01, help="demo data's TPC-H scale factor")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument(
        "--postgres", default=Services.postgres, help="the PostgreSQL server, as a libpq DSN"
    )
    args = parser.parse_args(argv)
    services = Services(postgres=args.postgres)
    stack = ProductionStack(Path(args.root).resolve(), services=services, workers=args.workers)
    stack.port = args.port
    if not stack.s3_endpoint:
        # moto keeps its objects in memory: a new one is empty, so the instance and gold's
        # catalog start empty too, rather than pointing at files that are gone
        stack.drop_services()
    try:
        stack.prepare()
        # the demo lands before the platform starts: the landing sensor's first tick sees all
        # of it, as a history handed over at once
        stack.land_demo(args.sf)
        stack.start()
        print(f"production profile up: {stack.url} (logs in {stack.logs}); Ctrl-C stops it")
        while True:
            stack.supervise()
            time.sleep(2)
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
