"""#12 (f): `cockpit demo` and a second `cockpit demo` follow the same simulated incident (pair rollback)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from cockpit.controller import Controller
from cockpit.demo.stack import DemoStack
from tests.tui.ptyrun import spawn

REPO = Path(__file__).resolve().parent.parent.parent


class Watch:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "cockpit", "watch", "--profile", "demo", "--json",
                                      "--no-poll"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     cwd=REPO)
        self.events: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.append(json.loads(line))

    async def find(self, pred: Any, timeout: float = 30.0, what: str = "event") -> dict[str, Any]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            hit = next((e for e in list(self.events) if pred(e)), None)
            if hit is not None:
                return hit
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}: {self.events[-5:]}")

    def close(self) -> str:
        self.proc.terminate()
        self.proc.wait(15)
        return self.proc.stderr.read() if self.proc.stderr else ""


async def test_an_observer_of_the_bundled_demo_profile_follows_the_running_demo() -> None:
    async with DemoStack(speed=20) as stack:
        driver = Controller(stack.profile, fresh=True)
        await driver.start(connect=True, poll=True)
        watch = Watch()
        try:
            assert driver.is_driver
            await watch.find(lambda e: e["kind"] == "driver" and e["state"] == "driving", what="the driver")
            await watch.find(lambda e: e["kind"] == "sampling" and e["mode"] == "driver feed", what="the feed")
            result = await driver.fire("horizon-pause", yes=True)
            assert result.state == "ok", result
            for kind in ("step_start", "step_end"):
                await watch.find(lambda e, k=kind: e["kind"] == "journal" and e["entry"]["type"] == k
                                 and e["entry"].get("step") == "horizon-pause", what=kind)
            await watch.find(lambda e: e["kind"] == "output" and e["step"] == "horizon-pause", what="its output")
        finally:
            err = watch.close()
            await driver.stop()
    assert "Traceback" not in err


def test_a_second_cockpit_demo_follows_the_first(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    first = spawn([sys.executable, "-m", "cockpit", "demo"], env={"COCKPIT_BENCH_READY_FILE": str(ready)},
                  cwd=str(REPO))
    second = None
    try:
        end = time.monotonic() + 60
        while not ready.exists():
            assert time.monotonic() < end and first.proc.poll() is None, first.text()[-2000:]
            time.sleep(0.05)
        while "DRIVER" not in first.text():
            assert time.monotonic() < end, first.text()[-2000:]
            time.sleep(0.05)
        second = spawn([sys.executable, "-m", "cockpit", "demo"], cwd=str(REPO))
        while not ("READ-ONLY" in second.text() and "following" in second.text()):
            assert time.monotonic() < end and second.proc.poll() is None, second.text()[-3000:]
            time.sleep(0.05)
        while "lock: " not in second.text():   # the header's second line may come a frame later
            assert time.monotonic() < end and second.proc.poll() is None, second.text()[-3000:]
            time.sleep(0.05)
        second.send(b"q")
        assert second.wait(timeout=20) == 0
        first.send(b"q")
        assert first.wait(timeout=20) == 0
    finally:
        first.kill()
        if second is not None:
            second.kill()
    assert "Traceback" not in first.text() and (second is None or "Traceback" not in second.text())
