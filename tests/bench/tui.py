"""TUI benchmark: start-to-first-screen, idle CPU, memory under 10,000 samples per series.

    .venv/bin/python tests/bench/tui.py [--runs 5] [--idle 60] [--profile PATH]

Without ``--profile`` it runs ``cockpit demo`` (the embedded simulated stack, refresh 1 s, the
simulation in the same process), and measures idle CPU twice: for ``cockpit demo`` as a user runs
it, and for the TUI alone at the DEFAULT refresh (5 s): the simulated stack then runs in this
benchmark's process and the TUI is ``cockpit --profile`` on a copy of the demo profile pointed at
it with ``refresh = "5s"``. Textual needs a
terminal: every run gets its own pseudo-terminal (120x36). The app writes the time of its
first full screen (all panels mounted and painted) to ``$COCKPIT_BENCH_READY_FILE``.

Figures printed:
- start: process spawn -> first full screen (target < 1 s), min / median / max over runs;
- idle CPU: utime+stime from /proc/PID/stat over ``--idle`` seconds of the running app at its
  default refresh, no keys pressed (target < 3 % of one core);
- RSS: a headless app fed from a SeriesStore, after 1k, 5k and 10k samples per series (flat);
- chart: time of one plotext render of the 5xx panel, and how often it re-rendered.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(REPO))

from tests.tui.ptyrun import PtyProcess, spawn  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def rss_mib(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def command(profile: str | None) -> list[str]:
    base = [sys.executable, "-m", "cockpit"]
    return [*base, "--profile", profile] if profile else [*base, "demo"]


def start(argv: list[str], ready: Path) -> tuple[PtyProcess, float]:
    """Spawn on a pty; return the process and the seconds to its first full screen."""
    ready.unlink(missing_ok=True)
    t0 = time.time()
    p = spawn(argv, cols=120, rows=36, env={"COCKPIT_BENCH_READY_FILE": str(ready)}, cwd=str(REPO))
    deadline = time.monotonic() + 30
    while not (ready.exists() and ready.read_text().strip()):
        if p.proc.poll() is not None or time.monotonic() > deadline:
            p.kill()
            raise SystemExit(f"the app did not draw (exit {p.proc.poll()}):\n{p.text()[-2000:]}")
        time.sleep(0.005)
    return p, float(ready.read_text()) - t0


def quit_app(p: PtyProcess) -> None:
    p.send(b"q")
    try:
        p.wait(timeout=15)
    finally:
        p.kill()


def bench_start(argv: list[str], runs: int, tmp: Path) -> None:
    times = []
    for _ in range(runs):
        p, took = start(argv, tmp / "ready")
        times.append(took)
        quit_app(p)
    print(f"start to first full screen: min {min(times):.3f} s, median {statistics.median(times):.3f} s, "
          f"max {max(times):.3f} s over {runs} runs (target < 1 s)")


def bench_idle(argv: list[str], seconds: float, tmp: Path) -> None:
    p, _ = start(argv, tmp / "ready")
    try:
        time.sleep(3)  # let the first samples and the SSH connections settle
        c0, t0 = cpu_seconds(p.proc.pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = cpu_seconds(p.proc.pid), time.monotonic()
        rss = rss_mib(p.proc.pid)
    finally:
        quit_app(p)
    print(f"idle CPU over {t1 - t0:.0f} s: {100 * (c1 - c0) / (t1 - t0):.2f} % of one core "
          f"(target < 3 %); RSS {rss:.1f} MiB")


class StackForTui:
    """The demo stack in a thread of this process, and a profile file pointing the TUI at it."""

    def __init__(self, workdir: Path, refresh: str = "5s") -> None:
        import threading

        self.workdir, self.refresh = workdir, refresh
        self.path = workdir / "demo-default-refresh.toml"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> Path:
        import tomllib

        import tomli_w

        from cockpit.demo.stack import DemoStack

        self._thread.start()
        self.stack = DemoStack()
        profile = asyncio.run_coroutine_threadsafe(self.stack.start(), self._loop).result(30)
        doc = tomllib.loads(Path(profile.path).read_text())
        doc["cockpit"]["refresh"] = self.refresh
        doc["ssh"].update(known_hosts=profile.ssh.known_hosts, config=profile.ssh.config,
                          client_keys=list(profile.ssh.client_keys))
        for sid, src in profile.sources.items():
            if src.url:
                doc["sources"][sid]["url"] = src.url
            doc["sources"][sid].pop("interval", None)   # every source at the profile's refresh
        doc["vars"] = dict(profile.vars)
        for raw, step in zip(doc["step"], profile.steps, strict=True):
            if step.email is not None:
                raw["email"].update(template=step.email.template, outbox=step.email.outbox)
        self.path.write_text(tomli_w.dumps(doc))
        return self.path

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.stack.stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


async def bench_memory() -> None:
    """Feed 10,000 samples per series through a SeriesStore into a headless app."""
    from cockpit.checks import CheckEngine
    from cockpit.feed import FeedStatus
    from cockpit.series import SeriesStore
    from cockpit.session import Session
    from cockpit.tui import scenes
    from cockpit.tui.app import CockpitApp
    from widgets.chart import LineChartPanel, render_chart

    profile = scenes.academy_profile()
    store = SeriesStore(profile, now=scenes.T0)
    feed = scenes.FixedFeed(profile, store, CheckEngine(profile, scenes.T0), Session(), [], FeedStatus(), {})
    now = [scenes.T0]
    app = CockpitApp(profile, feed=feed, clock=lambda: now[0], user_host=scenes.USER_HOST)
    marks = {1000, 5000, 10000}
    async with app.run_test(size=(120, 36)) as pilot:
        for i in range(1, 10001):
            ts = scenes.T0 + i * scenes.STEP
            for signal_id, values in scenes.samples(ts, scenes.T0 + 3000, green=False).items():
                store.record(signal_id, values, ts)
            if i % 250 == 0:
                now[0] = ts
                app.refresh_panels()
                await pilot.pause()
            if i in marks:
                print(f"RSS after {i:>5} samples per series: {rss_mib():.1f} MiB")
        chart = app.query_one("#panel-http_5xx", LineChartPanel)
        data = chart.data
        assert data is not None
        n = 20
        t0 = time.perf_counter()
        for _ in range(n):
            render_chart(data, chart.content_size.width, chart.content_size.height - 1)
        per = (time.perf_counter() - t0) / n
        print(f"chart: one plotext render {1000 * per:.1f} ms at {chart.content_size.width}x"
              f"{chart.content_size.height - 1}; {chart.renders} renders for 40 data updates")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--idle", type=float, default=60.0)
    ap.add_argument("--profile", help="a profile instead of `cockpit demo`")
    ap.add_argument("--skip", default="", help="comma list of: start,idle,memory")
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(",")))
    argv = command(a.profile)
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; command: {' '.join(argv[1:])}")
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as state:
        os.environ["XDG_STATE_HOME"] = state  # journals and locks of the runs stay out of the user's
        if "start" not in skip:
            bench_start(argv, a.runs, Path(tmp))
        if "idle" not in skip:
            bench_idle(argv, a.idle, Path(tmp))
            if not a.profile:
                with StackForTui(Path(tmp)) as profile:
                    print("TUI alone at the default refresh (5 s), the demo stack in another process:")
                    bench_idle(command(str(profile)), a.idle, Path(tmp))
    if "memory" not in skip:
        asyncio.run(bench_memory())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
