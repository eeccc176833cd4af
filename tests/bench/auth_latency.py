"""What one-round-trip authentication (``[ssh] sign_first``) saves on a path with latency.

    .venv/bin/python tests/bench/auth_latency.py [--hosts 64] [--delay-ms 25] [--repeat 4]

Loopback has no latency to speak of and this machine cannot add any (its kernel has no
``netem``), so every host is reached through an asyncio TCP proxy on its own 127.1.x
address that holds each chunk ``--delay-ms`` in each direction (a round trip of twice
that, as to hosts behind a bastion across a WAN). The proxy keeps the order of the
bytes and adds one round trip for the TCP handshake. Cockpit's pool connects every
host with its handshake cap (8), ``sign_first`` on and off in alternation; the figure is
the median time to have every host connected. Not a timed test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from cockpit.ssh.pool import SshPool  # noqa: E402
from tests.bench import fanout_peers as peers  # noqa: E402
from tests.bench.fleet import addresses  # noqa: E402
from tests.runner.cluster import running_cluster  # noqa: E402


class DelayProxy:
    """Forward ``listen:port`` to ``target:tport``, holding every chunk ``delay`` seconds each way."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.tasks: set[asyncio.Task[None]] = set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                loop.call_later(self.delay, writer.write, data)   # same delay for all: order kept
        loop.call_later(self.delay, writer.close)

    async def start(self, listen: str, port: int, target: str, tport: int) -> asyncio.Server:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self.tasks.add(task)
            try:
                treader, twriter = await asyncio.open_connection(target, tport)
                await asyncio.sleep(2 * self.delay)   # the TCP handshake's round trip
                await asyncio.gather(self._pipe(reader, twriter), self._pipe(treader, writer))
            except asyncio.CancelledError:
                pass   # stopped by stop(): asyncio's server would log a cancelled handler as an error
            finally:
                self.tasks.discard(task)

        return await asyncio.start_server(handle, listen, port)

    async def stop(self, servers: list[asyncio.Server]) -> None:
        for server in servers:
            server.close()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def measure(hosts: int, delay: float, repeat: int) -> None:
    real = addresses(hosts)
    with tempfile.TemporaryDirectory(prefix="cockpit-auth-latency-") as tmp, \
            running_cluster(Path(tmp), real) as cluster:
        work = Path(tmp)
        port = cluster.port + 1
        proxied = {name: addr.replace("127.0.", "127.1.", 1) for name, addr in real.items()}
        proxy = DelayProxy(delay)
        servers = [await proxy.start(proxied[name], port, addr, cluster.port) for name, addr in real.items()]
        try:
            known = work / "known_hosts_proxied"
            known.write_text("".join(f"[{a}]:{port} ssh-ed25519 {cluster.host_key_line()}\n"
                                     for a in proxied.values()))
            config = work / "ssh_config_proxied"
            config.write_text("".join(f"Host {name}\n  HostName {a}\n  Port {port}\n  User {cluster.user}\n"
                                      f"  IdentityFile {cluster.client_key}\n" for name, a in proxied.items()))
            base = peers.Fleet(proxied, port, cluster.user, config, known, cluster.client_key, work).profile()
            runs: dict[bool, list[float]] = {True: [], False: []}
            for turn in range(repeat):
                for sign_first in (True, False) if turn % 2 else (False, True):
                    pool = SshPool(replace(base, ssh=replace(base.ssh, sign_first=sign_first)))
                    t0 = time.perf_counter()
                    errors = await pool.connect_all()
                    runs[sign_first].append(time.perf_counter() - t0)
                    await pool.close()
                    lost = [h for h, e in errors.items() if e is not None]
                    if lost:
                        raise SystemExit(f"{len(lost)} hosts not connected, e.g. {errors[lost[0]]}")
            on, off = statistics.median(runs[True]), statistics.median(runs[False])
            cap = base.ssh.handshakes
            print(f"{hosts} hosts, {delay * 2000:g} ms round trip, {cap} handshakes at a time, medians of {repeat}:")
            print(f"  sign_first = true   {on:6.2f} s   {on / hosts * cap * 1000:5.0f} ms a handshake")
            print(f"  sign_first = false  {off:6.2f} s   {off / hosts * cap * 1000:5.0f} ms a handshake")
            print(f"  saved {1 - on / off:.0%}")
        finally:
            await proxy.stop(servers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=64)
    parser.add_argument("--delay-ms", type=float, default=25.0, help="one way; the round trip is twice this")
    parser.add_argument("--repeat", type=int, default=4)
    args = parser.parse_args(argv)
    asyncio.run(measure(args.hosts, args.delay_ms / 1000, args.repeat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
