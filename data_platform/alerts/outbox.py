"""The alert outbox: found alerts wait here, durably, until Slack has taken them.

It lives in the Dagster instance's key-value store (the run storage: SQLite locally, PostgreSQL
in production), so it survives daemon restarts and needs no disk of its own. One write records
newly found alerts together with the advanced source marks: an event is never found twice, and
a found alert is never lost, whatever Slack is doing.

Delivery marks an alert `attempted` (and writes that down) before posting, and drops it from the
outbox after Slack confirms. If the process dies between the two, the next delivery finds the
alert attempted and first asks the channel whether the message is there (each message carries its
alert id in Slack message metadata), so a restart neither loses it nor posts it twice.
"""

import dataclasses
import json
from typing import Any, Protocol

import dagster as dg

from data_platform.alerts.alert import Alert
from data_platform.alerts.sources import Marks

KEY = "data_platform/alerts/outbox"
REMEMBERED = 500


class Channel(Protocol):
    def post(self, alert: Alert) -> None: ...

    def has_posted(self, alert: Alert) -> bool | None:
        """Whether the channel already shows this alert; None if that cannot be told."""


@dataclasses.dataclass
class Pending:
    alert: Alert
    attempted: bool = False


@dataclasses.dataclass
class Outbox:
    marks: Marks
    pending: list[Pending]
    delivered: list[str]  # ids of the latest delivered alerts, newest last

    @classmethod
    def load(cls, instance: dg.DagsterInstance) -> "Outbox | None":
        raw = instance.run_storage.get_cursor_values({KEY}).get(KEY)
        if not raw:
            return None
        data = json.loads(raw)
        return cls(
            marks=Marks.from_json(data["marks"]),
            pending=[Pending(Alert.from_json(p["alert"]), p["attempted"]) for p in data["pending"]],
            delivered=data["delivered"],
        )

    def save(self, instance: dg.DagsterInstance) -> None:
        data: dict[str, Any] = {
            "marks": self.marks.to_json(),
            "pending": [
                {"alert": p.alert.to_json(), "attempted": p.attempted} for p in self.pending
            ],
            "delivered": self.delivered[-REMEMBERED:],
        }
        instance.run_storage.set_cursor_values({KEY: json.dumps(data)})

    def add(self, alerts: list[Alert]) -> list[Alert]:
        known = set(self.delivered) | {p.alert.id for p in self.pending}
        fresh = [a for a in alerts if a.id not in known]
        self.pending.extend(Pending(a) for a in fresh)
        return fresh

    def deliver(self, instance: dg.DagsterInstance, channel: Channel) -> tuple[int, str | None]:
        """Post the waiting alerts in order; stop at the first failure (Slack down, throttled).

        Returns how many were delivered, and the error that stopped delivery, if any.
        """
        sent = 0
        while self.pending:
            head = self.pending[0]
            try:
                if not (head.attempted and channel.has_posted(head.alert)):
                    head.attempted = True
                    self.save(instance)
                    channel.post(head.alert)
            except Exception as error:  # any failure to reach Slack: keep the alert, retry later
                return sent, f"{type(error).__name__}: {error}"
            self.pending.pop(0)
            self.delivered.append(head.alert.id)
            self.save(instance)
            sent += 1
        return sent, None
