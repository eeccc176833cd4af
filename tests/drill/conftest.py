"""Fixtures of the drill: the whole loopback stack (``drill_stack``) and a Slack receiver.

``drill_stack`` is session-scoped: bringing the stack up costs seconds, and the TUI tests can
reuse it (``drill_stack.profile`` is the generated profile to open the cockpit on).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.drill.procs import wait_until
from tests.drill.stack import Stack, StackInfo, prom_query


@pytest.fixture(scope="session")
def drill_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackInfo]:
    stack = Stack(tmp_path_factory.mktemp("drill") / "run")
    info = stack.up()
    try:
        yield info
    finally:
        left = stack.down()
        assert not left, f"drill stack teardown left processes behind: {left}"


@pytest.fixture
def drill_incident(drill_stack: StackInfo) -> StackInfo:
    """The session's stack with the bad release (re)deployed and the incident visible in
    Prometheus (http_5xx_rate above 0.1 %): each test that rolls back starts from the incident."""
    Stack(Path(drill_stack.run_dir)).deploy_bad_release(drill_stack)
    wait_until(lambda: _five_xx(drill_stack) > 0.001, 60, "http_5xx_rate above 0.1 % (the bad release)")
    return drill_stack


def _five_xx(info: StackInfo) -> float:
    result = prom_query(info.prom_url, 'max(http_5xx_rate{stack="blue"})')
    return float(result[0]["value"][1]) if result else 0.0  # type: ignore[index]


@dataclass
class SlackReceiver:
    """A local incoming-webhook endpoint: records each POSTed JSON body, answers `ok` like Slack."""

    url: str
    bodies: list[dict[str, object]] = field(default_factory=list)


@pytest.fixture
def slack_receiver() -> Iterator[SlackReceiver]:
    bodies: list[dict[str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                bodies.append(json.loads(raw))
            except ValueError:
                bodies.append({"invalid": raw.decode(errors="replace")})
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield SlackReceiver(f"http://127.0.0.1:{server.server_port}/services/T0DRILL/B0DRILL/drillsecret", bodies)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def host_file(info: StackInfo, host: str, rel: str) -> Path:
    return info.host_dir(host) / rel
