"""The whole runbook through cockpit's own engine (Controller: guard, runner, poller, checks) on the demo."""

from __future__ import annotations

from pathlib import Path

from cockpit.controller import Controller
from cockpit.demo.stack import DemoStack
from tests.demo.conftest import poll_until

IN_ORDER = [
    "announce-start",
    "horizon-pause",
    "fpm-flag",
    "fpm-reload",
    "octane-stop",
    "migrate-rollback",
    "horizon-continue",
]


async def test_the_drill_turns_every_check_green_through_cockpit() -> None:
    async with DemoStack(speed=100) as stack:
        controller = Controller(stack.profile)
        await controller.start()
        try:

            async def all_failing() -> bool:
                return all(s.status == "failing" for s in controller.checks.states())

            assert await poll_until(all_failing, deadline=30, interval=0.1), controller.checks.states()
            preview = await controller.preview("migrate-rollback")
            assert "DropLegacyPlanFromUsersTable: alter table `users` add `legacy_plan`" in preview
            for step in IN_ORDER:
                result = await controller.fire(step, yes=True, confirmation="demo")
                assert result.ok, (step, result)
            for step in ("horizon-pause", "horizon-continue", "octane-stop", "fpm-flag"):
                assert controller.step_state(step) == "ok"

            async def all_green() -> bool:
                return all(s.status == "ok" for s in controller.checks.states())

            assert await poll_until(all_green, deadline=60, interval=0.1), controller.checks.states()
            for step in ("announce-end", "cs-email", "compat-audit"):
                result = await controller.fire(step, yes=True)
                assert result.ok, (step, result)
            assert stack.workdir is not None
            log = (stack.workdir / "academy-status.log").read_text()
            assert ":rotating_light: Rollback of academy-demo started" in log and "ended." in log
            assert list(Path(stack.workdir, "outbox").iterdir()), "the email landed in the outbox"
        finally:
            await controller.stop()
