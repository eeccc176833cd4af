"""Pilot: a panel fed by a real Prometheus goes from a value to "stale Ns (reason)" and back.

Real parts: an exporter and a Prometheus on loopback (scraping every second), the real
Controller (observer mode: no SSH), the real app. The exporter's port is closed and reopened;
the panel and the check row must follow, never showing the old value with a ✔ while stale.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.controller import Controller
from cockpit.profile.load import load_profile
from cockpit.tui.app import CockpitApp
from tests.support.exporter import Exporter, running_exporter
from tests.support.prometheus import TestPrometheus, running_prometheus
from tests.tui.conftest import until
from widgets.checklist import Checklist
from widgets.panel import SignalPanel


@pytest.fixture
def exporter() -> Iterator[Exporter]:
    with running_exporter() as exp:
        exp.set("p_lag_seconds", 12)
        yield exp


@pytest.fixture
def prom(exporter: Exporter, tmp_path: Path) -> Iterator[TestPrometheus]:
    with running_prometheus(tmp_path / "prom", [exporter.target]) as p:
        p.wait_for("p_lag_seconds")
        yield p


def panel_text(app: CockpitApp) -> str:
    panel = app.query_one("#panel-lag", SignalPanel)
    return str(panel.render())


def check_text(app: CockpitApp) -> str:
    return "\n".join(line.plain for line in app.query_one(Checklist).lines() if "lag < 60" in line.plain)


async def test_panel_goes_stale_with_its_reason_and_back(exporter: Exporter, prom: TestPrometheus,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "profile.toml"
    path.write_text(f"""
[cockpit]
name = "truth"
environment = "drill"
refresh = "500ms"

[sources.prom]
kind = "prometheus"
url = "{prom.url}"
interval = "500ms"
timeout = "1s"
scrape_interval = "1s"
max_age = "2500ms"
targets = ['up{{job="exporter"}}']

[[signal]]
id = "lag"
title = "ingestion lag"
source = "prom"
query = "max(p_lag_seconds)"
unit = "s"
view = "value"

[[check]]
signal = "lag"
title = "lag < 60 s"
condition = "< 60"
""")
    profile = load_profile(path)
    controller = Controller(profile, read_only=True)
    app = CockpitApp(profile, controller=controller, read_only=True)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(lambda: "12s ✔" in panel_text(app), what="the live value with its tick")
        await until(lambda: check_text(app).lstrip().startswith("✔") and "old)" in check_text(app),
                    what="the check row with the live value and its age")
        assert "12s" in check_text(app)

        exporter.down()
        await until(lambda: "⚠ stale" in panel_text(app), timeout=15, what="the panel to go stale")
        await until(lambda: f"target {exporter.target} down since" in panel_text(app), timeout=15,
                    what="the reason on the panel")
        text = panel_text(app)
        assert re.search(r"⚠ stale \d+s \(target 127\.0\.0\.1:\d+ down since \d\d:\d\d:\d\d\)", text), text
        assert "✔" not in text  # never the old value beside a tick
        await until(lambda: check_text(app).lstrip().startswith("?"), what="the check unknown")
        assert "down since" in check_text(app)

        exporter.up()
        await until(lambda: "12s ✔" in panel_text(app) and "stale" not in panel_text(app), timeout=20,
                    what="the panel fresh again")
        await until(lambda: check_text(app).lstrip().startswith("✔"), what="the check ok again")
        await pilot.press("q")
        await until(lambda: app.stopped, what="quit")
    await controller.stop()
