"""#17: the served observer's controller can do nothing but watch, whatever is asked of it (not only hidden keys).

In-process, against a real driver `Controller` on the same state directory: the
driver fires, journals and publishes; the `ObserverController` a browser visitor's
process runs follows it, refuses every action, writes nothing, never takes the lock,
never answers the two-person rule, and never polls production, even when the
driver is gone (a plain ``--read-only`` observer would poll then, and may approve).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cockpit.controller import Controller
from cockpit.profile.load import load_profile
from cockpit.profile.model import Profile
from cockpit.serve_observer import REFUSAL, ObserverController, ServedReadOnly
from tests.multiuser.conftest import profile_text
from tests.support.httpstub import running_stub

SOURCE = """
[sources.blue]
kind = "http"
url = "{url}"
timeout = "2s"
interval = "0.3s"

[[signal]]
id = "healthz"
title = "/healthz"
source = "blue"
field = "status"
view = "history"

[[check]]
signal = "healthz"
condition = "== 200"
"""


def _profile(tmp_path: Path, url: str) -> Profile:
    marks = tmp_path / "marks"
    marks.mkdir()
    p = tmp_path / "p.toml"
    p.write_text(profile_text(marks, name="served-obs", extra=SOURCE.format(url=url)))
    return load_profile(str(p))


async def _until(pred: Any, timeout: float = 10.0, what: str = "condition") -> None:
    end = asyncio.get_running_loop().time() + timeout
    while not pred():
        if asyncio.get_running_loop().time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def _journal_lines(c: Controller) -> int:
    assert c.journal is not None
    return len(c.journal.path.read_text().splitlines())


async def test_every_action_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    with running_stub() as stub:
        profile = _profile(tmp_path, stub.url("/healthz"))
        driver = Controller(profile)
        await driver.start(connect=False, poll=False)
        obs = ObserverController(profile)
        await obs.start()          # the app calls start() with its defaults: connect and poll are ignored
        try:
            assert driver.is_driver and not obs.is_driver and obs.read_only and obs.forced_read_only
            await _until(lambda: obs.driver_state == "driving", what="the observer to see the driver")
            lines = _journal_lines(driver)
            r = await obs.fire("prepare", confirmation="drill", yes=True, override=True)
            assert r.state == "refused" and r.reason == REFUSAL
            assert not obs.decide("prepare", confirmation="drill", yes=True).allowed
            assert not obs.tick_manual("prepare", confirmation="drill").allowed
            assert obs.start_rollback() is False and obs.end_rollback() is False
            assert obs.cancel("slow") is False and obs.stop_after_batch("slow") is False
            assert await obs.preview("prepare") == REFUSAL          # a preview reaches production: refused
            await obs.sample_now()
            assert await obs.hand_over("someone") is False
            with pytest.raises(ServedReadOnly):
                await obs.take_over(connect=False)
            with pytest.raises(ServedReadOnly):
                await obs.accept_handoff(connect=False)
            with pytest.raises(ServedReadOnly):
                obs.answer_approval("migrate", confirmation="drill")
            with pytest.raises(ServedReadOnly):
                obs._open_journal()
            assert obs.journal is None and obs.runner is None and obs.pool is None
            assert len(obs.refused) == 12, obs.refused
            assert _journal_lines(driver) == lines               # not a line from the observer
            assert driver.is_driver and driver.lock.held         # the lock never moved
        finally:
            await obs.stop()
            await driver.stop()


async def test_the_two_person_rule_is_not_answerable_from_a_browser(tmp_path: Path) -> None:
    with running_stub() as stub:
        profile = _profile(tmp_path, stub.url("/healthz"))
        driver = Controller(profile)
        await driver.start(connect=False, poll=False)
        plain = Controller(profile, read_only=True)    # a terminal observer: it may approve (another user)
        obs = ObserverController(profile)
        await plain.start(connect=False, poll=False)
        await obs.start()
        fire = asyncio.create_task(driver.fire("migrate", confirmation="drill"))
        try:
            await _until(plain.pending_approvals, what="the request to reach the terminal observer")
            assert obs.pending_approvals() == []
            with pytest.raises(ServedReadOnly):
                obs.answer_approval("migrate", confirmation="drill")
            assert not fire.done()                               # still waiting for a real second person
        finally:
            driver.cancel("migrate")
            await asyncio.wait_for(fire, 10)
            await obs.stop()
            await plain.stop()
            await driver.stop()


async def test_a_served_observer_never_polls_production_even_when_the_driver_is_gone(tmp_path: Path) -> None:
    with running_stub() as stub:
        profile = _profile(tmp_path, stub.url("/healthz"))
        driver = Controller(profile)
        await driver.start(connect=False, poll=True)
        obs = ObserverController(profile)
        await obs.start()
        try:
            await _until(lambda: obs.store.view("healthz").latest(), what="the driver's samples via the feed")
            await driver.fire("start", confirmation="drill", yes=True)     # the session is attached, RTO running
            # the driver dies without ending its session: free the lock, stop its tasks, no session_end
            for t in driver._background:
                t.cancel()
            if driver.poller is not None:
                await driver.poller.stop()
            driver.lock.release()
            await _until(lambda: obs.driver_state == "gone", what="the driver to be seen gone")
            before = stub.count("/healthz")
            await asyncio.sleep(1.5)                               # 5 intervals of the source
            assert stub.count("/healthz") == before, "the served observer polled production"
            assert obs.poller is None and obs.sampling != "own polling"
        finally:
            await obs.stop()
            if driver.journal is not None:
                driver.journal.close()


async def test_a_second_dismiss_never_pops_the_main_screen(tmp_path: Path) -> None:
    """Two quick Enters on the command palette (keys arriving together through a browser) dismissed it twice:
    the second pop found only the main screen and the visitor's app died with ScreenStackError."""
    from cockpit.tui.app import CockpitApp

    with running_stub() as stub:
        profile = _profile(tmp_path, stub.url("/healthz"))
        obs = ObserverController(profile)
        app = CockpitApp(profile, controller=obs, read_only=True)
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause()
            app.action_command_palette()
            await pilot.pause()
            palette = app.screen
            assert len(app.screen_stack) == 2
            palette.dismiss()
            palette.dismiss()                         # what the second Enter did
            await pilot.pause()
            assert len(app.screen_stack) == 1 and app.is_running
        await obs.stop()
