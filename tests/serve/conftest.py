"""A driver, ``cockpit serve`` as a real subprocess, and a real headless Chromium (Debian's) via Playwright.

The driver is the multi-user tests' agent (a real `Controller` driven by JSON lines,
local steps only) on this test's own state directory (the suite's ``XDG_STATE_HOME``).
The browser reads what it shows from xterm.js's own buffer: an init script catches
the page's ``Terminal`` when xterm creates it (xterm draws on a canvas, so the DOM
holds no text) and `Page.screen_text` returns its rows, exactly what the visitor sees.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.multiuser.conftest import Lines, profile_text
from tests.support.poll import wait_until as wait_for  # noqa: F401 (re-exported to the tests here)

REPO = Path(__file__).resolve().parent.parent.parent
AGENT = REPO / "tests" / "multiuser" / "agent.py"
CHROMIUM = "/usr/bin/chromium"

# catches xterm's public Terminal object: its constructor assigns `this._core = ...`
TRAP = """
(() => {
  window.__cores = [];
  Object.defineProperty(Object.prototype, '_core', {
    configurable: true,
    set(v) {
      window.__cores.push(this);
      Object.defineProperty(this, '_core', {value: v, writable: true, configurable: true, enumerable: true});
    },
    get() { return undefined; },
  });
  window.__screenText = () => {
    const t = window.__cores.find(o => o && o.buffer && o.buffer.active
                                  && typeof o.buffer.active.getLine === 'function' && o.rows);
    if (!t) return null;
    const b = t.buffer.active, out = [];
    for (let i = 0; i < t.rows; i++) {
      const l = b.getLine(b.viewportY + i);
      out.push(l ? l.translateToString(true) : '');
    }
    return out.join('\\n');
  };
})();
"""


@dataclass
class Stage:
    root: Path
    profile: Path
    state: Path

    def journals(self) -> list[Path]:
        return sorted((self.state / "cockpit" / "journals").glob("*.jsonl"))

    def entries(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for j in self.journals():
            out += [json.loads(line) for line in j.read_text().splitlines() if line.strip()]
        return out

    def all_text(self) -> str:
        """Every file the cockpit wrote in its state directory (journals, feeds, visits, locks)."""
        chunks = []
        for p in (self.state / "cockpit").rglob("*"):
            if p.is_file():
                chunks.append(p.read_text(errors="replace"))
        return "\n".join(chunks)


@pytest.fixture
def stage(tmp_path: Path) -> Stage:
    marks = tmp_path / "marks"
    marks.mkdir()
    profile = tmp_path / "profile.toml"
    profile.write_text(profile_text(marks, name="serve-test"))
    return Stage(tmp_path, profile, Path(os.environ["XDG_STATE_HOME"]))


class Driver(Lines):
    """The agent as the driver (no polling: the feed still publishes, the journal is written)."""

    def __init__(self, stage: Stage) -> None:
        proc = subprocess.Popen([sys.executable, str(AGENT), "--profile", str(stage.profile), "--no-poll"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, cwd=REPO, start_new_session=True)
        super().__init__(proc)
        self.find(lambda e: e["kind"] == "ready" and e["is_driver"], what="the driver to start")

    def fire(self, step: str) -> int:
        return self.send(op="fire", step=step, confirmation="drill", yes=True)

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)


@pytest.fixture
def driver_factory(stage: Stage) -> Iterator[Callable[[], Driver]]:
    made: list[Driver] = []

    def make() -> Driver:
        d = Driver(stage)
        made.append(d)
        return d

    yield make
    for d in made:
        if d.proc.poll() is None:
            d.send(op="quit")
            try:
                d.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(d.proc.pid, signal.SIGKILL)
                d.proc.wait()


@dataclass
class Served:
    """``cockpit serve`` running; ``url`` is the one line it printed (with the token)."""

    proc: subprocess.Popen[str]
    url: str
    err_lines: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.url.split("?", 1)[0]

    @property
    def token(self) -> str:
        return self.url.split("token=", 1)[1]

    def stderr_text(self) -> str:
        return "".join(self.err_lines)

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
        req = urllib.request.Request(self.base.rstrip("/") + path, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode(errors="replace"), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace"), dict(e.headers)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return int(self.proc.returncode)


@pytest.fixture
def serve_factory(stage: Stage) -> Iterator[Callable[..., Served]]:
    made: list[Served] = []

    def make(*extra: str) -> Served:
        proc = subprocess.Popen([sys.executable, "-m", "cockpit", "serve", "--profile", str(stage.profile),
                                 "--port", "0", *extra],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                                start_new_session=True)
        assert proc.stdout is not None and proc.stderr is not None
        line = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?token=[A-Za-z0-9_-]{20,}", line), (line, proc.stderr.read())
        served = Served(proc, line)
        err = proc.stderr

        def pump() -> None:
            for text in err:
                served.err_lines.append(text)

        threading.Thread(target=pump, daemon=True).start()
        made.append(served)
        return served

    yield make
    for s in made:
        s.stop()


@pytest.fixture
def chromium() -> Iterator[Any]:
    """One Chromium per test: Playwright's sync API holds an event loop while it runs, which must not
    outlive the test (the suite's async tests run their own loops)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


class Page:
    """One browser tab (its own context: its own cookie) on the served cockpit."""

    def __init__(self, browser: Any, width: int = 1366, height: int = 768) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.page.add_init_script(TRAP)

    def open(self, url: str) -> Any:
        return self.page.goto(url)

    def screen_text(self) -> str:
        try:
            return self.page.evaluate("window.__screenText ? window.__screenText() : null") or ""
        except Exception:    # navigating, or the page went away
            return ""

    def wait_text(self, pattern: str, timeout: float = 20.0) -> str:
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        text = ""
        while time.monotonic() < end:
            text = self.screen_text()
            if rx.search(text):
                return text
            time.sleep(0.1)
        raise AssertionError(f"timed out after {timeout}s waiting for {pattern!r} in the browser; "
                             f"it shows:\n{text}")

    def closed(self) -> bool:
        return "-closed" in (self.page.evaluate("document.body.className") or "")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def pages(chromium: Any) -> Iterator[Callable[..., Page]]:
    made: list[Page] = []

    def make(**kw: Any) -> Page:
        p = Page(chromium, **kw)
        made.append(p)
        return p

    yield make
    for p in made:
        try:
            p.close()
        except Exception:
            pass


def ws_status(url: str, headers: dict[str, str]) -> int:
    """Open a real websocket (aiohttp's client) to ``url``: 101 when it opened, else the refusal's status.

    Run in a thread of its own: Playwright's sync API keeps an event loop running in the test's.
    """
    import asyncio
    import concurrent.futures

    import aiohttp

    async def attempt() -> int:
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(url, headers=headers, timeout=aiohttp.ClientWSTimeout(ws_close=5)):
                    return 101
            except aiohttp.WSServerHandshakeError as e:
                return e.status

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, attempt()).result(timeout=30)
