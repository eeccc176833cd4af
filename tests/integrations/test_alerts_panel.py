"""#15: the alerts panel renders plain values: what pages (first) and what a silence covers."""

from __future__ import annotations

import time

from textual.app import App, ComposeResult

from widgets.alerts import AlertsPanel
from widgets.data import PanelData


class One(App[None]):
    CSS = "AlertsPanel { height: 5; }"    # three lines of alerts

    def compose(self) -> ComposeResult:
        yield AlertsPanel("Active alerts", id="p")


def data(values: dict[str, float] | None) -> PanelData:
    now = time.time()
    if values is None:
        return PanelData("Active alerts", now, no_data=True, last_ok=now, current={})
    return PanelData("Active alerts", now, series={k: ((now, v),) for k, v in values.items()}, last_ok=now,
                     current=values)


async def test_paging_first_then_silenced_then_nothing_firing() -> None:
    app = One()
    async with app.run_test(size=(60, 12)) as pilot:
        panel = app.query_one(AlertsPanel)
        panel.data = data({"HorizonPaused": 0.0, "DiskFull": 1.0, "OctaneDown": 0.0})
        await pilot.pause()
        lines = str(panel.render()).splitlines()
        assert lines == ["✘ PAGING   DiskFull", "✔ silenced HorizonPaused", "✔ silenced OctaneDown"]
        assert panel.has_class("-failing")                  # something pages: the border says so
        panel.compact = True
        await pilot.pause()
        assert "1 paging, 2 silenced" in str(panel.render())
        panel.compact = False
        panel.data = data(None)
        await pilot.pause()
        assert "nothing firing" in str(panel.render()) and not panel.has_class("-failing")
        panel.data = data({f"Alert{i}": float(i % 2) for i in range(6)})    # more than fits: said so
        await pilot.pause()
        assert str(panel.render()).splitlines() == ["✘ PAGING   Alert1", "✘ PAGING   Alert3", "… and 4 more"]
