"""Bounded HTTP reads: a byte cap and a TOTAL deadline, enforced while the answer is read.

The one place where cockpit reads an HTTP answer from outside (Prometheus and
http sources, slack and jira steps). Per-read timeouts (requests', httpx's) do
not bound a server that trickles one byte a second, and nothing in either
library bounds a body that never ends; this module does both:

- the whole exchange (connect, send, headers, body) runs under one
  ``asyncio.timeout(deadline)``: `TooSlow` when it expires, saying whether the
  headers had arrived and how many body bytes had;
- the body is read as it arrives and dropped the moment it passes
  ``max_bytes`` (`TooBig`); a ``Content-Length`` over the cap is refused before
  any of the body is read. We ask for an uncompressed answer; a server that
  compresses anyway has its body inflated with the same cap on the output (a
  small gzip cannot inflate into gigabytes);
- ``read_body=False`` returns at the status line and closes the connection
  without reading the body (status and latency probes);
- `in_daemon_thread` runs blocking library code (prometheus-api-client, smtplib)
  in a daemon thread: a worker stuck past its deadline is abandoned, never
  joined at exit (a `ThreadPoolExecutor`'s threads are joined at interpreter
  exit, and ``asyncio.run`` joins the default executor's).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from cockpit.durations import format_duration

T = TypeVar("T")

DEFAULT_MAX_BYTES = 4 * 1024 * 1024
_INFLATE = {"gzip": 47, "x-gzip": 47, "deflate": 15}  # zlib wbits: 47 = gzip or zlib header


def format_size(n: int) -> str:
    """``4 MB``, ``512 KB``, ``50 bytes`` (binary units, as the cap is set)."""
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size and n % (size // 16) == 0:
            return f"{n / size:g} {unit}"
    return f"{n} bytes"


class Unbounded(Exception):
    """An answer that broke a bound. The message is shown to people as the reason."""


class TooBig(Unbounded):
    def __init__(self, max_bytes: int, status: int | None) -> None:
        self.max_bytes, self.status = max_bytes, status
        super().__init__(f"answer over {format_size(max_bytes)}")


class TooSlow(Unbounded):
    def __init__(self, deadline: float, sent: bool, status: int | None, received: int) -> None:
        self.deadline, self.status, self.received = deadline, status, received
        self.sent = sent          # the request may have reached the server (its headers were being sent)
        within = format_duration(deadline)
        if status is None:
            text = f"no answer within {within}"
        else:
            text = f"no full answer within {within} ({format_size(received)} of the body read)"
        super().__init__(text)


class Undecodable(Unbounded):
    def __init__(self, encoding: str) -> None:
        super().__init__(f"answer compressed with {encoding!r}, which cockpit does not read")


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    headers: httpx.Headers
    body: bytes          # b"" when the body was not read
    latency: float       # seconds from the request to its status line


def _inflate(body: bytes, encoding: str, max_bytes: int, status: int) -> bytes:
    enc = encoding.strip().lower()
    if enc in ("", "identity"):
        return body
    if enc not in _INFLATE:
        raise Undecodable(enc)
    d = zlib.decompressobj(_INFLATE[enc])
    try:
        out = d.decompress(body, max_bytes + 1)
    except zlib.error:
        raise Undecodable(enc) from None
    if len(out) > max_bytes:
        raise TooBig(max_bytes, status)
    return out


async def fetch(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    deadline: float,
    max_bytes: int = DEFAULT_MAX_BYTES,
    read_body: bool = True,
    headers: dict[str, str] | None = None,
    **request: Any,
) -> Answer:
    """One request, bounded: the whole of it within ``deadline`` seconds, at most ``max_bytes`` of body.

    ``request`` goes to `httpx.AsyncClient.stream` (``params``, ``json``, ``content``,
    ``files``). Transport errors are httpx's (`httpx.ConnectError`, ...); a broken bound
    raises `TooBig`/`TooSlow`/`Undecodable`.
    """
    sent = False
    status: int | None = None
    received = 0

    async def trace(event: str, info: dict[str, Any]) -> None:
        nonlocal sent
        if "send_request_headers.started" in event:
            sent = True

    hdrs = {**(headers or {}), "Accept-Encoding": "identity"}
    started = time.perf_counter()
    try:
        async with asyncio.timeout(deadline):
            async with client.stream(method, url, headers=hdrs, extensions={"trace": trace}, **request) as resp:
                status = resp.status_code
                latency = time.perf_counter() - started
                if not read_body:
                    return Answer(status, resp.reason_phrase, resp.headers, b"", latency)
                declared = resp.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise TooBig(max_bytes, status)
                body = bytearray()
                async for chunk in resp.aiter_raw():
                    received += len(chunk)
                    if received > max_bytes:
                        raise TooBig(max_bytes, status)
                    body += chunk
                data = _inflate(bytes(body), resp.headers.get("content-encoding", ""), max_bytes, status)
                return Answer(status, resp.reason_phrase, resp.headers, data, latency)
    except TimeoutError:
        raise TooSlow(deadline, sent, status, received) from None


async def in_daemon_thread(fn: Callable[[], T], name: str) -> T:
    """``fn()`` in a new daemon thread; cancelling the await abandons the thread, never joins it.

    For blocking library code whose own reads are bounded (see `fetch`) or can be cut
    from outside: an abandoned thread ends on its own, and exit never waits for it.
    """
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[T] = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if not fut.done():
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)

    def run() -> None:
        try:
            value: Any = fn()
            ok = True
        except BaseException as e:  # handed to the awaiting task
            value, ok = e, False
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody is waiting
            loop.call_soon_threadsafe(settle, ok, value)

    threading.Thread(target=run, name=name, daemon=True).start()
    return await fut
