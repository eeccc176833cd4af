"""The demo's whole rollback with the keyboard only, steps chosen by cursor + Enter, at 80x24 and 120x36.

Real parts throughout (`DemoStack`: asyncssh servers, Prometheus and /healthz over loopback, the real
Controller and app). Along the way: the next-step highlight moves, one step fails on one host and
its failure stays in the output pane with a mark on its row until its detail (per-host results) is
opened, and every row is reachable by the keyboard (the checklist scrolls to the cursor).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from textual.containers import VerticalScroll
from textual.widgets import Button, Static

from cockpit.demo.sim import ENV_FILE
from cockpit.tui import present
from cockpit.tui.app import CockpitApp
from cockpit.tui.screens import ConfirmStepScreen, DetailScreen, ManualTickScreen
from tests.tui.conftest import until
from tests.tui.screen_text import screen_text
from tests.tui.test_demo_rollback import check_status, cockpit_on_demo
from widgets.checklist import Checklist
from widgets.logpane import LogPane

BROKEN = "web-2"  # its .env goes missing before the flag step: that step fails there


def row(app: CockpitApp, step_id: str) -> Any:
    return next(r for r in app.query_one(Checklist).steps if r.step_id == step_id)


def highlighted(app: CockpitApp) -> list[str]:
    return [r.step_id for r in app.query_one(Checklist).steps if r.next]


def next_line(app: CockpitApp) -> str:
    return str(app.query_one("#next", Static).render())


def cursor_visible(app: CockpitApp) -> bool:
    """The cursor's line is inside the scrolled checklist box."""
    checklist = app.query_one(Checklist)
    box = app.query_one("#checklist-box", VerticalScroll)
    kind, row_id = checklist.current() or ("", "")
    index = next(i for i, (k, r, _line) in enumerate(checklist._layout()[1]) if (k, r) == (kind, row_id))
    line = checklist._layout()[1][index][2] + checklist.virtual_region.y
    return box.scroll_y <= line < box.scroll_y + box.scrollable_content_region.height


async def cursor_to(app: CockpitApp, pilot: Any, step_id: str) -> None:
    """Move the checklist cursor onto ``step_id`` with the arrow keys."""
    checklist = app.query_one(Checklist)
    target = checklist.rows().index(("step", step_id))
    for _ in range(40):
        if checklist.cursor == target:
            break
        await pilot.press("down" if checklist.cursor < target else "up")
    assert checklist.current() == ("step", step_id)
    await until(lambda: cursor_visible(app), what=f"{step_id} scrolled into view")


