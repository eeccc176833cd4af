"""One table of app keys: every action `cockpit check` lets a profile rebind works under its new key."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from textual.command import CommandPalette

from cockpit.controller import Controller
from cockpit.profile.keys import APP_ACTIONS
from cockpit.profile.model import Profile
from cockpit.tui.app import CockpitApp
from cockpit.tui.hosts import HostsScreen
from cockpit.tui.screens import ConfirmStepScreen, DetailScreen, FilterScreen, HelpScreen, YesNoScreen
from tests.support.httpstub import HttpStub
from tests.tui.conftest import until
from widgets.checklist import Checklist
from widgets.logpane import LogPane

REBOUND = {
    "cursor_down": "f2", "cursor_up": "f3", "select": "f4", "toggle": "f5", "cancel": "f6",
    "focus_next": "f7", "command_palette": "f8", "help": "f9", "filter": "f10", "quit": "f11",
    "start_rollback": "ctrl+g", "cycle_filter": "ctrl+y", "cancel_step": "ctrl+o", "toggle_theme": "ctrl+e", "hosts": "ctrl+w", "stop_after_batch": "ctrl+n",
    "force_quit": "ctrl+x",
}


def test_the_table_covers_every_action() -> None:
    assert set(REBOUND) == set(APP_ACTIONS)


async def test_every_rebound_key_acts(
    make_profile: Callable[..., Profile], hanging_source: HttpStub, tmp_path: Path
) -> None:
    keys = "keys = { " + ", ".join(f'{a} = "{k}"' for a, k in REBOUND.items()) + " }"
    profile = make_profile(hanging_source.url("/healthz"), keys=keys)
    r = subprocess.run([sys.executable, "-m", "cockpit", "check", profile.path], capture_output=True, text=True,
                       check=False, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr  # `check` accepts every one of them
    controller = Controller(profile)
    app = CockpitApp(profile, controller=controller)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: controller.is_driver and controller.journal is not None, what="driver lock")
        checklist = app.query_one(Checklist)
        assert checklist.has_focus and checklist.cursor == 0
        await pilot.press("f2", "f2")
        assert checklist.cursor == 2, "cursor_down"
        await pilot.press("f3")
        assert checklist.current() == ("step", "touch"), "cursor_up"
        await pilot.press("f5")
        await until(lambda: isinstance(app.screen, DetailScreen), what="toggle: the row's detail")
        await pilot.press("f6")
        await until(lambda: len(app.screen_stack) == 1, what="cancel: dialog closed")
        await pilot.press("f4")
        await until(lambda: isinstance(app.screen, ConfirmStepScreen), what="select: the confirmation")
        await pilot.press("f6")
        await until(lambda: len(app.screen_stack) == 1, what="cancel: confirmation closed")
        await pilot.press("f9")
        await until(lambda: isinstance(app.screen, HelpScreen), what="help")
        await pilot.press("f6")
        await until(lambda: len(app.screen_stack) == 1, what="help closed")
        await pilot.press("f10")
        await until(lambda: isinstance(app.screen, FilterScreen), what="filter")
        await pilot.press("f6")
        await until(lambda: len(app.screen_stack) == 1, what="filter closed")
        await pilot.press("ctrl+w")
        await until(lambda: isinstance(app.screen, HostsScreen), what="hosts: the selected step's hosts")
        await pilot.press("f6")
        await until(lambda: len(app.screen_stack) == 1, what="hosts view closed")
        await pilot.press("f8")
        await until(lambda: isinstance(app.screen, CommandPalette), what="command palette")
        await pilot.press("escape")
        await until(lambda: len(app.screen_stack) == 1, what="palette closed")
        await pilot.press("f7")
        await until(lambda: app.query_one(LogPane).has_focus, what="focus_next")
        theme = app.theme
        await pilot.press("ctrl+e")
        await until(lambda: app.theme != theme, what="toggle_theme")
        app.query_one(Checklist).focus()
        await pilot.press("ctrl+g")
        await until(lambda: isinstance(app.screen, YesNoScreen), what="start_rollback")
        await pilot.press("f6")
        await until(lambda: len(app.screen_stack) == 1, what="closed")
        await pilot.press("w")  # a step without confirmation: something to cancel and to filter
        await until(lambda: "slow" in controller.running, what="slow step running")
        await until(lambda: app.query_one(LogPane).steps_seen(), what="output")
        await pilot.press("ctrl+y")
        await until(lambda: app.query_one(LogPane).step_filter == "slow", what="cycle_filter")
        await pilot.press("ctrl+o")
        await until(lambda: isinstance(app.screen, YesNoScreen), what="cancel_step")
        await pilot.press("y")
        await until(lambda: not controller.running, what="cancelled")
        await pilot.press("f11")
        await until(lambda: app.stopped, what="quit")
