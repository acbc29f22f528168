"""One alert: what happened, to what, why in one line, and where in the UI to look."""

import dataclasses
from typing import Any

ICONS = {
    "freshness_failed": ":large_orange_circle:",
    "freshness_recovered": ":large_green_circle:",
    "check_failed": ":red_circle:",
    "run_failed": ":x:",
    "sensor_failed": ":warning:",
}
TITLES = {
    "freshness_failed": "Stale data",
    "freshness_recovered": "Fresh again",
    "check_failed": "Check failed",
    "run_failed": "Run failed",
    "sensor_failed": "Sensor failing",
}
MAX_REASON = 300


@dataclasses.dataclass(frozen=True)
class Alert:
    """`id` is stable for the event it reports, so a retry can tell whether it was delivered."""

    id: str
    kind: str
    subject: str
    reason: str
    path: str  # the UI page, relative to the UI's base URL

    def __post_init__(self) -> None:
        if self.kind not in TITLES:
            raise ValueError(f"unknown alert kind {self.kind!r}")

    def text(self, ui_url: str) -> str:
        """The Slack message (mrkdwn): title and subject, the reason on one line, a UI link."""
        reason = " ".join(self.reason.split())
        if len(reason) > MAX_REASON:
            reason = reason[: MAX_REASON - 1] + "…"
        link = f"{ui_url.rstrip('/')}{self.path}"
        return (
            f"{ICONS[self.kind]} *{TITLES[self.kind]}*: `{self.subject}`\n"
            f"{reason}\n<{link}|Open in Dagster>"
        )

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Alert":
        return cls(**data)


def first_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[0] if lines else ""
