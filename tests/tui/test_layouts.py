"""Layouts use the terminal: 80x24 keeps every signal as a line, 120x36 shows every panel or says how
many are below, 200x50 grows the panels, the charts and the output pane."""

from __future__ import annotations

from pathlib import Path

from cockpit.profile.load import load_profile
from cockpit.profile.locate import locate_profile
from cockpit.tui import scenes
from cockpit.tui.app import CockpitApp
from tests.tui.screen_text import screen_text
from widgets.chart import LineChartPanel
from widgets.logpane import LogPane
from widgets.panel import SignalPanel

EXTRA = """
[[signal]]
id = "failed_jobs"
title = "Failed jobs (last hour)"
source = "prom"
query = "sum(increase(laravel_failed_jobs_total[1h]))"
view = "value"
"""


def app_for(profile_path: Path | None = None) -> CockpitApp:
    profile = load_profile(profile_path or locate_profile("academy"))
    feed = scenes.fixed_feed(profile, green=False)
    return CockpitApp(profile, feed=feed, clock=lambda: scenes.T0, user_host=scenes.USER_HOST)


async def measure(size: tuple[int, int], profile_path: Path | None = None) -> dict[str, object]:
    app = app_for(profile_path)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.pause()
        panels = list(app.query(SignalPanel))
        box = app.query_one("#panels")
        chart = app.query_one("#panel-http_5xx", LineChartPanel)
        return {
            "text": screen_text(app),
            "visible": sum(1 for p in panels if p.region.height > 0 and p.region.bottom <= box.region.bottom),
            "panels": len(panels),
            "chart": chart.region.height,
            "chart_width": chart.region.width,
            "log": app.query_one(LogPane).region.height,
        }


async def test_sizes_use_the_terminal(tmp_path: Path) -> None:
    small, mid, big = await measure((80, 24)), await measure((120, 36)), await measure((200, 50))
    assert small["chart"] == 1 and "HTTP 5xx rate (blue stack):" in str(small["text"])  # one line per panel
    assert mid["visible"] == mid["panels"]  # every panel on screen at 120x36
    assert big["chart"] > mid["chart"] and big["chart_width"] > mid["chart_width"]  # the charts grow
    assert big["log"] > mid["log"]  # and so does the output pane


async def test_a_panel_that_does_not_fit_says_so(tmp_path: Path) -> None:
    text = Path(locate_profile("academy")).read_text()
    crowded = tmp_path / "academy.toml"
    crowded.write_text(text + EXTRA + EXTRA.replace("failed_jobs", "failed_jobs_2") + EXTRA.replace(
        "failed_jobs", "failed_jobs_3"))
    mid = await measure((120, 36), crowded)
    hidden = int(mid["panels"]) - int(mid["visible"])  # type: ignore[call-overload]
    assert hidden > 0
    assert f"+{hidden} panel" in str(mid["text"]), str(mid["text"])
