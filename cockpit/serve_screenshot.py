"""The browser view's screenshot: ``python -m cockpit.serve_screenshot [OUT.png] [--size 1366x768]``.

Starts the demo's simulated Academy stack and a driver on it (in a throwaway state
directory), fires the first prepare steps and starts the rollback, runs
``cockpit serve`` as a subprocess, opens the printed URL in Debian's Chromium
(``/usr/bin/chromium``, driven by Playwright, the ``test`` extra) and saves what a
visitor sees as a PNG (default ``screenshots/serve-browser-1366x768.png``). Needs
no network: the page loads nothing from outside the server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("COCKPIT_CHROMIUM", "/usr/bin/chromium")

# reads xterm's buffer in the page (xterm draws on a canvas): the script waits for a full screen
TRAP = """
(() => {
  window.__cores = [];
  Object.defineProperty(Object.prototype, '_core', {
    configurable: true,
    set(v) { window.__cores.push(this);
             Object.defineProperty(this, '_core', {value: v, writable: true, configurable: true, enumerable: true}); },
    get() { return undefined; },
  });
  window.__screenText = () => {
    const t = window.__cores.find(o => o && o.buffer && o.buffer.active && o.rows
                                  && typeof o.buffer.active.getLine === 'function');
    if (!t) return null;
    const b = t.buffer.active, out = [];
    for (let i = 0; i < t.rows; i++) { const l = b.getLine(b.viewportY + i); out.push(l ? l.translateToString(true) : ''); }
    return out.join('\\n');
  };
})();
"""


async def screen_text(page: Any) -> str:
    with contextlib.suppress(Exception):
        return str(await page.evaluate("window.__screenText ? window.__screenText() : ''") or "")
    return ""


async def wait_screen(page: Any, *needles: str, timeout: float = 30.0) -> tuple[str, float]:
    """The page's screen once every needle shows, and how long that took."""
    start = time.monotonic()
    text = ""
    while time.monotonic() - start < timeout:
        text = await screen_text(page)
        if text and all(n in text for n in needles):
            return text, time.monotonic() - start
        await asyncio.sleep(0.05)
    raise TimeoutError(f"the browser did not show {needles!r} within {timeout:g}s; it shows:\n{text}")


def start_serve(profile_path: str, *extra: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "cockpit", "serve", "--profile", profile_path, "--port", "0",
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        raise RuntimeError("cockpit serve did not print its URL")
    return proc, url


def stop_serve(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


async def _shoot(out: Path, width: int, height: int) -> Path:
    from playwright.async_api import async_playwright

    from cockpit.controller import Controller
    from cockpit.demo.stack import DemoStack

    async with DemoStack(speed=4.0) as stack:
        driver = Controller(stack.profile, fresh=True)
        await driver.start()
        try:
            env = stack.profile.cockpit.environment
            for step in ("clear-caches", "warm-communities"):
                await driver.fire(step, confirmation=env, yes=True)
            slow = asyncio.create_task(driver.fire("horizon-pause", confirmation=env, yes=True))
            proc, url = await asyncio.to_thread(start_serve, stack.profile.path)
            try:
                async with async_playwright() as p:
                    browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                    page = await browser.new_page(viewport={"width": width, "height": height})
                    await page.add_init_script(TRAP)
                    await page.goto(url)
                    await wait_screen(page, stack.profile.cockpit.name, "Quit", "RTO")
                    await asyncio.sleep(3.0)          # panels fill from the feed
                    out.parent.mkdir(parents=True, exist_ok=True)
                    await page.screenshot(path=str(out))
                    await browser.close()
            finally:
                await asyncio.to_thread(stop_serve, proc)
                slow.cancel()
                with contextlib.suppress(BaseException):
                    await slow
        finally:
            await driver.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m cockpit.serve_screenshot", description=__doc__)
    ap.add_argument("out", nargs="?", default=None)
    ap.add_argument("--size", default="1366x768", help="browser window WIDTHxHEIGHT (default 1366x768)")
    args = ap.parse_args(argv)
    try:
        width, height = (int(x) for x in args.size.lower().split("x"))
    except ValueError:
        print(f"--size: expected WIDTHxHEIGHT, got {args.size!r}", file=sys.stderr)
        return 2
    out = Path(args.out or f"screenshots/serve-browser-{width}x{height}.png")
    try:
        import playwright  # noqa: F401
    except ImportError:
        print("python -m cockpit.serve_screenshot needs Playwright: pip install -e '.[test]'", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="cockpit-shot-") as tmp:
        os.environ["XDG_STATE_HOME"] = tmp          # never the user's own incidents
        os.environ.pop("COCKPIT_STATE_DIR", None)
        os.environ["TZ"] = "UTC"
        time.tzset()
        path = asyncio.run(_shoot(out.resolve(), width, height))
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
