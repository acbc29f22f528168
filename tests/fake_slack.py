"""A stand-in for Slack's Web API on 127.0.0.1: `chat.postMessage` and `conversations.history`,
enough for the platform's alerts. It can be stopped and started again on the same port."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from deploy.production_stack import free_port


class FakeSlack:
    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def start(self) -> "FakeSlack":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._answer(parse_qs(urlparse(self.path).query))

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    params = json.loads(body or "{}")
                else:
                    params = {k: v[0] for k, v in parse_qs(body).items()}
                self._answer({**params, **parse_qs(urlparse(self.path).query)})

            def _answer(self, params: dict[str, Any]) -> None:
                method = urlparse(self.path).path.rsplit("/", 1)[-1]
                if not (self.headers.get("Authorization") or "").startswith("Bearer "):
                    reply: dict[str, Any] = {"ok": False, "error": "not_authed"}
                elif method == "chat.postMessage":
                    reply = fake._post(params)
                elif method == "conversations.history":
                    with fake.lock:
                        reply = {"ok": True, "messages": list(reversed(fake.messages))}
                else:
                    reply = {"ok": False, "error": "unknown_method"}
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def _post(self, params: dict[str, Any]) -> dict[str, Any]:
        metadata = params.get("metadata") or {}
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        message = {
            "channel": params.get("channel"),
            "text": params.get("text", ""),
            "ts": f"{time.time():.6f}",
            "metadata": metadata,
        }
        with self.lock:
            self.messages.append(message)
        return {"ok": True, "channel": message["channel"], "ts": message["ts"]}

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def alert_ids(self) -> list[str]:
        with self.lock:
            return [m["metadata"].get("event_payload", {}).get("alert_id") for m in self.messages]

    def texts(self) -> list[str]:
        with self.lock:
            return [m["text"] for m in self.messages]
