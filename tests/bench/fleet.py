"""Fleet benchmark: connecting and fanning out to 200/500/1,000 loopback hosts, against the floor and peers.

    .venv/bin/python tests/bench/fleet.py --sizes 200,500 [--repeat 3] [--idle 30] [--skip ansible,...]

The hosts are real OpenSSH sshds on 127.x addresses (16 ``ListenAddress`` each, so N hosts
take ceil(N/16) sshd processes on one port), every sshd with OpenSSH's default
``MaxStartups 10:30:100``: above 10 unauthenticated connections it drops new ones.
The command is ``sleep 0.2; echo ok``. Every figure is the median of ``--repeat`` runs
(at least 3) made in this one run, so the ratios compare like with like on a shared
machine. Printed per N:

- **connect**: cockpit's ``SshPool.connect_all`` (handshake cap ``[ssh] handshakes`` = 8,
  jittered retry) against bare asyncssh opening every host at once (the floor: by
  address, keys and known_hosts loaded once, no config file; it loses the hosts sshd
  drops), the same with its lost hosts opened again until every host is open, and bare
  asyncssh with 8 handshakes at a time; hosts lost are counted;
- **fan-out on open connections**: cockpit's ``Runner.run`` against bare
  ``asyncio.gather(conn.run(...))`` on the same open connections (cockpit's, so the same
  cipher and sshd sessions), without and with a pty (cockpit runs a command in one unless
  its step says ``pty = false``: both are measured);
  for reference the same on bare asyncssh's own connections (its default cipher); and
  parallel-ssh's ``ParallelSSHClient`` re-running on its open sessions, without and with
  a pty (measured right after the others, in each repeat). The fan-outs on cockpit's
  connections run ``--fanout-rounds`` times per repeat (2: one order, then its reverse), each
  once the machine is quiet again (85 % idle over 0.1 s, 5 s at most), and each of cockpit's
  is also divided by its floor's in the same round: the ``paired`` line gives the median of
  those ratios, their middle half and how many rounds were within 1.1x;
- **fresh (connect + run + close)**: cockpit, the asyncssh floor, parallel-ssh, the ssh
  CLI with ``xargs -P 10`` (10: under MaxStartups), ``ansible -m shell -f 50`` (200 and
  500 hosts only);
- **driver at rest**: RSS of a process holding N cockpit connections, and its CPU while
  idle with keepalives (``--idle`` seconds), beside the same for bare asyncssh;
- **behind one bastion**: every host through one ProxyJump sshd: connect and fan-out
  times, and how many connections the bastion's sshd holds (one);
- **batched step**: ``batch = [1, "10%", "25%"]`` with a gate on a live check
  (an HTTP endpoint polled every 0.5 s, 2 fresh samples), through the Controller, end
  to end; the gate's waits are reported apart from the batches' own time.

Each repeat runs the contenders in a rotated order after one warm-up connect, so that
none always pays for the cold start after a pause. Not a timed test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import asyncssh  # noqa: E402

from cockpit.runner import Runner  # noqa: E402
from cockpit.ssh.pool import SshPool  # noqa: E402
from tests.bench import fanout_peers as peers  # noqa: E402
from tests.runner.cluster import running_cluster  # noqa: E402
from tests.support.httpstub import running_stub  # noqa: E402

COMMAND = "sleep 0.2; echo ok"
MAX_STARTUPS = "10:30:100"
XARGS_P = 10
ANSIBLE_FORKS = 50
ANSIBLE_MAX_N = 500
CAP = 8

Runs = list[tuple[float, int]]


def addresses(n: int) -> dict[str, str]:
    return {f"n{i:04d}": f"127.0.{20 + i // 250}.{i % 250 + 1}" for i in range(n)}


def med(runs: Runs) -> float:
    return statistics.median(t for t, _ in runs)


# -- bare asyncssh ----------------------------------------------------------------------------


def floor_opener(fleet: peers.Fleet, cap: int | None
                 ) -> Callable[[str], Awaitable[asyncssh.SSHClientConnection | None]]:
    """Bare asyncssh's connect of one address (None: lost), keys and known_hosts loaded once,
    at most ``cap`` handshakes at a time (None: no cap)."""
    keys = asyncssh.load_keypairs([str(fleet.client_key)])
    known = asyncssh.read_known_hosts(str(fleet.known_hosts))
    gate = asyncio.Semaphore(cap) if cap else contextlib.nullcontext()

    async def one(addr: str) -> asyncssh.SSHClientConnection | None:
        try:
            async with gate:
                return await asyncssh.connect(addr, port=fleet.port, username=fleet.user, client_keys=keys,
                                              known_hosts=known, config=None)
        except (OSError, asyncssh.Error):
            return None

    return one


async def floor_connect(fleet: peers.Fleet, cap: int | None) -> tuple[float, list[asyncssh.SSHClientConnection]]:
    one = floor_opener(fleet, cap)
    t0 = time.perf_counter()
    conns = await asyncio.gather(*(one(a) for a in fleet.hosts.values()))
    return time.perf_counter() - t0, [c for c in conns if c is not None]


async def floor_fanout(conns: list[asyncssh.SSHClientConnection], pty: bool = False) -> tuple[float, int]:
    """``conn.run`` on every connection at once; ``pty``: with a terminal, as cockpit runs commands."""
    extra: dict[str, Any] = {"term_type": "dumb"} if pty else {}

    async def one(conn: asyncssh.SSHClientConnection) -> bool:
        try:
            result = await conn.run(COMMAND, **extra)
        except (OSError, asyncssh.Error):
            return False
        return result.exit_status == 0 and (result.stdout or "").strip() == "ok"

    t0 = time.perf_counter()
    ok = sum(await asyncio.gather(*(one(c) for c in conns)))
    return time.perf_counter() - t0, ok


async def close_all(conns: list[asyncssh.SSHClientConnection]) -> None:
    for c in conns:
        c.close()
    await asyncio.gather(*(c.wait_closed() for c in conns), return_exceptions=True)


# -- measurements ------------------------------------------------------------------------------


async def floor_connect_retried(fleet: peers.Fleet) -> tuple[float, list[asyncssh.SSHClientConnection]]:
    """Bare asyncssh all at once, then the hosts it lost all at once again, until every host is open.

    The uncapped floor above loses a tenth of the hosts to MaxStartups, and a lost host costs
    sshd almost nothing: this is what bare asyncssh takes to actually open every host.
    """
    one = floor_opener(fleet, None)
    t0 = time.perf_counter()
    todo, conns = list(fleet.hosts.values()), []
    for _ in range(10):
        got = await asyncio.gather(*(one(a) for a in todo))
        conns += [c for c in got if c is not None]
        todo = [a for a, c in zip(todo, got, strict=True) if c is None]
        if not todo:
            break
    return time.perf_counter() - t0, conns


CONNECT_ROWS = ("connect floor (all at once)", "connect floor (all at once, lost retried)",
                f"connect floor ({CAP} at a time)", "connect cockpit")
FANOUT_BASE = "fan-out floor, cockpit's connections"
FANOUT_ROWS = (FANOUT_BASE, "fan-out floor with a pty, cockpit's connections", "fan-out cockpit (open)",
               "fan-out cockpit, pty = false (open)",
               "fan-out floor (open), its own connections", "fan-out floor with a pty (open), its own connections",
               "fan-out parallel-ssh (open)", "fan-out parallel-ssh with a pty (open)")


# each of cockpit's fan-outs against the floor it is compared with, timed in the same round
PAIRED = (("fan-out cockpit, pty = false (open)", FANOUT_BASE),
          ("fan-out cockpit (open)", "fan-out floor with a pty, cockpit's connections"))


def paired_key(name: str) -> str:
    return f"paired: {name}"


def cpu_ticks() -> tuple[int, int]:
    """All CPU ticks and the idle ones so far, from ``/proc/stat`` (every core)."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    return sum(ticks), ticks[3] + ticks[4]   # idle + iowait


