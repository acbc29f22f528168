"""One writer at a time, enforced by the warehouse itself: a second build, or a BI client holding
the file, makes a build wait (and, past its patience, ask for a retry), never collide."""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from data_platform.resources.warehouse import Warehouse, WarehouseBusyError

HOLD_SECONDS = 3.0


def _hold_writer(settings: dict[str, str], ready: multiprocessing.synchronize.Event) -> None:
    # a resource does not cross a process boundary: the other process builds its own
    with Warehouse(**settings).writing():
        ready.set()
        time.sleep(HOLD_SECONDS)


def _hold_reader(path: str, ready: multiprocessing.synchronize.Event) -> None:
    with duckdb.connect(path, read_only=True):
        ready.set()
        time.sleep(HOLD_SECONDS)


def _write_outside(path: str, ready: multiprocessing.synchronize.Event) -> None:
    # a client outside the platform writing the file: it takes no writer lock
    with duckdb.connect(path):
        ready.set()
        time.sleep(HOLD_SECONDS)


@contextlib.contextmanager
def another_process(target: object, *args: object) -> Iterator[None]:
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    process = context.Process(target=target, args=(*args, ready))
    process.start()
    try:
        assert ready.wait(timeout=60), "the other process did not take the warehouse"
        yield
    finally:
        process.join(timeout=60)


def _settings(warehouse: Warehouse) -> dict[str, str]:
    return {
        name: value
        for name, value in warehouse.model_dump().items()
        if name in ("path", "lake_dir", "catalog", "data_path")
    }


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    path = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(path)).close()
    return Warehouse(path=str(path), lake_dir=str(tmp_path / "lake"), lock_timeout_seconds=60)


def test_a_second_build_waits_for_the_first_to_finish(warehouse: Warehouse) -> None:
    with another_process(_hold_writer, _settings(warehouse)):
        started = time.monotonic()
        with warehouse.writing():
            waited = time.monotonic() - started
    assert waited > HOLD_SECONDS / 3


def test_a_build_waits_for_a_bi_client_that_holds_the_file_open(warehouse: Warehouse) -> None:
    with another_process(_hold_reader, warehouse.path):
        started = time.monotonic()
        with warehouse.writing():
            waited = time.monotonic() - started
            with duckdb.connect(warehouse.path) as connection:
                connection.execute("create table written as select 1 as x")
    assert waited > HOLD_SECONDS / 3


def test_a_build_that_waits_too_long_gives_up_with_a_retryable_error(
    warehouse: Warehouse,
) -> None:
    impatient = warehouse.model_copy(update={"lock_timeout_seconds": 0.5})
    with (
        another_process(_hold_writer, _settings(warehouse)),
        pytest.raises(WarehouseBusyError, match="another gold build holds"),
        impatient.writing(),
    ):
        pass


def test_a_bi_client_holding_the_file_too_long_gives_a_retryable_error(
    warehouse: Warehouse,
) -> None:
    impatient = warehouse.model_copy(update={"reader_timeout_seconds": 0.5})
    with (
        another_process(_hold_reader, warehouse.path),
        pytest.raises(WarehouseBusyError, match="another process has"),
        impatient.writing(),
    ):
        pass


def test_a_check_reading_gold_waits_for_a_build_to_finish(warehouse: Warehouse) -> None:
    with another_process(_hold_writer, _settings(warehouse)):
        started = time.monotonic()
        with warehouse.connect(read_only=True) as connection:
            waited = time.monotonic() - started
            connection.execute("select 1")
    assert waited > HOLD_SECONDS / 3


def test_a_check_reading_gold_gives_up_on_a_client_writing_it_at_the_reader_timeout(
    warehouse: Warehouse,
) -> None:
    """A build ends; a client outside the platform may not: a reader waits for it only as long
    as a build would, not a build's whole patience, so it does not hold the warehouse's pool."""
    impatient = warehouse.model_copy(update={"reader_timeout_seconds": 0.5})
    with another_process(_write_outside, warehouse.path):
        started = time.monotonic()
        with pytest.raises(WarehouseBusyError, match="another process has"):
            impatient.connect(read_only=True)
        gave_up = time.monotonic() - started
    assert gave_up < HOLD_SECONDS


def test_ducklake_builds_on_different_machines_take_turns(catalog: str) -> None:
    lake = Warehouse(lake_dir="s3://lake", catalog=catalog, data_path="s3://gold/")
    with another_process(_hold_writer, _settings(lake)):
        started = time.monotonic()
        with lake.writing():
            waited = time.monotonic() - started
    assert waited > HOLD_SECONDS / 3
