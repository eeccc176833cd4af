"""Keys that arrive together never kill the cockpit nor open a window over the wrong one.

A browser visitor's keys come over the websocket in bursts, and a fast typist's do too: the
app then handles a key before the messages of the one before it. These tests post keys to
the app the way its driver does, without waiting between them (`Pilot.press` waits for the
app to settle after each key, which hides every one of these). Each deterministic test fails
on the code before `cockpit.tui.modal`; the last one replays the browser test's key sequence
with random gaps: on that code 9 of 60 runs died, most of them in the palette's search
(NoMatches, after the palette was gone), and the seeds kept here are the gaps that did.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from textual import events
from textual.command import CommandPalette
from textual.keys import _character_to_key

from cockpit.controller import Controller
from cockpit.profile.load import load_profile
from cockpit.profile.model import Profile
from cockpit.serve_observer import ObserverController
from cockpit.tui.app import CockpitApp
from cockpit.tui.screens import ConfirmStepScreen, DetailScreen, YesNoScreen
from tests.multiuser.conftest import profile_text as served_profile_text
from tests.support.httpstub import HttpStub
from tests.tui.conftest import until

NAMED = {"enter": "\r", "space": " ", "escape": "\x1b", "ctrl+p": None}


def key(k: str) -> events.Key:
    if k in NAMED:
        return events.Key(k, NAMED[k])
    return events.Key(_character_to_key(k), k)


def together(app: CockpitApp, *keys: str) -> None:
    """Post every key before the app handles any (a burst through the browser)."""
    for k in keys:
        app.post_message(key(k))


def notes(app: CockpitApp) -> str:
    return "\n".join(n.message for n in app.notices)


def stack(app: CockpitApp) -> list[str]:
    return ["palette" if isinstance(s, CommandPalette) else type(s).__name__ for s in app.screen_stack]


def alive(app: CockpitApp) -> bool:
    return app.is_running and app.return_code is None


@pytest.fixture
def driver_app(make_profile: Callable[..., Profile], hanging_source: HttpStub) -> CockpitApp:
    """The driver's cockpit on the suite's real sshd."""
    profile = make_profile(hanging_source.url("/healthz"))
    return CockpitApp(profile, controller=Controller(profile))


def served(tmp_path: Path) -> tuple[CockpitApp, ObserverController]:
    """A browser visitor's app, exactly as ``cockpit serve`` runs it (`cockpit.tui.served`)."""
    marks = tmp_path / "marks"
    marks.mkdir(exist_ok=True)
    path = tmp_path / "served.toml"
    path.write_text(served_profile_text(marks, name="together"))
    profile = load_profile(str(path))
    controller = ObserverController(profile)
    return CockpitApp(profile, controller=controller, read_only=True, note="browser"), controller


async def test_an_enter_handled_after_ctrl_p_opened_the_palette_is_ignored_and_says_so(
        driver_app: CockpitApp) -> None:
    app = driver_app
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: app.controller is not None and app.controller.is_driver, what="driver lock")
        while (row := app.checklist.current()) is not None and row[1] != "touch":
            await pilot.press("down")                  # a step that asks for confirmation
        await pilot.pause()
        # Enter reached the checklist just before ctrl+p reached the app: the checklist's message
        # comes to the app after the palette is open
        together(app, "ctrl+p")
        app.checklist.action_select()
        await until(lambda: "ignored: another window opened first" in notes(app), what="the ignored Enter said")
        # before: the step's confirmation opened over the palette, and the keys typed for the palette went to it
        assert stack(app) == ["Screen", "palette"], stack(app)
        assert "enter on touch" in notes(app)
        together(app, "escape")
        await until(lambda: len(app.screen_stack) == 1, what="the palette closed")
        await pilot.press("enter")                      # the same key, on its own, still acts
        await until(lambda: isinstance(app.screen, ConfirmStepScreen), what="the step's confirmation")
        assert alive(app)