async def quiet(idle_share: float = 0.85, window: float = 0.1, at_most: float = 5.0) -> None:
    """Wait until the machine was at least ``idle_share`` idle over ``window`` seconds (at most
    ``at_most``): the session processes of the last fan-out are still being reaped when it returns,
    and the next contender would pay for them."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + at_most
    while loop.time() < give_up:
        total0, idle0 = cpu_ticks()
        await asyncio.sleep(window)
        total1, idle1 = cpu_ticks()
        if total1 > total0 and (idle1 - idle0) / (total1 - total0) >= idle_share:
            return


async def measure_connect_and_fanout(fleet: peers.Fleet, repeat: int, fresh: bool = True,
                                     pssh: bool = True, fanout_rounds: int = 2) -> dict[str, Runs]:
    """Each repeat runs the contenders in a rotated order, after one warm-up connect (not counted):
    on a 2-core machine shared with the sshds, whoever goes first after a pause pays for cold caches.

    The fan-outs on cockpit's connections run ``fanout_rounds`` times per repeat, each one after
    the machine is quiet again, and each of cockpit's is also divided by its floor's time in the
    same round (``paired: …`` rows, ratios rather than seconds): a ratio of two runs seconds apart
    does not move with what the rest of the machine does from one minute to the next.
    """
    out: dict[str, Runs] = {}

    def add(key: str, result: tuple[float, int]) -> None:
        out.setdefault(key, []).append(result)

    async def uncapped() -> None:
        took, conns = await floor_connect(fleet, None)
        add(CONNECT_ROWS[0], (took, len(conns)))
        await close_all(conns)

    async def uncapped_retried() -> None:
        took, conns = await floor_connect_retried(fleet)
        add(CONNECT_ROWS[1], (took, len(conns)))
        await close_all(conns)

    async def capped() -> None:
        took, conns = await floor_connect(fleet, CAP)
        add(CONNECT_ROWS[2], (took, len(conns)))
        # bare asyncssh's own connections (its default cipher): for reference
        add("fan-out floor (open), its own connections", await floor_fanout(conns))
        add("fan-out floor with a pty (open), its own connections", await floor_fanout(conns, pty=True))
        await close_all(conns)

    async def cockpit(turn: int) -> None:
        profile = fleet.profile()
        pool = SshPool(profile)
        try:
            t0 = time.perf_counter()
            errors = await pool.connect_all()
            add("connect cockpit", (time.perf_counter() - t0, sum(e is None for e in errors.values())))
            runner = Runner(profile, pool)
            conns = [await pool.connection(h) for h, e in errors.items() if e is None]

            async def mine(pty: bool) -> tuple[float, int]:
                t0 = time.perf_counter()
                ok = await peers.cockpit_open(runner, COMMAND, pty)
                return time.perf_counter() - t0, ok

            # the floor on the same connections (same cipher, same sshd sessions): each round runs
            # the four in an order rotated by the turn, the next round in the reverse order, so that
            # every one of them stands at every place equally often; each starts on a quiet machine
            parts: list[tuple[str, Callable[[], Awaitable[tuple[float, int]]]]] = [
                ("fan-out cockpit (open)", lambda: mine(True)),
                (FANOUT_BASE, lambda: floor_fanout(conns)),
                ("fan-out floor with a pty, cockpit's connections", lambda: floor_fanout(conns, pty=True)),
                ("fan-out cockpit, pty = false (open)", lambda: mine(False)),
            ]
            order = parts[turn % 4:] + parts[:turn % 4]
            for r in range(fanout_rounds):
                took: dict[str, float] = {}
                for name, part in (order if r % 2 == 0 else order[::-1]):
                    await quiet()
                    result = await part()
                    add(name, result)
                    took[name] = result[0]
                for mine_name, floor_name in PAIRED:
                    out.setdefault(paired_key(mine_name), []).append((took[mine_name] / took[floor_name], 0))
        finally:
            await pool.close()

    _, conns = await floor_connect(fleet, CAP)   # warm-up: sshd binaries, keys and pages in memory
    await close_all(conns)
    for turn in range(repeat):
        contenders = [uncapped(), uncapped_retried(), capped(), cockpit(turn)]
        for contender in contenders[turn % 4:] + contenders[:turn % 4]:
            await contender
        if pssh:  # parallel-ssh after the others, in the same repeat (not twice the sshd processes at once)
            for key, runs in parallel_ssh(fleet).items():
                out.setdefault(key, []).extend(runs)

        if not fresh:
            continue
        t0 = time.perf_counter()
        _, conns = await floor_connect(fleet, None)
        _, ok = await floor_fanout(conns)
        await close_all(conns)
        add("fresh floor", (time.perf_counter() - t0, ok))

        t0 = time.perf_counter()
        ok = await peers.cockpit_fresh(fleet, COMMAND)
        add("fresh cockpit", (time.perf_counter() - t0, ok))
    return out


def parallel_ssh(fleet: peers.Fleet, repeat: int = 1) -> dict[str, Runs]:
    """parallel-ssh (libssh2): a fresh client per run, and re-runs on one client's open sessions."""
    from pssh.clients import ParallelSSHClient

    def client() -> Any:
        return ParallelSSHClient(list(fleet.hosts.values()), port=fleet.port, user=fleet.user,
                                 pkey=str(fleet.client_key), num_retries=3)

    def run(c: Any, pty: bool = False) -> int:
        output = c.run_command(COMMAND, stop_on_errors=False, use_pty=pty)
        c.join(output, consume_output=False)
        return sum(o.exception is None and o.exit_code == 0 and [line.strip() for line in o.stdout or []] == ["ok"]
                   for o in output)

    out: dict[str, Runs] = {"fresh parallel-ssh": [], "fan-out parallel-ssh (open)": [],
                            "fan-out parallel-ssh with a pty (open)": []}
    for _ in range(repeat):
        t0 = time.perf_counter()
        c = client()
        ok = run(c)
        out["fresh parallel-ssh"].append((time.perf_counter() - t0, ok))
        t0 = time.perf_counter()
        ok = run(c)  # the sessions of the first run are open: this is the fan-out alone
        out["fan-out parallel-ssh (open)"].append((time.perf_counter() - t0, ok))
        t0 = time.perf_counter()
        ok = run(c, pty=True)   # as cockpit runs every command
        out["fan-out parallel-ssh with a pty (open)"].append((time.perf_counter() - t0, ok))
        del c
    return out


