"""``SshPool``: one verified asyncssh connection per host, opened concurrently, reused, reopened.

A connection is opened once (``connect_all`` at session start, or on first use) and
shared by every step and sample on that host, at most ``MAX_SESSIONS`` channels at a
time (OpenSSH's default ``MaxSessions`` is 10; the tenth is left for the session that kills
a stopped ``pty = false`` command). When an open connection drops (server
gone, keepalives unanswered), the pool says so (``on_event(host, "reconnecting",
reason)``) and reopens it in the background with backoff; a caller asking for the
connection meanwhile gets an immediate attempt.

At scale (hundreds of hosts, one bastion):

- at most ``[ssh] handshakes`` handshakes are in flight over the whole fleet (sshd's
  default ``MaxStartups 10:30:100`` drops connections above 10 unauthenticated ones,
  and so does a bastion's);
- a handshake refused or reset before it completed (a dropped startup, a full listen
  backlog) is retried after a jittered, doubling backoff (``HANDSHAKE_RETRIES`` times;
  ``REFUSED_RETRIES`` for "connection refused", which usually means nothing listens);
- the open-file limit is raised at start for the fleet's size (:mod:`cockpit.ssh.limits`);
  when the hard limit is too low, only the connections that fit are opened and every
  other host says why, instead of the process running out of descriptors;
- every host behind the same ProxyJump shares ONE jump connection (its connections are
  channels of it);
- a key file's key authenticates in one round trip, not three (``[ssh] sign_first``,
  :mod:`cockpit.ssh.directauth`): two round trips less per handshake under the cap;
- keepalives are stretched for large fleets (at most ``KEEPALIVE_RATE`` a second over the
  fleet: 1,000 hosts ping every 50 s) and spread by ±10 % so they do not ping in step.

Events passed to ``on_event(host, event, detail)``: ``connecting``, ``connected``,
``reconnecting`` (detail: why), ``down`` (detail: why); and once, for host ``"*"``,
``limits`` (detail: the open-file limit notice) when the limit is too low. ``on_event``
must not block.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field

import asyncssh

from cockpit.profile.model import Profile
from cockpit.ssh.errors import SshError, describe, is_transient
from cockpit.ssh.hostkeys import VerifyingClient, refusal
from cockpit.ssh.limits import FdBudget, ensure_fd_limit
from cockpit.ssh.settings import ConnectSettings, SshSetupError, load_settings

log = logging.getLogger(__name__)

EventHandler = Callable[[str, str, str], None]
BACKOFF: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
RECONNECT_ATTEMPTS = 8  # then the host stays "down: …" until a caller asks for it again
MAX_SESSIONS = 9  # sshd's default MaxSessions is 10: one is left for a stop's kill session (pty = false)
HANDSHAKE_RETRIES = 5  # a handshake reset or lost before it completed (dropped by MaxStartups)
REFUSED_RETRIES = 2  # connection refused: a full listen backlog, or (mostly) nothing listening
RETRY_BASE = 0.2  # first retry after 0.1-0.2 s, then doubling, at most RETRY_CAP
RETRY_CAP = 3.0
KEEPALIVE_SPREAD = 0.1
KEEPALIVE_RATE = 20.0  # keepalives a second over the whole fleet, at most: 1,000 hosts ping every 50 s


def keepalive_interval(configured: float, hosts: int) -> float:
    """``[ssh] keepalive``, stretched so the fleet sends at most ``KEEPALIVE_RATE`` keepalives a second.

    Each keepalive costs a wake-up and a round trip on both ends; 1,000 connections at
    15 s would be 67 a second, a few percent of a core while idle. Stretched, a dead
    connection is noticed later (interval x ``keepalive_count_max``); a step on it fails at
    its timeout at the latest.
    """
    if configured <= 0:
        return configured
    return max(configured, hosts / KEEPALIVE_RATE)


def retry_delay(attempt: int) -> float:
    """Seconds before retry ``attempt`` (0-based): doubling, capped, "equal jitter" (half to full)."""
    ceiling = min(RETRY_CAP, RETRY_BASE * 2**attempt)
    return random.uniform(ceiling / 2, ceiling)


@dataclass
class PoolStats:
    """Counters for tests and benchmarks: handshakes in flight now / at most, retries made."""

    handshakes_now: int = 0
    handshakes_max: int = 0
    retries: int = 0


class _NotConnected(Exception):
    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


def _why(exc: BaseException, client: VerifyingClient, settings: ConnectSettings) -> tuple[str, bool]:
    """``(reason, permanent)`` for a failed connect, naming a refused host key's fingerprint."""
    if isinstance(exc, _NotConnected):
        return exc.reason, exc.permanent
    if isinstance(exc, asyncssh.HostKeyNotVerifiable) and client.refused is not None:
        return refusal(client.refused, settings.known_hosts, settings.known_hosts_path), True
    return describe(exc, timeout=settings.connect_timeout)


@dataclass
class _Host:
    name: str
    conn: asyncssh.SSHClientConnection | None = None
    client: VerifyingClient | None = None
    state: str = "down: not connected yet"
    opened: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    sessions: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(MAX_SESSIONS))
    reconnector: asyncio.Task[None] | None = None


