"""`cockpit serve` benchmark: memory and CPU per browser visitor, and page load to first full screen.

    .venv/bin/python tests/bench/serve.py [--visitors 3] [--window 15] [--size 1366x768]

Runs the demo's simulated stack with a driver on it (in-process, polling and
publishing its feed, a step's output streaming), ``cockpit serve`` as a subprocess,
and Debian's Chromium through Playwright. For each visitor, one after another:

- **first full screen**: seconds from ``page.goto`` to the browser's terminal showing
  the whole cockpit (the header's profile name, the panels and the footer's ``Quit``),
  read from xterm's buffer in the page;

then, with every visitor connected and the driver live, over ``--window`` seconds:

- **per visitor**: RSS (MiB) of its process (``cockpit.tui.served``, the one textual-serve
  spawns per visitor) and its CPU (utime+stime from /proc, as % of one core);
- **the server**: RSS and CPU of the ``cockpit serve`` process itself (the websockets);
- the browser's own cost is not counted (it is on the visitor's laptop).

Each run uses its own private state directory (``XDG_STATE_HOME``).
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

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def visitor_pids(root: int) -> list[int]:
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        for k in _children(pid):
            todo.append(k)
            try:
                if b"cockpit.tui.served" in Path(f"/proc/{k}/cmdline").read_bytes():
                    out.append(k)
            except OSError:
                pass
    return sorted(out)


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def run(visitors: int, window: float, width: int, height: int) -> None:
    from playwright.async_api import async_playwright

    from cockpit.controller import Controller
    from cockpit.demo.stack import DemoStack
    from cockpit.serve_screenshot import CHROMIUM, TRAP, start_serve, stop_serve, wait_screen

    async with DemoStack(speed=1.0) as stack:
        driver = Controller(stack.profile, fresh=True)
        await driver.start()
        env = stack.profile.cockpit.environment
        busy = asyncio.create_task(driver.fire("warm-communities", confirmation=env, yes=True))
        proc, url = await asyncio.to_thread(start_serve, stack.profile.path, "--max-visitors", str(visitors + 1))
        try:
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                loads = []
                pages = []
                for _ in range(visitors):
                    ctx = await browser.new_context(viewport={"width": width, "height": height})
                    page = await ctx.new_page()
                    await page.add_init_script(TRAP)
                    t0 = time.monotonic()
                    await page.goto(url)
                    await wait_screen(page, stack.profile.cockpit.name, "Quit", "checklist", "output")
                    loads.append(time.monotonic() - t0)
                    pages.append(page)
                pids = visitor_pids(proc.pid)
                before = {pid: cpu_ticks(pid) for pid in [*pids, proc.pid]}
                await asyncio.sleep(window)
                after = {pid: cpu_ticks(pid) for pid in [*pids, proc.pid]}
                cpu = {pid: 100.0 * (after[pid] - before[pid]) / CLK_TCK / window for pid in before}
                rss = {pid: rss_mib(pid) for pid in before}
                await browser.close()
        finally:
            await asyncio.to_thread(stop_serve, proc)
            busy.cancel()
            try:
                await busy
            except BaseException:
                pass
            await driver.stop()
    print(f"cockpit serve, {visitors} visitor(s) at {width}x{height}, the demo driver live, window {window:g}s")
    for i, t in enumerate(loads, 1):
        print(f"  visitor {i}: page load -> first full screen {t:.2f}s")
    print(f"  first full screen: median {statistics.median(loads):.2f}s, max {max(loads):.2f}s")
    for pid in pids:
        print(f"  visitor process {pid}: RSS {rss[pid]:.1f} MiB, CPU {cpu[pid]:.1f}% of a core")
    if pids:
        print(f"  per visitor: RSS median {statistics.median(rss[p] for p in pids):.1f} MiB, "
              f"CPU median {statistics.median(cpu[p] for p in pids):.1f}% of a core")
    print(f"  server process: RSS {rss[proc.pid]:.1f} MiB, CPU {cpu[proc.pid]:.1f}% of a core")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--visitors", type=int, default=3)
    ap.add_argument("--window", type=float, default=15.0)
    ap.add_argument("--size", default="1366x768")
    args = ap.parse_args()
    width, height = (int(x) for x in args.size.split("x"))
    with tempfile.TemporaryDirectory(prefix="cockpit-bench-serve-") as tmp:
        os.environ["XDG_STATE_HOME"] = tmp
        os.environ.pop("COCKPIT_STATE_DIR", None)
        asyncio.run(run(args.visitors, args.window, width, height))
    return 0


if __name__ == "__main__":
    sys.exit(main())
