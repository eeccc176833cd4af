"""The client's side of one fan-out on open connections: wall time and this process's CPU, by layer.

    .venv/bin/python tests/bench/fanout_cpu.py [--hosts 1000] [--repeat 8]

On a 2-core machine the sshds' fork per session takes most of the CPU, so wall times
move by ±15 % from run to run; the client's own CPU (``getrusage``) is the steadier
figure for what cockpit adds. Every variant runs ``sleep 0.2; echo ok`` on the same
connections (cockpit's pool, the same cipher), in a rotated order each repeat:

- ``floor``: bare ``conn.run(cmd)``, no pty (the issue's floor);
- ``floor, pty``: bare ``conn.run(cmd, term_type="dumb")``, as cockpit runs commands in a pty;
- ``floor, pty + ^D``: the same, typing the one ``^D`` cockpit types;
- ``run_command``: cockpit's command layer (``cockpit/ssh/command.py``) alone;
- ``Runner``: the whole step (``Runner.run``: session slots, per-host results);
- the last two again with ``pty = false`` (no terminal; the shell tells its pid first).

The ``gc`` columns: this process's time in garbage collections during the variant, and its
longest single collection (the event loop, and so the screen, stands still that long).

Beside the client's CPU, the sshds' (every ``sshd*`` process and the session processes it has
reaped, from ``/proc/<pid>/stat``; run it with no other sshd busy): the work a variant costs the hosts.

Not a timed test: it prints medians.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import asyncssh  # noqa: E402

from cockpit.runner import Runner  # noqa: E402
from cockpit.ssh.command import EOF_KEY, run_command  # noqa: E402
from cockpit.ssh.pool import SshPool  # noqa: E402
from tests.bench import fanout_peers as peers  # noqa: E402
from tests.bench.fleet import COMMAND, MAX_STARTUPS, addresses, floor_fanout  # noqa: E402
from tests.runner.cluster import running_cluster  # noqa: E402


class CollectorClock:
    """Time this process spends in garbage collections (``gc.callbacks``): in all, and the longest
    single one (a pause of the event loop: the screen and every connection wait)."""

    def __init__(self) -> None:
        self.total = self.longest = self._start = 0.0
        gc.callbacks.append(self._tick)

    def _tick(self, phase: str, info: dict[str, int]) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._start = now
        else:
            self.total += now - self._start
            self.longest = max(self.longest, now - self._start)

    def reset(self) -> None:
        self.total = self.longest = 0.0


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def floor_with_eof(conns: list[asyncssh.SSHClientConnection]) -> int:
    async def one(conn: asyncssh.SSHClientConnection) -> bool:
        proc = await conn.create_process(COMMAND, term_type="dumb")
        with contextlib.suppress(BrokenPipeError, asyncssh.ProtocolError):
            proc.stdin.write(EOF_KEY)
        return (await proc.wait()).exit_status == 0

    return sum(await asyncio.gather(*(one(c) for c in conns)))


def server_cpu() -> float:
    """CPU seconds of every sshd process on the machine (listeners, per-connection ``sshd-session``
    processes) with the session processes each has reaped: a session's shell is reaped before its
    exit status is sent. (Parents are not followed: here sshd's children show up reparented.)"""
    ticks = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/stat") as f:
                head, _, rest = f.read().rpartition(")")
            if head.partition("(")[2].startswith("sshd"):
                ticks += sum(int(x) for x in rest.split()[11:15])   # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


async def command_layer(conns: list[asyncssh.SSHClientConnection], pty: bool = True) -> int:
    async def one(conn: asyncssh.SSHClientConnection) -> bool:
        lines: list[str] = []
        return await run_command(conn, COMMAND, timeout=60, on_line=lines.append, pty=pty) == 0 and lines == ["ok"]

    return sum(await asyncio.gather(*(one(c) for c in conns)))


async def measure(fleet: peers.Fleet, repeat: int) -> None:
    pool = SshPool(fleet.profile())
    try:
        errors = await pool.connect_all()
        conns = [await pool.connection(h) for h, e in errors.items() if e is None]
        runner = Runner(fleet.profile(), pool)

        async def floor(pty: bool) -> int:
            return (await floor_fanout(conns, pty=pty))[1]

        variants: dict[str, Callable[[], Awaitable[int]]] = {
            "floor": lambda: floor(False),
            "floor, pty": lambda: floor(True),
            "floor, pty + ^D": lambda: floor_with_eof(conns),
            "run_command": lambda: command_layer(conns),
            "Runner": lambda: peers.cockpit_open(runner, COMMAND),
            "run_command, no pty": lambda: command_layer(conns, pty=False),
            "Runner, no pty": lambda: peers.cockpit_open(runner, COMMAND, pty=False),
        }
        runs: dict[str, list[tuple[float, float, float, float, float, int]]] = {name: [] for name in variants}
        names = list(variants)
        collector = CollectorClock()
        for turn in range(repeat):
            for name in names[turn % len(names):] + names[:turn % len(names)]:
                collector.reset()
                c0, s0, t0 = cpu(), server_cpu(), time.perf_counter()
                ok = await variants[name]()
                wall = time.perf_counter() - t0
                runs[name].append((wall, cpu() - c0, server_cpu() - s0, collector.total, collector.longest, ok))
        base = [statistics.median(r[i] for r in runs["floor"]) for i in range(3)]
        print(f"  {'':<20} {'wall':>8} {'x':>6} {'client CPU':>11} {'x':>6} {'sshd CPU':>9} {'x':>6}"
              f" {'gc':>6} {'longest':>8}  ok")
        for name, got in runs.items():
            wall, used, server, in_gc, longest = (statistics.median(r[i] for r in got) for i in range(5))
            print(f"  {name:<20} {wall:7.2f}s {wall / base[0]:5.2f}x {used:10.2f}s {used / base[1]:5.2f}x"
                  f" {server:8.2f}s {server / base[2]:5.2f}x {in_gc:5.2f}s {longest * 1000:6.0f}ms"
                  f"  {min(r[5] for r in got)}/{len(conns)}", flush=True)
    finally:
        await pool.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=8)
    args = parser.parse_args(argv)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    hosts = addresses(args.hosts)
    with tempfile.TemporaryDirectory(prefix="cockpit-fanout-cpu-") as tmp, \
            running_cluster(Path(tmp), hosts, max_startups=MAX_STARTUPS) as cluster:
        fleet = peers.Fleet(hosts, cluster.port, cluster.user, cluster.ssh_config, cluster.known_hosts,
                            cluster.client_key, Path(tmp))
        print(f"fan-out client CPU: {args.hosts} hosts, `{COMMAND}`, medians of {args.repeat}", flush=True)
        asyncio.run(measure(fleet, args.repeat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
