"""A hostile HTTP server on loopback: endless, huge, trickling, hanging, garbage, dropping.

A raw socket server (not `http.server`) so it can misbehave in ways a polite
framework will not: a body that never ends, one byte a second, a connection cut
in the middle of the body. It reads the request head, then acts on the mode the
test set:

    with running_hostile() as srv:
        srv.set("endless")          # 200, then JSON-looking bytes forever (no length, no end)
        srv.set("huge")             # 200, 64 MB chunked body (no Content-Length)
        srv.set("huge_declared")    # 200, Content-Length: 64 MB, then the bytes
        srv.set("trickle")          # 200, Content-Length: 100000, one byte per second
        srv.set("hang")             # reads the request, never answers
        srv.set("garbage")          # 200, application/json, bytes that are not JSON
        srv.set("drop")             # 200, Content-Length: 100000, 20 bytes, then closes
        srv.set("ok", body=b"...")  # a normal answer
        srv.set("smtp_trickle")     # an SMTP greeting, one byte per second (the server speaks first)

The default ``ok`` body is a Prometheus instant-query answer with one sample
whose value is 7; an http source reads it with ``json:data.result.0.value.1``.
The server counts the bytes it managed to send (``sent``) and the requests it
read (``requests``): tests wait on those, never on sleeps.
"""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

OK_BODY = b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"7"]}]}}'
CHUNK = b'{"metric":{"queue":"feed"},"value":[1700000000,"1"]},' * 1200  # ~60 KB of plausible JSON
HUGE = 64 * 1024 * 1024


