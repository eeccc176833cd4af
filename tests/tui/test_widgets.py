"""The render-only widgets with plain values: odd data draws, never raises; symbols carry the state."""

from __future__ import annotations

import math

from textual.app import App, ComposeResult

from tests.tui.screen_text import screen_text
from widgets.chart import LineChartPanel
from widgets.data import PanelData
from widgets.fmt import number, sparkline
from widgets.history import HistoryPanel, cell, consecutive_ok
from widgets.queues import QueuePanel
from widgets.value import ValuePanel

T = 1_764_324_000.0  # 10:00:00 UTC


class Panels(App[None]):
    def compose(self) -> ComposeResult:
        yield QueuePanel("queues", id="q")
        yield LineChartPanel("5xx", id="c")
        yield HistoryPanel("healthz", id="h")
        yield ValuePanel("lag", id="v")


def series(*values: float, start: float = T - 100) -> tuple[tuple[float, float], ...]:
    return tuple((start + 5 * i, v) for i, v in enumerate(values))


def test_formatting_and_cells() -> None:
    assert number(0.00042, "%", 100) == "0.042%"
    assert number(312, "jobs") == "312 jobs"
    assert number(math.nan) == "NaN" and number(math.inf) == "∞"
    assert sparkline([1, 2, 3, math.nan, math.inf, 8], 10) == "▁▂▃█"
    assert sparkline([], 5) == "" and sparkline([3, 3], 5) == "▄▄"
    assert [cell(s)[0] for s in (200, 503, 404, 0, math.nan, 99999, 200.5)] == ["█", "5", "4", "?", "?", "?", "?"]
    assert consecutive_ok([200, 500, 200, 200]) == 2 and consecutive_ok([200, 0]) == 0


async def test_garbage_values_draw_without_error() -> None:
    app = Panels()
    async with app.run_test(size=(70, 40)) as pilot:
        app.query_one("#q", QueuePanel).data = PanelData(
            "queues", T, {"feed": series(10, math.inf), "notifications": series(math.nan), "search-index": series(-5)},
            op="<", threshold=100, expected_workers={"feed": 6}, workers={"feed": 2},
        )
        app.query_one("#c", LineChartPanel).data = PanelData(
            "5xx", T, {"": series(0.01, math.nan, math.inf, 0.002)}, unit="%", scale=100, op="<", threshold=0.001,
            deadline=T + 65,
        )
        app.query_one("#h", HistoryPanel).data = PanelData("healthz", T, {"": series(0, 503, 200, 200)}, op="==",
                                                            threshold=200)
        app.query_one("#v", ValuePanel).data = PanelData("lag", T, {"": series(90, 70, 50)}, unit="s", op="<",
                                                         threshold=60)
        await pilot.pause()
        text = screen_text(app)
        assert "feed" in text and "∞ ✘" in text and "w 2/6" in text
        assert "NaN ✘" in text  # NaN never passes
        assert "within: 01:05 left" in text
        assert "?5██" in text and "last 200, 2 ok in a row" in text
        assert "50s ✔ ↓" in text


async def test_stale_and_waiting_states() -> None:
    app = Panels()
    async with app.run_test(size=(70, 40)) as pilot:
        await pilot.pause()
        assert screen_text(app).count("waiting for first sample") == 4
        app.query_one("#v", ValuePanel).data = PanelData(
            "lag", T, {"": series(42)}, unit="s", stale_since=T - 30, stale_reason="connection refused"
        )
        await pilot.pause()
        assert "⚠ stale since 09:59:30 (connection refused)" in screen_text(app)
        assert app.query_one("#v").has_class("-stale")


async def test_chart_renders_only_on_new_data_or_size() -> None:
    app = Panels()
    async with app.run_test(size=(70, 40)) as pilot:
        chart = app.query_one("#c", LineChartPanel)
        chart.min_interval = 0.0
        data = PanelData("5xx", T, {"": series(0.01, 0.02)}, version=1)
        chart.data = data
        await pilot.pause()
        assert chart.renders == 1
        for i in range(5):  # the countdown ticks: same data, new `now`
            chart.data = PanelData("5xx", T + i, {"": series(0.01, 0.02)}, version=1)
            await pilot.pause()
        assert chart.renders == 1
        chart.data = PanelData("5xx", T, {"": series(0.01, 0.02, 0.03)}, version=2)
        await pilot.pause()
        assert chart.renders == 2
        chart.min_interval = 3600.0  # new data within the interval waits for the next window...
        chart.data = PanelData("5xx", T, {"": series(0.01)}, version=3)
        await pilot.pause()
        assert chart.renders == 2
        await pilot.resize_terminal(90, 40)  # ...but a new size renders at once
        await pilot.pause()
        assert chart.renders == 3


async def test_queue_threshold_stays_visible_at_depths_in_the_thousands() -> None:
    app = Panels()
    async with app.run_test(size=(70, 40)) as pilot:
        app.query_one("#q", QueuePanel).data = PanelData(
            "queues", T, {"feed": series(5200), "notifications": series(3100), "search-index": series(40)},
            op="<", threshold=100,
        )
        await pilot.pause()
        lines = [ln for ln in screen_text(app).splitlines() if "feed" in ln or "notifications" in ln]
        for line in lines:
            bar = line.split("┃")[0]
            assert "┃" in line and bar.count("█") >= 5, line  # the mark sits inside the bar, not at its edge
        assert "log scale" in screen_text(app)


async def test_chart_draws_braille_units_and_step_markers() -> None:
    app = Panels()
    async with app.run_test(size=(70, 40)) as pilot:
        values = [0.03 - 0.0005 * i for i in range(60)]
        app.query_one("#c", LineChartPanel).data = PanelData(
            "5xx", T, {"": series(*values, start=T - 300)}, unit="%", scale=100, op="<", threshold=0.001,
            markers=((T - 200, "p"), (T - 100, "m")), version=1,
        )
        await pilot.pause()
        chart = str(app.query_one("#c", LineChartPanel).render())
        assert any("\u2801" <= ch <= "\u28ff" for ch in chart), chart  # braille dots: 2x4 per cell
        assert "%" in chart.split("now", 1)[1]  # the y axis in the signal's unit
        assert "now" in chart and "m" in chart
        rows = chart.splitlines()
        assert any("p" in row and "m" in row for row in rows), chart  # the step markers' labels


async def test_header_draws_the_feed_status_fields() -> None:
    """The facts other parts add to FeedStatus (lock scope, a broken journal, ...) reach the screen as they are."""
    from cockpit.feed import FeedStatus
    from cockpit.tui.present import status_alert
    from widgets.data import HeaderInfo
    from widgets.header import CockpitHeader

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield CockpitHeader()

    app = One()
    async with app.run_test(size=(120, 5)) as pilot:
        status = FeedStatus(is_driver=True, lock_holder="deploy@bastion-1", lock_scope="bastion-wide",
                            journal_error="disk full")
        app.query_one(CockpitHeader).info = HeaderInfo(
            "p", "drill", False, "deploy@bastion-1", 0.0, lock_holder=status.lock_holder,
            lock_scope=status.lock_scope, alert=status_alert(status))
        await pilot.pause()
        text = screen_text(app)
        assert "lock: bastion-wide, deploy@bastion-1" in text
        assert "JOURNAL BROKEN: disk full" in text
    assert status_alert(FeedStatus(driver_gone=True)).startswith("DRIVER GONE")
    assert status_alert(FeedStatus()) == ""