async def enter_and_confirm(app: CockpitApp, pilot: Any, step_id: str) -> None:
    """Enter on the row; answer its dialog by keys as an operator would."""
    step = app.profile.step(step_id)
    await pilot.press("enter")
    if step.kind == "manual":
        await until(lambda: isinstance(app.screen, ManualTickScreen), what=f"{step_id}: tick dialog")
        await pilot.press(*"done", "enter")
    else:
        await until(lambda: isinstance(app.screen, ConfirmStepScreen), what=f"{step_id}: confirmation")
        modal = app.screen
        assert "precondition missing" not in screen_text(app), f"{step_id} out of order?"
        if step.confirm == "type":
            await pilot.press(*app.profile.cockpit.environment)
        await until(lambda: not modal.query_one("#fire", Button).disabled, what=f"{step_id}: fire enabled")
        fire = modal.query_one("#fire", Button)
        assert fire.region.bottom <= app.size.height and fire.region.height > 0, "Fire is off screen"
        await pilot.press("enter")
    await until(lambda: len(app.screen_stack) == 1, what=f"{step_id}: dialog closed")


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
async def test_whole_rollback_by_cursor_and_enter(size: tuple[int, int]) -> None:
    async with cockpit_on_demo(speed=80, size=size) as (stack, controller, app, pilot):
        # Each press 10 s after the one before on the debounce clock. The second Enter on fpm-flag (after
        # its partial run and its detail) came 0.98 s after the first here: a 1 s debounce dropped it in
        # one CI run. The debounce itself is tested in test_app.py; this test is the rollback by keys.
        app.debounce_clock = itertools.count(step=10).__next__
        profile = stack.profile
        checklist = app.query_one(Checklist)
        await until(lambda: check_status(controller).get("queues") == "failing", timeout=20, what="the incident")
        assert checklist.has_focus
        # every row reachable: End goes to the last row (a post-rollback step), Home back to the first
        await pilot.press("end")
        assert checklist.current() == checklist.rows()[-1] == ("step", profile.steps[-1].id)
        await until(lambda: cursor_visible(app), what="the last row scrolled into view")
        await pilot.press("home")
        assert checklist.current() == checklist.rows()[0]
        await pilot.press("pagedown")
        assert checklist.cursor > 1
        await until(lambda: cursor_visible(app), what="page down scrolled")

        failed_once = False
        log = app.query_one(LogPane)
        seen: list[str] = []
        while (nxt := present.next_step(profile, controller.session, controller.running)) is not None:
            assert nxt.id not in seen, f"{nxt.id} came up twice"
            await until(lambda n=nxt: highlighted(app) == [n.id], what=f"highlight on {nxt.id}: {highlighted(app)}")
            assert nxt.title in next_line(app)
            if nxt.ends_rollback:  # the runbook: announce the end once every check is green
                await until(lambda: all(v == "ok" for v in check_status(controller).values()),
                            timeout=60, what=f"every check ok: {check_status(controller)}")
            if nxt.id == "fpm-flag" and not failed_once:
                env = stack.sim.hosts[BROKEN].files.pop(ENV_FILE)
                await cursor_to(app, pilot, nxt.id)
                await enter_and_confirm(app, pilot, nxt.id)
                await until(lambda: controller.step_state("fpm-flag") == "partial", timeout=30, what="partial")
                # the failure stays: reason and the host's error in the output pane, a mark on the row
                await until(lambda: any("fpm-flag partial (1/2 hosts ok)" in ln for ln in log.plain_lines()),
                            what=f"the failure in the output pane: {log.plain_lines()[-5:]}")
                assert any("failed, exit" in ln for ln in log.plain_lines())
                assert row(app, "fpm-flag").unseen
                assert checklist.lines()[checklist._layout()[1][checklist.cursor][2]].plain.startswith("!")
                assert highlighted(app) == ["fpm-flag"] and "last run partial" in next_line(app)
                # Space: the detail, per host, with the exit status and the output
                await pilot.press("space")
                await until(lambda: isinstance(app.screen, DetailScreen), what="the step's detail")
                detail = str(app.screen.query_one("#detail-text", Static).render())
                assert f"{BROKEN}: failed, exit " in detail, detail
                assert "web-1: ok" in detail
                assert "No such file" in detail or "can't read" in detail, detail
                await pilot.press("escape")
                await until(lambda: len(app.screen_stack) == 1, what="detail closed")
                assert not row(app, "fpm-flag").unseen  # looked at: the mark goes
                assert any("fpm-flag partial" in ln for ln in log.plain_lines())  # the output stays
                stack.sim.hosts[BROKEN].files[ENV_FILE] = env
                failed_once = True
                continue
            await cursor_to(app, pilot, nxt.id)
            await enter_and_confirm(app, pilot, nxt.id)
            await until(lambda n=nxt: controller.step_state(n.id) == "ok", timeout=30,
                        what=f"{nxt.id} ok (now {controller.step_state(nxt.id)})")
            seen.append(nxt.id)
            if nxt.starts_rollback:
                await until(lambda: "RTO 00:" in screen_text(app), what="the RTO clock on screen")

        assert failed_once
        assert set(seen) == {s.id for s in profile.steps}
        assert controller.session.rollback_ended is not None
        assert "runbook done" in next_line(app)
        # a step's detail shows every host's result
        await cursor_to(app, pilot, "horizon-pause")
        await pilot.press("enter")  # a step that succeeded: Enter opens its detail
        await until(lambda: isinstance(app.screen, DetailScreen), what="horizon-pause detail")
        detail = str(app.screen.query_one("#detail-text", Static).render())
        for host in profile.hosts["workers"]:
            assert f"{host}: ok, exit 0" in detail, detail
        await pilot.press("escape")
        # a check's detail: status and history
        last_check = checklist.rows().index(("check", profile.checks[-1].id))
        while checklist.cursor < last_check:
            await pilot.press("down")
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, DetailScreen), what="check detail")
        detail = str(app.screen.query_one("#detail-text", Static).render())
        assert "status: ok" in detail and "history:" in detail and "failing" in detail
        await pilot.press("escape")
