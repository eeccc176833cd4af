"""The cockpit TUI, driven by keys under Pilot, on the REAL drill stack (OpenSSH, Prometheus, Redis, Laravel).

The first steps of the runbook, each asserted where it lands: Horizon's pause flag in Redis and
`horizon:status` on the worker host, the `.env` of every web host; the panels draw real
Prometheus values. Reuses the session-scoped ``drill_stack`` (through ``drill_incident``, which
redeploys the bad release first), and puts the stack back on the incident afterwards.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.widgets import Button

from cockpit.controller import Controller
from cockpit.profile.load import load_profile
from cockpit.tui.app import CockpitApp
from cockpit.tui.screens import ConfirmStepScreen, YesNoScreen
from tests.drill.stack import Stack, StackInfo, prom_query
from tests.drill.test_drill import redis, ssh
from tests.tui.conftest import until
from tests.tui.screen_text import checklist_text, screen_text
from widgets.panel import SignalPanel

pytestmark = [pytest.mark.drill, pytest.mark.timeout(180)]

PAUSED = "laravel_database_horizon:paused:worker-1"


def env_lines(info: StackInfo, host: str) -> list[str]:
    return (info.host_dir(host) / ".env").read_text().splitlines()


def cached_octane(info: StackInfo, host: str) -> str | None:
    """``octane.enabled`` as Laravel's config cache (bootstrap/cache/config.php) holds it."""
    text = (info.host_dir(host) / "bootstrap/cache/config.php").read_text()
    found = re.search(r"'octane'\s*=>\s*array\s*\(\s*'enabled'\s*=>\s*(\w+)", text)
    return found.group(1) if found else None


async def fire_by_key(app: CockpitApp, pilot: object, controller: Controller, step_id: str) -> None:
    step = app.profile.step(step_id)
    assert step.key
    await pilot.press(step.key)  # type: ignore[attr-defined]
    await until(lambda: isinstance(app.screen, ConfirmStepScreen), what=f"{step_id}: confirmation modal")
    shown = screen_text(app)
    assert f"Fire step {step_id}" in shown and "precondition missing" not in shown
    assert not app.screen.query_one("#fire", Button).disabled
    await pilot.press("enter")  # type: ignore[attr-defined]  # Fire has the focus
    await until(lambda: controller.step_state(step_id) == "ok", timeout=45,
                what=f"{step_id} ok (now {controller.step_state(step_id)})")
    await until(lambda: f"✔ {step.title}" in checklist_text(app), what=f"{step_id} ticked on screen")


async def test_first_rollback_steps_by_keys_on_the_real_stack(drill_incident: StackInfo) -> None:
    info = drill_incident
    profile = load_profile(info.profile)
    assert redis(info, "EXISTS", PAUSED) == b":0"
    for host in info.web:
        assert "OCTANE_ENABLED=true" in env_lines(info, host)
        assert cached_octane(info, host) == "true"
    controller = Controller(profile)
    app = CockpitApp(profile, controller=controller)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await until(lambda: controller.is_driver and controller.journal is not None, what="driver lock")
            hosts = sorted({h for g in profile.hosts.values() for h in g})
            await until(lambda: controller.pool is not None
                        and all(controller.pool.state(h) == "connected" for h in hosts),
                        timeout=30, what="ssh to every drill host (host keys verified)")

            # the 5xx panel draws live Prometheus values: the bad release's rate, above 0.1 %
            panel = app.query_one("#panel-http_5xx", SignalPanel)
            await until(lambda: controller.store.view("http_5xx").seq >= 1 and panel.data is not None
                        and not panel.data.waiting and panel.data.stale_since is None,
                        timeout=30, what="a live 5xx sample on the panel")
            drawn = max(panel.data.latest().values())
            assert drawn > 0.001, panel.data.latest()
            live = prom_query(info.prom_url, 'max(http_5xx_rate{stack="blue"})')
            assert live and float(live[0]["value"][1]) > 0.001  # type: ignore[index]
            assert "waiting for first sample" not in str(panel.render())
            assert profile.signal("http_5xx").title in screen_text(app)
            await until(lambda: {s.check_id: s.status for s in controller.checks.states()}.get("http_5xx")
                        == "failing", timeout=20, what="the 5xx check failing on real data")

            await pilot.press("r")
            await until(lambda: isinstance(app.screen, YesNoScreen), what="start-rollback confirmation")
            await pilot.press("enter")
            await until(lambda: controller.session.rollback_started is not None, what="rollback started")
            await until(lambda: "RTO 00:" in screen_text(app), what="the RTO clock")

            await fire_by_key(app, pilot, controller, "horizon-pause")
            assert redis(info, "EXISTS", PAUSED) == b":1"
            status = ssh(info, "worker-1", 'cd "$ACADEMY_ROOT" && php artisan horizon:status')
            assert status.returncode == 1 and "paused" in status.stdout.lower(), (status.returncode, status.stdout)

            assert all("OCTANE_ENABLED=true" in env_lines(info, h) for h in info.web)
            await fire_by_key(app, pilot, controller, "fpm-flag")
            for host in info.web:
                lines = env_lines(info, host)
                assert "OCTANE_ENABLED=false" in lines and "OCTANE_ENABLED=true" not in lines, host
            for host in info.web:  # and config:cache ran again: the app reads the cached value
                assert cached_octane(info, host) == "false", host

            entries = controller.journal_entries()
            started = [e["step"] for e in entries if e["type"] == "step_start"]
            assert started == ["horizon-pause", "fpm-flag"]
            ends = {e["step"]: e for e in entries if e["type"] == "step_end"}
            assert ends["horizon-pause"]["state"] == "ok"
            assert sorted(h["host"] for h in ends["horizon-pause"]["hosts"]) == sorted(info.workers)
            assert sorted(h["host"] for h in ends["fpm-flag"]["hosts"]) == sorted(info.web)
            assert all(h["verify_ok"] for e in ends.values() for h in e["hosts"])

            await pilot.press("q")
            await until(lambda: app.stopped, what="quit")
        assert not controller.lock.held
    finally:
        await controller.stop()
        # back to the incident (Horizon continued, Octane flag on) for whatever runs next
        Stack(Path(info.run_dir)).deploy_bad_release(info)
    assert redis(info, "EXISTS", PAUSED) == b":0"
