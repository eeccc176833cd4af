"""A real HTTP server on loopback standing in for Slack and Jira: it records every request
exactly as received and answers with what the test planned (a status, a hang, a dropped connection)."""

from __future__ import annotations

import json
import ssl
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: str = "ok"
    content_type: str = "text/plain"


@dataclass(frozen=True)
class Hang:
    """Read the request, then never answer (until the test ends)."""


@dataclass(frozen=True)
class Drop:
    """Read the request, then close the connection without a response."""


@dataclass(frozen=True)
class Echo:
    """A hostile server: answers ``status`` with a body made from the request it received
    (``make(recorded)``), the way error pages echo the path, a header or the payload."""

    status: int
    make: Callable[[Recorded], str]
    content_type: str = "text/plain"


Behaviour = Reply | Hang | Drop | Echo


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def multipart(self) -> list[Message]:
        """The parts of a multipart/form-data body, parsed by the stdlib email package."""
        head = f"Content-Type: {self.headers['content-type']}\r\n\r\n".encode()
        msg = message_from_bytes(head + self.body, policy=HTTP)
        assert msg.is_multipart(), self.headers["content-type"]
        return list(msg.iter_parts())  # type: ignore[attr-defined]


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    requests: list[Recorded] = field(default_factory=list)
    plan: deque[Behaviour] = field(default_factory=deque)
    default: Behaviour = field(default_factory=Reply)
    release: threading.Event = field(default_factory=threading.Event)

    scheme: str = "http"

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    def answer(self, *behaviours: Behaviour) -> None:
        self.plan.extend(behaviours)

    def next(self) -> Behaviour:
        return self.plan.popleft() if self.plan else self.default


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    receiver: Receiver

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        rec = self.server.receiver  # type: ignore[attr-defined]
        rec.requests.append(
            Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )
        behaviour = rec.next()
        if isinstance(behaviour, Hang):
            rec.release.wait(30)
            self.close_connection = True
            return
        if isinstance(behaviour, Drop):
            self.close_connection = True
            return
        if isinstance(behaviour, Echo):
            behaviour = Reply(behaviour.status, behaviour.make(rec.requests[-1]), behaviour.content_type)
        data = behaviour.body.encode()
        self.send_response(behaviour.status)
        self.send_header("Content-Type", behaviour.content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = _handle
    do_GET = _handle


def start_receiver(tls: ssl.SSLContext | None = None) -> Receiver:
    """Serve on 127.0.0.1 (an ephemeral port); with ``tls``, HTTPS with that server context."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    rec = Receiver(server, scheme="https" if tls else "http")
    server.receiver = rec  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, args=(0.05,), name="http-receiver", daemon=True).start()
    return rec


def stop_receiver(rec: Receiver) -> None:
    rec.release.set()
    rec.server.shutdown()
    rec.server.server_close()
