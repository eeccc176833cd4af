"""Trust rules through the keys: an observer's palette, tick, rollback and cancel all say read-only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.command import CommandPalette

from cockpit.controller import Controller
from cockpit.profile.model import Profile
from cockpit.tui.app import CockpitApp
from tests.support.httpstub import HttpStub
from tests.tui.conftest import until
from tests.tui.screen_text import screen_text


def notes(app: CockpitApp) -> list[str]:
    return [n.message for n in app.notices]


@pytest.mark.parametrize("how", ["flag", "lock-held"])
async def test_observer_palette_tick_rollback_and_cancel_say_read_only(
    make_profile: Callable[..., Profile], hanging_source: HttpStub, marker_dir: Path, how: str
) -> None:
    profile = make_profile(hanging_source.url("/healthz"))
    driver: Controller | None = None
    if how == "lock-held":
        driver = Controller(profile)
        await driver.start(connect=False, poll=False)
    observer = Controller(profile, read_only=(how == "flag"))
    app = CockpitApp(profile, controller=observer, read_only=(how == "flag"))
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await until(lambda: app.read_only and "READ-ONLY" in str(app.query_one("#header").render()),
                        what="read-only header")
            for query in ("destroy", "signoff"):
                before = len(notes(app))
                await pilot.press("ctrl+p")
                await until(lambda: isinstance(app.screen, CommandPalette), what="command palette")
                await pilot.press(*query)
                await until(lambda q=query: f"step: {q} —" in screen_text(app), what="the step's command")
                await pilot.press("down", "enter")
                await until(lambda b=before: len(notes(app)) > b, what="a notification")
                assert len(app.screen_stack) == 1                  # no confirmation or tick modal opened
                assert "read-only" in notes(app)[-1]
            before = len(notes(app))
            await pilot.press("ctrl+k")                           # cancel a step
            await until(lambda: len(notes(app)) > before, what="the cancel key to answer")
            assert "read-only" in notes(app)[-1]
            assert len(app.screen_stack) == 1
            await pilot.press("q")
            await until(lambda: app.stopped, what="quit")
    finally:
        if driver is not None:
            await driver.stop()
    assert observer.journal is None
    assert not list(marker_dir.iterdir())
    if driver is not None:
        from cockpit.journal import read_journal

        assert [e["type"] for e in read_journal(driver.journal.path)] == ["session_start", "session_end"]


async def test_palette_cannot_fire_behind_an_open_confirmation(
    make_profile: Callable[..., Profile], hanging_source: HttpStub, marker_dir: Path
) -> None:
    """With a confirmation open, the modal is the only thing that acts: the palette (which opens
    over it) must not fire another step, nor stack a second confirmation."""
    from cockpit.tui.screens import ConfirmStepScreen

    profile = make_profile(hanging_source.url("/healthz"))
    c = Controller(profile)
    app = CockpitApp(profile, controller=c)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: c.is_driver and c.journal is not None, what="driver lock")
        await pilot.press("d")
        await until(lambda: isinstance(app.screen, ConfirmStepScreen), what="the destroy confirmation")
        for query in ("hello", "touch"):
            before = len(notes(app))
            await pilot.press("ctrl+p")
            await until(lambda: isinstance(app.screen, CommandPalette), what="command palette")
            await pilot.press(*query)
            await until(lambda q=query: f"step: {q} —" in screen_text(app), what="the step's command")
            await pilot.press("down", "enter")
            await until(lambda b=before: len(notes(app)) > b, what="a notification")
            assert "dialog" in notes(app)[-1]
            assert [type(s) for s in app.screen_stack[1:]] == [ConfirmStepScreen]
        assert not c.running and "hello" not in c.session.steps and "touch" not in c.session.steps
        await pilot.press("escape")
        await until(lambda: len(app.screen_stack) == 1, what="confirmation closed")
        await pilot.press("q")
        await until(lambda: app.stopped, what="quit")
    assert not list(marker_dir.iterdir())
    from cockpit.journal import read_journal

    assert not [e for e in read_journal(c.journal.path) if e["type"] == "step_start"]


async def test_typed_manual_step_asks_the_environment_in_the_tick_modal(
    make_profile: Callable[..., Profile], hanging_source: HttpStub
) -> None:
    from textual.widgets import Button, Input

    from cockpit.profile.load import load_profile
    from cockpit.tui.screens import ManualTickScreen

    base = make_profile(hanging_source.url("/healthz"))
    path = Path(base.path)
    path.write_text(path.read_text() + """
[[step]]
id = "dns-switch"
title = "Switch DNS back by hand"
phase = "rollback"
kind = "manual"
key = "n"
confirm = "type"
""")
    profile = load_profile(path)
    c = Controller(profile)
    app = CockpitApp(profile, controller=c)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: c.is_driver and c.journal is not None, what="driver lock")
        await pilot.press("n")
        await until(lambda: isinstance(app.screen, ManualTickScreen), what="tick modal")
        modal = app.screen
        assert modal.query_one("#tick", Button).disabled
        await pilot.press(*"by hand", "enter")                # Enter in the note: not typed, nothing ticked
        await pilot.pause()
        assert app.screen is modal and "dns-switch" not in c.session.done
        modal.query_one("#typed", Input).focus()
        await pilot.press(*"drill", "enter")
        await until(lambda: "dns-switch" in c.session.done, what="the tick")
        assert c.session.ticks["dns-switch"][0]["note"] == "by hand"
        await until(lambda: len(app.screen_stack) == 1, what="modal closed")
        await pilot.press("q")
        await until(lambda: app.stopped, what="quit")


async def test_notifications_are_redacted_plain_text(
    make_profile: Callable[..., Profile], hanging_source: HttpStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every notification passes the redactor; brackets in reasons stay text, not markup."""
    monkeypatch.setenv("COCKPIT_TEST_TOKEN", "tok-0123456789-secret")
    profile = make_profile(hanging_source.url("/healthz") + "?token=${env:COCKPIT_TEST_TOKEN}")
    controller = Controller(profile, read_only=True)
    app = CockpitApp(profile, controller=controller, read_only=True)
    async with app.run_test(size=(120, 36), notifications=True):
        app.notify("web-1: HTTP 401 from https://x/?token=tok-0123456789-secret [1] [b]", title="tok-0123456789-secret")
        await until(lambda: any("HTTP 401" in n for n in notes(app)), what="the notification")
        shown = next(n for n in notes(app) if "HTTP 401" in n)
        assert "tok-0123456789-secret" not in shown and "[redacted]" in shown
        assert shown.endswith("[1] [b]")
        assert all("tok-0123456789-secret" not in str(n.title) for n in app.notices)
        await until(lambda: "[1] [b]" in screen_text(app), what="the toast on screen, brackets as text")
        assert "tok-0123456789-secret" not in screen_text(app)
