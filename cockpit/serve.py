"""``cockpit serve``: the read-only observer screen in a browser, one process per visitor.

Built on textual-serve (aiohttp): its page and ``textual.js`` draw the screen, and
its `AppService` runs one process per visitor (`cockpit.tui.served`, an observer
that can do nothing but watch: `cockpit.serve_observer`). This module adds what a
bastion needs around it:

- **a token**: every request (page, static files, websocket) carries the random
  token, in ``?token=`` or in the page's cookie (HttpOnly, SameSite=Strict, set
  by the first load); anything else is answered 403. The token is compared in
  constant time and is never logged: the access log is off, visits are logged
  without their query string, and the visitor processes never receive it.
- **a cap on visitors** (each a process): the page and the websocket beyond it are
  answered 503 with a page that says why.
- **idle visitors are disconnected** after ``idle_timeout`` seconds without input
  from their browser (keys, mouse, resize, focus); aiohttp's websocket heartbeat
  drops a browser that stopped answering.
- **every visit is recorded** (`cockpit.serve_visits.VisitLog`): joined and left,
  the remote address and user agent as the server sees them; the driver journals
  them as ``observer_joined`` / ``observer_left``.

A visitor's process is its own: one that hangs or dies affects nobody else, and
the server outlives any driver (the visitors' screens say "driver gone" and pick
up the next driver by themselves).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

from cockpit.serve_page import cockpit_page, forbidden_page, full_page
from cockpit.serve_visits import VisitLog

log = logging.getLogger("cockpit.serve")

COOKIE = "cockpit_serve"
HEARTBEAT = 15.0           # seconds: aiohttp pings the browser; one that stops answering is dropped
STOP_GRACE = 5.0           # seconds a visitor's process gets to quit before it is killed
MAX_MESSAGE = 1 << 20      # bytes: a larger websocket message from a browser is refused


def _static_folder() -> Path:
    import textual_serve.server as ts

    return Path(ts.__file__).resolve().parent / "static"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_for(host: str, port: int, token: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/?token={token}"


@dataclass
class Visit:
    """One browser connected to the websocket (one visitor process)."""

    id: str
    remote: str
    user_agent: str
    started: float
    last_input: float
    reason: str = "closed"
    joined: bool = False             # its websocket opened (and its joining was recorded)
    ws: web.WebSocketResponse | None = None
    service: AppService | None = None


@dataclass
class ServeOptions:
    command: str                     # the visitor process (shell words, textual-serve runs it)
    title: str
    host: str = "127.0.0.1"
    port: int = 8000
    max_visitors: int = 8
    idle_timeout: float = 1800.0
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    by: str = ""                     # user@host running the server (recorded with each visit)


class CockpitServer:
    """The aiohttp application around textual-serve's per-visitor processes."""

    def __init__(self, opts: ServeOptions, visits: VisitLog | None = None,
                 say: Callable[[str], None] | None = None, clock: Callable[[], float] = time.time) -> None:
        self.opts = opts
        self.visits = visits
        self.say = say or (lambda line: print(line, file=sys.stderr, flush=True))
        self.clock = clock
        self.visitors: dict[str, Visit] = {}
        self.downloads = DownloadManager()
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._stopping = False

    # -- the gate: the token on every request ------------------------------------------------
    def _authorised(self, request: web.Request) -> bool:
        given = request.query.get("token") or request.cookies.get(COOKIE) or ""
        return secrets.compare_digest(given.encode(), self.opts.token.encode())

    @web.middleware
    async def _gate(self, request: web.Request,
                    handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        if not self._authorised(request):
            self.say(f"refused {request.method} {request.path} from {request.remote}: no valid token")
            return web.Response(status=403, text=forbidden_page(), content_type="text/html")
        response: web.StreamResponse = await handler(request)
        if request.path == "/" and "token" in request.query and not response.prepared:
            response.set_cookie(COOKIE, self.opts.token, httponly=True, samesite="Strict", path="/")
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._gate])
        app.add_routes([
            web.get("/", self.handle_index),
            web.get("/ws", self.handle_websocket),
            web.static("/static", _static_folder(), show_index=False),
        ])
        return app

    # -- the page --------------------------------------------------------------------------------------
    async def handle_index(self, request: web.Request) -> web.Response:
        if len(self.visitors) >= self.opts.max_visitors:
            return web.Response(status=503, text=full_page(len(self.visitors), self.opts.max_visitors),
                                content_type="text/html")
        size = _int(request.query.get("fontsize"), 14, 8, 32)     # ?fontsize=18 for a projector
        return web.Response(text=cockpit_page(self.opts.title, size), content_type="text/html")

    # -- one visitor -------------------------------------------------------------------------------------
    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != request.host:
            # another site's page in the visitor's browser opening our websocket (cross-site hijacking)
            self.say(f"refused a websocket from {request.remote}: its page is from another site")
            return web.Response(status=403, text=forbidden_page(), content_type="text/html")
        if self._stopping:
            return web.Response(status=503, text="the server is stopping")
        if len(self.visitors) >= self.opts.max_visitors:
            self.say(f"refused a visitor from {request.remote}: {len(self.visitors)} watching, "
                     f"the limit is {self.opts.max_visitors}")
            return web.Response(status=503, text=full_page(len(self.visitors), self.opts.max_visitors),
                                content_type="text/html")
        now = self.clock()
        visit = Visit(secrets.token_hex(6), str(request.remote or "?"),
                      request.headers.get("User-Agent", "")[:300], now, time.monotonic())
        self.visitors[visit.id] = visit       # counted before any await: the cap holds under a rush
        try:
            return await self._visit(request, visit)
        finally:
            self.visitors.pop(visit.id, None)
            if visit.joined:
                self._record("left", visit, reason=visit.reason, duration=round(self.clock() - visit.started, 3))
            self.say(f"visitor {visit.id} left ({visit.reason}) after {self.clock() - visit.started:.0f}s; "
                     f"{len(self.visitors)} watching")

    async def _visit(self, request: web.Request, visit: Visit) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT, max_msg_size=MAX_MESSAGE)
        visit.ws = ws
        width = _int(request.query.get("width"), 80, 20, 500)
        height = _int(request.query.get("height"), 24, 5, 300)
        await ws.prepare(request)
        visit.joined = True
        self._record("joined", visit)
        self.say(f"visitor {visit.id} joined from {visit.remote} ({visit.user_agent or 'no user agent'}); "
                 f"{len(self.visitors)}/{self.opts.max_visitors} watching")
        async def close() -> None:
            await ws.close()

        service = AppService(self.opts.command, write_bytes=ws.send_bytes, write_str=ws.send_str,
                             close=close, download_manager=self.downloads)
        visit.service = service
        idle = asyncio.create_task(self._idle_watch(visit), name=f"idle-{visit.id}")
        ended: asyncio.Task[None] | None = None
        try:
            await service.start(width, height)
            ended = asyncio.create_task(self._close_when_process_ends(visit), name=f"proc-{visit.id}")
            await self._messages(ws, service, visit)
        except Exception as e:   # one visitor's trouble never reaches the others
            visit.reason = f"error: {type(e).__name__}"
            log.debug("visitor %s: %s", visit.id, e)
        finally:
            idle.cancel()
            if ended is not None:
                ended.cancel()
            await self._stop_service(service)
            with contextlib.suppress(Exception):
                await ws.close()
        return ws

    async def _messages(self, ws: web.WebSocketResponse, service: AppService, visit: Visit) -> None:
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = message.json()
            except ValueError:
                continue
            if not isinstance(envelope, list) or not envelope:
                continue
            kind = envelope[0]
            data = envelope[1] if len(envelope) > 1 else None
            if kind in ("stdin", "resize", "focus", "blur"):
                visit.last_input = time.monotonic()
            if kind == "stdin" and isinstance(data, str):
                await service.send_bytes(data.encode("utf-8"))
            elif kind == "resize" and isinstance(data, dict):
                await service.set_terminal_size(_int(data.get("width"), 80, 20, 500),
                                                _int(data.get("height"), 24, 5, 300))
            elif kind == "ping":
                await ws.send_json(["pong", data])
            elif kind == "blur":
                await service.blur()
            elif kind == "focus":
                await service.focus()

    async def _idle_watch(self, visit: Visit) -> None:
        limit = self.opts.idle_timeout
        while True:
            left = limit - (time.monotonic() - visit.last_input)
            if left <= 0:
                visit.reason = "idle"
                if visit.ws is not None:
                    await visit.ws.close(code=4000, message=b"idle")
                return
            await asyncio.sleep(min(left + 0.05, 5.0))

    async def _close_when_process_ends(self, visit: Visit) -> None:
        task = getattr(visit.service, "_task", None)
        if task is None:
            return
        await asyncio.shield(task)
        if visit.reason == "closed":
            visit.reason = "screen closed"
        if visit.ws is not None:
            await visit.ws.close()

    async def _stop_service(self, service: AppService) -> None:
        """Ask the visitor's process to quit; kill it if it does not within `STOP_GRACE`."""
        proc = getattr(service, "_process", None)
        try:
            async with asyncio.timeout(STOP_GRACE):
                await service.stop()
        except (TimeoutError, Exception):
            pass
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(STOP_GRACE):
                    await proc.wait()

    def _record(self, event: str, visit: Visit, **extra: Any) -> None:
        if self.visits is not None:
            self.visits.write(event, visit.id, self.clock(), remote=visit.remote,
                              user_agent=visit.user_agent, by=self.opts.by, **extra)

    # -- the server ---------------------------------------------------------------------------------
    async def start(self) -> int:
        """Bind and start serving; the port bound (``port=0`` picks a free one)."""
        self._runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.opts.host, self.opts.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1]) if sockets else self.opts.port
        return self.port

    async def stop(self) -> None:
        self._stopping = True
        for visit in list(self.visitors.values()):
            visit.reason = "server stopped"
            if visit.ws is not None:
                with contextlib.suppress(Exception):
                    await visit.ws.close(code=1001, message=b"server stopped")
        for _ in range(int(STOP_GRACE * 2 * 10)):
            if not self.visitors:
                break
            await asyncio.sleep(0.1)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def run_until_signalled(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            await self.stop()


def _int(value: object, default: int, low: int, high: int) -> int:
    try:
        n = int(str(value))
    except ValueError:
        return default
    return max(low, min(high, n))