def xargs_ssh(fleet: peers.Fleet, repeat: int) -> Runs:
    runs: Runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(
            ["xargs", "-P", str(XARGS_P), "-I{}", "ssh", *fleet.ssh_opts(), "{}", COMMAND],
            input="\n".join(fleet.names) + "\n", capture_output=True, text=True, check=False, timeout=1800,
        )
        runs.append((time.perf_counter() - t0, proc.stdout.split().count("ok")))
    return runs


def ansible_adhoc(fleet: peers.Fleet, repeat: int) -> Runs:
    home = fleet.workdir / "ansible"
    home.mkdir(exist_ok=True)
    inventory = home / "inventory.ini"
    opts = " ".join(fleet.ssh_opts())
    inventory.write_text(
        "[all]\n" + "".join(f"{n} ansible_host={a} ansible_port={fleet.port}\n" for n, a in fleet.hosts.items())
        + f"[all:vars]\nansible_user={fleet.user}\nansible_ssh_private_key_file={fleet.client_key}\n"
        "ansible_python_interpreter=/usr/bin/python3\n" f"ansible_ssh_common_args='{opts}'\n"
    )
    env = {**os.environ, "ANSIBLE_HOME": str(home), "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
           "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_PIPELINING": "True",
           "ANSIBLE_SSH_ARGS": "-o ControlMaster=no", "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_DEPRECATION_WARNINGS": "False"}
    ansible = str(peers.VENV_BIN / "ansible")
    runs: Runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run([ansible, "all", "-i", str(inventory), "-m", "shell", "-a", COMMAND,
                               "-f", str(ANSIBLE_FORKS)],
                              capture_output=True, text=True, check=False, timeout=3600, env=env)
        runs.append((time.perf_counter() - t0, proc.stdout.count("| CHANGED | rc=0")))
    return runs


