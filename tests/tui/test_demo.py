"""The cockpit on the embedded demo stack (cockpit.demo): real asyncssh hosts and HTTP endpoints in-process."""

from __future__ import annotations

import re

from cockpit.controller import Controller
from cockpit.demo.stack import DemoStack
from cockpit.tui.app import CockpitApp
from cockpit.tui.screens import ConfirmStepScreen, YesNoScreen
from tests.tui.conftest import until
from tests.tui.screen_text import checklist_text, screen_text
from widgets.logpane import LogPane


async def test_demo_panels_fill_and_a_rollback_step_runs() -> None:
    async with DemoStack(speed=20) as stack:
        profile = stack.profile
        controller = Controller(profile)
        app = CockpitApp(profile, controller=controller, note="demo")
        async with app.run_test(size=(120, 36)) as pilot:
            # every panel drawn at once, then filled from the engine
            await until(lambda: "waiting for first sample" not in screen_text(app), timeout=45, what="panels filled")
            text = screen_text(app)
            assert "feed" in text and "notifications" in text and "search-index" in text
            assert "w " in text  # worker counts beside the queue bars
            await until(lambda: re.search(r"ssh (\d+)/\1 connected", screen_text(app)), what="all hosts connected")
            await pilot.press("r")
            await until(lambda: isinstance(app.screen, YesNoScreen), what="rollback confirmation")
            await pilot.press("y")
            await until(lambda: "RTO 00:0" in screen_text(app), what="the RTO clock")
            assert "within:" in screen_text(app)  # the 5xx deadline countdown runs
            await pilot.press("p")
            await until(lambda: isinstance(app.screen, ConfirmStepScreen), what="confirmation")
            assert "horizon:pause" in screen_text(app)
            await pilot.press("enter")
            await until(lambda: "✔ Pause Horizon on every worker host" in checklist_text(app), timeout=20,
                        what="horizon-pause ok")
            log = app.query_one(LogPane)
            assert any("│" in line for line in log.plain_lines())
            await pilot.press("q")
            await until(lambda: app.stopped, what="quit")
