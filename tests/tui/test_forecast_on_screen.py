"""#16: the RTO forecast on the cockpit's screen during a rollback, from earlier journals of the
profile (the synthetic incidents of tests/report/test_forecast.py: known medians, known projection),
in warning style once the remaining critical path no longer fits the RTO budget."""

from __future__ import annotations

from pathlib import Path

from cockpit.controller import Controller
from cockpit.profile.load import load_profile
from cockpit.tui.app import CockpitApp
from cockpit.tui.screens import YesNoScreen
from tests.engine.conftest import profile_text
from tests.report.test_forecast import T, write_history
from tests.tui.conftest import until
from tests.tui.screen_text import screen_text


async def test_the_forecast_is_on_screen_during_a_rollback_and_warns_when_late(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    path = tmp_path / "p.toml"
    path.write_text(profile_text(ssh=None, marker_dir=marks))
    profile = load_profile(path)
    write_history(profile)
    clock = [T + 86400]
    c = Controller(profile, now=lambda: clock[0])
    app = CockpitApp(profile, controller=c, clock=lambda: clock[0])
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: c.is_driver, what="the driver")
        app._clock_tick()
        assert "projected done" not in screen_text(app)           # no rollback yet: no forecast
        await pilot.press("r")
        await until(lambda: isinstance(app.screen, YesNoScreen), what="start-rollback confirmation")
        await pilot.press("enter")
        await until(lambda: c.session.rollback_started is not None, what="rollback started")
        clock[0] += 60
        # the first ask reads the earlier incidents in a thread; the header has the forecast at its next tick
        await until(lambda: c._stats is not None, what="the earlier incidents read")
        app._clock_tick()
        await until(lambda: "projected done 08:01 — budget 08:15" in screen_text(app), what="the forecast")
        assert app.header.info is not None and not app.header.info.forecast_late
        assert not [n for n in app.notices if "RTO forecast" in n.message]
        clock[0] += 870          # 930 s in: finish's 5 s median no longer fits the 900 s budget
        app._clock_tick()
        await until(lambda: "⚠ projected done 08:16" in screen_text(app), what="late forecast")
        assert app.header.info.forecast_late and app.header.info.forecast == "projected done 08:16 — budget 08:15"
        late = [n for n in app.notices if "RTO forecast" in n.message]
        assert len(late) == 1 and late[0].severity == "warning", late
        assert "done 1m05s after the RTO budget" in late[0].message, late
        app._clock_tick()
        assert len([n for n in app.notices if "RTO forecast" in n.message]) == 1   # said once
        await pilot.press("q")
        await until(lambda: app.stopped, what="quit")