AT_REST = """
import asyncio, json, resource, sys, time
sys.path.insert(0, {root!r})
import asyncssh
from tests.bench import fanout_peers as peers
from cockpit.ssh.pool import SshPool
from pathlib import Path
fleet = peers.Fleet(json.loads({hosts!r}), {port}, {user!r}, Path({cfg!r}), Path({known!r}), Path({key!r}),
                    Path({work!r}))

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

async def main():
    if {mode!r} == "cockpit":
        pool = SshPool(fleet.profile())
        errors = await pool.connect_all()
        held = sum(e is None for e in errors.values())
    else:
        keys = asyncssh.load_keypairs([str(fleet.client_key)])
        known = asyncssh.read_known_hosts(str(fleet.known_hosts))
        gate = asyncio.Semaphore(8)
        async def one(a):
            async with gate:
                return await asyncssh.connect(a, port=fleet.port, username=fleet.user, client_keys=keys,
                                              known_hosts=known, config=None, keepalive_interval=15)
        conns = await asyncio.gather(*(one(a) for a in fleet.hosts.values()), return_exceptions=True)
        held = sum(not isinstance(c, BaseException) for c in conns)
    await asyncio.sleep(1)
    rss = rss_mb()
    c0, t0 = cpu(), time.monotonic()
    await asyncio.sleep({idle})
    idle_cpu = (cpu() - c0) / (time.monotonic() - t0) * 100
    print(json.dumps({{"held": held, "rss_mb": rss, "idle_cpu_pct": idle_cpu}}))

asyncio.run(main())
"""


