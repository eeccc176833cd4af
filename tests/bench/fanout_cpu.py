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
- ``Runner``: the whole step (``Runner.run``: session slots, per-host results).

Not a timed test: it prints medians.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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


async def command_layer(conns: list[asyncssh.SSHClientConnection]) -> int:
    async def one(conn: asyncssh.SSHClientConnection) -> bool:
        lines: list[str] = []
        return await run_command(conn, COMMAND, timeout=60, on_line=lines.append) == 0 and lines == ["ok"]

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
        }
        runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name in variants}
        names = list(variants)
        for turn in range(repeat):
            for name in names[turn % len(names):] + names[:turn % len(names)]:
                c0, t0 = cpu(), time.perf_counter()
                ok = await variants[name]()
                runs[name].append((time.perf_counter() - t0, cpu() - c0, ok))
        base_wall = statistics.median(w for w, _, _ in runs["floor"])
        base_cpu = statistics.median(c for _, c, _ in runs["floor"])
        print(f"  {'':<18} {'wall':>8} {'x':>6} {'client CPU':>11} {'x':>6}  ok")
        for name, got in runs.items():
            wall = statistics.median(w for w, _, _ in got)
            used = statistics.median(c for _, c, _ in got)
            print(f"  {name:<18} {wall:7.2f}s {wall / base_wall:5.2f}x {used:10.2f}s {used / base_cpu:5.2f}x"
                  f"  {min(ok for _, _, ok in got)}/{len(conns)}", flush=True)
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
