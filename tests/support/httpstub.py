"""An HTTP endpoint whose behaviour the test sets: status, body, slowness, hanging, garbage.

Records the headers of every request so tests can check what reached the server
(e.g. that a bearer token resolved from ``${env:…}`` was sent).

    with running_stub() as stub:
        stub.set(status=500, body=b'{"lag": 3}')
        stub.set(delay=5)      # answers after 5 s
        stub.set(hang=True)    # never answers (until released or stopped)
        stub.set(drop=True)    # closes the connection without answering
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Behaviour:
    status: int = 200
    body: bytes = b'{"status": "ok"}'
    content_type: str = "application/json"
    delay: float = 0.0
    hang: bool = False
    drop: bool = False


@dataclass
class HttpStub:
    routes: dict[str, Behaviour] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    _release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _conns: list[socket.socket] = field(default_factory=list)
    scheme: str = "http"

    def set(self, path: str = "*", **kw: object) -> None:
        """Behaviour for ``path`` (``*``: every path without its own)."""
        with self._lock:
            self.routes[path] = Behaviour(**kw)  # type: ignore[arg-type]

    def behaviour(self, path: str) -> Behaviour:
        with self._lock:
            return self.routes.get(path.split("?", 1)[0]) or self.routes.get("*") or Behaviour()

    def count(self, path: str | None = None) -> int:
        with self._lock:
            return sum(1 for p, _ in self.requests if path is None or p.split("?", 1)[0] == path)

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def start(self, certfile: Path | None = None, keyfile: Path | None = None) -> HttpStub:
        """Serve plain HTTP, or HTTPS with ``certfile``/``keyfile`` (see `self_signed`)."""
        stub = self
        self.scheme = "https" if certfile else "http"

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with stub._lock:
                    stub._conns.append(self.connection)

            def do_GET(self) -> None:
                with stub._lock:
                    stub.requests.append((self.path, {k: v for k, v in self.headers.items()}))
                b = stub.behaviour(self.path)
                if b.hang:
                    stub._release.wait()
                    self.close_connection = True
                    return
                if b.drop:
                    self.close_connection = True
                    return
                if b.delay:
                    end = time.monotonic() + b.delay
                    while time.monotonic() < end and not stub._release.is_set():
                        stub._release.wait(0.05)
                self.send_response(b.status)
                self.send_header("Content-Type", b.content_type)
                self.send_header("Content-Length", str(len(b.body)))
                self.end_headers()
                self.wfile.write(b.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if certfile:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(certfile, keyfile)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True, name="httpstub").start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self._release.set()  # let hanging handlers go
            self.server.shutdown()
            self.server.server_close()
            self.server = None
            with self._lock:  # kept-alive connections die with the server, as with a real one
                conns, self._conns = self._conns, []
            for c in conns:
                with contextlib.suppress(OSError):
                    c.shutdown(socket.SHUT_RDWR)


def self_signed(workdir: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (and its key), made by the openssl CLI."""
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up mid-request (a poller cancelled, a timeout) is routine here, not a traceback."""

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionResetError | BrokenPipeError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@contextlib.contextmanager
def running_stub(certfile: Path | None = None, keyfile: Path | None = None) -> Iterator[HttpStub]:
    stub = HttpStub().start(certfile, keyfile)
    try:
        yield stub
    finally:
        stub.stop()