def profile_hosts(profile: Profile) -> list[str]:
    """Every host of every group, once, in profile order."""
    return list(dict.fromkeys(h for group in profile.hosts.values() for h in group))


class SshPool:
    def __init__(
        self,
        profile: Profile,
        on_event: EventHandler | None = None,
        *,
        backoff: tuple[float, ...] = BACKOFF,
    ) -> None:
        self._profile = profile
        self._on_event = on_event
        self._backoff = backoff
        self._hosts: dict[str, _Host] = {}
        self._settings: ConnectSettings | None = None
        self._closed = False
        self._jumps: dict[str, asyncssh.SSHClientConnection] = {}
        self._jump_lock = asyncio.Lock()
        self._handshakes = asyncio.Semaphore(max(1, profile.ssh.handshakes))
        self._sockets: set[VerifyingClient] = set()  # direct connections holding a socket
        self.stats = PoolStats()
        self._fleet = len(profile_hosts(profile))
        self.budget: FdBudget = ensure_fd_limit(self._fleet, max(1, profile.ssh.handshakes))
        self.limit_notice: str | None = self.budget.notice
        self._limit_told = False  # the notice goes out once, as a ("*", "limits", notice) event

    # -- public -------------------------------------------------------------------------

    async def connect_all(self, hosts: Iterable[str] | None = None) -> dict[str, str | None]:
        """Open every host's connection concurrently: host -> error message (``"web-1: …"``) or None."""
        names = list(dict.fromkeys(profile_hosts(self._profile) if hosts is None else hosts))

        async def one(host: str) -> str | None:
            try:
                await self.connection(host)
            except SshError as exc:
                return str(exc)
            return None

        return dict(zip(names, await asyncio.gather(*(one(h) for h in names)), strict=True))

    async def connection(self, host: str) -> asyncssh.SSHClientConnection:
        """The open connection to ``host``; opens it now if needed (raises :class:`SshError`)."""
        h = self._host(host)
        if h.conn is not None:
            return h.conn
        if self.limit_notice and not self._limit_told:  # said once, before the first connect
            self._limit_told = True
            self._emit("*", "limits", self.limit_notice)
        async with h.lock:
            if h.conn is not None:
                return h.conn
            return await self._open(h)

    def state(self, host: str) -> str:
        """``connected`` | ``connecting`` | ``reconnecting`` | ``down: reason``."""
        return self._host(host).state

    def opened(self, host: str) -> int:
        """How many times a connection to ``host`` was opened (1 while it has never dropped)."""
        return self._host(host).opened

    @contextlib.asynccontextmanager
    async def session_slot(self, host: str) -> AsyncIterator[None]:
        """Hold one of the host's ``MAX_SESSIONS`` channel slots while a command runs."""
        async with self._host(host).sessions:
            yield

    async def close(self) -> None:
        """Close every connection and stop reconnecting."""
        self._closed = True
        tasks = [h.reconnector for h in self._hosts.values() if h.reconnector is not None]
        for task in tasks:
            task.cancel()
        conns = [h.conn for h in self._hosts.values() if h.conn is not None]
        conns += list(self._jumps.values())
        self._jumps.clear()
        for h in self._hosts.values():
            h.conn = h.client = None
            h.state = "down: closed"
        for conn in conns:
            conn.close()
        if conns or tasks:
            await asyncio.wait(
                [*tasks, *(asyncio.ensure_future(c.wait_closed()) for c in conns)], timeout=5
            )

    # -- internals ----------------------------------------------------------------------

    def _host(self, host: str) -> _Host:
        h = self._hosts.get(host)
        if h is None:
            h = self._hosts[host] = _Host(host)
        return h

    def _emit(self, host: str, event: str, detail: str = "") -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(host, event, detail)
        except Exception:  # a broken listener must not break the connections
            log.exception("on_event listener failed for %s %s", host, event)

    def _load(self, host: str) -> ConnectSettings:
        if self._settings is None:
            try:
                self._settings = load_settings(self._profile.ssh, self._profile.host_vars)
            except SshSetupError as exc:
                raise SshError(host, str(exc), permanent=True) from None
        return self._settings

    async def _open(self, h: _Host) -> asyncssh.SSHClientConnection:
        """One connect, retried after a jittered backoff when refused or reset. Caller holds ``h.lock``."""
        if self._closed:
            raise SshError(h.name, "connection pool is closed", permanent=True)
        settings = self._load(h.name)
        if h.opened == 0:
            h.state = "connecting"
            self._emit(h.name, "connecting")
        attempt = 0
        while True:
            client = VerifyingClient(lambda c, exc: self._lost(h, c, exc), direct_auth=settings.sign_first)
            try:
                conn = await self._connect(settings, h.name, client)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                retries = REFUSED_RETRIES if isinstance(exc, ConnectionRefusedError) else HANDSHAKE_RETRIES
                if (is_transient(exc) and client.refused is None and attempt < retries
                        and not self._closed):
                    self.stats.retries += 1
                    await asyncio.sleep(retry_delay(attempt))
                    attempt += 1
                    continue
                reason, permanent = _why(exc, client, settings)
                if h.state != "reconnecting" or permanent:
                    h.state = f"down: {reason}"
                self._emit(h.name, "down", reason)
                raise SshError(h.name, reason, permanent=permanent) from None
            if self._closed:
                conn.close()
                raise SshError(h.name, "connection pool is closed", permanent=True)
            h.conn, h.client = conn, client
            h.opened += 1
            h.state = "connected"
            self._emit(h.name, "connected")
            return conn

    async def _connect(
        self, settings: ConnectSettings, host: str, client: VerifyingClient
    ) -> asyncssh.SSHClientConnection:
        """One handshake under the fleet-wide cap; a direct one only if a file descriptor is free for it."""
        tunnel = await self._tunnel(settings, host)
        if tunnel is None:
            if len(self._sockets) + len(self._jumps) >= self.budget.connections:
                raise _NotConnected(
                    f"not connected: the open-file limit ({self.budget.soft}) leaves room for "
                    f"{self.budget.connections} connections; raise it (ulimit -n {self.budget.wanted})",
                    permanent=False,
                )
            self._sockets.add(client)
        try:
            with settings.kwargs(host) as kwargs:
                if tunnel is not None:
                    kwargs["tunnel"] = tunnel
                if kwargs.get("keepalive_interval"):
                    kwargs["keepalive_interval"] = keepalive_interval(kwargs["keepalive_interval"], self._fleet) \
                        * random.uniform(1 - KEEPALIVE_SPREAD, 1 + KEEPALIVE_SPREAD)
                address = kwargs.pop("host", None) or settings.address(host)
                async with self._handshake():
                    return await asyncssh.connect(address, client_factory=lambda: client, **kwargs)
        except BaseException:
            self._sockets.discard(client)
            raise

    @contextlib.asynccontextmanager
    async def _handshake(self) -> AsyncIterator[None]:
        async with self._handshakes:
            self.stats.handshakes_now += 1
            self.stats.handshakes_max = max(self.stats.handshakes_max, self.stats.handshakes_now)
            try:
                yield
            finally:
                self.stats.handshakes_now -= 1

    async def _tunnel(self, settings: ConnectSettings, host: str) -> asyncssh.SSHClientConnection | None:
        """The connection to ``host``'s ProxyJump, shared by every host behind it.

        Opened here rather than by asyncssh so that jump hosts are checked against the
        profile's known_hosts too (asyncssh would use ~/.ssh/known_hosts for them).
        """
        spec = settings.proxy_jump(host)
        if spec is None:
            return None
        async with self._jump_lock:
            conn = self._jumps.get(spec)
            if conn is not None and not conn.is_closed():
                return conn
            prev: asyncssh.SSHClientConnection | None = None
            for hop in spec.split(","):
                user, _, name = hop.strip().rpartition("@")
                port: int | None = None
                if ":" in name:
                    name, _, port_text = name.rpartition(":")
                    if not port_text.isdigit():
                        raise _NotConnected(f"bad ProxyJump {spec!r}", permanent=True)
                    port = int(port_text)
                client = VerifyingClient(lambda c, exc: None, direct_auth=settings.sign_first)
                try:
                    with settings.kwargs(name) as kwargs:
                        kwargs.update({"username": user} if user else {})
                        kwargs.update({"port": port} if port else {})
                        kwargs.update({"tunnel": prev} if prev is not None else {})
                        target = kwargs.pop("host", None) or name
                        async with self._handshake():
                            prev = await asyncssh.connect(target, client_factory=lambda c=client: c, **kwargs)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    reason, permanent = _why(exc, client, settings)
                    raise _NotConnected(f"via jump host {name}: {reason}", permanent=permanent) from None
            self._jumps[spec] = prev  # type: ignore[assignment]  # not None: split() gives at least one hop
            return prev

    def _lost(self, h: _Host, client: VerifyingClient, exc: Exception | None) -> None:
        """An open connection went away (called by asyncssh, also for failed handshakes and our close)."""
        self._sockets.discard(client)
        if self._closed or h.client is not client:
            return
        reason = describe(exc, timeout=0)[0] if exc is not None else "connection closed"
        h.conn = h.client = None
        h.state = "reconnecting"
        self._emit(h.name, "reconnecting", reason)
        if h.reconnector is None or h.reconnector.done():
            h.reconnector = asyncio.get_running_loop().create_task(self._reconnect(h))

    async def _reconnect(self, h: _Host) -> None:
        """Reopen a dropped connection with backoff, unless a caller already did."""
        for attempt in range(RECONNECT_ATTEMPTS):
            await asyncio.sleep(self._backoff[min(attempt, len(self._backoff) - 1)])
            async with h.lock:
                if self._closed or h.conn is not None:
                    return
                try:
                    await self._open(h)
                    return
                except SshError as exc:
                    if exc.permanent or attempt == RECONNECT_ATTEMPTS - 1:
                        h.state = f"down: {exc.reason}"
                        return
                    h.state = "reconnecting"
                    self._emit(h.name, "reconnecting", f"{exc.reason}; retrying")
