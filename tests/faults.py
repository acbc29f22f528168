"""Faults a real deployment meets, injected in front of real servers.

`Outage` is a TCP proxy on 127.0.0.1 in front of an S3 server (moto): clients talk to it as to
the endpoint. Once a request whose first line matches `trigger` passes, the endpoint goes down for
`seconds`: that connection and every open or new one is cut, as when the store's load balancer
drops out. Then it forwards again.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterator

CHUNK = 64 * 1024


class Outage:
    def __init__(self, upstream: tuple[str, int], trigger: str, seconds: float) -> None:
        self.upstream, self.trigger, self.seconds = upstream, re.compile(trigger), seconds
        self.down_since: float | None = None
        self.refused = 0
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stopping = False

    @property
    def endpoint(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def happened(self) -> bool:
        return self.down_since is not None

    def _down(self) -> bool:
        with self._lock:
            return self.down_since is not None and time.monotonic() - self.down_since < self.seconds

    def _trip(self) -> None:
        with self._lock:
            if self.down_since is not None:
                return
            self.down_since = time.monotonic()
            cut, self._open = set(self._open), set()
        for connection in cut:
            _close(connection)

    def start(self) -> Outage:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping = True
        _close(self._listener)
        with self._lock:
            cut, self._open = set(self._open), set()
        for connection in cut:
            _close(connection)

    def _accept(self) -> None:
        while not self._stopping:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._down():
                self.refused += 1
                _close(client)
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.upstream)
        except OSError:
            _close(client)
            return
        with self._lock:
            self._open.update((client, server))
        threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()
        self._pipe(client, server, True)

    def _pipe(self, source: socket.socket, target: socket.socket, requests: bool) -> None:
        try:
            while chunk := source.recv(CHUNK):
                if requests and not self.happened:
                    first_line = chunk.split(b"\r\n", 1)[0].decode("latin-1")
                    if self.trigger.search(first_line):
                        self._trip()
                        break
                if self._down():
                    break
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            _close(source)
            _close(target)


def _close(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        connection.close()


@contextlib.contextmanager
def outage(upstream: str, trigger: str, seconds: float) -> Iterator[Outage]:
    """An `Outage` in front of `upstream` (http://host:port), stopped on exit."""
    host, port = upstream.removeprefix("http://").split(":")
    proxy = Outage((host, int(port)), trigger, seconds).start()
    try:
        yield proxy
    finally:
        proxy.stop()
