"""How a step's result travels back from its Celery worker: JSON, compressed.

dagster-celery returns every event of a step as the step's task result, and a step over a long
range of partitions yields a materialization per partition and asset, each carrying its tags and
metadata: a backfill of every partition through today sends hundreds of MB. A result is one
broker message, and RabbitMQ refuses one over its `max_message_size` (128 MiB by default), so the
step's run would wait for it for ever. Celery compresses results only in backends that store
them (Redis, a database), not the `rpc://` backend that sends them through the broker; this
serializer compresses any backend's. The events repeat their tags and metadata from partition to
partition, so they shrink about a hundredfold.

Registered on import: the workers import this module at start (Celery's `imports`, in
`production.CELERY_SETTINGS`), the run's orchestrating process imports it with the profile.
"""

import zlib
from typing import Any

from kombu import serialization
from kombu.utils import json

NAME = "json-zlib"
CONTENT_TYPE = "application/x-data-platform-json-zlib"
# fast over small: a result is compressed once and read once, in the same few seconds
LEVEL = 1


def encode(value: Any) -> bytes:
    text: str = json.dumps(value)  # type: ignore[no-untyped-call]
    return zlib.compress(text.encode(), LEVEL)


def decode(payload: bytes | str) -> Any:
    raw = payload.encode("latin-1") if isinstance(payload, str) else payload
    return json.loads(zlib.decompress(raw).decode())  # type: ignore[no-untyped-call]


serialization.register(  # type: ignore[no-untyped-call]
    NAME, encode, decode, content_type=CONTENT_TYPE, content_encoding="binary"
)
