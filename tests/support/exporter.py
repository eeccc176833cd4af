"""A tiny Prometheus exporter for tests: /metrics in the text format, values set by the test.

    with running_exporter() as exp:
        exp.set("horizon_queue_depth", 12, queue="feed")
        exp.inc("http_requests_total", 5, code="500")

Faults, for the freshness tests: ``exp.mode = "hang"`` (scrapes never answer),
``"garbage"`` (200 with a body Prometheus cannot parse), ``"ok"`` again;
``exp.down()`` closes the port (connection refused) and ``exp.up()`` reopens the
same port. ``exp.before_scrape`` is called at every scrape (e.g. to move counters).
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Key = tuple[str, tuple[tuple[str, str], ...]]


def _fmt(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v))


class Exporter:
    """Gauges and counters the test controls; scraped by a real Prometheus."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[Key, float] = {}
        self._types: dict[str, str] = {}
        self.scrapes = 0
        self.server: ThreadingHTTPServer | None = None
        self.mode = "ok"  # ok | hang | garbage
        self.garbage = b"<html><body><h1>502 Bad Gateway</h1></body></html>\n"  # served in garbage mode
        self.before_scrape: Callable[[Exporter], None] | None = None
        self._port = 0
        self._released = threading.Event()  # set to release hanging scrapes

    @staticmethod
    def _key(name: str, labels: dict[str, str]) -> Key:
        return name, tuple(sorted(labels.items()))

    def set(self, name: str, value: float, **labels: str) -> None:
        with self._lock:
            self._types.setdefault(name, "gauge")
            self._values[self._key(name, labels)] = float(value)

    def inc(self, name: str, by: float = 1.0, **labels: str) -> None:
        with self._lock:
            self._types.setdefault(name, "counter")
            k = self._key(name, labels)
            self._values[k] = self._values.get(k, 0.0) + by

    def remove(self, name: str, **labels: str) -> None:
        with self._lock:
            self._values.pop(self._key(name, labels), None)

    def render(self) -> str:
        with self._lock:
            lines: list[str] = []
            for name, kind in sorted(self._types.items()):
                lines.append(f"# TYPE {name} {kind}")
                for (n, labels), v in sorted(self._values.items()):
                    if n != name:
                        continue
                    lab = ",".join(f'{k}="{val}"' for k, val in labels)
                    lines.append(f"{name}{{{lab}}} {_fmt(v)}" if lab else f"{name} {_fmt(v)}")
            self.scrapes += 1
            return "\n".join(lines) + "\n"

    @property
    def port(self) -> int:
        return self._port

    @property
    def target(self) -> str:
        """``127.0.0.1:PORT``: the ``instance`` label Prometheus gives this exporter."""
        return f"127.0.0.1:{self._port}"

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        if mode == "hang":
            self._released.clear()
        else:
            self._released.set()

    def down(self) -> None:
        """Close the port: scrapes get "connection refused"."""
        self.stop()

    def up(self) -> None:
        """Listen again on the same port."""
        self.start(self._port)

    def start(self, port: int = 0) -> Exporter:
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if exporter.mode == "hang":
                    exporter._released.wait(60)
                    return
                if exporter.before_scrape is not None and self.path.startswith("/metrics"):
                    exporter.before_scrape(exporter)
                if exporter.mode == "garbage" and self.path.startswith("/metrics"):
                    body = exporter.garbage
                else:
                    body = exporter.render().encode() if self.path.startswith("/metrics") else b"not found\n"
                self.send_response(200 if self.path.startswith("/metrics") else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._port = int(self.server.server_address[1])
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True, name="exporter").start()
        return self

    def stop(self) -> None:
        self._released.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@contextlib.contextmanager
def running_exporter() -> Iterator[Exporter]:
    exp = Exporter().start()
    try:
        yield exp
    finally:
        exp.stop()
