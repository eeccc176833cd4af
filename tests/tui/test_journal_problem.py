"""#11.4 on screen: a journal that cannot be written is shown, and nothing fires until it can."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cockpit.controller import Controller
from cockpit.journal import read_journal
from cockpit.profile.model import Profile
from cockpit.state import journals_dir
from cockpit.tui.app import CockpitApp
from tests.support.httpstub import HttpStub
from tests.support.tinyfs import tiny_tmpfs
from tests.tui.conftest import until


def notes(app: CockpitApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_a_full_disk_is_on_screen_and_refuses_steps_until_it_has_room(
    make_profile: Callable[..., Profile], hanging_source: HttpStub, marker_dir: Path
) -> None:
    profile = make_profile(hanging_source.url("/healthz"))
    with tiny_tmpfs(journals_dir()) as disk:
        disk.fill()
        c = Controller(profile)
        app = CockpitApp(profile, controller=c)
        clock = [0.0]
        app.debounce_clock = lambda: clock[0]              # the debounce window is measured on this clock
        async with app.run_test(size=(120, 36)) as pilot:
            await until(lambda: any("JOURNAL CANNOT BE WRITTEN: No space left on device" in n for n in notes(app)),
                        what="the journal problem on screen")
            assert c.is_driver
            before = len(notes(app))
            await pilot.press("h")                             # a local step, no confirmation
            await until(lambda: len(notes(app)) > before, what="the refusal")
            assert "hello: journal cannot be written: No space left on device" in notes(app)[-1]
            disk.free()
            clock[0] += 10
            await pilot.press("h")                             # retried first: fires
            await until(lambda: c.step_state("hello") == "ok", what="hello to run once there is room")
            assert any(n == "the journal can be written again" for n in notes(app))
            await pilot.press("q")
            await until(lambda: app.stopped, what="quit")
        assert c.journal is not None
        types = [e["type"] for e in read_journal(c.journal.path)]
        assert types[0] == "journal_recovered" and "session_start" in types and "step_end" in types