async def test_ctrl_p_under_a_dialog_that_opened_over_the_palette_opens_no_second_palette(tmp_path: Path) -> None:
    app, controller = served(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("ctrl+p")
        await until(lambda: isinstance(app.screen, CommandPalette), what="the palette")
        # a dialog the app opens by itself over whatever is open (as an approval request or a hand-over offer does)
        await app.push_screen(YesNoScreen("Approve?", yes="Approve"))
        await pilot.press("ctrl+p")
        await until(lambda: "already open, under this dialog" in notes(app), what="the refusal said")
        assert stack(app) == ["Screen", "palette", "YesNoScreen"]    # before: DuplicateIds, the app died
        assert alive(app)
    await controller.stop()


async def test_a_dialog_closed_while_covered_closes_when_uncovered_and_pops_nothing_else(tmp_path: Path) -> None:
    app, controller = served(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        question = YesNoScreen("Cancel slow on every host?", yes="Cancel step", about_step="slow")
        answers: list[bool | None] = []
        await app.push_screen(question, answers.append)
        await pilot.press("ctrl+p")
        await until(lambda: isinstance(app.screen, CommandPalette), what="the palette over the question")
        question.dismiss(False)                     # the step ended: the question is closed from outside
        await pilot.pause()
        assert stack(app) == ["Screen", "YesNoScreen", "palette"]   # before: the palette was popped instead
        assert answers == []
        together(app, "escape")
        await until(lambda: len(app.screen_stack) == 1, what="the question closed once uncovered")
        await until(lambda: answers == [False], what="the answer given when it was closed")
    await controller.stop()


async def test_a_screen_dismissed_twice_pops_only_itself(tmp_path: Path) -> None:
    app, controller = served(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.push_screen(DetailScreen("step slow", "detail", kind="step", row_id="slow"))
        await pilot.press("ctrl+p")
        await until(lambda: isinstance(app.screen, CommandPalette), what="the palette over the detail")
        palette = app.screen
        palette.dismiss()
        palette.dismiss()                           # two Enters in the palette: it dismisses once per Enter
        await until(lambda: not isinstance(app.screen, CommandPalette), what="the palette closed")
        await pilot.pause()
        assert stack(app) == ["Screen", "DetailScreen"]             # before: the detail was popped too
    await controller.stop()


# the browser key test's keys (tests/serve/test_browser.py), sent with the gaps a websocket gives them
BROWSER_KEYS = ["enter", "r", "R", "e", "E", "space", "t", "x", "c", "s", "enter", "y", "enter",
                "ctrl+p", *"Long step", "enter", "enter", *"drill", "enter", "ctrl+p", *"Take over", "enter", "enter"]


@pytest.mark.parametrize("seed", [7, 8, 11, 13, 16, 18])   # gaps that killed the app before

async def test_the_browser_visitors_keys_in_bursts_never_kill_the_app(tmp_path: Path, seed: int) -> None:
    gaps = random.Random(seed)
    app, controller = served(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("r")
        await until(lambda: "nothing can be fired" in notes(app), what="the read-only refusal")
        for k in BROWSER_KEYS:
            app.post_message(key(k))
            gap = gaps.choice([0, 0, 0, 0.001, 0.005, 0.02, 0.05])
            if gap:
                await asyncio.sleep(gap)
        await pilot.pause(0.5)
        assert alive(app), stack(app)
        assert sum(isinstance(s, CommandPalette) for s in app.screen_stack) <= 1
        while len(app.screen_stack) > 1:
            await pilot.press("escape")
        assert alive(app)
    await controller.stop()


async def test_enters_queued_in_the_palette_run_its_command_once(tmp_path: Path) -> None:
    """Each Enter the palette's input took before the first one closed it ran the command again
    (Textual's handler dismisses, then runs the command, every time). The CI run of 9ca6e92 saw
    three theme pickers over each other (seed 16 above); with a step's "Fire" it fired twice."""
    app, controller = served(tmp_path)
    refusal = "read-only session: nothing can be fired from this cockpit"
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("ctrl+p", *"Fire step: slow")
        await until(lambda: isinstance(app.screen, CommandPalette), what="the palette")
        await pilot.pause(0.3)                     # the search has shown its one hit
        together(app, "enter", "enter", "enter")
        await until(lambda: refusal in notes(app), what="the fired step refused")
        await until(lambda: len(app.screen_stack) == 1, what="the palette closed")
        await pilot.pause(0.3)
        assert notes(app).count(refusal) == 1, notes(app)           # before: 3, one per Enter
        assert alive(app)
    await controller.stop()


async def test_the_theme_picker_closes_only_itself_and_is_one_palette_at_a_time(tmp_path: Path) -> None:
    app, controller = served(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.push_screen(DetailScreen("step slow", "detail", kind="step", row_id="slow"))
        await pilot.press("ctrl+p", *"Theme")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(lambda: getattr(app.screen, "_placeholder", "") == "Search for themes…", what="the theme picker")
        await pilot.press("ctrl+p")                 # the picker is a palette: no second one over it
        await until(lambda: "the command palette is already open" in notes(app).splitlines(),
                    what="the refusal said")
        assert stack(app) == ["Screen", "DetailScreen", "palette"]
        theme = app.theme
        await pilot.press(*"gruvbox")
        await pilot.pause(0.3)
        together(app, "enter", "enter", "enter")
        await until(lambda: app.theme != theme, what="the theme changed")
        await pilot.pause(0.3)
        assert stack(app) == ["Screen", "DetailScreen"]          # before: the detail was popped too
        assert alive(app)
    await controller.stop()
