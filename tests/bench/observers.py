"""Observers benchmark: load on production with observers, and the idle CPU of an observer.

    .venv/bin/python tests/bench/observers.py [--window 30] [--idle 30] [--journals 300] [--tui]

Figures printed:
- /healthz probes per minute seen by a real HTTP server on loopback (the profile's one
  http source, interval 1 s), over ``--window`` seconds, with 1 driver, then with 1 driver
  + 3 observers (``cockpit watch``: followers of the driver's journal and feed), then with
  3 observers and no driver (they fall back to their own polling: the old behaviour of
  every cockpit);
- idle CPU of an observer following an incident whose state directory holds
  ``--journals`` old journals (each a few entries), utime+stime from /proc over
  ``--idle`` seconds: the headless observer (``cockpit watch``) with an idle driver and with no
  driver at all (the scan for a new incident), and, with ``--tui``, the
  TUI observer (``cockpit --read-only``) on a pseudo-terminal.

Each process gets the same private state directory (``XDG_STATE_HOME``), as the same
user: who runs them does not change the load.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(REPO))

from tests.support.httpstub import running_stub  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")

PROFILE = """
[cockpit]
name = "bench-observers"
environment = "bench"
refresh = "1s"

[sources.blue]
kind = "http"
url = "{url}"
timeout = "2s"
interval = "1s"

[[signal]]
id = "healthz"
title = "/healthz"
source = "blue"
field = "status"
view = "history"

[[check]]
signal = "healthz"
condition = "== 200"

[[step]]
id = "prepare"
title = "Prepare"
phase = "prepare"
kind = "local"
command = "echo prepared"
confirm = "none"
"""

DRIVER = """
import asyncio, sys
from cockpit.controller import Controller
from cockpit.profile.load import load_profile

