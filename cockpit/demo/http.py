"""A tiny HTTP/1.1 server on asyncio streams, for the demo's loopback endpoints.

Enough of HTTP/1.1 for real clients (httpx, requests): keep-alive,
``Content-Length`` bodies, ``Connection: close``. Anything malformed (bad
request line, oversized or broken headers, chunked or oversized bodies, bytes
that are not HTTP at all) gets ``400 Bad Request`` and the connection is
closed; a handler that raises gets ``500``. Nothing it receives can crash it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

log = logging.getLogger(__name__)

MAX_HEAD = 16 * 1024
MAX_BODY = 1024 * 1024
IDLE_TIMEOUT = 15.0


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def params(self) -> dict[str, str]:
        """Query-string parameters, plus form fields of a urlencoded POST (Prometheus accepts both)."""
        out = dict(self.query)
        if self.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            out.update(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))
        return out


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a slow server)


Handler = Callable[[Request], Awaitable[Response]]


class BadRequest(Exception):
    pass


class HttpServer:
    """Serves ``handler`` on ``host``:ephemeral port until :meth:`stop`."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1") -> None:
        self.handler = handler
        self.host = host
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, 0, limit=MAX_HEAD)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._conversation(reader, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass  # the client went away, or the server stops: end quietly (no await below)
        finally:
            writer.close()
            self._tasks.discard(task)

    async def _conversation(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Requests and responses on one connection until either side closes it."""
        while True:
            try:
                async with asyncio.timeout(IDLE_TIMEOUT):
                    request, keep_alive = await _read_request(reader)
            except (TimeoutError, asyncio.IncompleteReadError):
                return
            except BadRequest as exc:
                await _send(writer, Response(400, f"400 Bad Request: {exc}\n".encode()), keep_alive=False)
                return
            if request is None:
                return
            try:
                response = await self.handler(request)
            except Exception:
                log.exception("demo http handler failed")
                response = Response(500, b"500 Internal Server Error\n")
            if response.delay > 0:
                await asyncio.sleep(response.delay)
            await _send(writer, response, keep_alive=keep_alive, head=request.method == "HEAD")
            if not keep_alive:
                return


async def _read_request(reader: asyncio.StreamReader) -> tuple[Request | None, bool]:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise BadRequest("request head too large") from None
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None, False  # the client closed an idle connection
        raise BadRequest("incomplete request head") from None
    try:
        text = head.decode("latin-1")
        request_line, *header_lines = text[:-4].split("\r\n")
        method, target, version = request_line.split(" ")
    except ValueError:
        raise BadRequest("malformed request line") from None
    if not method.isalpha() or not method.isupper() or version not in ("HTTP/1.0", "HTTP/1.1"):
        raise BadRequest("malformed request line")
    if not target.startswith("/"):
        raise BadRequest("request target must be a path")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip() or any(c in name for c in " \t"):
            raise BadRequest("malformed header line")
        headers[name.lower()] = value.strip()
    if "transfer-encoding" in headers:
        raise BadRequest("chunked request bodies are not supported")
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        raise BadRequest("invalid Content-Length") from None
    if length < 0 or length > MAX_BODY:
        raise BadRequest("invalid Content-Length")
    body = await reader.readexactly(length) if length else b""
    conn = headers.get("connection", "").lower()
    keep_alive = conn != "close" if version == "HTTP/1.1" else conn == "keep-alive"
    parts = urlsplit(target)
    try:
        query = dict(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False))
    except ValueError:
        raise BadRequest("malformed query string") from None
    return Request(method, parts.path, query, headers, body), keep_alive


async def _send(
    writer: asyncio.StreamWriter, response: Response, *, keep_alive: bool, head: bool = False
) -> None:
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = ""
    lines = [
        f"HTTP/1.1 {response.status} {reason}",
        f"Content-Type: {response.content_type}",
        f"Content-Length: {len(response.body)}",
        f"Connection: {'keep-alive' if keep_alive else 'close'}",
        *(f"{k}: {v}" for k, v in response.headers.items()),
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head else response.body))
    with contextlib.suppress(ConnectionError):
        await writer.drain()