def at_rest(fleet: peers.Fleet, mode: str, idle: float) -> dict[str, float]:
    script = AT_REST.format(root=str(ROOT), hosts=json.dumps(fleet.hosts), port=fleet.port, user=fleet.user,
                            cfg=str(fleet.ssh_config), known=str(fleet.known_hosts), key=str(fleet.client_key),
                            work=str(fleet.workdir), mode=mode, idle=idle)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=idle + 600,
                          check=False, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


BATCH_PROFILE = """
[cockpit]
name = "fleet-bench"
environment = "bench"

[ssh]
config = "{cfg}"
known_hosts = "{known}"
connect_timeout = "30s"

[hosts]
fleet = [{hosts}]

[sources.health]
kind = "http"
url = "{url}"
interval = "500ms"
timeout = "3s"

[[signal]]
id = "health"
source = "health"

[[check]]
signal = "health"
condition = "== 200"

[[step]]
id = "roll"
title = "Rolling step"
phase = "rollback"
hosts = "fleet"
confirm = "none"
command = "{command}"
batch = [1, "10%", "25%"]
max_fail = "10%"

[step.gate]
checks = ["health"]
samples = 2
timeout = "60s"
"""


async def batched(fleet: peers.Fleet, repeat: int, work: Path) -> dict[str, list[float]]:
    from cockpit.controller import Controller
    from cockpit.profile.load import load_profile

    out: dict[str, list[float]] = {"total": [], "batches": [], "gate waits": [], "ok": []}
    with running_stub() as stub:
        path = work / "batched.toml"
        path.write_text(BATCH_PROFILE.format(cfg=fleet.ssh_config, known=fleet.known_hosts, url=stub.url("/h"),
                                             hosts=", ".join(f'"{h}"' for h in fleet.hosts), command=COMMAND))
        profile = load_profile(path)
        for _ in range(repeat):
            c = Controller(profile)
            await c.start(connect=True, poll=True)
            try:
                await c.pool.connect_all()  # the TUI case: connections open before the step is fired
                t0 = time.perf_counter()
                result = await c.fire("roll")
                total = time.perf_counter() - t0
            finally:
                await c.stop()
            batches = result.detail["batches"]
            out["total"].append(total)
            out["batches"].append(sum(b["duration"] for b in batches))
            out["gate waits"].append(float(result.detail["gate_wait_total"]))
            out["ok"].append(sum(h.state == "ok" for h in result.hosts))
            sizes = [b["hosts"] for b in batches]
    out["sizes"] = sizes  # type: ignore[assignment]
    return out