async def main():
    c = Controller(load_profile(sys.argv[1]))
    await c.start(connect=False)
    assert c.is_driver, c.notices
    print("driving", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def start(argv: list[str], env: dict[str, str], wait_for: str | None = None) -> subprocess.Popen[str]:
    p = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if wait_for is not None:
        assert p.stdout is not None
        line = p.stdout.readline()
        if wait_for not in line:
            p.kill()
            raise SystemExit(f"{argv}: expected {wait_for!r}, got {line!r}")
    return p


def stop(procs: list[subprocess.Popen[str]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def probes_per_minute(stub: object, window: float) -> float:
    before = stub.count("/healthz")  # type: ignore[attr-defined]
    time.sleep(window)
    return (stub.count("/healthz") - before) * 60.0 / window  # type: ignore[attr-defined]


def watch_argv(profile: Path) -> list[str]:
    return [sys.executable, "-m", "cockpit", "watch", "--profile", str(profile)]


def bench_load(tmp: Path, window: float) -> None:
    with running_stub() as stub:
        profile = tmp / "load.toml"
        profile.write_text(PROFILE.format(url=stub.url("/healthz")))
        env = {**os.environ, "XDG_STATE_HOME": str(tmp / "state-load")}
        env.pop("COCKPIT_STATE_DIR", None)
        driver = start([sys.executable, "-c", DRIVER, str(profile)], env, "driving")
        try:
            time.sleep(2)
            alone = probes_per_minute(stub, window)
            observers = [start(watch_argv(profile), env) for _ in range(3)]
            time.sleep(2)
            with_observers = probes_per_minute(stub, window)
            stop([driver])
            time.sleep(2)
            no_driver = probes_per_minute(stub, window)
            stop(observers)
        finally:
            stop([driver])
    print(f"/healthz probes per minute (source interval 1 s, {window:.0f} s windows):")
    print(f"  1 driver:                 {alone:6.1f}")
    print(f"  1 driver + 3 observers:   {with_observers:6.1f}   (observers draw from the driver's feed)")
    print(f"  3 observers, driver gone: {no_driver:6.1f}   (each falls back to its own polling, visibly)")


def make_old_journals(profile_path: Path, state_home: Path, count: int) -> None:
    code = f"""
import os
os.environ["XDG_STATE_HOME"] = {str(state_home)!r}
from cockpit.journal import Journal
from cockpit.profile.load import load_profile
p = load_profile({str(profile_path)!r})
t0 = 1_700_000_000.0
for n in range({count}):
    ticks = iter(t0 + n * 600 + k for k in range(100))
    j = Journal.create(p, now=lambda ticks=ticks: next(ticks))
    j.append("session_start", user="old", host="bastion", mode="driver", environment="bench")
    j.append("rollback_start", by="old@bastion")
    for s in range(8):
        j.append("step_start", step="prepare", command="echo prepared", hosts=[])
        j.append("step_end", step="prepare", state="ok", hosts=[{{"host": "h", "tail": ["x" * 80] * 20}}])
    j.append("rollback_end", by="old@bastion")
    j.append("session_end")
    j.close()
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def bench_idle(tmp: Path, seconds: float, journals: int, tui: bool) -> None:
    profile = tmp / "idle.toml"
    profile.write_text(PROFILE.format(url="http://127.0.0.1:9/healthz"))
    state_home = tmp / "state-idle"
    make_old_journals(profile, state_home, journals)
    env = {**os.environ, "XDG_STATE_HOME": str(state_home)}
    env.pop("COCKPIT_STATE_DIR", None)
    size = sum(f.stat().st_size for f in (state_home / "cockpit" / "journals").iterdir())
    # an open incident with an idle driver, as observers normally see it
    driver = start([sys.executable, "-c", DRIVER, str(profile)], env, "driving")
    try:
        w = start(watch_argv(profile), env)
        time.sleep(3)
        c0, t0 = cpu_seconds(w.pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = cpu_seconds(w.pid), time.monotonic()
        stop([w])
        print(f"idle observer (cockpit watch), {journals} old journals ({size / 1e6:.1f} MB), idle driver: "
              f"{100 * (c1 - c0) / (t1 - t0):.2f} % of one core over {t1 - t0:.0f} s (target < 2 %)")
        if tui:
            from tests.tui.ptyrun import spawn

            p = spawn([sys.executable, "-m", "cockpit", "--read-only", "--profile", str(profile)],
                      cols=120, rows=36, env={"XDG_STATE_HOME": str(state_home)}, cwd=str(REPO))
            try:
                time.sleep(5)
                c0, t0 = cpu_seconds(p.proc.pid), time.monotonic()
                time.sleep(seconds)
                c1, t1 = cpu_seconds(p.proc.pid), time.monotonic()
            finally:
                p.kill()
            print(f"idle observer (TUI, cockpit --read-only), same journals: "
                  f"{100 * (c1 - c0) / (t1 - t0):.2f} % of one core over {t1 - t0:.0f} s")
    finally:
        stop([driver])
    w = start([*watch_argv(profile), "--no-poll"], env)    # no driver: the scan for a new incident
    try:
        time.sleep(3)
        c0, t0 = cpu_seconds(w.pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = cpu_seconds(w.pid), time.monotonic()
    finally:
        stop([w])
    print(f"idle observer (cockpit watch --no-poll), {journals} old closed journals, no driver: "
          f"{100 * (c1 - c0) / (t1 - t0):.2f} % of one core over {t1 - t0:.0f} s (target < 2 %)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--window", type=float, default=30.0)
    ap.add_argument("--idle", type=float, default=30.0)
    ap.add_argument("--journals", type=int, default=300)
    ap.add_argument("--tui", action="store_true", help="also measure the TUI observer")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="cockpit-bench-observers-") as d:
        tmp = Path(d)
        bench_load(tmp, args.window)
        bench_idle(tmp, args.idle, args.journals, args.tui)


if __name__ == "__main__":
    main()
