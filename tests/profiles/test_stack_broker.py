"""Two production stacks on one RabbitMQ (e.g. two CI jobs, or a bench beside `make run-prod`)
each have a virtual host of their own, so a worker never takes another stack's step."""

import uuid
from pathlib import Path

import kombu

from deploy.production_stack import ProductionStack


def test_a_step_queued_by_one_stack_is_not_seen_by_another(tmp_path: Path) -> None:
    stacks = [
        ProductionStack(tmp_path / name, name=f"broker_{name}_{uuid.uuid4().hex[:8]}")
        for name in ("a", "b")
    ]
    try:
        for stack in stacks:
            stack.create_vhost()
        first, second = stacks
        assert first.broker != second.broker
        with kombu.Connection(first.broker) as connection:
            connection.SimpleQueue("dagster").put({"step": "silver_orders"})
        with kombu.Connection(second.broker) as connection:
            queue = connection.SimpleQueue("dagster")
            assert queue.qsize() == 0
        with kombu.Connection(first.broker) as connection:
            assert connection.SimpleQueue("dagster").get(timeout=5).payload == {
                "step": "silver_orders"
            }
    finally:
        for stack in stacks:
            stack.delete_vhost()
