"""Back up the local profile, and restore it into a fresh folder: `python -m deploy.backup`.

    python -m deploy.backup create BACKUP_DIR      # from the locations the settings name
    python -m deploy.backup restore BACKUP_DIR     # into the locations the settings name

A backup holds what cannot be rebuilt and what is costly to: the landing zone (every landed
byte: bronze, silver and gold can all be rebuilt from it), the lake (bronze, silver, quarantine
with their Delta history, which restores and audits need), the gold warehouse and the Dagster
instance (`DAGSTER_HOME`: runs, event log, sensor cursors and the alert outbox). It is taken
with the warehouse's writer lock held, so no gold build is half written, and each Delta table's
log is copied before its data files, so every version the copied log names has its files.
Take it with the sensors off or the daemon stopped for an instance copy consistent with the lake
(`docs/operations.md#backups`). The production profile is backed up with its services' own
tools instead (PostgreSQL dumps, bucket versioning): see the same page.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
from pathlib import Path

from data_platform import settings
from data_platform.resources.warehouse import Warehouse

PARTS = ("landing", "lake", "warehouse", "dagster_home")


def locations() -> dict[str, Path]:
    """Where each part lives, by the settings (the local profile: folders and a DuckDB file)."""
    found = {
        "landing": settings.read(settings.LANDING_DIR),
        "lake": settings.read(settings.LAKE_DIR),
        "warehouse": settings.read(settings.WAREHOUSE_PATH),
        # the instance's folder: Dagster's own variable, which `make run` sets
        "dagster_home": os.environ.get("DAGSTER_HOME", ""),
    }
    if not found["dagster_home"]:
        raise SystemExit("set DAGSTER_HOME to the instance's folder (make run: data/dagster_home)")
    for name, location in found.items():
        if "://" in location:
            raise SystemExit(
                f"{name} is on object storage ({location}): docs/operations.md#backups"
            )
    return {name: Path(location).resolve() for name, location in found.items()}


def _warehouse() -> Warehouse:
    """The local warehouse, for its writer lock (the settings' values, read now)."""
    return Warehouse(
        path=settings.read(settings.WAREHOUSE_PATH),
        lake_dir=settings.read(settings.LAKE_DIR),
        lock_timeout_seconds=float(settings.read(settings.WAREHOUSE_LOCK_TIMEOUT)),
    )


def create(backup: Path) -> None:
    if backup.exists() and any(backup.iterdir()):
        raise SystemExit(f"{backup} is not empty")
    backup.mkdir(parents=True, exist_ok=True)
    where = locations()
    with _warehouse().writing():
        _copy_tree(where["landing"], backup / "landing")
        _copy_lake(where["lake"], backup / "lake")
        if where["warehouse"].exists():
            shutil.copy2(where["warehouse"], backup / "warehouse.duckdb")
        _copy_instance(where["dagster_home"], backup / "dagster_home")
    print(f"backed up {', '.join(PARTS)} to {backup}")


def restore(backup: Path) -> None:
    where = locations()
    for name in ("landing", "lake", "dagster_home"):
        if where[name].exists() and any(where[name].iterdir()):
            raise SystemExit(f"{where[name]} is not empty: restore into fresh locations")
    if where["warehouse"].exists():
        raise SystemExit(f"{where['warehouse']} exists: restore into fresh locations")
    _copy_tree(backup / "landing", where["landing"])
    _copy_tree(backup / "lake", where["lake"])
    if (backup / "warehouse.duckdb").exists():
        where["warehouse"].parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(backup / "warehouse.duckdb", where["warehouse"])
    _copy_tree(backup / "dagster_home", where["dagster_home"])
    print(f"restored {', '.join(PARTS)} from {backup}")


def _copy_tree(source: Path, target: Path) -> None:
    if source.exists():
        shutil.copytree(source, target, dirs_exist_ok=True)


def _copy_lake(lake: Path, target: Path) -> None:
    """Each Delta table's log first, then its data files: the copied versions are complete."""
    if not lake.exists():
        return
    logs = sorted(lake.rglob("_delta_log"))
    for log in logs:
        shutil.copytree(log, target / log.relative_to(lake), dirs_exist_ok=True)
    for path in lake.rglob("*"):
        if path.is_file() and not any(log in path.parents for log in logs):
            destination = target / path.relative_to(lake)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)


def _copy_instance(home: Path, target: Path) -> None:
    """`DAGSTER_HOME`, its SQLite databases through SQLite's online backup (consistent even while
    the webserver has them open)."""
    if not home.exists():
        return
    for path in home.rglob("*"):
        if not path.is_file() or path.suffix in (".db-wal", ".db-shm"):
            continue
        destination = target / path.relative_to(home)
        destination.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".db":
            with sqlite3.connect(path) as source, sqlite3.connect(destination) as copy:
                source.backup(copy)
        else:
            shutil.copy2(path, destination)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.backup", description=__doc__)
    parser.add_argument("action", choices=("create", "restore"))
    parser.add_argument("backup", type=Path, help="the backup's folder")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    (create if args.action == "create" else restore)(args.backup.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