async def behind_bastion(fleet: peers.Fleet, repeat: int, work: Path) -> tuple[Runs, Runs, int]:
    """Every host behind ONE ProxyJump: connect and fan-out times, and the jump sshd's connection count."""
    from dataclasses import replace

    from tests.support.sshd import running_sshd

    with running_sshd(work / "bastion", {"bastion": "127.0.19.1"}) as jump:
        config = work / "ssh_config_bastion"
        config.write_text(jump.ssh_config.read_text() + "".join(
            f"Host {name}\n  HostName {addr}\n  Port {fleet.port}\n  User {fleet.user}\n"
            f"  IdentityFile {fleet.client_key}\n  ProxyJump bastion\n" for name, addr in fleet.hosts.items()))
        known = work / "known_hosts_bastion"
        known.write_text(fleet.known_hosts.read_text() + jump.known_hosts.read_text())
        base = fleet.profile()
        profile = replace(base, ssh=replace(base.ssh, config=str(config), known_hosts=str(known)))
        connect: Runs = []
        fanout: Runs = []
        jumps = 0
        for _ in range(repeat):
            pool = SshPool(profile)
            try:
                t0 = time.perf_counter()
                errors = await pool.connect_all()
                connect.append((time.perf_counter() - t0, sum(e is None for e in errors.values())))
                jumps = max(jumps, len(jump.session_children()))
                t0 = time.perf_counter()
                ok = await peers.cockpit_open(Runner(profile, pool), COMMAND)
                fanout.append((time.perf_counter() - t0, ok))
            finally:
                await pool.close()
    return connect, fanout, jumps


# -- driver -------------------------------------------------------------------------------------


def row(name: str, runs: Runs, n: int, base: float | None) -> str:
    m = med(runs)
    ratio = f"{m / base:5.2f}x" if base else "     -"
    lost = n - min(ok for _, ok in runs)
    return f"  {name:<34} {m:8.2f} s  {ratio}  ok {min(ok for _, ok in runs):>4}/{n}  lost {lost:>3}"


def paired_row(mine: str, floor: str, ratios: list[float], target: float = 1.1) -> str:
    """Cockpit's fan-out over its floor's, round by round: the median ratio, the middle half of the
    ratios and how many rounds were within ``target``."""
    q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
    within = sum(x <= target for x in ratios)
    return (f"  paired, round by round: {mine.removeprefix('fan-out ')} / {floor.removeprefix('fan-out ')}: "
            f"median {statistics.median(ratios):.2f}x, middle half {q[0]:.2f}-{q[2]:.2f}x, "
            f"range {min(ratios):.2f}-{max(ratios):.2f}x; {within} of {len(ratios)} rounds <= {target:g}x")


