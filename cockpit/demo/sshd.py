"""The demo hosts' SSH server: asyncssh in-process, one listener per host, keys verified as usual.

Addressing (why 127.0.0.x): the client path stays the real one, host key
verification included. Each demo host listens on its own loopback address
(``127.0.0.11`` for the first host, ``.12`` for the second, ...; Linux routes
all of 127/8 to ``lo``) on one shared ephemeral port, with its own throwaway
host key. A generated OpenSSH client config maps each name to its address
(``Host web-1`` / ``HostName 127.0.0.11`` / ``Port N``) and a generated
known_hosts holds ``[127.0.0.11]:N`` entries, so a wrong key, a missing entry or
a confused host is refused exactly as with real servers. Where extra loopback
addresses cannot be bound (macOS), every host gets its own port on 127.0.0.1
instead; the known_hosts entries are then ``[127.0.0.1]:N`` per port.

Commands run through `cockpit.demo.shell` against the shared simulation. A
session with a pty (the runner's way: closing it hangs the command up) gets
what a terminal shows: stderr merged into stdout, ``\\r\\n`` line endings, and
questions asked on the terminal (``^D`` answers end of input).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from cockpit.demo.script import Ask, Out, Script, Wait
from cockpit.demo.shell import run_command
from cockpit.demo.sim import AcademySim

log = logging.getLogger(__name__)

FIRST_ADDRESS = 11  # 127.0.0.11 is the first host
_BIND_ATTEMPTS = 20


@dataclass(frozen=True)
class Endpoint:
    host: str
    address: str
    port: int
    key: asyncssh.SSHKey


class _Server(asyncssh.SSHServer):
    def __init__(self, owner: DemoSshd) -> None:
        self._owner = owner
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._owner.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._owner.connections.discard(self._conn)


class DemoSshd:
    """SSH servers for ``hosts``, writing their client config, known_hosts and client key into ``workdir``."""

    def __init__(self, sim: AcademySim, hosts: Sequence[str], workdir: Path, *, user: str = "deploy") -> None:
        self.sim = sim
        self.hosts = tuple(hosts)
        self.workdir = workdir
        self.user = user
        self.endpoints: dict[str, Endpoint] = {}
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self._listeners: list[asyncssh.SSHAcceptor] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.client_key_path = workdir / "id_ed25519"
        self.known_hosts_path = workdir / "known_hosts"
        self.config_path = workdir / "ssh_config"

    async def start(self) -> None:
        client_key = asyncssh.generate_private_key("ssh-ed25519", comment="cockpit-demo-client")
        client_key.write_private_key(str(self.client_key_path))
        os.chmod(self.client_key_path, 0o600)
        authorized = asyncssh.import_authorized_keys(client_key.export_public_key().decode())
        keys = {
            h: asyncssh.generate_private_key("ssh-ed25519", comment=f"cockpit-demo-{h}") for h in self.hosts
        }
        try:
            await self._bind_shared_port(keys, authorized)
        except OSError as exc:
            if exc.errno != errno.EADDRNOTAVAIL:
                raise
            await self._bind_ports_on_localhost(keys, authorized)
        self._write_client_files()

    async def _listen(
        self, host: str, address: str, port: int, key: asyncssh.SSHKey, authorized: asyncssh.SSHAuthorizedKeys
    ) -> Endpoint:
        acceptor = await asyncssh.create_server(
            functools.partial(_Server, self),
            address,
            port,
            server_host_keys=[key],
            authorized_client_keys=authorized,
            process_factory=functools.partial(self._process, host),
            encoding="utf-8",
            line_editor=False,
            allow_scp=False,
            sftp_factory=None,
            login_timeout=10,
        )
        self._listeners.append(acceptor)
        sockets = acceptor.sockets
        return Endpoint(host, address, sockets[0].getsockname()[1] if port == 0 else port, key)

    async def _bind_shared_port(
        self, keys: dict[str, asyncssh.SSHKey], authorized: asyncssh.SSHAuthorizedKeys
    ) -> None:
        last: OSError | None = None
        for _ in range(_BIND_ATTEMPTS):
            try:
                port = 0
                for i, host in enumerate(self.hosts):
                    ep = await self._listen(
                        host, f"127.0.0.{FIRST_ADDRESS + i}", port, keys[host], authorized
                    )
                    port = ep.port
                    self.endpoints[host] = ep
                return
            except OSError as exc:
                await self._close_listeners()
                self.endpoints.clear()
                if exc.errno != errno.EADDRINUSE:
                    raise
                last = exc
        raise OSError(errno.EADDRINUSE, f"no port free on every demo address: {last}")

    async def _bind_ports_on_localhost(
        self, keys: dict[str, asyncssh.SSHKey], authorized: asyncssh.SSHAuthorizedKeys
    ) -> None:
        for host in self.hosts:
            self.endpoints[host] = await self._listen(host, "127.0.0.1", 0, keys[host], authorized)

    def _write_client_files(self) -> None:
        config = ["# cockpit demo: generated, points the demo host names at the in-process SSH servers"]
        known = []
        for host, ep in self.endpoints.items():
            config += [
                f"Host {host}",
                f"    HostName {ep.address}",
                f"    Port {ep.port}",
                f"    User {self.user}",
                f"    IdentityFile {self.client_key_path}",
                "    IdentitiesOnly yes",
                f"    UserKnownHostsFile {self.known_hosts_path}",
                "",
            ]
            known.append(f"[{ep.address}]:{ep.port} {ep.key.export_public_key().decode().strip()}")
        self.config_path.write_text("\n".join(config))
        self.known_hosts_path.write_text("\n".join(known) + "\n")

    async def _close_listeners(self) -> None:
        for acceptor in self._listeners:
            acceptor.close()
        for acceptor in self._listeners:
            await acceptor.wait_closed()
        self._listeners.clear()

    async def stop(self) -> None:
        await self._close_listeners()
        for task in list(self._tasks):
            task.cancel()
        for conn in list(self.connections):
            conn.close()
        for conn in list(self.connections):
            with contextlib.suppress(Exception):
                await conn.wait_closed()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # ------------------------------------------------------------------ sessions

    async def _process(self, host: str, process: asyncssh.SSHServerProcess[str]) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            command = process.command
            if not command:
                process.stdout.write(f"{host}: cockpit demo host; interactive shells are not simulated.\r\n")
                process.exit(1)
                return
            status = await _Player(self.sim, process).play(run_command(self.sim, host, command))
            if status is not None:
                process.exit(status)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                process.exit(143)
        except (asyncssh.Error, OSError):
            pass  # the client went away
        except Exception:
            # a bug in the simulation must not look like a hung host: say so and fail the command
            log.exception("demo host %s failed on %r", host, process.command)
            with contextlib.suppress(Exception):
                process.stderr.write(f"{host}: cockpit demo: internal error (see the log)\r\n")
                process.exit(70)
        finally:
            self._tasks.discard(task)


class _Player:
    """Plays a script on a live SSH session, in (speed-compressed) real time."""

    def __init__(self, sim: AcademySim, process: asyncssh.SSHServerProcess[str]) -> None:
        self.sim = sim
        self.process = process
        self.pty = process.term_type is not None
        self.eol = "\r\n" if self.pty else "\n"
        self._closed = asyncio.ensure_future(process.channel.wait_closed())

    async def play(self, script: Script) -> int | None:
        """The exit status, or None when the client hung up first (the script is stopped there)."""
        try:
            action = next(script)
            while True:
                answer: str | None = None
                if self._closed.done():
                    script.close()
                    return None
                if isinstance(action, Out):
                    stream = self.process.stderr if action.stderr and not self.pty else self.process.stdout
                    stream.write(action.text + self.eol)
                elif isinstance(action, Wait):
                    if not await self._sleep(action.seconds / self.sim.speed):
                        script.close()
                        return None
                elif isinstance(action, Ask):
                    answer = await self._ask(action.prompt)
                self.sim.sync()
                action = script.send(answer)
        except StopIteration as stop:
            return int(stop.value or 0)
        finally:
            self._closed.cancel()

    async def _sleep(self, seconds: float) -> bool:
        """Wait; False if the channel closed meanwhile."""
        if seconds <= 0:
            return not self._closed.done()
        done, _ = await asyncio.wait({self._closed}, timeout=seconds)
        return not done

    async def _ask(self, prompt: str) -> str | None:
        """A question: on a terminal, read the answer (``^D`` or EOF: None); otherwise the default."""
        if not self.pty:
            return ""
        self.process.stdout.write(prompt.replace("\n", self.eol))
        typed = ""
        while True:
            try:
                chunk = await self.process.stdin.read(1)
            except asyncssh.misc.SignalReceived:
                return None
            if not chunk or chunk == "\x04":
                self.process.stdout.write(self.eol)
                return typed or None
            if chunk in "\r\n":
                self.process.stdout.write(self.eol)
                return typed
            typed += chunk
