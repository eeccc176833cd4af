"""Pilot tests of the cockpit against real parts: a real sshd, a real controller, a hanging HTTP source."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from textual.widgets import Button, Checkbox, Input

from cockpit.controller import Controller
from cockpit.profile.model import Profile
from cockpit.tui.app import CockpitApp
from cockpit.tui.screens import ConfirmStepScreen, HelpScreen, ManualTickScreen, YesNoScreen
from tests.support.httpstub import HttpStub
from tests.tui.conftest import until
from tests.tui.screen_text import checklist_text, screen_text
from widgets.logpane import LogPane


def notes(app: CockpitApp) -> str:
    return "\n".join(n.message for n in app.notices)


async def test_step_key_confirms_and_runs_on_every_host(
    make_profile: Callable[..., Profile], hanging_source: HttpStub, marker_dir: Path
) -> None:
    profile = make_profile(hanging_source.url("/healthz"))
    controller = Controller(profile)
    app = CockpitApp(profile, controller=controller)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: controller.is_driver and controller.journal is not None, what="driver lock")
        assert "DRIVER" in screen_text(app)
        await pilot.press("t")
        await until(lambda: isinstance(app.screen, ConfirmStepScreen), what="confirmation modal")
        shown = screen_text(app)
        command = app.screen.query_one("#command").render()   # wrapped on screen: read the widget
        assert f"touch {marker_dir}/touched-$(echo $SSH_CONNECTION" in str(command)  # the expanded command
        assert "in parallel: web-1, web-2" in shown
        assert "web-1, web-2" in shown
        assert "Watch the marker files appear." in shown
        assert not list(marker_dir.iterdir())  # nothing ran before confirming
        await pilot.press("enter")  # Fire has the focus
        await until(lambda: len(list(marker_dir.glob("touched-*"))) == 2, what="marker on both hosts")
        await until(lambda: "✔ Touch a marker on every web host" in checklist_text(app), what="step ok")
        assert re.search(r"✔ Touch a marker on every web host  ok \d+\.\ds 2/2", checklist_text(app))
        log = app.query_one(LogPane)
        await until(lambda: sum("touched" in line for line in log.plain_lines()) == 2, what="output")
        assert "web-1 │ touched" in screen_text(app)
        await pilot.press("q")
        await until(lambda: app.stopped, what="quit")
    assert not controller.lock.held
    assert {p.name for p in marker_dir.iterdir()} == {"touched-127.0.1.1", "touched-127.0.1.2"}


async def test_read_only_greys_step_keys_and_runs_nothing(
    make_profile: Callable[..., Profile], hanging_source: HttpStub, marker_dir: Path
) -> None:
    profile = make_profile(hanging_source.url("/healthz"))
    controller = Controller(profile, read_only=True)
    app = CockpitApp(profile, controller=controller, read_only=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert "READ-ONLY" in screen_text(app)
        assert app.check_action("fire", ("touch",)) is None  # shown, greyed out
        await pilot.press("t")
        await pilot.press("d")
        await pilot.press("r")
        await until(lambda: "read-only session" in notes(app), what="the read-only notification")
        assert len(app.screen_stack) == 1  # no confirmation opened
        result = await controller.fire("touch", yes=True)  # the guard refuses as well
        assert result.state == "refused" and "read-only" in (result.reason or "")
        assert not controller.lock.held
        await pilot.press("q")
        await until(lambda: app.stopped, what="quit")
    assert not list(marker_dir.iterdir())


async def test_hanging_source_never_blocks_keys(make_profile: Callable[..., Profile], hanging_source: HttpStub) -> None:
    profile = make_profile(hanging_source.url("/healthz"))
    controller = Controller(profile, read_only=True)
    app = CockpitApp(profile, controller=controller, read_only=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: hanging_source.count() >= 1, what="the source to be asked")
        assert "waiting for first sample" in screen_text(app)
        started = time.monotonic()
        await pilot.press("question_mark")
        await until(lambda: isinstance(app.screen, HelpScreen), what="help screen")
        # a loop blocked by the hanging request would answer only after its 4 s timeout
        assert time.monotonic() - started < 2.0
        assert "Touch a marker on every web host" in screen_text(app)
        await pilot.press("escape")
        await until(lambda: "stale since" in screen_text(app), what="the panel to go stale")
        await until(lambda: "? /healthz 200 twice" in checklist_text(app), what="check unknown")
        await pilot.press("q")
        await until(lambda: app.stopped, what="quit")


async def test_typed_confirmation_preview_and_override(
    make_profile: Callable[..., Profile], hanging_source: HttpStub, marker_dir: Path
) -> None:
    profile = make_profile(hanging_source.url("/healthz"))
    controller = Controller(profile)
    app = CockpitApp(profile, controller=controller)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: controller.is_driver and controller.journal is not None, what="driver lock")
        await pilot.press("d")
        await until(lambda: isinstance(app.screen, ConfirmStepScreen), what="confirmation modal")
        modal = app.screen
        fire = modal.query_one("#fire", Button)
        assert "precondition missing: touch" in screen_text(app)
        assert "destructive" in screen_text(app)
        await until(lambda: f"would destroy {marker_dir}" in screen_text(app), what="preview over ssh")
        assert fire.disabled
        await pilot.press("d", "t")  # step keys while the modal is open: typed into the input, nothing fires
        assert app.screen is modal and modal.query_one("#typed", Input).value == "dt"
        modal.query_one("#cancel", Button).focus()
        await pilot.press("t", "r")  # not typed anywhere: app keys are off while a modal is open
        await pilot.pause()
        assert app.screen is modal and len(app.screen_stack) == 2
        modal.query_one("#typed", Input).focus()
        modal.query_one("#typed", Input).value = "production"
        await pilot.pause()
        assert fire.disabled  # wrong environment name
        modal.query_one("#typed", Input).value = "drill"
        await pilot.pause()
        assert fire.disabled  # the precondition is still missing
        modal.query_one("#override", Checkbox).value = True
        await pilot.pause()
        assert not fire.disabled
        await pilot.click("#fire")
        await until((marker_dir / "destroyed").exists, what="the destructive step")
        await until(lambda: controller.session.overrides, what="override journalled")
        await until(lambda: "✔ Destructive, typed" in checklist_text(app), what="step ok")
        await pilot.press("q")
        await until(lambda: app.stopped, what="quit")


async def test_manual_tick_rollback_clock_and_debounce(
    make_profile: Callable[..., Profile], hanging_source: HttpStub
) -> None:
    profile = make_profile(hanging_source.url("/healthz"), keys='keys = { start_rollback = "ctrl+g" }')
    controller = Controller(profile)
    app = CockpitApp(profile, controller=controller)
    presses = [100.0]
    app.debounce_clock = lambda: presses[0]  # the debounce window is measured on this clock
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: controller.is_driver and controller.journal is not None, what="driver lock")
        assert "RTO not started — starts with ctrl+g" in screen_text(app)
        await pilot.press("r")  # rebound: r does nothing now
        await pilot.pause()
        assert len(app.screen_stack) == 1
        await pilot.press("ctrl+g")
        await until(lambda: isinstance(app.screen, YesNoScreen), what="rollback confirmation")
        await pilot.press("y")
        await until(lambda: "RTO 00:0" in screen_text(app), what="the RTO clock")
        assert controller.session.rollback_started is not None
        await pilot.press("s")
        await until(lambda: isinstance(app.screen, ManualTickScreen), what="manual tick modal")
        await pilot.press("escape")
        await until(lambda: len(app.screen_stack) == 1, what="modal closed")
        presses[0] += 0.5
        await pilot.press("s")  # within a second of the first press: ignored (debounce), and said
        await until(lambda: any("pressed again within 1 s, ignored" in n.message for n in app.notices),
                    what="the ignored press said on screen")
        assert len(app.screen_stack) == 1
        presses[0] += 1.5  # a second and a half later
        await pilot.press("s")
        await until(lambda: isinstance(app.screen, ManualTickScreen), what="manual tick modal")
        await pilot.press(*"CAB ok")
        await pilot.press("enter")
        await until(lambda: "✔ Sign-off recorded" in checklist_text(app), what="manual step ticked")
        assert "CAB ok" in checklist_text(app)
        await pilot.press("q")
        await until(lambda: app.stopped, what="quit")


async def test_observer_follows_the_driver(
    make_profile: Callable[..., Profile], hanging_source: HttpStub, marker_dir: Path
) -> None:
    profile = make_profile(hanging_source.url("/healthz"))
    driver = Controller(profile)
    await driver.start(poll=False)
    try:
        observer = Controller(profile, read_only=True)
        app = CockpitApp(profile, controller=observer, read_only=True)
        async with app.run_test(size=(120, 36)) as pilot:
            await until(lambda: all(driver.pool.state(h) == "connected" for h in ("web-1", "web-2")),
                        what="the driver's connections")
            assert driver.start_rollback()
            result = await driver.fire("touch", yes=True)
            assert result.ok, result
            await until(lambda: "✔ Touch a marker on every web host" in checklist_text(app), what="step followed")
            await until(lambda: "RTO 00:" in screen_text(app), what="the driver's RTO clock")
            assert driver.tick_manual("signoff", "CAB ok").allowed
            await until(lambda: "✔ Sign-off recorded" in checklist_text(app), what="manual tick followed")
            assert "CAB ok" in checklist_text(app)
            log = app.query_one(LogPane)
            await until(lambda: any("touched" in line for line in log.plain_lines()), what="output tail")
            assert "lock:" in screen_text(app) and "pid" in screen_text(app)  # who holds the driver lock
            await pilot.press("q")
            await until(lambda: app.stopped, what="quit")
    finally:
        await driver.stop()


async def test_log_filter_cycles_by_step(make_profile: Callable[..., Profile], hanging_source: HttpStub) -> None:
    profile = make_profile(hanging_source.url("/healthz"))
    app = CockpitApp(profile)
    async with app.run_test(size=(120, 36)) as pilot:
        app.show_output("touch", "web-1", "one")
        app.show_output("destroy", "web-1", "two")
        app.show_output("touch", "web-2", "three")
        log = app.query_one(LogPane)
        assert log.plain_lines() == ["web-1 │ one", "web-1 │ two", "web-2 │ three"]
        await pilot.press("ctrl+f")
        assert log.plain_lines() == ["web-1 │ one", "web-2 │ three"]
        await pilot.press("ctrl+f")
        assert log.plain_lines() == ["web-1 │ two"]
        await pilot.press("ctrl+f")
        assert len(log.plain_lines()) == 3
        await pilot.press("slash")
        await pilot.press(*"dest", "enter")
        await until(lambda: log.plain_lines() == ["web-1 │ two"], what="typed filter")


async def test_restarted_driver_resumes_the_open_session(
    make_profile: Callable[..., Profile], hanging_source: HttpStub, marker_dir: Path
) -> None:
    profile = make_profile(hanging_source.url("/healthz"))
    first = Controller(profile)
    await first.start(poll=False)
    await until(lambda: all(first.pool.state(h) == "connected" for h in ("web-1", "web-2")), what="connections")
    assert first.start_rollback()
    assert (await first.fire("touch", yes=True)).ok
    started = first.session.rollback_started
    await first.stop()  # quit mid-rollback: the session stays open

    second = Controller(profile)
    app = CockpitApp(profile, controller=second)
    async with app.run_test(size=(120, 36)) as pilot:
        hhmm = time.strftime("%H:%M", time.localtime(started))
        await until(lambda: f"resumed session from {hhmm}" in screen_text(app), what="the resume note")
        assert "RTO 00:" in screen_text(app)  # the clock counts from the original start
        assert "✔ Touch a marker on every web host" in checklist_text(app)
        assert second.session.rollback_started == started
        await pilot.press("q")
        await until(lambda: app.stopped, what="quit")


async def test_command_palette_and_help_list_every_step(
    make_profile: Callable[..., Profile], hanging_source: HttpStub
) -> None:
    from textual.command import CommandPalette

    profile = make_profile(hanging_source.url("/healthz"))
    app = CockpitApp(profile)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("question_mark")
        await until(lambda: isinstance(app.screen, HelpScreen), what="help")
        shown = screen_text(app)
        for step in profile.steps:
            assert step.id in shown and step.title in shown
        for key, what in (("r", "Start rollback"), ("ctrl+f", "Log filter"), ("/", "Filter"), ("q", "Quit")):
            assert key in shown and what in shown
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await until(lambda: isinstance(app.screen, CommandPalette), what="command palette")
        await pilot.press(*"destr")
        await until(lambda: "Fire step: destroy — Destructive, typed (key d)" in screen_text(app), what="step command")
        await pilot.press("escape")
        assert app.theme == "nord"  # the calm dark default
        await pilot.press("ctrl+t")
        assert app.theme == "ansi-dark"  # the terminal's own 16 colours, for limited-colour terminals


async def test_confirm_none_fires_at_once(make_profile: Callable[..., Profile], hanging_source: HttpStub) -> None:
    profile = make_profile(hanging_source.url("/healthz"))
    controller = Controller(profile)
    app = CockpitApp(profile, controller=controller)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: controller.is_driver and controller.journal is not None, what="driver lock")
        await pilot.press("h")
        log = app.query_one(LogPane)
        await until(lambda: any("hello-from-local" in line for line in log.plain_lines()), what="output")
        assert len(app.screen_stack) == 1  # no modal on the way
        await until(lambda: "✔ Say hello" in checklist_text(app), what="step ok")
        await pilot.press("q")
        await until(lambda: app.stopped, what="quit")


async def test_resizing_collapses_panels_then_says_too_small(
    make_profile: Callable[..., Profile], hanging_source: HttpStub
) -> None:
    profile = make_profile(hanging_source.url("/healthz"))
    app = CockpitApp(profile)
    async with app.run_test(size=(120, 36)) as pilot:
        assert "╭─ /healthz" in screen_text(app)  # a full panel
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert "… /healthz: waiting for first sample" in screen_text(app)  # one-line summary
        assert "Touch a marker on every web host" in screen_text(app)  # the checklist stays
        await pilot.resize_terminal(70, 20)
        await pilot.pause()
        assert "terminal too small (70x20): the cockpit needs at least 80x24" in screen_text(app)
        await pilot.resize_terminal(120, 36)
        await pilot.pause()
        assert "too small" not in screen_text(app) and "╭─ /healthz" in screen_text(app)


async def test_running_step_can_be_cancelled_and_quit_asks(
    make_profile: Callable[..., Profile], hanging_source: HttpStub
) -> None:
    profile = make_profile(hanging_source.url("/healthz"))
    controller = Controller(profile)
    app = CockpitApp(profile, controller=controller)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: controller.is_driver and controller.journal is not None, what="driver lock")
        await pilot.press("w")
        await until(lambda: "▶ A slow step on every web host  running" in checklist_text(app), what="running")
        await until(lambda: "running" in checklist_text(app) and " 0/2" in checklist_text(app), what="hosts done/total")
        await pilot.press("q")  # a step runs: quitting asks first
        await until(lambda: isinstance(app.screen, YesNoScreen), what="quit question")
        assert "slow is running. Quit anyway?" in screen_text(app)
        await pilot.press("escape")
        await until(lambda: len(app.screen_stack) == 1, what="question closed")
        assert not app.stopped
        await pilot.press("ctrl+k")
        await until(lambda: isinstance(app.screen, YesNoScreen), what="cancel question")
        await pilot.press("y")
        await until(lambda: "■ A slow step on every web host  cancelled" in checklist_text(app), what="cancelled")
        assert controller.session.steps["slow"].state == "cancelled"
        await pilot.press("q")
        await until(lambda: app.stopped, what="quit")
