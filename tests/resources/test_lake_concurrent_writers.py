"""Delta commits on S3 from several processes at once: none is lost (delta-rs's conditional put)."""

from __future__ import annotations

import multiprocessing
import os

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from tests.conftest import Bucket

WRITERS, COMMITS = 4, 8


def _append(uri: str, writer: int, environment: dict[str, str]) -> None:
    os.environ.update(environment)
    for commit in range(COMMITS):
        write_deltalake(uri, pa.table({"writer": [writer], "commit": [commit]}), mode="append")


def test_concurrent_writers_on_s3_lose_no_commit(s3_bucket: Bucket) -> None:
    uri = s3_bucket.url("lake/silver/concurrent")
    write_deltalake(uri, pa.table({"writer": [-1], "commit": [-1]}))
    environment = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    # delta-rs's runtime does not survive a fork: each writer is a fresh interpreter
    context = multiprocessing.get_context("spawn")
    writers = [
        context.Process(target=_append, args=(uri, number, environment))
        for number in range(WRITERS)
    ]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=300)
    # judged by the table, not the writers' exit codes: a process that imported polars beside
    # deltalake may abort while exiting, after its commits (seen here, and in a prototype)
    exits = [process.exitcode for process in writers]
    table = DeltaTable(uri)
    assert table.version() == WRITERS * COMMITS, f"writers exited with {exits}"
    rows = table.to_pyarrow_table().to_pylist()
    assert sorted((r["writer"], r["commit"]) for r in rows if r["writer"] >= 0) == [
        (w, c) for w in range(WRITERS) for c in range(COMMITS)
    ]
