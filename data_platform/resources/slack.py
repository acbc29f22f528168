"""The Slack channel alerts go to, through `slack_sdk`'s Web API client.

No token or no channel means alerting is off: nothing is sent and nothing fails. The API base URL
can point at another server (a proxy, or a fake Slack in tests).
"""

import time
from typing import Any

import dagster as dg
from slack_sdk import WebClient

from data_platform import settings
from data_platform.alerts.alert import Alert

METADATA_EVENT = "data_platform_alert"
# how far back the channel is searched for an alert whose delivery was cut off
LOOKBACK_SECONDS = 7 * 24 * 3600


class SlackAlerts(dg.ConfigurableResource):  # type: ignore[type-arg]
    token: str = ""
    channel: str = ""
    api_base_url: str = settings.LOCAL_DEFAULTS[settings.SLACK_API_BASE_URL]
    ui_url: str = settings.LOCAL_DEFAULTS[settings.UI_URL]
    alert_on_warn: bool = False
    timeout_seconds: int = 10

    @property
    def enabled(self) -> bool:
        return bool(self.token and self.channel)

    def client(self) -> WebClient:
        base = self.api_base_url if self.api_base_url.endswith("/") else self.api_base_url + "/"
        return WebClient(token=self.token, base_url=base, timeout=self.timeout_seconds)

    def post(self, alert: Alert) -> None:
        # raises SlackApiError on a refusal and URLError/OSError when Slack cannot be reached
        self.client().chat_postMessage(
            channel=self.channel,
            text=alert.text(self.ui_url),
            unfurl_links=False,
            metadata={"event_type": METADATA_EVENT, "event_payload": {"alert_id": alert.id}},
        )

    def has_posted(self, alert: Alert) -> bool | None:
        """Whether a message carrying this alert's id is in the channel (None: cannot tell, e.g.
        the token lacks the history scope; then the alert is posted again rather than lost)."""
        client = self.client()
        cursor = None
        oldest = f"{time.time() - LOOKBACK_SECONDS:.6f}"
        try:
            while True:
                page = client.conversations_history(
                    channel=self.channel,
                    oldest=oldest,
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
                messages: list[dict[str, Any]] = page.get("messages", [])
                for message in messages:
                    payload = (message.get("metadata") or {}).get("event_payload") or {}
                    if payload.get("alert_id") == alert.id:
                        return True
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return False
        except Exception as error:
            if getattr(error, "response", None) is not None:
                return None  # Slack answered but refused (scope, channel name): cannot tell
            raise  # Slack is unreachable: delivery waits
