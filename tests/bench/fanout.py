"""Fan-out benchmark: one command on N hosts, cockpit against the floor and the usual tools.

    .venv/bin/python tests/bench/fanout.py [--sizes 10,50,200] [--repeat 5] [--methods a,b]

The hosts are real OpenSSH sshds on loopback, one 127.x address per host (an sshd
listens on 16 addresses at most, so N hosts take ceil(N/16) sshds on one port).
Prints, per N, each method's median wall time over ``--repeat`` runs, its ratio to
the bare-asyncssh floor and how many hosts answered ok. Not a timed test.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cockpit.runner import Runner
from cockpit.ssh.pool import SshPool
from tests.bench import fanout_peers as peers
from tests.runner.cluster import running_cluster

COMMAND = "sleep 0.2; echo ok"
FLOOR = "asyncssh gather (floor)"
NO_CONFIG = "asyncssh (no ssh config)"
SLOW_ONCE_AT = 100  # the sequential ssh loop runs once when N >= this
SUBPROCESS: dict[str, Callable[[peers.Fleet, str], int]] = {
    "ssh loop (sequential)": peers.ssh_loop,
    "xargs -P N ssh": peers.xargs_ssh,
    "parallel-ssh (pssh cmd)": peers.pssh_command,
    "parallel-ssh (python)": peers.parallel_ssh_lib,
    "ansible ad-hoc -f N": peers.ansible_adhoc,
}
IN_PROCESS = ["cockpit fresh", "cockpit open", FLOOR, NO_CONFIG]
METHODS = [*IN_PROCESS, *SUBPROCESS]


def addresses(n: int) -> dict[str, str]:
    return {f"n{i:03d}": f"127.0.{10 + i // 250}.{i % 250 + 1}" for i in range(n)}


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    t0 = time.perf_counter()
    ok = fn()
    return time.perf_counter() - t0, ok


async def measure_async(fleet: peers.Fleet, methods: list[str], repeat: int) -> dict[str, list[tuple[float, int]]]:
    out: dict[str, list[tuple[float, int]]] = {m: [] for m in methods if m in IN_PROCESS}
    for _ in range(repeat):
        if "cockpit fresh" in out:
            t0 = time.perf_counter()
            ok = await peers.cockpit_fresh(fleet, COMMAND)
            out["cockpit fresh"].append((time.perf_counter() - t0, ok))
        if FLOOR in out:
            t0 = time.perf_counter()
            ok = await peers.asyncssh_floor(fleet, COMMAND)
            out[FLOOR].append((time.perf_counter() - t0, ok))
        if NO_CONFIG in out:
            t0 = time.perf_counter()
            ok = await peers.asyncssh_no_config(fleet, COMMAND)
            out[NO_CONFIG].append((time.perf_counter() - t0, ok))
    if "cockpit open" in out:
        profile = fleet.profile()
        pool = SshPool(profile)
        try:
            errors = await pool.connect_all()
            down = [e for e in errors.values() if e]
            if down:
                print(f"  cockpit open: {len(down)} hosts not connected, e.g. {down[0]}")
            runner = Runner(profile, pool)
            for _ in range(repeat):
                t0 = time.perf_counter()
                ok = await peers.cockpit_open(runner, COMMAND)
                out["cockpit open"].append((time.perf_counter() - t0, ok))
        finally:
            await pool.close()
    return out


def run_size(n: int, methods: list[str], repeat: int, root: Path) -> dict[str, list[tuple[float, int]]]:
    hosts = addresses(n)
    with running_cluster(root / f"n{n}", hosts) as cluster:
        fleet = peers.Fleet(hosts, cluster.port, cluster.user, cluster.ssh_config, cluster.known_hosts,
                            cluster.client_key, root / f"n{n}")
        results = asyncio.run(measure_async(fleet, methods, repeat))
        for name, fn in SUBPROCESS.items():
            if name not in methods:
                continue
            times = 1 if (name.startswith("ssh loop") and n >= SLOW_ONCE_AT) else repeat
            results[name] = []
            for _ in range(times):
                try:
                    results[name].append(timed(lambda fn=fn: fn(fleet, COMMAND)))
                except Exception as exc:  # a peer tool missing or crashing: say so, go on
                    print(f"  {name}: {type(exc).__name__}: {exc}")
                    break
    return results


def print_table(n: int, results: dict[str, list[tuple[float, int]]]) -> None:
    floor = statistics.median(t for t, _ in results[FLOOR]) if results.get(FLOOR) else None
    print(f"\nN = {n} hosts, `{COMMAND}`")
    print(f"  {'method':<26} {'median s':>9} {'x floor':>8} {'runs':>5} {'ok hosts (min)':>15}")
    for name in METHODS:
        runs = results.get(name)
        if not runs:
            continue
        med = statistics.median(t for t, _ in runs)
        ratio = f"{med / floor:.2f}" if floor else "-"
        print(f"  {name:<26} {med:>9.3f} {ratio:>8} {len(runs):>5} {min(ok for _, ok in runs):>11}/{n}")
    peer_medians = [statistics.median(t for t, _ in results[m]) for m in SUBPROCESS if results.get(m)]
    for mine in ("cockpit fresh", "cockpit open"):
        if results.get(mine) and peer_medians:
            best = min(peer_medians)
            print(f"  {mine}: {best / statistics.median(t for t, _ in results[mine]):.1f}x faster than the best peer")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,50,200")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of: " + ", ".join(METHODS))
    args = parser.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        parser.error(f"unknown method(s): {', '.join(unknown)}")
    with tempfile.TemporaryDirectory(prefix="cockpit-fanout-") as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            print_table(n, run_size(n, methods, args.repeat, Path(tmp)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
