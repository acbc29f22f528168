"""Which step failures are transient, and how a step is run again after one.

Every bronze, silver and gold step carries one retry policy (`step_retry_policy`): up to
`PLATFORM_STEP_RETRIES` more attempts, `PLATFORM_STEP_RETRY_DELAY_SECONDS` apart and doubling, with
jitter, so an object store that is down for a minute, a network blip or a lost connection to a
database does not fail the run. The clients' own retries (delta-rs retries a request ten times in
about two seconds) do not outlast such an outage.

A failure that is not transient (a dbt test failing, rows outside the run's window, a bug) would
fail the same way again: `final_unless_transient` turns it into a `dagster.Failure` that the
policy does not retry, with the original error as its cause. What counts as transient is decided
here, once, from the error and its causes: connection and timeout errors, a lost Delta commit
race, a database connection lost, and the object-store and HTTP errors their clients report as
text (5xx, throttling, connection refused or reset).
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

import dagster as dg
import duckdb
import psycopg2
from deltalake.exceptions import CommitFailedError

from data_platform import settings

P = ParamSpec("P")
T = TypeVar("T")

ALWAYS_TRANSIENT: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    CommitFailedError,
    psycopg2.OperationalError,
    duckdb.HTTPException,
)

# how the clients word a transient failure (delta-rs/object_store, s3fs/botocore, DuckDB's httpfs)
TRANSIENT_MESSAGE = re.compile(
    r"error sending request|connection (?:refused|reset|closed|aborted)"
    r"|timed out|timeout|temporarily unavailable|service unavailable|slow ?down|throttl"
    r"|too many requests|\b(?:500|502|503|504)\b|broken pipe|could not establish connection"
    r"|server closed the connection|unexpected eof|name resolution|dns error"
    r"|endpoint connection|max_retries",
    re.IGNORECASE,
)


def is_transient(error: BaseException) -> bool:
    """Whether the error, or any error that caused it, is one a later attempt may not meet."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ALWAYS_TRANSIENT):
            return True
        if TRANSIENT_MESSAGE.search(str(current)):
            return True
        current = current.__cause__ or current.__context__
    return False


@contextlib.contextmanager
def final_unless_transient() -> Iterator[None]:
    """Let a transient error through to the step's retry policy; make any other one final.

    A `RetryRequested` (a held warehouse) keeps its own count and delay; a `dagster.Failure`
    (dagster-dbt raises one when a dbt test fails) is retried only if transient too."""
    try:
        yield
    except dg.RetryRequested:
        raise
    except Exception as error:
        if is_transient(error) or (isinstance(error, dg.Failure) and not error.allow_retries):
            raise
        if isinstance(error, dg.Failure):
            raise dg.Failure(
                description=error.description, metadata=error.metadata, allow_retries=False
            ) from error
        raise dg.Failure(
            description=f"{type(error).__name__}: {error}", allow_retries=False
        ) from error


def step_retry_policy() -> dg.RetryPolicy:
    """The one retry policy of the platform's steps (see the module's docstring)."""
    return dg.RetryPolicy(
        max_retries=int(settings.read(settings.STEP_RETRIES)),
        delay=float(settings.read(settings.STEP_RETRY_DELAY)),
        backoff=dg.Backoff.EXPONENTIAL,
        jitter=dg.Jitter.PLUS_MINUS,
    )


def only_transient_retried(step: Callable[P, Iterator[T]]) -> Callable[P, Iterator[T]]:
    """A step's body (a generator) whose failures are final unless transient."""

    @functools.wraps(step)
    def judged(*args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
        with final_unless_transient():
            yield from step(*args, **kwargs)

    return judged


def run_tags() -> dict[str, str]:
    """What every run the platform's sensors request carries: its time limit (a hung run fails
    and releases what waits on it) and its run-level retries (a run whose worker crashed is run
    again from its failure; one a step failure ended, a verdict on its data or a bug, is not).

    These are the platform's own: they hold on any instance that enables `run_monitoring` and
    `run_retries` (both profiles' `dagster.yaml` do), whatever that instance's defaults."""
    return {
        "dagster/max_runtime": settings.read(settings.RUN_MAX_SECONDS),
        "dagster/max_retries": settings.read(settings.RUN_RETRIES),
        "dagster/retry_on_asset_or_op_failure": "false",
    }