def run_size(n: int, repeat: int, idle: float, skip: set[str], root: Path, fanout_rounds: int = 2) -> None:
    hosts = addresses(n)
    work = root / f"n{n}"
    print(f"\n== N = {n} hosts ({-(-n // 16)} sshds, MaxStartups {MAX_STARTUPS}), `{COMMAND}`, "
          f"median of {repeat}; load {os.getloadavg()[0]:.1f}", flush=True)
    with running_cluster(work, hosts, max_startups=MAX_STARTUPS) as cluster:
        fleet = peers.Fleet(hosts, cluster.port, cluster.user, cluster.ssh_config, cluster.known_hosts,
                            cluster.client_key, work)
        r = asyncio.run(measure_connect_and_fanout(fleet, repeat, fresh="fresh" not in skip,
                                                   pssh="parallel-ssh" not in skip, fanout_rounds=fanout_rounds))
        floor_c = med(r["connect floor (all at once)"])
        print("  connect (open every host)")
        for name in CONNECT_ROWS:
            print(row(name, r[name], n, floor_c))
        retried = med(r[CONNECT_ROWS[1]])
        print(f"  connect cockpit / floor all at once with its lost hosts retried: {med(r['connect cockpit']) / retried:.2f}x")
        floor_f = med(r[FANOUT_BASE])
        print("  fan-out on open connections")
        for name in FANOUT_ROWS:
            if name in r:
                print(row(name, r[name], n, floor_f))
        same = med(r["fan-out floor with a pty, cockpit's connections"])
        print(f"  fan-out cockpit / floor with a pty on the same connections: "
              f"{med(r['fan-out cockpit (open)']) / same:.2f}x; cockpit with pty = false / floor: "
              f"{med(r['fan-out cockpit, pty = false (open)']) / floor_f:.2f}x (ratios of medians)")
        for mine_name, floor_name in PAIRED:
            print(paired_row(mine_name, floor_name, [t for t, _ in r[paired_key(mine_name)]]))
        sys.stdout.flush()
        if "rest" not in skip:
            mine, bare = at_rest(fleet, "cockpit", idle), at_rest(fleet, "floor", idle)
            print(f"  at rest, {idle:g} s idle with keepalives: cockpit {mine['held']:.0f} connections "
                  f"{mine['rss_mb']:.0f} MB RSS, {mine['idle_cpu_pct']:.2f} % CPU; bare asyncssh (keepalive 15 s) "
                  f"{bare['held']:.0f} connections {bare['rss_mb']:.0f} MB, {bare['idle_cpu_pct']:.2f} % CPU",
                  flush=True)
        if "batch" not in skip:
            b = asyncio.run(batched(fleet, repeat, work))
            print(f"  batched step [1, \"10%\", \"25%\"] ({'/'.join(map(str, b['sizes']))} hosts) with a gate "
                  f"(2 fresh samples at 0.5 s): total {statistics.median(b['total']):.2f} s = batches "
                  f"{statistics.median(b['batches']):.2f} s + gate waits {statistics.median(b['gate waits']):.2f} s; "
                  f"ok {min(b['ok']):.0f}/{n}", flush=True)
        if "bastion" not in skip:
            connect, fanout, jumps = asyncio.run(behind_bastion(fleet, repeat, work))
            print(f"  behind one bastion (ProxyJump): {jumps} jump connection(s) on the bastion's sshd for {n} hosts")
            print(row("connect cockpit via bastion", connect, n, floor_c))
            print(row("fan-out cockpit via bastion (open)", fanout, n, floor_f), flush=True)
        if "fresh" in skip and {"ansible", "xargs"} <= skip:
            return
        print("  fresh: connect + run + close")
        fresh: dict[str, Runs] = {k: r[k] for k in ("fresh floor", "fresh cockpit") if k in r}
        base = med(fresh["fresh floor"]) if "fresh floor" in fresh else None
        if "fresh parallel-ssh" in r and "fresh" not in skip:   # (it always runs: it opens the sessions above)
            fresh["fresh parallel-ssh"] = r["fresh parallel-ssh"]
        for name, runs in fresh.items():
            print(row(name, runs, n, base), flush=True)
        if "ansible" not in skip and n <= ANSIBLE_MAX_N:
            print(row(f"fresh ansible -m shell -f {ANSIBLE_FORKS}", ansible_adhoc(fleet, repeat), n, base),
                  flush=True)
        if "xargs" not in skip:
            print(row(f"fresh ssh CLI, xargs -P {XARGS_P}", xargs_ssh(fleet, repeat), n, base), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="200,500")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--fanout-rounds", type=int, default=2,
                        help="fan-outs on cockpit's connections per repeat (forward, then reverse order)")
    parser.add_argument("--skip", default="",
                        help="comma-separated: fresh, bastion, parallel-ssh, xargs, ansible, rest, batch")
    args = parser.parse_args(argv)
    if args.repeat < 3:
        parser.error("--repeat must be 3 or more (medians)")
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(f"fleet benchmark: {os.cpu_count()} cores, load {os.getloadavg()}, open files {hard}", flush=True)
    with tempfile.TemporaryDirectory(prefix="cockpit-fleet-") as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            os.environ["XDG_STATE_HOME"] = str(Path(tmp) / f"state{n}")
            run_size(n, args.repeat, args.idle, {s.strip() for s in args.skip.split(",") if s.strip()}, Path(tmp),
                     fanout_rounds=args.fanout_rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