@dataclass
class Hostile:
    mode: str = "ok"
    body: bytes = OK_BODY
    status: int = 200
    trickle_every: float = 1.0
    requests: int = 0
    sent: int = 0
    closed_by_client: int = 0
    _sock: socket.socket | None = None
    _acceptor: threading.Thread | None = None
    _servers: list[threading.Thread] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _conns: list[socket.socket] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def set(self, mode: str, body: bytes = OK_BODY, status: int = 200, trickle_every: float = 1.0) -> None:
        with self._lock:
            self.mode, self.body, self.status, self.trickle_every = mode, body, status, trickle_every

    @property
    def port(self) -> int:
        assert self._sock is not None
        return int(self._sock.getsockname()[1])

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_requests(self, n: int, timeout: float = 10.0) -> None:
        """Block until ``n`` requests were read (poll-free: a condition variable)."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.requests >= n, timeout):
                raise AssertionError(f"hostile server: {self.requests} requests after {timeout}s, wanted {n}")

    def wait_client_gone(self, n: int = 1, timeout: float = 10.0) -> None:
        """Block until the client closed ``n`` connections while the server was still writing."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.closed_by_client >= n, timeout):
                raise AssertionError(f"hostile server: client closed {self.closed_by_client} connections, "
                                     f"wanted {n}")

    def _bump(self, attr: str, by: int = 1) -> None:
        with self._changed:
            setattr(self, attr, getattr(self, attr) + by)
            self._changed.notify_all()

    def start(self) -> Hostile:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._acceptor = threading.Thread(target=self._accept, name="hostile-accept", daemon=True)
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Stop accepting, then close. Every thread is woken (``shutdown`` of its socket) and joined
        *before* the close: a thread left blocked on a closed fd is not woken by the close, and when
        its call is restarted (the process stopped and continued, frozen and thawed, or traced) the
        kernel looks the fd number up again: it then accepts or reads on whatever socket reuses the
        number, stealing its connections or data."""
        self._stop.set()
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)     # Linux: a blocked accept() returns EINVAL
            if self._acceptor is not None:
                self._acceptor.join(10.0)
                assert not self._acceptor.is_alive(), "hostile server: the accept thread did not end"
            with contextlib.suppress(OSError):
                self._sock.close()
        with self._lock:
            conns, self._conns = self._conns, []
            servers, self._servers = self._servers, []
        for c in conns:           # wakes a thread blocked on it; the thread closes it (``with conn``)
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
        for t in servers:
            t.join(10.0)
        for c in conns:
            with contextlib.suppress(OSError):
                c.close()

    def _accept(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
            server = threading.Thread(target=self._serve, args=(conn,), name="hostile-conn", daemon=True)
            with self._lock:
                self._servers.append(server)
            server.start()

    def _read_head(self, conn: socket.socket) -> bytes | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip() or 0)
        while len(rest) < length:  # read (and drop) a request body, e.g. a webhook's JSON
            chunk = conn.recv(65536)
            if not chunk:
                return None
            rest += chunk
        return head

    def _send(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        self._bump("sent", len(data))

    def _serve(self, conn: socket.socket) -> None:
        try:
            with conn:
                with self._lock:
                    mode, every = self.mode, self.trickle_every
                if mode == "smtp_trickle":
                    self._bump("requests")
                    for byte in b"220 " + b"slow" * 2000:
                        self._send(conn, bytes([byte]))
                        if self._stop.wait(every):
                            return
                    return
                while not self._stop.is_set():
                    if self._read_head(conn) is None:
                        return
                    self._bump("requests")
                    with self._lock:
                        mode, body, status, every = self.mode, self.body, self.status, self.trickle_every
                    if not self._act(conn, mode, body, status, every):
                        return
        except (BrokenPipeError, ConnectionResetError):
            self._bump("closed_by_client")
        except OSError:
            pass

    def _head(self, status: int, *headers: str) -> bytes:
        lines = [f"HTTP/1.1 {status} X", "Content-Type: application/json", *headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def _act(self, conn: socket.socket, mode: str, body: bytes, status: int,
             every: float) -> bool:
        """Answer one request; False when the connection must end."""
        if mode == "ok":
            self._send(conn, self._head(status, f"Content-Length: {len(body)}") + body)
            return True
        if mode == "garbage":
            junk = b"\x00\xff<html>not json {{{"
            self._send(conn, self._head(200, f"Content-Length: {len(junk)}") + junk)
            return True
        if mode == "hang":
            self._stop.wait()
            return False
        if mode == "drop":
            self._send(conn, self._head(200, "Content-Length: 100000") + body[:20])
            conn.shutdown(socket.SHUT_RDWR)
            return False
        if mode == "endless":
            self._send(conn, self._head(200, "Connection: close") + b'{"status":"success","data":'
                       b'{"resultType":"vector","result":[')
            while not self._stop.is_set():
                self._send(conn, CHUNK)
            return False
        if mode in ("huge", "huge_declared"):
            declared = mode == "huge_declared"
            head = f"Content-Length: {HUGE}" if declared else "Transfer-Encoding: chunked"
            self._send(conn, self._head(200, head))
            left = HUGE
            while left > 0 and not self._stop.is_set():
                part = CHUNK[: min(left, len(CHUNK))]
                self._send(conn, part if declared else b"%x\r\n%s\r\n" % (len(part), part))
                left -= len(part)
            if not declared:
                self._send(conn, b"0\r\n\r\n")
            return True
        if mode == "trickle":
            self._send(conn, self._head(200, "Content-Length: 100000"))
            for byte in OK_BODY * 1000:
                self._send(conn, bytes([byte]))
                if self._stop.wait(every):
                    break
            return False
        raise ValueError(f"unknown hostile mode {mode!r}")


@contextlib.contextmanager
def running_hostile() -> Iterator[Hostile]:
    srv = Hostile().start()
    try:
        yield srv
    finally:
        srv.stop()


def peak_rss_of(argv: list[str], *, timeout: float, env: dict[str, str] | None = None,
                cwd: str | None = None, address_space: int = 3 << 30) -> tuple[int, float, int, str]:
    """Run ``argv``; return (exit code, wall seconds, peak RSS in KiB, stdout+stderr).

    The child's own peak RSS comes from ``wait4`` (not RUSAGE_CHILDREN, which keeps the
    maximum of every child ever waited for). ``address_space`` caps the child's memory
    (RLIMIT_AS) so a regression cannot take the shared machine down with it. A child
    still running at ``timeout`` is killed and reported with exit code -9.
    """
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    if hard != resource.RLIM_INFINITY:  # never ask for more than this process may have
        address_space = min(address_space, hard)
    limited = ["prlimit", f"--as={address_space}", "--", *argv]  # util-linux; exec()s argv: same pid
    with tempfile.TemporaryFile() as out:
        started = time.monotonic()
        proc = subprocess.Popen(limited, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)  # polling a child until its deadline (wait4 has no timeout)
        proc.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.monotonic() - started
        out.seek(0)
        text = out.read().decode(errors="replace")
    return proc.returncode, elapsed, usage.ru_maxrss, text
