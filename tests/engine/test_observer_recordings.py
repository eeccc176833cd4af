"""#16: observers follow a running step's output whole, from the driver's recordings, not only the
last lines of its published feed. Real sshd; the driver and the observer are real Controllers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cockpit.controller import Controller
from cockpit.results import OutputLine

BURST = """
[[step]]
id = "burst"
title = "A burst of output, then a slow tail"
phase = "rollback"
hosts = "web"
confirm = "none"
timeout = "60s"
command = "seq 1 3000; for i in 1 2 3 4 5 6 7 8 9 10; do echo slow-$i; sleep 0.2; done; while [ ! -e {marks}/release-$(echo $SSH_CONNECTION | cut -d' ' -f3) ]; do sleep 0.05; done"
"""


async def until(pred: Any, what: str, timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while not pred():
            await asyncio.sleep(0.02)


async def test_an_observer_gets_every_line_of_a_running_step_as_it_is_recorded(sshd, make_profile,
                                                                              marker_dir: Path) -> None:
    profile = make_profile(ssh=sshd, steps=BURST)
    driver = Controller(profile)
    await driver.start(connect=True, poll=False)
    observer = Controller(profile, read_only=True)
    seen: list[OutputLine] = []
    ended: list[float] = []
    observer.on_output(seen.append)
    observer.on_journal(lambda e: ended.append(len(seen)) if e["type"] == "step_end" else None)
    await observer.start(connect=False, poll=False)
    try:
        await until(lambda: observer.driver_state == "driving", "the observer to see the driver")
        fired = asyncio.create_task(driver.fire("burst"))
        # while the step still runs, the observer already has the whole burst of both hosts
        await until(lambda: sum(1 for line in seen if line.text == "slow-10") == 2, "the output's last line")
        assert not fired.done() and "burst" in driver.running      # it waits for the test to release it
        release(marker_dir)
        result = await fired
        await until(lambda: bool(ended), "the observer to see the step end")
    finally:
        await observer.stop()
        await driver.stop()
    assert result.state == "ok"
    for host in ("web-1", "web-2"):
        texts = [line.text for line in seen if line.host == host and line.step_id == "burst"]
        assert texts == [str(i) for i in range(1, 3001)] + [f"slow-{i}" for i in range(1, 11)], (
            host, len(texts), texts[:3], texts[-3:])
    assert ended[0] == len(seen)      # every line before the step's end, none after


SHORT_BURST = BURST.replace('id = "burst"', 'id = "burst500"').replace("seq 1 3000", "seq 1 500")


def release(marks: Path) -> None:
    """Let the step end (it waits for this file on each host after its output)."""
    for ip in ("127.0.1.1", "127.0.1.2"):
        (marks / f"release-{ip}").touch()


async def test_the_observer_screen_shows_every_line_of_the_running_step(sshd, make_profile, marker_dir: Path) -> None:
    """The TUI in observer mode: the output pane holds every line, in order, while the step still runs."""
    from cockpit.tui.app import CockpitApp

    profile = make_profile(ssh=sshd, steps=SHORT_BURST)
    driver = Controller(profile)
    await driver.start(connect=True, poll=False)
    observer = Controller(profile, read_only=True)
    app = CockpitApp(profile, controller=observer, read_only=True)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await until(lambda: observer.driver_state == "driving", "the observer to see the driver")
            fired = asyncio.create_task(driver.fire("burst500"))

            def host_lines(host: str) -> list[str]:
                return [line.split("│ ", 1)[1] for line in app.log_pane.plain_lines() if line.startswith(host)]

            await until(lambda: "500" in host_lines("web-1") and "500" in host_lines("web-2"), "the burst on screen")
            assert not fired.done()                                  # it waits for the test to release it
            for host in ("web-1", "web-2"):
                assert host_lines(host)[:500] == [str(i) for i in range(1, 501)], host
            release(marker_dir)
            assert (await fired).state == "ok"
            await pilot.press("q")
    finally:
        await observer.stop()
        await driver.stop()
