"""A step's result, every event it yielded, comes back from its Celery worker through the broker
as one message: one over RabbitMQ's limit (128 MiB) never arrives, and the run waits for it for
ever. The production profile's result serializer compresses it, so a step over every partition
through today (38k materializations, ~330 MB of events) still arrives."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker

from data_platform.profiles import celery_results
from data_platform.profiles.production import CELERY_SETTINGS
from deploy.production_stack import ProductionStack

# a materialization of one business date as dagster-celery returns it (a serialized event):
# its provenance tags and metadata are what every partition's event repeats
EVENT = (
    '{"__class__": "DagsterEvent", "event_type_value": "ASSET_MATERIALIZATION", '
    '"partition": "%s", "tags": {%s}, "metadata": {"row_count": %d}}'
)
TAGS = ", ".join(
    f'"dagster/input_data_version/silver/table_{n}": "{uuid.uuid4().hex * 2}"' for n in range(24)
)
MIB = 2**20


def events(count: int) -> list[str]:
    return [EVENT % (f"day-{n:05d}", TAGS, n) for n in range(count)]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Celery]:
    stack = ProductionStack(tmp_path, name=f"results_{uuid.uuid4().hex[:8]}")
    stack.create_vhost()
    try:
        app = Celery("results", broker=stack.broker, backend="rpc://")
        app.conf.update({k: v for k, v in CELERY_SETTINGS.items() if k != "imports"})
        yield app
    finally:
        stack.delete_vhost()


def test_a_step_result_over_the_brokers_message_limit_arrives(app: Celery) -> None:
    count = 50_000
    plain = sum(map(len, events(count)))
    assert plain > 128 * MIB, "the result must exceed RabbitMQ's default limit to prove anything"

    @app.task(name="step")  # type: ignore[untyped-decorator]
    def step() -> list[str]:
        return events(count)

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        returned = step.delay().get(timeout=120)
    assert returned == events(count)


def test_results_shrink_by_far_more_than_a_long_range_needs() -> None:
    result = {"status": "SUCCESS", "result": events(2_000)}
    plain = len(celery_results.json.dumps(result))
    compressed = celery_results.encode(result)
    assert celery_results.decode(compressed) == result
    # 330 MB of events must come under 128 MiB: the ratio needed is 2.6
    assert plain / len(compressed) > 20
